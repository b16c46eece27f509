"""The service install, planned before any build: each image's Python requirements at its
projects' pinned releases under the series' upper-constraints (closures: ``wheel_closure.py``, the
target and its pins: ``python_target.py``), what compiling the sdists needs (the compile table),
and which image's venv layer holds each wheel.

Wheel placement reuses the RPM layer planner: a wheel needed by every deployed image of a subtree
goes into that subtree's top image, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..errors import InputError, PyPIError, WheelPlanError
from ..inputs.image_tree import ImageTree, PipRequirement
from ..inputs.profiles import Profiles, Release
from ..metadata.closure import PackageInfo
from ..planning.plan import LayerPlan, TreeShape, plan_layers
from ..planning.tree import EXACT_LIMIT
from ..planning.treeplan import OtherItems, PlanInputs
from ..progress import Reporter
from .pypi import PyPI
from .python_target import DATA, Dist, TargetPython, constraints_digest, read_constraints
from .wheel_closure import WheelResolver

if TYPE_CHECKING:
    from ..planning.budget import Budget
    from ..planning.treeplan import TreePlan
    from ..resolving.resolution import TreeResolver

COMPILE_TABLE = DATA / "wheel-build-requires.yaml"
#: what every compiled requirement needs, besides the table's packages
COMPILER = ("gcc", "python3-devel")


@dataclass(frozen=True)
class CompileNeeds:
    """What compiling one requirement needs (the table in ``data/wheel-build-requires.yaml``);
    ``optional``: its extension is optional (its setup.py builds pure Python when the extension
    cannot be compiled), so the builder builds it without a compiler."""

    packages: tuple[str, ...]
    reason: str
    optional: bool = False


def load_compile_table(path: Path = COMPILE_TABLE) -> dict[str, CompileNeeds]:
    from ..names import package_name

    data = yaml.safe_load(path.read_text()) or {}
    table: dict[str, CompileNeeds] = {}
    for name, row in data.items():
        where = f"{path}: {name}"
        if not isinstance(row, dict) or not isinstance(row.get("reason"), str) \
                or not isinstance(row.get("optional", False), bool):
            raise InputError(f"{where}: each entry needs 'packages' (or 'optional: true') and a 'reason'")
        table[canonicalize_name(name)] = CompileNeeds(
            tuple(package_name(p, where) for p in row.get("packages") or ()), row["reason"], row.get("optional", False))
    return table


def compiles(dist: Dist, table: Mapping[str, CompileNeeds]) -> bool:
    """Whether the builder compiles ``dist``: an sdist with C, C++, Cython or Rust sources whose
    extension the table does not call optional."""
    return dist.compiles and not (dist.name in table and table[dist.name].optional)


@dataclass(frozen=True)
class ImageWheels:
    """One image's venv layer and its builder's work."""

    image: str
    #: the wheels this image's venv layer installs (its layer of the wheel plan)
    layer: tuple[Dist, ...]
    #: sdists of the layer the builder turns into wheels (compiled or pure)
    built: tuple[Dist, ...]
    #: build-only RPMs the builder installs: what compiling the built sdists needs
    build_only: tuple[str, ...]
    #: wheels the isolated builds need (setuptools...), and pip
    build_requires: tuple[Dist, ...]
    #: the planned bytes of the layer (``Dist.installed_size``; an sdist's own files until it is built)
    size: int
    #: the built sdists the builder compiles (with gcc and the table's packages)
    compiled: tuple[Dist, ...] = ()

    @property
    def has_builder(self) -> bool:
        return bool(self.built)


@dataclass(frozen=True)
class WheelPlan:
    target: TargetPython
    constraints: str
    #: deployed image -> every distribution its venv holds
    needs: Mapping[str, tuple[Dist, ...]]
    images: Mapping[str, ImageWheels]
    layers: LayerPlan
    pip: Dist


def python_layers(shape: TreeShape, needs: Mapping[str, Iterable[str]], sizes: Mapping[str, int]) -> LayerPlan:
    """Which image's venv layer holds each wheel: the RPM planner's strict placement on wheel keys
    (one place to switch when the planner changes)."""
    return plan_layers(shape, {image: frozenset(keys) for image, keys in needs.items()}, sizes)


def python_roots(tree: ImageTree, profiles: Profiles) -> dict[str, list[Release | PipRequirement]]:
    """What each image's venv asks for itself: its projects' pinned releases, then its
    ``pip_packages`` (a site override's, Kolla's list)."""
    roots: dict[str, list[Release | PipRequirement]] = {}
    for name in tree.names():
        spec = tree.spec(name)
        for project in spec.projects:
            release = profiles.project(project, spec.where).release
            if release is not None:
                roots.setdefault(name, []).append(release)
        if spec.pip_packages:
            roots.setdefault(name, []).extend(spec.pip_packages)
    return roots


@dataclass(frozen=True)
class WheelClosures:
    """Each deployed image's venv as pip would install it (before any tree is chosen: a closure
    depends on the image's declared chain, the target and the constraints only)."""

    target: TargetPython
    constraints: str
    needs: Mapping[str, tuple[Dist, ...]]
    resolver: WheelResolver = field(compare=False, repr=False)

    def items(self) -> OtherItems:
        """The closures as items the layer tree is computed over (``name==version``)."""
        dists = {d.key: d for ds in self.needs.values() for d in ds}
        return OtherItems({i: frozenset(d.key for d in ds) for i, ds in self.needs.items()},
                          {k: d.installed_size for k, d in dists.items()})


