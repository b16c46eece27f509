"""The layer planner: which RPMs each image's own layer installs, across a whole tree of images.

Pure: a tree (parent of each image, which images are deployed), what each deployed image needs
(a set of package names) and package sizes in; a LayerPlan out. No dnf here.

With copy-on-write layers an RPM in a parent layer is stored once and shared by every descendant;
in two sibling layers it is paid twice; in a parent whose deployed descendant does not need it, it
is bloat in that descendant. For one package p with D(p) the deployed images needing it:

- **strict**: p goes to every *highest* image whose deployed descendants all need p. No deployed
  image gets a package it does not need, and no bloat-free plan stores p fewer times (each such
  image's subtree has to hold p somewhere, and no bloat-free layer above it can).
- **relaxed** (``hoist`` = h < 1): walking down from the root, p goes to the first image where at
  least a share h of its deployed descendants need p; its other deployed descendants carry it as
  bloat, which the plan reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations


@dataclass(frozen=True)
class TreeShape:
    """Parents and deployed flags: all the planner needs to know of the image tree."""

    parents: Mapping[str, str | None]
    deployed: frozenset[str]

    @cached_property
    def _children(self) -> dict[str | None, list[str]]:
        result: dict[str | None, list[str]] = {}
        for name in sorted(self.parents):
            result.setdefault(self.parents[name], []).append(name)
        return result

    def children(self, name: str) -> list[str]:
        return self._children.get(name, [])

    def roots(self) -> list[str]:
        return self._children.get(None, [])

    def top_down(self) -> list[str]:
        order: list[str] = []
        stack = self.roots()[::-1]
        while stack:
            name = stack.pop()
            order.append(name)
            stack.extend(self.children(name)[::-1])
        return order

    def path(self, name: str) -> list[str]:
        """Root first, ``name`` last."""
        chain = [name]
        while self.parents[chain[-1]] is not None:
            chain.append(self.parents[chain[-1]])  # type: ignore[arg-type]
        return chain[::-1]

    def with_parent(self, name: str, parent: str | None) -> TreeShape:
        return TreeShape({**self.parents, name: parent}, self.deployed)

    def with_intermediate(self, name: str, parent: str | None, children: Iterable[str]) -> TreeShape:
        parents = {**self.parents, name: parent}
        for child in children:
            parents[child] = name
        return TreeShape(parents, self.deployed)


@dataclass(frozen=True)
class PlannedImage:
    name: str
    parent: str | None
    deployed: bool
    layer_packages: frozenset[str]
    content: frozenset[str]
    layer_size: int
    image_size: int
    #: bytes of packages in this (deployed) image that it does not need
    bloat: int
    #: bytes the layer writes besides package files (see ``layer_overhead``)
    overhead: int = 0


@dataclass(frozen=True)
class LayerPlan:
    mode: str
    hoist: float
    images: Mapping[str, PlannedImage]
    total_set_size: int
    lower_bound: int
    bloat: int
    shape: TreeShape = field(repr=False, compare=False)

    @property
    def overhead(self) -> int:
        return sum(i.overhead for i in self.images.values())

    @property
    def ratio(self) -> float:
        return self.total_set_size / self.lower_bound if self.lower_bound else 1.0


# The cost a layer pays beyond installed files. Every layer that installs packages rewrites the
# whole rpm database (rpmdb.sqlite: tables and indexes, about 200 KiB empty, plus each installed
# package's header) and dnf's history database (about 120 KiB). Measured on the demo images built
# here, after the build folds SQLite's write-ahead logs in and removes dnf's caches and logs.
RPMDB_BASE_BYTES = 200 * 1024
DNF_STATE_BYTES = 120 * 1024


def layer_overhead(layer_count: int, headers_installed: int) -> int:
    """Bytes a layer writes besides package payloads: the rpmdb holding the headers of every
    package installed so far, and dnf's state; nothing when the layer installs nothing."""
    return RPMDB_BASE_BYTES + headers_installed + DNF_STATE_BYTES if layer_count else 0


def plan_layers(shape: TreeShape, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                mode: str = "strict", hoist: float = 0.5, headers: Mapping[str, int] | None = None) -> LayerPlan:
    """Place every needed package; ``needs`` maps each deployed image to its package names.

    ``headers`` (rpm header sizes) lets the plan count each layer's rpmdb overhead."""
    if mode not in ("strict", "relaxed"):
        raise ValueError(f"mode must be strict or relaxed, not {mode!r}")
    missing = sorted(shape.deployed - set(needs))
    if missing:
        raise ValueError(f"no needs given for deployed image(s) {', '.join(missing)}")
    order = shape.top_down()
    bit = {name: 1 << index for index, name in enumerate(sorted(shape.deployed))}
    below: dict[str, int] = {}
    for name in reversed(order):  # children before parents
        below[name] = bit.get(name, 0)
        for child in shape.children(name):
            below[name] |= below[child]
    needed_by: dict[str, int] = {}
    for image, packages in needs.items():
        for package in packages:
            needed_by[package] = needed_by.get(package, 0) | bit[image]

    threshold = 1.0 if mode == "strict" else hoist
    # packages needed by the same images are placed alike: place each distinct need-set once
    by_mask: dict[int, list[str]] = {}
    for package, mask in needed_by.items():
        by_mask.setdefault(mask, []).append(package)
    layers: dict[str, set[str]] = {name: set() for name in order}
    for mask, packages in by_mask.items():
        holders: list[str] = []
        _place(mask, shape.roots(), shape, below, bit, threshold, holders)
        for holder in holders:
            layers[holder].update(packages)

    images: dict[str, PlannedImage] = {}
    headers_installed: dict[str | None, int] = {None: 0}
    for name in order:
        parent = shape.parents[name]
        content = frozenset(layers[name]) | (images[parent].content if parent else frozenset())
        layer_size = sum(sizes[p] for p in layers[name])
        image_size = layer_size + (images[parent].image_size if parent else 0)
        extra = content - needs[name] if name in shape.deployed else frozenset()
        headers_installed[name] = headers_installed[parent] + sum((headers or {}).get(p, 0) for p in layers[name])
        images[name] = PlannedImage(name, parent, name in shape.deployed, frozenset(layers[name]), content,
                                    layer_size, image_size, sum(sizes[p] for p in extra),
                                    layer_overhead(len(layers[name]), headers_installed[name]))
    union = set().union(*needs.values()) if needs else set()
    return LayerPlan(mode, threshold, images, sum(i.layer_size for i in images.values()),
                     sum(sizes[p] for p in union), sum(i.bloat for i in images.values()), shape)


