"""The service install, planned before any build: each project's Python requirements at its pinned
release under its series' upper-constraints, the file the target installs for each (a binary wheel
for the target's Python and platform, or an sdist the builder must build), what compiling needs,
and which image's venv layer holds each wheel.

The target's Python and glibc come from the repositories (the planned ``python3`` and ``glibc``
packages), never from the host. Wheel placement reuses the RPM layer planner: a wheel needed by
every deployed image of a subtree goes into that subtree's top image, once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..errors import InputError, ResolverError
from ..files import write_atomically
from ..image_tree import ImageTree, PipRequirement
from ..plan import LayerPlan, TreeShape, plan_layers
from ..profiles import Profiles, Release
from ..repos import PackageInfo
from .pypi import FileMetadata, IndexFile, PyPI, read_metadata

if TYPE_CHECKING:
    from ..resolution import TreeResolver
    from ..treeplan import TreePlan

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


#: bump when a closure's answer for the same inputs changes (kept closures are keyed by it)
_CLOSURE_FORMAT = 1


class WheelResolver:
    """Requirement closures on the index, pinned by the constraints; each (name, version) once.

    Closures are kept between runs (``CACHE/pypi/closures``) under the digest of the target, the
    constraints file and the index; a kept closure is used again only while the listing of every
    project in it is byte for byte the one it was made from (``PyPI.releases`` fetches a listing
    again when a pin is missing from it), so a warm plan reads no archive and reaches no index."""

    def __init__(self, index: PyPI, target: TargetPython, constraints: Mapping[str, str], constraints_digest: str = ""):
        self.index = index
        self.target = target
        self.constraints = constraints
        self._dists: dict[tuple[str, str], Dist] = {}
        self._requires: dict[tuple[str, str], list[Requirement]] = {}
        inputs = json.dumps([_CLOSURE_FORMAT, target.name, constraints_digest, index.simple_url])
        self._memo_path = index.cache / "closures" / f"{hashlib.sha256(inputs.encode()).hexdigest()}.json"
        self._memo = self._load_memo()
        self._memo_changed = False

    def closure(self, roots: Sequence[Requirement | Release | PipRequirement], build: bool = False) -> list[Dist]:
        """Every distribution ``roots`` need at run time (``build``: prefer wheels, for a build
        environment). A pin the constraints and a requirement disagree on is an error; a root
        whose marker the target does not meet is left out."""
        queue: list[tuple[Requirement, str, str]] = []
        for root in roots:
            if isinstance(root, Release):
                queue.append((Requirement(str(root)), "release", str(root)))
            elif isinstance(root, PipRequirement):
                queue.append((Requirement(root.requirement), "", f"{root.where} (pip_packages)"))
            else:
                queue.append((root, "", "build requirement"))
        queue = [item for item in queue if item[0].marker is None
                 or item[0].marker.evaluate(self.target.environment())]
        key = json.dumps([build, sorted(f"{how}:{requirement}" for requirement, how, _ in queue)])
        kept = self._memo["closures"].get(key)
        if kept is not None and all(self.index.listing_digest(n) == d for n, d in kept["listings"].items()):
            return [self._kept_dist(k) for k in kept["dists"]]
        result = self._closure(queue, build)
        # every listing the closure read is one of its projects' (a pin's file, a newest version)
        self._memo["closures"][key] = {"dists": [d.key for d in result],
                                       "listings": {d.name: self.index.listing_digest(d.name) for d in result}}
        self._memo["dists"].update({d.key: _dist_json(d) for d in result})
        self._memo_changed = True
        return result

    def _closure(self, queue: list[tuple[Requirement, str, str]], build: bool) -> list[Dist]:
        chosen: dict[str, Dist] = {}
        extras_done: dict[str, set[str]] = {}
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
                queue += [(needed, "", dist.key) for needed in self._requirements(dist, extra)]
        return sorted(chosen.values(), key=lambda d: d.name)

    def _requirements(self, dist: Dist, extra: str) -> list[Requirement]:
        """What ``dist`` (with ``extra``; "" for none) requires on the target, parsed once."""
        key = (dist.key, extra)
        if key not in self._requires:
            environment = self.target.environment(extra)
            parsed = [Requirement(line) for line in dist.metadata.requires_dist]
            self._requires[key] = [r for r in parsed if r.marker is None or r.marker.evaluate(environment)]
        return self._requires[key]

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
        for version, files in self.index.releases(name).items():
            if any(not f.yanked and (not build or self.target.wheel_rank(f.filename) is not None) for f in files):
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
        files = self.index.releases(name, version).get(version, [])
        wheels = sorted((rank, f.filename, f) for f in files
                        if f.is_wheel and (rank := self.target.wheel_rank(f.filename)) is not None)
        if wheels:
            return wheels[0][2]
        sdists = [f for f in files if not f.is_wheel]
        if not sdists:
            raise WheelPlanError(f"{name}=={version} has no wheel for {self.target.name} and no sdist on the index")
        return sorted(sdists, key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))[0]

    # ---- closures kept between runs ---------------------------------------------------------------

    def _load_memo(self) -> dict:
        empty: dict = {"closures": {}, "dists": {}}
        try:
            memo = json.loads(self._memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return empty
        return memo if isinstance(memo, dict) and all(isinstance(memo.get(k), dict) for k in empty) else empty

    def _kept_dist(self, key: str) -> Dist:
        data = self._memo["dists"][key]
        dist = self._dists.get((data["name"], data["version"]))
        if dist is None:
            dist = Dist(data["name"], data["version"], IndexFile(**data["file"]),
                        FileMetadata(**{k: tuple(v) if isinstance(v, list) else v
                                        for k, v in data["metadata"].items()}), data["pinned_by"])
            self._dists[(dist.name, dist.version)] = dist
        return dist

    def save(self) -> None:
        """Keep this run's new closures."""
        if self._memo_changed:
            write_atomically(self._memo_path, json.dumps(self._memo, sort_keys=True))
            self._memo_changed = False


