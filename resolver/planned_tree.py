"""`resolver plan`, `lock` and `report` as one call: the whole tree planned (with a bloat budget,
the venv layers, the Pareto curve when asked for) and its lock, as data; the commands write or
render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import default_cache_dir
from .lock import Lock, lock_from_plan
from .planning.tree import EXACT_LIMIT
from .planning.treeplan import PARETO_COUNTS, TreePlan, pareto_of, plan_tree
from .planning.whole import WholeFigures, whole_figures
from .progress import Reporter
from .resolving.resolution import TreeResolver

if TYPE_CHECKING:
    from .containers.wheels import WheelPlan
    from .planning.budget import Budget, ParetoPoint


@dataclass(frozen=True)
class PlannedTree:
    result: TreePlan
    #: the venv layers (``python``), else None
    wheels: WheelPlan | None
    #: the Pareto curve (``pareto``), else None
    pareto: list[ParetoPoint] | None
    #: the lock this plan gives
    lock: Lock
    #: why the figures are the RPMs' alone though the tree installs Python (None: they are not,
    #: or the tree installs none)
    rpm_only: str | None = None

    def whole(self) -> WholeFigures:
        """The whole set's figures: RPMs and venv layers on the one tree."""
        result = self.result
        return whole_figures(result.plan, result.objective_lower_bound, self.wheels.layers if self.wheels else None,
                             result.optimum if result.other is None else None)

    def to_json(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The plan's JSON (``resolver plan --format json``, the report's input): ``whole`` (the
        whole set's figures, a contract) and per image ``whole_image_size``."""
        data = with_python(self.result.to_json(), self.wheels)
        whole = self.whole()
        data["whole"] = {**whole.to_json(), "rpm_only": self.rpm_only}
        for name, image in data["images"].items():
            image["whole_image_size"] = whole.image_sizes[name]
        data["overrides"] = overrides
        if self.pareto is not None:
            data["pareto"] = [point.to_json() for point in self.pareto]
            data["pareto_counts"] = PARETO_COUNTS[self.result.other is not None]
        return data


def plan_whole_tree(resolver: TreeResolver, reporter: Reporter, writing: str, lock_path: Path,
                    overrides: dict[str, Any], tree: str = "computed", exact_limit: int = EXACT_LIMIT,
                    budget: Budget | None = None, python: bool = False, pareto: bool = False,
                    cache_dir: Path | None = None) -> PlannedTree:
    """The plan (``budget``: None for zero bloat) and its lock (paths relative to ``lock_path``'s
    directory); ``writing``: what the command then writes, said as the last stage."""
    from .containers.kolla import tree_release
    from .containers.wheels import python_lock, python_roots

    wheels, rpm_only = None, None
    if python:  # one tree over RPMs and wheels
        from .containers.pypi import PyPI
        from .containers.wheels import plan_tree_with_wheels

        whole = plan_tree_with_wheels(resolver, PyPI(cache_dir or default_cache_dir()), tree, exact_limit, budget,
                                      required=False)
        result, wheels = whole.result, whole.wheels
        if whole.unavailable:
            rpm_only = f"the wheel metadata cannot be had ({whole.unavailable})"
    else:
        result = plan_tree(resolver, tree, exact_limit, budget)
        if python_roots(resolver.tree, resolver.profiles):
            rpm_only = "the venvs were not planned (--python plans them)"
    curve = None
    if pareto:
        from .planning.budget import PARETO_SHARES

        reporter.stage(f"solving the Pareto curve ({len(PARETO_SHARES) + 1} integer programmes)")
        curve = pareto_of(result)
    # the last stage: the lock or the report is computed and written (bench/kill_bench.py aims at it)
    reporter.stage(f"output: writing {writing}")
    lock = lock_from_plan(result.plan, result.inputs.packages, resolver.target.name, resolver.repos.digests(),
                          result.tree, budget.describe() if budget else "none", overrides, result.unresolved,
                          lock_path.parent, python_lock(wheels) if wheels else None,
                          tree_release(resolver.profiles.defaults.constraints).to_json())
    return PlannedTree(result, wheels, curve, lock, rpm_only)


def with_python(data: dict[str, Any], wheels: WheelPlan | None) -> dict[str, Any]:
    """The plan's JSON with the wheel plan beside it (``--python``; the keys are null without):
    per image ``python_bytes`` (its venv layer) and ``python_wheels``; ``python`` (the wheel
    plan), ``python_total`` (every venv layer once), ``total_with_python`` and
    ``objective_with_python`` (the RPM figures plus ``python_total``)."""
    from .containers.wheels import python_json

    for name, image in data["images"].items():
        own = wheels.images.get(name) if wheels else None
        image["python_bytes"] = (own.size if own else 0) if wheels else None
        image["python_wheels"] = [d.key for d in own.layer] if own else [] if wheels else None
    total = wheels.layers.total_set_size if wheels else None
    data.update(python=python_json(wheels) if wheels else None, python_total=total,
                total_with_python=None if total is None else data["total_set_size"] + total,
                objective_with_python=None if total is None else data["objective"] + total)
    return data
