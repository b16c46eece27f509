"""The service install, planned before any build: each project's Python requirements at its pinned
release under its series' upper-constraints, the file the target installs for each (a binary wheel
for the target's Python and platform, or an sdist the builder must build), what compiling needs,
and which image's venv layer holds each wheel.

The target's Python and glibc come from the repositories (the planned ``python3`` and ``glibc``
packages), never from the host. Wheel placement reuses the RPM layer planner: a wheel needed by
every deployed image of a subtree goes into that subtree's top image, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..config import ImageTree, Profiles, Release
from ..errors import InputError, ResolverError
from ..plan import LayerPlan, TreeShape, plan_layers
from ..repos import PackageInfo
from .pypi import FileMetadata, IndexFile, PyPI, file_version, read_metadata

DATA = Path(__file__).resolve().parent.parent / "data"
CONSTRAINTS_DIR = DATA / "constraints"
COMPILE_TABLE = DATA / "wheel-build-requires.yaml"
#: where every image's service venv lives
VENV = "/var/lib/openstack"
#: what every compiled requirement needs, besides the table's packages
COMPILER = ("gcc", "python3-devel")
#: bytes pip's install writes per byte of .py (the .pyc files, RECORD...), measured on the demo
#: tree's venv layers built here (1.13 to 1.37 by layer; keystone's, the largest share, 1.37)
PYC_BYTES_PER_PY_BYTE = 1.3


class WheelPlanError(ResolverError):
    """The Python side cannot be planned (a conflict with the constraints, missing build packages)."""


@dataclass(frozen=True)
class TargetPython:
    """The target's interpreter and C library, as the repositories give them."""

    version: tuple[int, int]
    glibc: tuple[int, int]
    arch: str = "x86_64"

    @classmethod
    def from_packages(cls, packages: Mapping[str, PackageInfo], arch: str = "x86_64") -> TargetPython:
        def major_minor(name: str) -> tuple[int, int]:
            info = packages.get(name)
            match = re.match(r"^(?:\d+:)?(\d+)\.(\d+)", info.evr) if info else None
            if not match:
                raise WheelPlanError(f"the images install Python projects but the plan has no {name} package to "
                                     "build them for; add python3 to the tree's packages")
            return int(match[1]), int(match[2])

        return cls(major_minor("python3"), major_minor("glibc"), arch)

    @property
    def name(self) -> str:
        return f"cp{self.version[0]}{self.version[1]}-manylinux_{self.glibc[0]}_{self.glibc[1]}_{self.arch}"

    @cached_property
    def tags(self) -> dict[Tag, int]:
        """Every wheel tag the target accepts, best first (its rank)."""
        platforms = [f"manylinux_{self.glibc[0]}_{minor}_{self.arch}" for minor in range(self.glibc[1], 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        platforms += [f"{legacy[m]}_{self.arch}" for m in sorted(legacy, reverse=True) if m <= self.glibc[1]]
        abi = f"cp{self.version[0]}{self.version[1]}"
        tags = [*cpython_tags(self.version, [abi], platforms), *compatible_tags(self.version, abi, platforms)]
        return {tag: rank for rank, tag in enumerate(tags)}

    def environment(self, extra: str = "") -> dict[str, str]:
        version = f"{self.version[0]}.{self.version[1]}"
        return {"python_version": version, "python_full_version": f"{version}.0", "os_name": "posix",
                "sys_platform": "linux", "platform_system": "Linux", "platform_machine": self.arch,
                "platform_python_implementation": "CPython", "implementation_name": "cpython",
                "implementation_version": f"{version}.0", "platform_release": "", "platform_version": "",
                "extra": extra}

    def wheel_rank(self, filename: str) -> int | None:
        """How good a wheel is for the target (lower is better); None when it cannot be installed."""
        try:
            _, _, _, tags = parse_wheel_filename(filename)
        except ValueError:
            return None
        ranks = [self.tags[t] for t in tags if t in self.tags]
        return min(ranks) if ranks else None


@dataclass(frozen=True)
class Dist:
    """One requirement pinned and the file the target gets it from."""

    name: str  # canonical
    version: str
    file: IndexFile
    #: from the file: Requires-Dist, build requirements, whether it compiles, unpacked bytes
    metadata: FileMetadata
    #: "constraints", "release" (a project's pin) or "newest" (not in the constraints: the newest that fits)
    pinned_by: str

    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def binary(self) -> bool:
        return self.file.is_wheel

    @property
    def compiles(self) -> bool:
        return not self.binary and self.metadata.compiles

    @property
    def installed_size(self) -> int:
        """The plan's estimate of what installing it writes: its files and their bytecode."""
        return self.metadata.unpacked + round(PYC_BYTES_PER_PY_BYTE * self.metadata.py_bytes)


def read_constraints(series: str, target: TargetPython) -> dict[str, str]:
    """An OpenStack series' upper-constraints, evaluated for the target: canonical name -> version."""
    if not re.fullmatch(r"[0-9]{4}\.[12]|[a-z]+", series):
        raise InputError(f"constraints series {series!r} is not a release name such as 2025.1")
    path = CONSTRAINTS_DIR / f"upper-constraints-{series}.txt"
    if not path.is_file():
        known = sorted(p.name for p in CONSTRAINTS_DIR.glob("upper-constraints-*.txt"))
        raise InputError(f"no upper-constraints for series {series} ({path}); bundled: {', '.join(known)}")
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise InputError(f"{path}:{number}: {error}") from None
        if requirement.marker and not requirement.marker.evaluate(target.environment()):
            continue
        (spec,) = requirement.specifier
        pins.setdefault(canonicalize_name(requirement.name), spec.version)
    return pins


class WheelResolver:
    """Requirement closures on the index, pinned by the constraints; each (name, version) once."""

    def __init__(self, index: PyPI, target: TargetPython, constraints: Mapping[str, str]):
        self.index = index
        self.target = target
        self.constraints = constraints
        self._dists: dict[tuple[str, str], Dist] = {}

    def closure(self, roots: Sequence[Requirement | Release], build: bool = False) -> list[Dist]:
        """Every distribution ``roots`` need at run time (``build``: prefer wheels, for a build
        environment). A pin the constraints and a requirement disagree on is an error."""
        chosen: dict[str, Dist] = {}
        extras_done: dict[str, set[str]] = {}
        queue: list[tuple[Requirement, str, str]] = []
        for root in roots:
            if isinstance(root, Release):
                queue.append((Requirement(str(root)), "release", str(root)))
            else:
                queue.append((root, "", "build requirement"))
        while queue:
            requirement, how, wanted_by = queue.pop(0)
            name = canonicalize_name(requirement.name)
            if name not in chosen:
                dist = self._pin(requirement, name, how, wanted_by, build)
                chosen[name] = dist
                extras_done[name] = set()
                new_extras = {""} | set(requirement.extras)
            else:
                dist = chosen[name]
                if not requirement.specifier.contains(dist.version, prereleases=True):
                    raise WheelPlanError(f"{wanted_by} requires {requirement} but {dist.key} is pinned "
                                         f"(by {dist.pinned_by})")
                new_extras = set(requirement.extras) - extras_done[name]
            for extra in sorted(new_extras - extras_done[name]):
                extras_done[name].add(extra)
                for line in dist.metadata.requires_dist:
                    needed = Requirement(line)
                    if needed.marker is None or needed.marker.evaluate(self.target.environment(extra)):
                        queue.append((needed, "", dist.key))
        return sorted(chosen.values(), key=lambda d: d.name)

    def _pin(self, requirement: Requirement, name: str, how: str, wanted_by: str, build: bool) -> Dist:
        if how == "release":
            version, how = str(next(iter(requirement.specifier)).version), "release"
        elif name in self.constraints:
            version, how = self.constraints[name], "constraints"
            if not requirement.specifier.contains(version, prereleases=True):
                raise WheelPlanError(f"{wanted_by} requires {requirement}, but the upper-constraints pin "
                                     f"{name}==={version}")
        else:
            version, how = self._newest(name, requirement.specifier, build), "newest"
        key = (name, version)
        if key not in self._dists:
            file = self._file(name, version, build)
            metadata = read_metadata(self.index.download(file))
            self._dists[key] = Dist(name, version, file, metadata, how)
        return self._dists[key]

    def _newest(self, name: str, specifier: SpecifierSet, build: bool) -> str:
        versions = set()
        for file in self.index.files(name):
            version = file_version(file.filename, name)
            if version and not file.yanked and (not build or self.target.wheel_rank(file.filename) is not None):
                try:
                    parsed = Version(version)
                except InvalidVersion:
                    continue
                if not parsed.is_prerelease and specifier.contains(parsed):
                    versions.add(parsed)
        if not versions:
            raise WheelPlanError(f"no release of {name} on the index fits {specifier or 'any version'}")
        return str(max(versions))

    def _file(self, name: str, version: str, build: bool) -> IndexFile:
        files = [f for f in self.index.files(name, version) if file_version(f.filename, name) == version]
        wheels = sorted((rank, f.filename, f) for f in files
                        if f.is_wheel and (rank := self.target.wheel_rank(f.filename)) is not None)
        if wheels:
            return wheels[0][2]
        sdists = [f for f in files if not f.is_wheel]
        if not sdists:
            raise WheelPlanError(f"{name}=={version} has no wheel for {self.target.name} and no sdist on the index")
        return sorted(sdists, key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))[0]


@dataclass(frozen=True)
class CompileNeeds:
    """What compiling one requirement needs (the table in ``data/wheel-build-requires.yaml``)."""

    packages: tuple[str, ...]
    reason: str


def load_compile_table(path: Path = COMPILE_TABLE) -> dict[str, CompileNeeds]:
    from ..config import package_name

    data = yaml.safe_load(path.read_text()) or {}
    table = {}
    for name, row in data.items():
        where = f"{path}: {name}"
        if not isinstance(row, dict) or not isinstance(row.get("reason"), str):
            raise InputError(f"{where}: each entry needs 'packages' and a 'reason'")
        table[canonicalize_name(name)] = CompileNeeds(
            tuple(package_name(p, where) for p in row.get("packages") or ()), row["reason"])
    return table


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


def plan_wheels(tree: ImageTree, profiles: Profiles, shape: TreeShape, packages: Mapping[str, PackageInfo],
                build_only: Mapping[str, Sequence[str]], index: PyPI,  # per deployed image, its chain's
                table: Mapping[str, CompileNeeds] | None = None) -> WheelPlan | None:
    """The whole tree's Python side, or None when no image has a project with a pinned release."""
    releases = {}
    for name in tree.names():
        for project in tree.spec(name).projects:
            release = profiles.project(project, tree.spec(name).where).release
            if release is not None:
                releases.setdefault(name, []).append(release)
    if not releases:
        return None
    series = profiles.defaults.constraints
    if not series:
        raise InputError("projects pin releases but profiles/defaults.yaml names no 'constraints' series")
    target = TargetPython.from_packages(packages)
    resolver = WheelResolver(index, target, read_constraints(series, target))
    table = load_compile_table() if table is None else table
    needs: dict[str, tuple[Dist, ...]] = {}
    for image in sorted(shape.deployed):  # a deployed image installs its declared chain's releases
        wanted = [r for ancestor in [*tree.ancestors(image), image] for r in releases.get(ancestor, ())]
        needs[image] = tuple(resolver.closure(wanted)) if wanted else ()
    dists = {d.key: d for image_dists in needs.values() for d in image_dists}
    layers = python_layers(shape, {i: [d.key for d in ds] for i, ds in needs.items()},
                           {k: d.installed_size for k, d in dists.items()})
    pip = resolver.closure([Requirement("pip")], build=True)[0]
    images, problems = {}, []
    for name in shape.top_down():
        layer = tuple(sorted((dists[k] for k in layers.images[name].layer_packages), key=lambda d: d.name))
        built = tuple(d for d in layer if not d.binary)
        deployed_below = [i for i in shape.deployed if name in shape.path(i)]
        declared = sorted({p for i in deployed_below for p in build_only.get(i, ())})
        try:
            needed = _build_packages(name, built, table, declared)
        except WheelPlanError as error:
            problems.append(str(error))
            continue
        build_requires = (resolver.closure([Requirement(r) for d in built for r in d.metadata.build_requires],
                                           build=True) + [pip]) if built else []
        images[name] = ImageWheels(name, layer, built, needed, tuple(build_requires),
                                   sum(d.installed_size for d in layer))
    if problems:  # every image's, before any build starts
        raise WheelPlanError("\n".join(problems))
    return WheelPlan(target, series, needs, images, layers, pip)


def _build_packages(image: str, built: Sequence[Dist], table: Mapping[str, CompileNeeds],
                    declared: Sequence[str]) -> tuple[str, ...]:
    """The build-only RPMs the builder installs; an error, before any build, when the images' bindep
    does not declare what a compiled requirement needs."""
    needed: dict[str, str] = {}
    for dist in built:
        if dist.compiles:
            for package in (*COMPILER, *(table[dist.name].packages if dist.name in table else ())):
                needed.setdefault(package, dist.key)
    missing = {p: by for p, by in needed.items() if p not in declared}
    if missing:
        raise WheelPlanError(f"{image}: compiling " + ", ".join(sorted(set(missing.values())))
                             + f" needs {', '.join(sorted(missing))}, which no bindep file of the images that "
                             "install it declares as build-only; add them to the project's bindep (compile "
                             "profile) or its profile's 'add'")
    return tuple(sorted(needed))