def wheel_closures(tree: ImageTree, profiles: Profiles, deployed: Iterable[str], packages: Mapping[str, PackageInfo],
                   index: PyPI, reporter: Reporter | None = None) -> WheelClosures | None:
    """Every deployed image's venv (what its declared chain asks for), or None when no image has
    a project with a pinned release or a Python requirement of its own."""
    roots = python_roots(tree, profiles)
    if not roots:
        return None
    series = profiles.defaults.constraints
    if not series:
        raise InputError("the images install Python requirements but profiles/defaults.yaml names no "
                         "'constraints' series")
    target = TargetPython.from_packages(packages)
    resolver = WheelResolver(index, target, read_constraints(series, target), constraints_digest(series), reporter)
    needs: dict[str, tuple[Dist, ...]] = {}
    for image in sorted(deployed):  # a deployed image installs what its declared chain asks for
        wanted = [r for ancestor in [*tree.ancestors(image), image] for r in roots.get(ancestor, ())]
        needs[image] = tuple(resolver.closure(wanted, what=f"{image}'s venv")) if wanted else ()
    return WheelClosures(target, series, needs, resolver)


def place_wheels(closures: WheelClosures, shape: TreeShape, build_only: Mapping[str, Sequence[str]],
                 table: Mapping[str, CompileNeeds] | None = None) -> WheelPlan:
    """The venv layers on ``shape`` (each wheel in the highest images whose deployed images all
    need it: a venv layer installs into its parent's venv, so each image's venv is its closure),
    and what each layer's builder needs."""
    resolver, needs = closures.resolver, closures.needs
    table = load_compile_table() if table is None else table
    dists = {d.key: d for image_dists in needs.values() for d in image_dists}
    layers = python_layers(shape, {i: [d.key for d in ds] for i, ds in needs.items()},
                           {k: d.installed_size for k, d in dists.items()})
    pip = resolver.closure([Requirement("pip")], build=True, what="pip")[0]
    images, problems = {}, []
    for name in shape.top_down():
        layer = tuple(sorted((dists[k] for k in layers.images[name].layer_packages), key=lambda d: d.name))
        built = tuple(d for d in layer if not d.binary)
        compiled = tuple(d for d in built if compiles(d, table))
        deployed_below = [i for i in shape.deployed if name in shape.path(i)]
        declared = sorted({p for i in deployed_below for p in build_only.get(i, ())})
        try:
            needed = _build_packages(name, compiled, table, declared)
        except WheelPlanError as error:
            problems.append(str(error))
            continue
        build_requires = (resolver.closure([Requirement(r) for d in built for r in d.metadata.build_requires],
                                           build=True, what=f"{name}'s build requirements") + [pip]) if built else []
        images[name] = ImageWheels(name, layer, built, needed, tuple(build_requires),
                                   sum(d.installed_size for d in layer), compiled)
    resolver.save()
    if problems:  # every image's, before any build starts
        raise WheelPlanError("\n".join(problems))
    return WheelPlan(closures.target, closures.constraints, needs, images, layers, pip)