def _dist_json(dist: Dist) -> dict:
    return {"name": dist.name, "version": dist.version, "pinned_by": dist.pinned_by,
            "file": dataclasses.asdict(dist.file), "metadata": dataclasses.asdict(dist.metadata)}


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
    table = {}
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


def plan_wheels(tree: ImageTree, profiles: Profiles, shape: TreeShape, packages: Mapping[str, PackageInfo],
                build_only: Mapping[str, Sequence[str]], index: PyPI,  # per deployed image, its chain's
                table: Mapping[str, CompileNeeds] | None = None) -> WheelPlan | None:
    """The whole tree's Python side, or None when no image has a project with a pinned release
    or a Python requirement of its own."""
    roots = python_roots(tree, profiles)
    if not roots:
        return None
    series = profiles.defaults.constraints
    if not series:
        raise InputError("the images install Python requirements but profiles/defaults.yaml names no "
                         "'constraints' series")
    target = TargetPython.from_packages(packages)
    resolver = WheelResolver(index, target, read_constraints(series, target), _constraints_digest(series))
    table = load_compile_table() if table is None else table
    needs: dict[str, tuple[Dist, ...]] = {}
    for image in sorted(shape.deployed):  # a deployed image installs what its declared chain asks for
        wanted = [r for ancestor in [*tree.ancestors(image), image] for r in roots.get(ancestor, ())]
        needs[image] = tuple(resolver.closure(wanted)) if wanted else ()
    dists = {d.key: d for image_dists in needs.values() for d in image_dists}
    layers = python_layers(shape, {i: [d.key for d in ds] for i, ds in needs.items()},
                           {k: d.installed_size for k, d in dists.items()})
    pip = resolver.closure([Requirement("pip")], build=True)[0]
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
                                           build=True) + [pip]) if built else []
        images[name] = ImageWheels(name, layer, built, needed, tuple(build_requires),
                                   sum(d.installed_size for d in layer), compiled)
    resolver.save()
    if problems:  # every image's, before any build starts
        raise WheelPlanError("\n".join(problems))
    return WheelPlan(target, series, needs, images, layers, pip)


def plan_tree_wheels(resolver: TreeResolver, result: TreePlan, index: PyPI) -> WheelPlan | None:
    """The wheel plan on a whole-tree plan: its tree, its packages, and the build-only packages
    of each deployed image's declared chain (what its builder may install)."""
    tree = resolver.tree
    build_only = {n: tuple(r.name for r in resolver.chain_selection(n).build_only) for n in tree.deployed()}
    return plan_wheels(tree, resolver.profiles, result.plan.shape, result.inputs.packages, build_only, index)


def _constraints_digest(series: str) -> str:
    return hashlib.sha256((CONSTRAINTS_DIR / f"upper-constraints-{series}.txt").read_bytes()).hexdigest()


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
