"""Placement under a bloat budget on a given tree, solved exactly (an integer programme, HiGHS).

Bloat is what a deployed image holds without needing it: an item placed in a shared layer some
descendant does not need. Letting some in stores items fewer times. For a tree and a budget (in
total and/or per deployed image) the programme picks, for every item, the layers that hold it:

- c[x, v] = 1 when image v holds item x: an image holds its parent's items; a deployed image holds
  what it needs (and, as bloat, what its parent holds beyond that); layer v installs x when
  c[x, v] - c[x, parent] = 1.
- An image can install what it holds: each requirement of x has a provider in the image (simple
  difference constraints, which keep the relaxation tight).
- y[v] = 1 when layer v installs anything; q[x, v] = y[v] * c[x, v]: the layer's rpm database
  holds every header of the image (the overhead model of ``resolver.plan``).
- minimise Σ size(x) (c[x, v] - c[x, parent]) + Σ (per_layer y[v] + Σ header(x) q[x, v]): the
  objective of the zero-bloat planner, overhead included.

HiGHS answers with a solution and a proven bound; a point counts as optimal when the relative gap
is at most ``GAP`` (0.1 %).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from math import inf
from typing import Any

from .plan import TreeShape

#: relative gap at which a solution counts as the proven optimum
GAP = 1e-3
#: seconds one solve may take before it stops with the gap it has
TIME_LIMIT = 120.0


@dataclass(frozen=True)
class Budget:
    """Bytes of bloat allowed in total and per deployed image (None: no limit)."""

    total: int | None = None
    per_image: int | None = None

    def describe(self) -> str:
        parts = [f"total {self.total / 1e6:g} MB" if self.total is not None else "",
                 f"per image {self.per_image / 1e6:g} MB" if self.per_image is not None else ""]
        return ", ".join(p for p in parts if p) or "unlimited"


@dataclass(frozen=True)
class BudgetSolution:
    #: the items each layer installs
    layers: Mapping[str, frozenset[str]]
    objective: float
    #: HiGHS's proven lower bound on the objective
    bound: float
    bloat: int

    @property
    def gap(self) -> float:
        return (self.objective - self.bound) / self.objective if self.objective else 0.0

    @property
    def proven(self) -> bool:
        return self.gap <= GAP


class _Programme:
    """Columns and rows of the integer programme, gathered before HiGHS sees them."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def column(self, cost: float, upper: float = 1.0, integer: bool = True) -> int:
        self.cost.append(cost)
        self.lower.append(0.0)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.cost) - 1)
        return len(self.cost) - 1

    def fix(self, column: int, value: float) -> None:
        self.lower[column] = self.upper[column] = value

    def row(self, lower: float, upper: float, terms: Sequence[tuple[int, float]]) -> None:
        merged: dict[int, float] = {}
        for column, value in terms:  # HiGHS refuses a row naming a column twice
            merged[column] = merged.get(column, 0.0) + value
        if merged:
            self.rows.append((lower, upper, list(merged), list(merged.values())))

    def solve(self, time_limit: float) -> tuple[list[float], float, float]:
        import highspy  # and numpy: only when a budget is solved
        import numpy as np

        with _stdout_silenced():  # the HiGHS constructor prints a banner
            highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy's constructor is unannotated
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("mip_rel_gap", GAP / 2)
        highs.setOptionValue("time_limit", float(time_limit))
        highs.setOptionValue("threads", 1)
        # presolve's probing takes most of the time here and leaves the search nearly nothing to do
        highs.setOptionValue("presolve", "off")
        count = len(self.cost)
        highs.addCols(count, np.array(self.cost), np.array(self.lower), np.array(self.upper), 0,
                      np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        if self.integer:
            highs.changeColsIntegrality(len(self.integer), np.array(self.integer, np.int32),
                                        np.full(len(self.integer), 1, np.uint8))
        starts: list[int] = []
        indices: list[int] = []
        values: list[float] = []
        for _, _, columns, coefficients in self.rows:
            starts.append(len(indices))
            indices.extend(columns)
            values.extend(coefficients)
        status = highs.addRows(len(self.rows), np.array([r[0] for r in self.rows], dtype=float),
                               np.array([r[1] for r in self.rows], dtype=float), len(indices),
                               np.array(starts, np.int32), np.array(indices, np.int32), np.array(values))
        if status != highspy.HighsStatus.kOk:
            raise RuntimeError(f"HiGHS refused the programme ({status})")
        highs.run()
        info = highs.getInfo()
        solution = list(highs.getSolution().col_value)
        if len(solution) != count or info.primal_solution_status == 0:
            raise ValueError("no feasible placement within this budget")
        return solution, float(info.objective_function_value), float(info.mip_dual_bound)


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def place_with_budget(shape: TreeShape, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                      budget: Budget, per_layer: int = 0, per_item: Mapping[str, int] | None = None,
                      requires: Mapping[str, Sequence[frozenset[str]]] | None = None,
                      time_limit: float = TIME_LIMIT) -> BudgetSolution:
    """The cheapest placement on ``shape`` whose bloat fits ``budget`` (see the module text)."""
    per_item = per_item or {}
    requires = requires or {}
    order = shape.top_down()
    parent = shape.parents
    below: dict[str, set[str]] = {n: set() for n in order}
    for d in shape.deployed:
        for node in shape.path(d):
            below[node].add(d)
    union = sorted(set().union(*needs.values()))
    lp = _Programme()
    # c[x, v] = 1 when image v holds x. Only where some deployed image below v needs x; elsewhere
    # an image holds x exactly when its nearest such ancestor does (``held``).
    c: dict[tuple[str, str], int] = {}
    for x in union:
        for v in order:
            if any(x in needs[d] for d in below[v]):
                fixed = v in shape.deployed and x in needs[v]
                c[x, v] = lp.column(0.0, integer=not fixed)
                if fixed:
                    lp.fix(c[x, v], 1.0)

    def held(x: str, v: str | None) -> int | None:
        while v is not None and (x, v) not in c:
            v = parent[v]
        return None if v is None else c[x, v]

    y = {v: lp.column(float(per_layer)) for v in order}
    bloat_terms: dict[str, list[tuple[int, float]]] = {d: [] for d in shape.deployed}
    for x in union:
        size, header = float(sizes[x]), float(per_item.get(x, 0))
        for v in order:
            mine, above = held(x, v), held(x, parent[v])
            if mine is None:
                continue
            if (x, v) in c:
                # the layer installs x when v holds it and its parent does not
                lp.cost[mine] += size
                if above is not None:
                    lp.cost[above] -= size
                    lp.row(0, inf, [(mine, 1.0), (above, -1.0)])  # an image holds its parent's items
                    lp.row(0, inf, [(y[v], 1.0), (mine, -1.0), (above, 1.0)])  # y[v] >= installs x
                else:
                    lp.row(0, inf, [(y[v], 1.0), (mine, -1.0)])
                for alternatives in requires.get(x, ()):  # v's image can install x: a provider is there
                    support = [s for a in sorted(alternatives) if (s := held(a, v)) is not None]
                    if not any(lp.lower[s] == 1.0 for s in support):  # else met whatever is placed
                        lp.row(0, inf, [*((s, 1.0) for s in support), (mine, -1.0)])
            if v in shape.deployed and x not in needs[v]:
                bloat_terms[v].append((mine, size))
            if header:
                if v in shape.deployed and x in needs[v]:
                    lp.cost[y[v]] += header  # always in this image's rpm database when it has a layer
                else:
                    q = lp.column(header, integer=False)  # q >= holds(x) + y[v] - 1
                    lp.row(-1, inf, [(q, 1.0), (mine, -1.0), (y[v], -1.0)])
    if budget.per_image is not None:
        for terms in bloat_terms.values():
            lp.row(-inf, budget.per_image, terms)
    if budget.total is not None:
        lp.row(-inf, budget.total, [t for terms in bloat_terms.values() for t in terms])
    solution, objective, bound = lp.solve(time_limit)
    holds = {v: {x for x in union if (s := held(x, v)) is not None and solution[s] > 0.5} for v in order}
    layers = {v: frozenset(holds[v] - (holds[p] if (p := parent[v]) else set())) for v in order}
    bloat = sum(sizes[x] for d in shape.deployed for x in holds[d] - needs[d])
    return BudgetSolution(layers, objective, min(bound, objective), bloat)


@dataclass(frozen=True)
class ParetoPoint:
    """One solve of the curve: the cheapest placement with at most ``budget`` bytes of bloat."""

    budget: int | None
    solution: BudgetSolution

    def to_json(self) -> dict[str, Any]:
        s = self.solution
        return {"budget": self.budget, "objective": round(s.objective), "bound": round(s.bound),
                "bloat": s.bloat, "gap": round(s.gap, 6), "proven": s.proven}


#: budgets of the curve, as shares of the zero-bloat plan's package bytes
PARETO_SHARES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)


def pareto_curve(shape: TreeShape, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                 per_layer: int = 0, per_item: Mapping[str, int] | None = None,
                 requires: Mapping[str, Sequence[frozenset[str]]] | None = None, scale: int | None = None,
                 shares: Sequence[float] = PARETO_SHARES, time_limit: float = TIME_LIMIT) -> list[ParetoPoint]:
    """Objective against total bloat: a budget at each share of ``scale`` (the zero-bloat plan's
    package bytes; by default every image's needs summed once), then no budget at all. Each point
    is its own exact solve."""
    if scale is None:
        scale = sum(sizes[x] for x in set().union(*needs.values()))
    points = []
    for budget in [*(round(share * scale) for share in shares), None]:
        solution = place_with_budget(shape, needs, sizes, Budget(budget), per_layer, per_item, requires, time_limit)
        points.append(ParetoPoint(budget, solution))
    return points
