"""A computed tree improved by moves, on the whole objective with two kinds of item (pure).

The tree search (``tree.py``) has one overhead model: every non-empty layer rewrites the rpm
database. A tree over RPMs and wheels has layers that add wheels only: they write no rpm database,
and the layer that makes the venv writes its skeleton. ``refine`` takes the searched tree and
dissolves a computed layer, moves one node under another computed layer or joins two siblings
under a new one, while the whole objective, counted with both kinds' overheads, goes down: first
improvement, in a fixed order, within a bound on the work (so it finishes on a 1,000-image tree).

The cost of a tree is that of the zero-bloat placement on it (``plan.plan_layers``' rule: an
item in the highest images whose deployed images all need it), computed on the distinct sets of
deployed images that need an item, not per item.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .tree import TreeProblem

#: work of the evaluations together, in nodes visited placing the need masks (an evaluation of
#: the shipped tree visits about a thousand, in 0.25 ms)
MAX_WORK = 3_000_000


@dataclass(frozen=True)
class _Kinds:
    """Items needed by the same deployed images, summed by kind (bit i: the i-th deployed image)."""

    masks: tuple[int, ...]
    rpm_bytes: tuple[int, ...]
    rpm_count: tuple[int, ...]
    headers: tuple[int, ...]
    other_bytes: tuple[int, ...]
    other_count: tuple[int, ...]


class WholeCost:
    """The whole objective of a tree: items' bytes where the placement puts them, each layer that
    adds RPMs rewriting the rpm database (``per_layer`` + the headers of every RPM the image
    holds), each layer that makes the venv (no venv above it) ``venv_base``."""

    def __init__(self, problem: TreeProblem, other: frozenset[str], venv_base: int):
        self.deployed = sorted(problem.needs)
        self.bit = {name: 1 << i for i, name in enumerate(self.deployed)}
        by_mask: dict[int, list[int]] = {}
        needed_by: dict[str, int] = {}
        for image, need in problem.needs.items():
            for item in need:
                needed_by[item] = needed_by.get(item, 0) | self.bit[image]
        for item, mask in needed_by.items():
            row = by_mask.setdefault(mask, [0, 0, 0, 0, 0])
            if item in other:
                row[3] += problem.sizes[item]
                row[4] += 1
            else:
                row[0] += problem.sizes[item]
                row[1] += 1
                row[2] += problem.per_item.get(item, 0)
        masks = sorted(by_mask)
        self.kinds = _Kinds(tuple(masks), *(tuple(by_mask[m][k] for m in masks) for k in range(5)))
        self.per_layer = problem.per_layer
        self.venv_base = venv_base
        #: nodes the last evaluation visited (what ``refine`` bounds)
        self.visits = 0

    def __call__(self, parents: Mapping[str, str | None]) -> int:
        children: dict[str | None, list[str]] = {}
        for name in sorted(parents):
            children.setdefault(parents[name], []).append(name)
        order: list[str] = []
        stack = list(reversed(children.get(None, [])))
        while stack:
            name = stack.pop()
            order.append(name)
            stack.extend(reversed(children.get(name, [])))
        below: dict[str, int] = {}
        for name in reversed(order):
            below[name] = self.bit.get(name, 0)
            for child in children.get(name, ()):
                below[name] |= below[child]
        layer = {name: [0, 0, 0, 0, 0] for name in order}  # rpm bytes, count, headers, other bytes, count
        kinds = self.kinds
        visits = len(order)
        for index, mask in enumerate(kinds.masks):
            nodes = list(children.get(None, []))
            while nodes:
                node = nodes.pop()
                visits += 1
                wanted = below[node] & mask
                if not wanted:
                    continue
                if self.bit.get(node, 0) & mask or wanted == below[node]:
                    row = layer[node]
                    row[0] += kinds.rpm_bytes[index]
                    row[1] += kinds.rpm_count[index]
                    row[2] += kinds.headers[index]
                    row[3] += kinds.other_bytes[index]
                    row[4] += kinds.other_count[index]
                else:
                    nodes.extend(children.get(node, ()))
        self.visits = visits
        total = 0
        headers: dict[str | None, int] = {None: 0}
        venv: dict[str | None, bool] = {None: False}
        for name in order:
            parent = parents[name]
            rpm_bytes, rpm_count, header, other_bytes, other_count = layer[name]
            headers[name] = headers[parent] + header
            venv[name] = venv[parent] or other_count > 0
            total += rpm_bytes + other_bytes
            if rpm_count:
                total += self.per_layer + headers[name]
            if other_count and not venv[parent]:
                total += self.venv_base
        return total


def refine(parents: Mapping[str, str | None], problem: TreeProblem, cost: WholeCost,
           max_work: int = MAX_WORK) -> tuple[dict[str, str | None], int]:
    """The tree after every improving move found within ``max_work``, and its cost. Computed
    layers are the nodes named ``~N``; a node moves only within its pinned group."""
    best = dict(parents)
    best_cost = cost(best)
    max_moves = max_work // max(cost.visits, 1)
    evaluations = 0
    improved = True
    while improved and evaluations < max_moves:
        improved = False
        for candidate in _moves(best, problem):
            evaluations += 1
            value = cost(candidate)
            if value < best_cost:
                best, best_cost, improved = _pruned(candidate), value, True
                break
            if evaluations >= max_moves:
                break
    return best, best_cost


def _group_of(name: str | None, parents: Mapping[str, str | None], problem: TreeProblem) -> str | None:
    """The innermost pinned group holding ``name`` (itself when it is one)."""
    while name is not None and name not in problem.groups:
        name = parents[name]
    return name


def _moves(parents: Mapping[str, str | None], problem: TreeProblem) -> Iterator[dict[str, str | None]]:
    """Every tree one move away: a computed layer dissolved, a node under another computed layer
    or group of its pinned group, or two siblings under a new computed layer."""
    children: dict[str | None, list[str]] = {}
    for name in sorted(parents):
        children.setdefault(parents[name], []).append(name)
    hosts = [n for n in sorted(parents) if n.startswith("~") or n in problem.groups]

    def inside(node: str) -> set[str]:
        seen, stack = {node}, [node]
        while stack:
            for child in children.get(stack.pop(), ()):
                seen.add(child)
                stack.append(child)
        return seen

    fresh = f"~{1 + max((int(n[1:]) for n in parents if n[1:].isdigit() and n.startswith('~')), default=0)}"
    for node in sorted(parents):  # a computed layer dissolved: its children take its place
        if node.startswith("~"):
            yield {n: (parents[node] if p == node else p) for n, p in parents.items() if n != node}
    for node in sorted(parents):
        if node in problem.groups:
            continue
        group = _group_of(parents[node], parents, problem)
        below = inside(node)
        for host in hosts:
            if host != parents[node] and host not in below and _group_of(host, parents, problem) == group:
                yield {**parents, node: host}
        for sibling in children.get(parents[node], []):
            if sibling > node and sibling not in problem.groups:
                yield {**parents, fresh: parents[node], node: fresh, sibling: fresh}


def _pruned(parents: dict[str, str | None]) -> dict[str, str | None]:
    """Computed layers left with fewer than two children go (their child takes their place)."""
    while True:
        count: dict[str, int] = {}
        for parent in parents.values():
            if parent is not None:
                count[parent] = count.get(parent, 0) + 1
        lone = next((n for n in sorted(parents) if n.startswith("~") and count.get(n, 0) < 2), None)
        if lone is None:
            return parents
        parents = {n: (parents[lone] if p == lone else p) for n, p in parents.items() if n != lone}