@dataclass(frozen=True)
class WholePlan:
    """The tree planned with its venvs; ``unavailable``: why the wheel metadata could not be had
    (the plan is then the RPMs' alone, and says so)."""

    result: TreePlan
    wheels: WheelPlan | None
    unavailable: str | None = None


def plan_tree_with_wheels(resolver: TreeResolver, index: PyPI, tree: str = "computed", exact_limit: int = EXACT_LIMIT,
                          budget: Budget | None = None, required: bool = True) -> WholePlan:
    """The whole tree planned with its venvs: each deployed image's closure first, the layer tree
    computed over RPMs and wheels together, then the RPMs and the venv layers placed on it.
    Without ``required`` an index that cannot be reached (nor the cache answer) gives the RPM
    plan alone, with the reason."""
    from ..planning.treeplan import plan_tree

    found: list[WheelClosures] = []
    unavailable: list[str] = []

    def wheels_of(inputs: PlanInputs) -> OtherItems | None:
        try:
            closures = wheel_closures(resolver.tree, resolver.profiles, inputs.needs, inputs.packages, index,
                                      resolver.reporter)
        except PyPIError as error:
            if required:
                raise
            unavailable.append(str(error))
            return None
        if closures is None:
            return None
        found.append(closures)
        return closures.items()

    result = plan_tree(resolver, tree, exact_limit, budget, other=wheels_of)
    wheels = place_wheels(found[0], result.plan.shape, _chain_build_only(resolver)) if found else None
    return WholePlan(result, wheels, unavailable[0] if unavailable else None)


def _chain_build_only(resolver: TreeResolver) -> dict[str, tuple[str, ...]]:
    """The build-only packages of each deployed image's declared chain (what its builder may install)."""
    return {n: tuple(r.name for r in resolver.chain_selection(n).build_only) for n in resolver.tree.deployed()}


def _build_packages(image: str, compiled: Sequence[Dist], table: Mapping[str, CompileNeeds],
                    declared: Sequence[str]) -> tuple[str, ...]:
    """The build-only RPMs the builder installs to compile ``compiled``; an error, before any
    build, when the images' bindep does not declare them."""
    needed: dict[str, str] = {}
    for dist in compiled:
        for package in (*COMPILER, *(table[dist.name].packages if dist.name in table else ())):
            needed.setdefault(package, dist.key)
    missing = {p: by for p, by in needed.items() if p not in declared}
    if missing:
        raise WheelPlanError(f"{image}: compiling " + ", ".join(sorted(set(missing.values())))
                             + f" needs {', '.join(sorted(missing))}, which no bindep file of the images that "
                             "install it declares as build-only; add them to the project's bindep (compile "
                             "profile) or its profile's 'add'")
    return tuple(sorted(needed))


def python_json(wheels: WheelPlan) -> dict:
    """The wheel plan as `build` and `plan --python` print it (``python`` in their JSON)."""
    every = {d.key: d for ds in wheels.needs.values() for d in ds}.values()
    return {"target": wheels.target.name, "constraints": wheels.constraints, "pip": wheels.pip.key,
            "needs": {image: [d.key for d in dists] for image, dists in wheels.needs.items()},
            "sdists": sorted(d.key for d in every if not d.binary),
            "compiled": sorted({d.key for image in wheels.images.values() for d in image.compiled}),
            "newest": sorted(d.key for d in every if d.pinned_by == "newest"),
            "total_set_size": wheels.layers.total_set_size, "lower_bound": wheels.layers.lower_bound}


def python_lock(wheels: WheelPlan) -> dict:
    """The wheel plan's pins for the lock file: each venv layer's files, name, version and sha256."""
    def pin(dist: Dist) -> dict:
        return {"name": dist.name, "version": dist.version, "filename": dist.file.filename, "sha256": dist.file.sha256}

    return {"target": wheels.target.name, "constraints": wheels.constraints, "pip": pin(wheels.pip),
            "images": {name: [pin(d) for d in image.layer] for name, image in wheels.images.items() if image.layer}}

