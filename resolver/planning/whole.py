"""The whole set's figures: the RPM layers and the venv layers of one tree counted together, with
the overhead of both (pure).

The venv layers are a second ``LayerPlan`` on the RPM plan's tree (wheel keys as items): an
image's venv is its own layer plus its ancestors', so ``image_size`` of the two plans add up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .plan import VENV_BASE_BYTES, LayerPlan


@dataclass(frozen=True)
class WholeFigures:
    """`plan --format json`'s ``whole`` (a contract) and each image's ``whole_image_size``."""

    total_set_size: int
    lower_bound: int
    objective: int
    objective_lower_bound: int
    #: the objective proven optimal over all zero-bloat trees, when it is (else None)
    optimum: int | None
    bloat: int
    #: what the figures count: ("rpm",) or ("rpm", "python")
    includes: tuple[str, ...]
    #: each image's size as ``podman images`` gives it: every layer of it, RPMs, venv, overhead
    image_sizes: Mapping[str, int]

    def to_json(self) -> dict[str, object]:
        return {"total_set_size": self.total_set_size, "lower_bound": self.lower_bound, "objective": self.objective,
                "objective_lower_bound": self.objective_lower_bound, "optimum": self.optimum, "bloat": self.bloat,
                "includes": list(self.includes)}


def venv_overhead(python: LayerPlan) -> dict[str, int]:
    """Each layer's bytes besides its wheels: the venv's skeleton, in the highest non-empty venv
    layer of each path (the one that makes the venv)."""
    made: dict[str, int] = {}
    for name in python.shape.top_down():
        image = python.images[name]
        above = [a for a in python.shape.path(name)[:-1] if python.images[a].layer_packages]
        made[name] = VENV_BASE_BYTES if image.layer_packages and not above else 0
    return made


def whole_figures(rpm: LayerPlan, rpm_objective_lower_bound: int, python: LayerPlan | None,
                  proven_cost: int | None = None) -> WholeFigures:
    """The figures of both plans on one tree (``python`` None: the RPM plan's alone).
    ``proven_cost``: the tree search's proven optimum; it is the optimum of these figures only
    where it equals their objective (the search's model is the same on this input)."""
    overhead = venv_overhead(python) if python else {}
    sizes = {}
    for name in rpm.shape.top_down():
        path = rpm.shape.path(name)
        sizes[name] = (rpm.images[name].image_size + sum(rpm.images[a].overhead for a in path)
                       + (python.images[name].image_size + sum(overhead[a] for a in path) if python else 0))
    py_total = python.total_set_size if python else 0
    objective = rpm.objective + py_total + sum(overhead.values())
    bound = rpm_objective_lower_bound + ((python.lower_bound + VENV_BASE_BYTES) if python and python.lower_bound else 0)
    return WholeFigures(
        total_set_size=rpm.total_set_size + py_total,
        lower_bound=rpm.lower_bound + (python.lower_bound if python else 0),
        objective=objective, objective_lower_bound=bound,
        optimum=proven_cost if proven_cost == objective else None,
        bloat=rpm.bloat + (python.bloat if python else 0),
        includes=("rpm", "python") if python else ("rpm",), image_sizes=sizes)
