"""The intermediate layers of an image set, computed from what each deployed image needs.

Each deployed image needs a set of items (its resolved closure). In a tree of layers a computed
intermediate holds exactly what all its deployed descendants share: no deployed image gets an item
it does not need, and the layer is dependency-closed when the deployed sets are. A tree is then
fixed by the groups of deployed images it forms, and costs (the one objective)::

    Σ layers  bytes of the layer's items
  + Σ non-empty layers  (per_layer + Σ per_item over everything the image holds)

the second line being what every layer rewrites besides its files (the rpm database holds the
header of every installed package, plus dnf's state; ``resolver.planning.plan.OverheadModel``).

- **exact** (``exact_limit`` distinct need sets or fewer per group, not counting those equal to
  the group's content: they hang on it directly, which no tree beats): dynamic programming over
  subsets of the distinct deployed need sets; every node may have any number of children, so a
  layer is formed only where the bytes it shares pay for its overhead. The result is the proven
  optimum over all trees.
- **agglomerative** beyond: repeatedly join the two groups whose shared bytes save the most, net
  of the new layer's overhead (a group whose content is the other's shared part takes it as a
  child instead), then dissolve layers that no longer pay for themselves.

Pinned groups (named intermediates a maintainer keeps, such as ``openstack-base``) constrain the
tree: each is a node holding exactly its deployed images; the search runs inside each.
Deployed images with the same needs share one computed layer (each then has an empty one).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .plan import cycle_in

#: the exact method's default reach: distinct need sets per group (under a second at 15; about 3^N
#: steps: a minute at 19, the shipped tree's count, with 300 MB)
EXACT_LIMIT = 15


@dataclass(frozen=True)
class TreeProblem:
    """What the tree is computed from. Item names are opaque (RPM names, wheel names...)."""

    needs: Mapping[str, frozenset[str]]
    sizes: Mapping[str, int]
    #: bytes every non-empty layer writes besides its items (rpmdb and dnf state)
    per_layer: int = 0
    #: bytes each item adds to every non-empty layer of an image holding it (its rpm header)
    per_item: Mapping[str, int] = field(default_factory=dict)
    #: pinned groups: name -> the deployed images it holds (nested or disjoint)
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ComputedTree:
    """Parents of every node: deployed images, pinned groups and computed intermediates (named
    ``~1``, ``~2``... until the caller names them by content)."""

    parents: Mapping[str, str | None]
    #: the objective of this tree (bytes, overhead included)
    cost: int
    #: "exact" when every group was solved exactly (``cost`` is then the proven optimum)
    method: str
    #: the most distinct need sets one search had (what ``exact_limit`` is compared with)
    classes: int = 0

    @property
    def proven(self) -> bool:
        return self.method == "exact"

    def to_json(self) -> dict[str, Any]:
        return {"parents": dict(self.parents), "cost": self.cost, "method": self.method, "classes": self.classes}

    @classmethod
    def from_json(cls, data: Any, deployed: Collection[str]) -> ComputedTree | None:
        """A tree read back (from a cache), or None unless it is one over ``deployed``: every
        parent named, no cycle, the figures whole numbers."""
        if not isinstance(data, dict):
            return None
        parents, cost, method, classes = (data.get(key) for key in ("parents", "cost", "method", "classes"))
        if not (isinstance(parents, dict) and type(cost) is int and type(classes) is int
                and method in ("exact", "agglomerative") and set(deployed) <= parents.keys()
                and all(p is None or isinstance(p, str) and p in parents for p in parents.values())
                and cycle_in(parents) is None):
            return None
        return cls(parents, cost, method, classes)


@dataclass
class _Node:
    """A node of the tree being built: a deployed image or pinned group (``name``) or a computed
    intermediate (``name`` None)."""

    name: str | None
    children: list[_Node] = field(default_factory=list)


@dataclass
class _Member:
    """A deployed image or a solved pinned group, as one item of its parent's search."""

    name: str
    need: frozenset[str]
    #: cost of what hangs below its node, relative to its content (0 for a deployed image)
    internal: float = 0.0
    children: list[_Node] = field(default_factory=list)

    def node(self) -> _Node:
        return _Node(self.name, list(self.children))


@dataclass
class _Class:
    """Members with the same needs: one leaf of the search (a shared layer when several)."""

    need: frozenset[str]
    members: list[_Member]

    @property
    def internal(self) -> float:
        return sum(m.internal for m in self.members)

    def node(self) -> _Node:
        if len(self.members) == 1:
            return self.members[0].node()
        return _Node(None, [m.node() for m in self.members])