def _place(mask: int, nodes: list[str], shape: TreeShape, below: dict[str, int], own: dict[str, int],
           threshold: float, holders: list[str]) -> None:
    """The images whose layers hold packages needed by the deployed images in ``mask``."""
    for node in nodes:
        wanted = below[node] & mask
        if not wanted:
            continue
        # a deployed image that needs the package holds it itself, whatever its descendants need
        if own.get(node, 0) & mask or _share(wanted, below[node]) >= threshold:
            holders.append(node)
        else:
            _place(mask, shape.children(node), shape, below, own, threshold, holders)


def _share(part: int, whole: int) -> float:
    return bin(part).count("1") / bin(whole).count("1")


@dataclass(frozen=True)
class Suggestion:
    """A tree change and the bytes it saves on the total set (same mode)."""

    kind: str  # "new-intermediate" or "reparent"
    image: str
    parent: str | None
    children: tuple[str, ...]
    saves: int

    def describe(self) -> str:
        if self.kind == "new-intermediate":
            return (f"new intermediate image {self.image} under {self.parent} as parent of "
                    f"{', '.join(self.children)}: saves {self.saves / 1e6:.1f} MB")
        return f"move {self.image} under {self.parent}: saves {self.saves / 1e6:.1f} MB"


def suggest_tree_changes(plan: LayerPlan, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                         headers: Mapping[str, int] | None = None,
                         limit: int = 10) -> tuple[list[Suggestion], LayerPlan]:
    """Greedy: try every new intermediate over two or more siblings and every move of an image
    under another intermediate; keep the best saving; repeat. Returns the steps and the last plan."""
    steps: list[Suggestion] = []
    current = plan
    while len(steps) < limit:
        best: tuple[Suggestion, LayerPlan] | None = None
        for suggestion, shape in _candidates(current, len(steps)):
            replanned = plan_layers(shape, needs, sizes, current.mode, current.hoist, headers)
            saves = current.total_set_size - replanned.total_set_size
            if saves > 0 and replanned.bloat <= current.bloat and (best is None or saves > best[0].saves):
                best = (Suggestion(suggestion.kind, suggestion.image, suggestion.parent, suggestion.children,
                                   saves), replanned)
        if best is None:
            break
        steps.append(best[0])
        current = best[1]
    return steps, current


def _candidates(plan: LayerPlan, made: int):
    shape = plan.shape
    intermediates = [n for n in shape.top_down() if n not in shape.deployed]
    for parent in shape.top_down():
        children = shape.children(parent)
        # siblings that share something a new intermediate could hold once
        for size in range(2, min(len(children), 4) + 1):
            for group in combinations(children, size):
                shared = set.intersection(*(set(plan.images[c].layer_packages) for c in group))
                if shared:
                    name = f"{parent}-shared-{made + 1}"
                    yield (Suggestion("new-intermediate", name, parent, group, 0),
                           shape.with_intermediate(name, parent, group))
    for image in shape.top_down():
        for target in intermediates:
            if target != shape.parents[image] and image not in shape.path(target):
                yield Suggestion("reparent", image, target, (), 0), shape.with_parent(image, target)


def layer_request(layer: frozenset[str], graph) -> list[str]:
    """The layer's minimal request list: its packages that no other package of the layer pulls in
    (through any Requires path). In a dependency cycle the alphabetically first member stays."""
    import networkx as nx  # the requires graph is a networkx DiGraph of package names

    inside = sorted(layer)
    reach = {p: nx.descendants(graph, p) if p in graph else set() for p in inside}
    return [p for p in inside
            if not any(other != p and p in reach[other] and not (other in reach[p] and p < other)
                       for other in inside)]


def plan_json(plan: LayerPlan, graph, suggestions: Iterable[Suggestion] = (), before: LayerPlan | None = None) -> dict:
    """The plan as `resolver plan --format json` prints it (its top-level keys are a contract)."""
    data = {
        "mode": plan.mode,
        "hoist": plan.hoist,
        "total_set_size": plan.total_set_size,
        "lower_bound": plan.lower_bound,
        "ratio": round(plan.ratio, 4),
        "bloat": plan.bloat,
        "overhead": plan.overhead,
        "images": {
            name: {"parent": image.parent, "deployed": image.deployed,
                   "layer_request": layer_request(image.layer_packages, graph),
                   "layer_packages": sorted(image.layer_packages), "layer_size": image.layer_size,
                   "image_size": image.image_size, "bloat": image.bloat, "overhead": image.overhead}
            for name, image in plan.images.items()
        },
        "suggestions": [{"kind": s.kind, "image": s.image, "parent": s.parent, "children": list(s.children),
                         "saves": s.saves, "description": s.describe()} for s in suggestions],
    }
    if before is not None:
        data["before_suggestions"] = {"total_set_size": before.total_set_size, "ratio": round(before.ratio, 4)}
    return data
