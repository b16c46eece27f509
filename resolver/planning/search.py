"""The two tree searches of ``resolver.planning.tree`` (numpy): the exact subset dynamic
programme and the agglomerative joins."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np

from .tree import TreeProblem, _Class, _Node

#: elements of one vectorised step of the exact method (bounds its memory)
_CHUNK = 1 << 21


class _Weights:
    """Item weights of the classes' needs, indexed by which classes need an item."""

    def __init__(self, classes: list[_Class], top: frozenset[str], problem: TreeProblem):
        self.universe = sorted(set().union(*(c.need for c in classes)) - top)
        self.size = np.array([problem.sizes[x] for x in self.universe], dtype=np.float64)
        self.header = np.array([problem.per_item.get(x, 0) for x in self.universe], dtype=np.float64)
        self.top_size = float(sum(problem.sizes[x] for x in top))
        self.top_header = float(sum(problem.per_item.get(x, 0) for x in top))
        self.top_count = len(top)
        self.per_layer = float(problem.per_layer)


class Exact(_Weights):
    """Subset dynamic programme. For a set T of classes under one real node of content I(T)
    (what they all share), P[T, k] is the cheapest split of T into k blocks, each block costed
    as if its parent held nothing (E[block]); a node with content I(T) then pays, for k children,
    P[T, k] - k * w(I(T)). Carrying k keeps nodes with any number of children exact."""

    def __init__(self, classes: list[_Class], top: frozenset[str], problem: TreeProblem):
        super().__init__(classes, top, problem)
        self.classes = classes
        m = self.m = len(classes)
        masks: dict[str, int] = {}
        for index, cls in enumerate(classes):
            for item in cls.need - top:
                masks[item] = masks.get(item, 0) | (1 << index)
        by_mask = np.array([masks[x] for x in self.universe], dtype=np.int64)
        # w(I(T)), header bytes and item count of I(T) for every subset T: sums over supersets
        self.w, self.h, self.c = (self._superset_sums(by_mask, values) for values in
                                  (self.size, self.header, np.ones(len(self.universe))))
        self.w += self.top_size
        self.h += self.top_header
        self.c += self.top_count
        everything = np.arange(1 << m, dtype=np.int64)
        self.popcount = np.zeros(1 << m, dtype=np.int64)
        for bit in range(m):
            self.popcount += (everything >> bit) & 1
        internal = np.array([c.internal for c in classes])
        self.internal_sum = np.zeros(1 << m)
        for bit in range(m):
            self.internal_sum[everything & (1 << bit) != 0] += internal[bit]

    def _superset_sums(self, by_mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        table = np.zeros(1 << self.m)
        np.add.at(table, by_mask, values)
        for bit in range(self.m):
            view = table.reshape(-1, 2, 1 << bit)
            view[:, 0, :] += view[:, 1, :]
        return table

    def solve(self) -> tuple[float, list[_Node]]:
        m = self.m
        size = 1 << m
        self.E = np.full(size, np.inf)
        # P[k, T] and block[k, T]: one contiguous row per k, so a step reads P[k - 1] with one index
        self.P = np.full((m + 1, size), np.inf)
        self.P[0, 0] = 0.0
        self.block = np.zeros((m + 1, size), dtype=np.int32 if m < 31 else np.int64)
        self.kbest = np.zeros(size, dtype=np.int64)
        self.zero = np.zeros(size, dtype=np.int64)
        for bit in range(m):
            single = 1 << bit
            overhead = self.per_layer + self.h[single] if self.c[single] > 0 else 0.0
            self.E[single] = self.w[single] + overhead + self.classes[bit].internal
            self.P[1, single] = self.E[single]
        for level in range(2, m + 1):
            subsets = np.nonzero(self.popcount == level)[0]
            step = max(1, _CHUNK // (1 << (level - 1)))
            for start in range(0, len(subsets), step):
                self._split(subsets[start:start + step], level)
            self._node(subsets)
        full = size - 1
        cost, k, zero = self._children_cost(np.array([full]), float(self.top_size), float(self.top_count), 1)
        return float(cost[0]), self._children(full, int(k[0]), int(zero[0]))

    def _split(self, subsets: np.ndarray, level: int) -> None:
        """P[k, T] for k >= 2: the block holding T's lowest class, plus the best k-1 blocks of the rest."""
        low = subsets & -subsets
        rest = subsets ^ low
        # the sub-blocks of the rest, by doubling over its bits: column j holds the bits j selects
        subs = np.zeros((len(subsets), 1), dtype=np.int64)
        remaining = rest.copy()
        for _ in range(level - 1):
            bit = (remaining & -remaining)[:, None]
            remaining ^= bit[:, 0]
            subs = np.concatenate([subs, subs | bit], axis=1)
        # smallest blocks first, T itself left out: k blocks need a first block of at most
        # level - k + 1 classes, a prefix of the columns
        order, ends = _by_size(level - 1)
        blocks = low[:, None] | subs[:, order]
        others = subsets[:, None] ^ blocks
        first = self.E[blocks]
        rows = np.arange(len(subsets))
        for k in range(2, level + 1):
            end = ends[level - k]
            candidates = first[:, :end] + self.P[k - 1][others[:, :end]]
            best = candidates.argmin(axis=1)
            self.P[k, subsets] = candidates[rows, best]
            self.block[k, subsets] = blocks[rows, best]

    def _children_cost(self, subsets: np.ndarray, content_size: np.ndarray | float, content_count: np.ndarray | float,
                       least: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cheapest children of nodes holding ``content``: k >= ``least`` blocks of the subset, or
        the classes whose needs equal the content (empty layers) beside k >= 0 blocks of the rest."""
        m = self.m
        ks = np.arange(m + 1)
        lam = np.broadcast_to(np.asarray(content_size, dtype=np.float64), subsets.shape)
        count = np.broadcast_to(np.asarray(content_count, dtype=np.float64), subsets.shape)
        plain = self.P[least:, subsets].T - ks[least:] * lam[:, None]
        k_plain = plain.argmin(axis=1) + least
        cost = plain.min(axis=1)
        zero = np.zeros(len(subsets), dtype=np.int64)
        for bit in range(m):
            single = 1 << bit
            zero |= (((subsets >> bit) & 1) * (self.c[single] == count)).astype(np.int64) << bit
        rest = subsets & ~zero
        with_zero = self.P[:, rest].T - ks * lam[:, None]
        k_zero = with_zero.argmin(axis=1)
        zero_cost = self.internal_sum[zero] + with_zero.min(axis=1)
        use_zero = (zero != 0) & (zero_cost < cost)
        return np.where(use_zero, zero_cost, cost), np.where(use_zero, k_zero, k_plain), np.where(use_zero, zero, 0)

    def _node(self, subsets: np.ndarray) -> None:
        """E[T]: T's classes under one node holding I(T) (no node at all when I(T) is empty)."""
        cost, k, zero = self._children_cost(subsets, self.w[subsets], self.c[subsets], 2)
        self.kbest[subsets], self.zero[subsets] = k, zero
        real = self.c[subsets] > 0
        self.E[subsets] = np.where(real, self.w[subsets] + self.per_layer + self.h[subsets] + cost, cost)
        self.P[1, subsets] = self.E[subsets]

    def _children(self, subset: int, k: int, zero: int) -> list[_Node]:
        """The children chosen for a node over ``subset``: k blocks, beside the ``zero`` classes."""
        nodes = [member.node() for bit in range(self.m) if zero >> bit & 1 for member in self.classes[bit].members]
        rest = subset & ~zero
        while k > 1:
            block = int(self.block[k, rest])
            nodes += self._block(block)
            rest ^= block
            k -= 1
        if k == 1:
            nodes += self._block(rest)
        return nodes

    def _block(self, block: int) -> list[_Node]:
        if block & (block - 1) == 0:
            return [self.classes[block.bit_length() - 1].node()]
        children = self._children(block, int(self.kbest[block]), int(self.zero[block]))
        return [_Node(None, children)] if self.c[block] > 0 else children


@functools.cache
def _by_size(bits: int) -> tuple[np.ndarray, list[int]]:
    """The subsets of ``bits`` bits but the full one, fewest bits first (a stable order), and for
    each j how many have at most j bits."""
    patterns = np.arange((1 << bits) - 1, dtype=np.int64)
    counts = np.zeros(len(patterns), dtype=np.int64)
    for bit in range(bits):
        counts += (patterns >> bit) & 1
    order = np.argsort(counts, kind="stable")
    return order, [int(np.searchsorted(counts[order], j, side="right")) for j in range(bits + 1)]


class Agglomerative(_Weights):
    """Greedy joins on shared bytes (numpy: one row of the pair matrices per join)."""

    def __init__(self, classes: list[_Class], top: frozenset[str], problem: TreeProblem):
        super().__init__(classes, top, problem)
        self.classes = classes
        self.top = top
        self.problem = problem
        # items needed by the same classes are alike in every join: one column per distinct set of
        # classes, its items' weights summed (100,000 items of one image are one column, not
        # 100,000: the matrices are classes x distinct need patterns)
        needed_by: dict[str, list[int]] = {}
        for row, cls in enumerate(classes):
            for item in cls.need - top:
                needed_by.setdefault(item, []).append(row)
        columns: dict[tuple[int, ...], int] = {}
        column_of = np.array([columns.setdefault(tuple(needed_by[x]), len(columns)) for x in self.universe],
                             dtype=np.int64)
        self.content = np.zeros((len(classes), len(columns)))
        for pattern, column in columns.items():
            self.content[list(pattern), column] = 1.0
        self.weights = np.zeros((3, len(columns)))
        for weight, values in zip(self.weights, (self.size, self.header, np.ones(len(self.universe)))):
            np.add.at(weight, column_of, values)

    def _pairs(self, rows: np.ndarray) -> np.ndarray:
        """Shared bytes, shared header bytes and shared item count of ``rows`` with every group."""
        if len(rows) == 1:  # one join's row: products over the columns the row holds (a join's content is small)
            held = np.flatnonzero(self.content[rows[0]])
            columns = self.content[:, held]
            return np.stack([(columns @ (self.content[rows[0], held] * weight[held]))[None, :]
                             for weight in self.weights])
        chosen = self.content[rows]
        return np.stack([(chosen * weight) @ self.content.T for weight in self.weights])

    def _savings(self, pairs: np.ndarray, mine: np.ndarray, count: np.ndarray) -> np.ndarray:
        """Bytes a join saves: the shared part stored once, minus a new layer's overhead unless one
        group's content is the shared part (that group takes the other as a child)."""
        shared, headers, counts = pairs
        contained = (counts == mine[:, None]) | (counts == count[None, :])
        saving = np.where(contained, shared, shared - self.per_layer - self.top_header - headers)
        return np.where(counts > 0, saving, -np.inf)

    def solve(self) -> tuple[float, list[_Node]]:
        n = len(self.classes)
        if n == 0:
            return 0.0, []
        nodes = [c.node() for c in self.classes]
        # a node that can take children: a shared layer of several members, or a join
        hosts = [len(c.members) > 1 for c in self.classes]
        alive = np.ones(n, dtype=bool)
        pairs = self._pairs(np.arange(n))
        count = np.diag(pairs[2]).copy()
        saving = self._savings(pairs, count, count)
        np.fill_diagonal(saving, -np.inf)
        while True:
            i, j = divmod(int(np.argmax(saving)), n)
            if not saving[i, j] > 0:
                break
            if pairs[2, i, j] == count[j] and pairs[2, i, j] != count[i]:
                i, j = j, i  # j's content is the shared part: j takes i
            if pairs[2, i, j] != count[i]:
                self.content[i] *= self.content[j]
                nodes[i] = _Node(None, [nodes[i], nodes[j]])
            elif hosts[i]:
                nodes[i].children.append(nodes[j])
            else:
                nodes[i] = _Node(None, [nodes[i], nodes[j]])
            hosts[i] = True
            alive[j] = False
            self.content[j] = 0.0
            row = self._pairs(np.array([i]))[:, 0, :]
            pairs[:, i, :], pairs[:, :, i] = row, row
            pairs[:, j, :], pairs[:, :, j] = 0.0, 0.0
            count[i], count[j] = row[2, i], 0.0
            new = self._savings(row[:, None, :], count[i:i + 1], count)[0]
            new[~alive] = -np.inf
            new[i] = -np.inf
            saving[i, :], saving[:, i] = new, new
            saving[j, :], saving[:, j] = -np.inf, -np.inf
        layout = _Layout(self.classes, self.problem)
        roots = layout.dissolve([nodes[i] for i in np.nonzero(alive)[0]], self.top)
        return layout.cost(roots, self.top), roots


class _Layout:
    """Contents and costs of a built (sub)tree, with Python sets: what the agglomerative method
    reports and what it uses to dissolve layers that do not pay for themselves."""

    def __init__(self, classes: list[_Class], problem: TreeProblem):
        self.members = {m.name: m for c in classes for m in c.members}
        self.problem = problem
        self._contents: dict[int, frozenset[str]] = {}

    def content(self, node: _Node) -> frozenset[str]:
        if id(node) not in self._contents:
            self._contents[id(node)] = (self.members[node.name].need if node.name is not None else
                                        frozenset.intersection(*(self.content(c) for c in node.children)))
        return self._contents[id(node)]

    def size(self, items: Iterable[str]) -> int:
        return sum(self.problem.sizes[x] for x in items)

    def overhead(self, content: frozenset[str]) -> int:
        return self.problem.per_layer + sum(self.problem.per_item.get(x, 0) for x in content)

    def dissolve(self, nodes: list[_Node], parent: frozenset[str]) -> list[_Node]:
        """Top-down: a computed layer goes when its children pay less without it (or it is empty)."""
        kept: list[_Node] = []
        queue = list(nodes)
        while queue:
            node = queue.pop(0)
            if node.name is None:
                mine = self.content(node)
                layer = self.size(mine - parent)
                newly_paying = sum(self.content(c) == mine for c in node.children) * self.overhead(mine)
                if mine == parent or (len(node.children) - 1) * layer + newly_paying < self.overhead(mine):
                    queue.extend(node.children)
                    continue
                node.children = self.dissolve(node.children, mine)
            kept.append(node)
        return kept

    def cost(self, nodes: list[_Node], parent: frozenset[str]) -> float:
        total = 0.0
        for node in nodes:
            mine = self.content(node)
            if mine != parent:
                total += self.size(mine - parent) + self.overhead(mine)
            if node.name is None:
                total += self.cost(node.children, mine)
            else:
                total += self.members[node.name].internal
        return total