def compute_tree(problem: TreeProblem, exact_limit: int = EXACT_LIMIT) -> ComputedTree:
    """The cheapest tree (exact up to ``exact_limit`` distinct need sets per group)."""
    nesting = _group_nesting(problem)
    methods: set[str] = set()
    classes = 0
    solved: dict[str, _Member] = {}
    # smallest groups first: a group is an item of the group holding it
    for name in sorted(nesting, key=lambda g: (len(problem.groups[g]), g)):
        members = _items_of(name, problem, nesting, solved)
        need = frozenset.intersection(*(m.need for m in members))
        internal, children, method, searched = _solve(members, need, problem, exact_limit)
        methods.add(method)
        classes = max(classes, searched)
        solved[name] = _Member(name, need, internal, children)
    members = _items_of(None, problem, nesting, solved)
    cost, roots, method, searched = _solve(members, frozenset(), problem, exact_limit)
    methods.add(method)
    classes = max(classes, searched)
    parents: dict[str, str | None] = {}
    counter = iter(range(1, 1 << 30))

    def attach(node: _Node, parent: str | None) -> None:
        name = node.name or f"~{next(counter)}"
        parents[name] = parent
        for child in node.children:
            attach(child, name)

    for root in roots:
        attach(root, None)
    return ComputedTree(parents, round(cost), "exact" if methods <= {"exact"} else "agglomerative", classes)


def _group_nesting(problem: TreeProblem) -> dict[str, str | None]:
    """Each pinned group's smallest enclosing group; refuses groups that overlap or repeat."""
    groups = problem.groups
    for name, held in groups.items():
        unknown = sorted(held - set(problem.needs))
        if not held or unknown:
            raise ValueError(f"pinned group {name} holds no deployed image" if not held else
                             f"pinned group {name} names images that are not deployed: {', '.join(unknown)}")
    names = sorted(groups)
    for index, a in enumerate(names):
        for b in names[index + 1:]:
            if groups[a] == groups[b]:
                raise ValueError(f"pinned groups {a} and {b} hold the same deployed images; keep one")
            if groups[a] & groups[b] and not (groups[a] < groups[b] or groups[b] < groups[a]):
                raise ValueError(f"pinned groups {a} and {b} overlap without one holding the other")
    return {name: min((g for g in names if groups[name] < groups[g]), key=lambda g: len(groups[g]), default=None)
            for name in names}


def _items_of(group: str | None, problem: TreeProblem, nesting: Mapping[str, str | None],
              solved: Mapping[str, _Member]) -> list[_Member]:
    """The direct items of a group (or of the top): its child groups and its own deployed images."""
    children = [solved[g] for g in sorted(nesting) if nesting[g] == group]
    inside = set().union(*(problem.groups[c.name] for c in children))
    held = problem.groups[group] if group is not None else problem.needs.keys()
    return children + [_Member(d, frozenset(problem.needs[d])) for d in sorted(held) if d not in inside]


def _solve(members: list[_Member], top: frozenset[str], problem: TreeProblem,
           exact_limit: int) -> tuple[float, list[_Node], str, int]:
    """Children of a node whose content is ``top`` (a pinned group's, or nothing for the roots),
    their cost relative to it, the method and how many distinct need sets it searched."""
    by_need: dict[frozenset[str], list[_Member]] = {}
    for member in members:
        by_need.setdefault(member.need, []).append(member)
    # members that need exactly what the node holds hang on it with empty layers: in any tree a
    # node above them holds no more than the node (an empty layer, which costs nothing: dissolving
    # it changes no cost), so they leave the search, which is exponential in the classes
    level = by_need.pop(top, [])
    classes = [_Class(need, group) for need, group in sorted(by_need.items(), key=lambda kv: kv[1][0].name)]
    internal = sum(m.internal for m in level)
    nodes = [m.node() for m in level]
    if not classes:
        return internal, nodes, "exact", 0
    from .search import Agglomerative, Exact  # numpy: imported only when a tree is searched

    if len(classes) <= exact_limit:
        cost, found = Exact(classes, top, problem).solve()
        return cost + internal, nodes + found, "exact", len(classes)
    cost, found = Agglomerative(classes, top, problem).solve()
    return cost + internal, nodes + found, "agglomerative", len(classes)
