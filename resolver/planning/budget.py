"""Placement under a bloat budget on a given tree, solved exactly (an integer programme, HiGHS).

Bloat is what a deployed image holds without needing it: an item placed in a shared layer some
descendant does not need. Letting some in stores items fewer times. For a tree and a budget (in
total and/or per deployed image) the programme picks, for every item, the layers that hold it:

- z[x, v] = 1 when layer v installs item x. Every deployed image that needs x has it exactly once
  on its path; every other deployed image at most once (then it is bloat there).
- A layer is installable on its own: an item in it has each requirement met on its path.
- y[v] = 1 when layer v installs anything; q[x, v] = y[v] * (x is in image v): the layer's rpm
  database holds every header of the image (``OverheadModel`` in ``resolver.plan``).
- minimise Σ size(x) z[x, v] + Σ (per_layer y[v] + Σ header(x) q[x, v]): the objective of the
  zero-bloat planner, overhead included.

HiGHS answers with a solution and a proven bound; a point counts as optimal when the relative gap
is at most ``GAP`` (0.1 %).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..plan import TreeShape

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
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def column(self, cost: float, upper: float = 1.0, integer: bool = True) -> int:
        self.cost.append(cost)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.cost) - 1)
        return len(self.cost) - 1

    def row(self, lower: float, upper: float, terms: Sequence[tuple[int, float]]) -> None:
        merged: dict[int, float] = {}
        for column, value in terms:  # HiGHS refuses a row naming a column twice
            merged[column] = merged.get(column, 0.0) + value
        if merged:
            self.rows.append((lower, upper, list(merged), list(merged.values())))

    def solve(self, time_limit: float) -> tuple[np.ndarray, float, float]:
        import highspy

        with _stdout_silenced():  # the HiGHS constructor prints a banner
            highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("mip_rel_gap", GAP / 2)
        highs.setOptionValue("time_limit", float(time_limit))
        highs.setOptionValue("threads", 1)
        count = len(self.cost)
        highs.addCols(count, np.array(self.cost), np.zeros(count), np.array(self.upper), 0,
                      np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        if self.integer:
            highs.changeColsIntegrality(len(self.integer), np.array(self.integer, np.int32),
                                        np.full(len(self.integer), 1, np.uint8))
        starts, indices, values = [], [], []
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
        solution = np.array(highs.getSolution().col_value)
        if len(solution) != count or info.primal_solution_status == 0:
            raise ValueError("no feasible placement within this budget")
        return solution, float(info.objective_function_value), float(info.mip_dual_bound)


@contextlib.contextmanager
def _stdout_silenced():
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
    deployed = sorted(shape.deployed)
    below = {n: set() for n in order}
    for d in deployed:
        for node in shape.path(d):
            below[node].add(d)
    ancestors = {n: shape.path(n) for n in order}
    union = sorted(set().union(*needs.values()))
    needed_by = {x: {d for d in deployed if x in needs[d]} for x in union}
    lp = _Programme()
    z: dict[tuple[str, str], int] = {}
    for x in union:
        for v in order:
            # a layer holds x only where some deployed image below needs it (else it is only
            # bloat), and a deployed layer that does not need x never holds it
            if below[v] & needed_by[x] and not (v in shape.deployed and x not in needs[v] and not shape.children(v)):
                z[x, v] = lp.column(float(sizes[x]))
    y = {v: lp.column(float(per_layer)) for v in order}
    on_path = {(x, v): [z[x, u] for u in ancestors[v] if (x, u) in z] for x in union for v in order}
    bloat_terms: dict[str, list[tuple[int, float]]] = {d: [] for d in deployed}
    for x in union:
        for d in deployed:
            columns = on_path[x, d]
            if x in needs[d]:
                lp.row(1, 1, [(c, 1.0) for c in columns])
            elif columns:
                lp.row(0, 1, [(c, 1.0) for c in columns])
                bloat_terms[d].extend((c, float(sizes[x])) for c in columns)
        for v in order:
            if (x, v) in z:
                lp.row(0, np.inf, [(y[v], 1.0), (z[x, v], -1.0)])  # y[v] >= z[x, v]
                for alternatives in requires.get(x, ()):
                    support = [c for a in sorted(alternatives) for c in on_path.get((a, v), [])]
                    lp.row(0, np.inf, [*((c, 1.0) for c in support), (z[x, v], -1.0)])
    # the rpm database: a layer that installs anything holds the header of every item of its image
    for v in order:
        for x in union:
            columns = on_path[x, v]
            header = float(per_item.get(x, 0))
            if not columns or not header:
                continue
            if v in shape.deployed and x in needs[v]:
                lp.cost[y[v]] += header  # always in the image
                continue
            q = lp.column(header, integer=False)
            lp.row(-1, np.inf, [(q, 1.0), *((c, -1.0) for c in columns), (y[v], -1.0)])  # q >= sum + y - 1
    if budget.per_image is not None:
        for terms in bloat_terms.values():
            lp.row(-np.inf, budget.per_image, terms)
    if budget.total is not None:
        lp.row(-np.inf, budget.total, [t for terms in bloat_terms.values() for t in terms])
    solution, objective, bound = lp.solve(time_limit)
    layers = {v: frozenset(x for x in union if (x, v) in z and solution[z[x, v]] > 0.5) for v in order}
    bloat = sum(sizes[x] for d in deployed for v in ancestors[d] for x in layers[v] if x not in needs[d])
    return BudgetSolution(layers, objective, min(bound, objective), bloat)


@dataclass(frozen=True)
class ParetoPoint:
    """One solve of the curve: the cheapest placement with at most ``budget`` bytes of bloat."""

    budget: int | None
    solution: BudgetSolution

    def to_json(self) -> dict:
        s = self.solution
        return {"budget": self.budget, "objective": round(s.objective), "bound": round(s.bound),
                "bloat": s.bloat, "gap": round(s.gap, 6), "proven": s.proven}


#: budgets of the curve, as shares of the bloat the unlimited optimum carries
PARETO_SHARES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7)


def pareto_curve(shape: TreeShape, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                 per_layer: int = 0, per_item: Mapping[str, int] | None = None,
                 requires: Mapping[str, Sequence[frozenset[str]]] | None = None,
                 shares: Sequence[float] = PARETO_SHARES, time_limit: float = TIME_LIMIT) -> list[ParetoPoint]:
    """Objective against total bloat: the unlimited optimum first (it says how much bloat can buy
    anything), then a budget at each share of its bloat. Each point is its own exact solve."""
    def solve(total: int | None) -> BudgetSolution:
        return place_with_budget(shape, needs, sizes, Budget(total), per_layer, per_item, requires, time_limit)

    unlimited = solve(None)
    points = [ParetoPoint(round(share * unlimited.bloat), solve(round(share * unlimited.bloat))) for share in shares]
    return points + [ParetoPoint(None, unlimited)]
