"""The index as resolvelib (the engine pip uses) sees it: pip's model, behind the project's PyPI
client and download cache.

- A project with extras is an identifier of its own (``name[extra]``) whose candidate depends on the
  same version of the project itself, as pip's ``ExtrasCandidate`` does.
- The target's interpreter is one more identifier (``<python>``) with one candidate: a file whose
  metadata says ``Requires-Python`` depends on it, so a release the target cannot run is a conflict
  the resolver backtracks out of. Files the index marks with a ``requires-python`` the target does
  not meet are never candidates (pip's link evaluation).
- Upper-constraints are hard pins: a constrained project's only candidate is the pinned version.
- Candidates come newest first; a version's file is the best wheel for the target, else its sdist
  (``build``: wheels only); yanked files count only for an exact pin (PEP 592).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import AbstractProvider, BaseReporter

from ..errors import WheelPlanError
from ..progress import Reporter
from .pypi import IndexFile, PyPI, read_metadata
from .python_target import Dist, TargetPython

#: the identifier of the target's interpreter (not a valid project name, so never a project's)
PYTHON = "<python>"


def identifier(name: str, extras: Iterable[str] = ()) -> str:
    extras = sorted(set(extras))
    return f"{name}[{','.join(extras)}]" if extras else name


@dataclass(frozen=True)
class Wanted:
    """One requirement as the resolver sees it: a canonical project name (or ``PYTHON``), its
    extras, the versions it accepts, and who asks (for error messages)."""

    name: str
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()
    wanted_by: str = ""

    @classmethod
    def of(cls, requirement: Requirement, wanted_by: str) -> Wanted:
        return cls(canonicalize_name(requirement.name), requirement.specifier, frozenset(requirement.extras), wanted_by)

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)

    def __str__(self) -> str:
        if self.name == PYTHON:
            return f"Python {self.specifier}"
        return f"{self.identifier}{self.specifier}"


@dataclass(frozen=True)
class Candidate:
    """One version of a project (with the extras of its identifier) and the file it comes from;
    the target's interpreter when ``name`` is ``PYTHON`` (no file)."""

    name: str
    version: Version
    file: IndexFile | None = field(compare=False)
    extras: frozenset[str] = frozenset()

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)

    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"


class IndexProvider(AbstractProvider[Wanted, Candidate, str]):
    """resolvelib's provider on the index for one target. ``dists`` (shared between closures)
    holds every (name, version) whose file was read; ``pinned_by`` names why a project has its
    version (``release``: a root's pinned release, else ``constraints`` or ``newest``)."""

    def __init__(self, index: PyPI, target: TargetPython, constraints: Mapping[str, str],
                 dists: MutableMapping[tuple[str, str], Dist], releases: Iterable[str] = (), build: bool = False):
        self.index = index
        self.target = target
        self.constraints = constraints
        self.dists = dists
        self.releases = frozenset(releases)
        self.build = build
        self.python = Version(f"{target.version[0]}.{target.version[1]}")
        #: every project whose listing this resolution read (what its answer depends on)
        self.listed: set[str] = set()
        self._installable: dict[str, dict[Version, tuple[IndexFile, bool]]] = {}

    # ---- resolvelib's protocol ---------------------------------------------------------------------

    def identify(self, requirement_or_candidate: Wanted | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(self, identifier: str, resolutions: Mapping[str, Candidate],
                       candidates: Mapping[str, Iterator[Candidate]], information: Mapping[str, Iterator[Any]],
                       backtrack_causes: Sequence[Any]) -> tuple[bool, bool, bool, str]:
        """pip's order, shortened: the interpreter first, then what the last backtrack was about,
        then pinned projects (constraints, ``==``), then by name (a stable answer)."""
        name = identifier.partition("[")[0]
        causes = {c.requirement.name for c in backtrack_causes} | {c.parent.name for c in backtrack_causes if c.parent}
        pinned = name in self.constraints or any(
            s.operator in ("==", "===") and "*" not in s.version for i in information[identifier]
            for s in i.requirement.specifier)
        return name != PYTHON, name not in causes, not pinned, identifier

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Wanted]],
                     incompatibilities: Mapping[str, Iterator[Candidate]]) -> list[Candidate]:
        wanted = list(requirements[identifier])
        if not wanted:
            return []
        name, extras = wanted[0].name, wanted[0].extras
        specifier = SpecifierSet()
        for requirement in wanted:
            specifier &= requirement.specifier
        if name == PYTHON:
            return [Candidate(PYTHON, self.python, None)] if specifier.contains(self.python, prereleases=True) else []
        if name in self.constraints:
            specifier &= SpecifierSet(f"==={self.constraints[name]}")
        exact = {s.version for s in specifier if s.operator in ("==", "===")}
        installable = self.installable(name)
        usable = [v for v, (_, yanked) in installable.items() if not yanked or str(v) in exact]
        bad = {c.version for c in incompatibilities[identifier]}
        return [Candidate(name, v, installable[v][0], extras)
                for v in sorted(specifier.filter(usable), reverse=True) if v not in bad]

    def is_satisfied_by(self, requirement: Wanted, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Wanted]:
        if candidate.name == PYTHON:
            return []
        dist = self.dist(candidate)
        if candidate.extras:  # the project itself at the same version, and what the extras add
            needs = [Wanted(candidate.name, SpecifierSet(f"=={candidate.version}"), wanted_by=candidate.key)]
            for extra in sorted(candidate.extras):
                needs += self.requirements(dist, extra)
            return needs
        python = _specifier(dist.metadata.requires_python)
        return ([Wanted(PYTHON, python, wanted_by=dist.key)] if python else []) + self.requirements(dist, "")

    # ---- the index ---------------------------------------------------------------------------------

    def installable(self, name: str) -> dict[Version, tuple[IndexFile, bool]]:
        """Each version of ``name`` the target can install: its best file, and whether every
        usable file of it is yanked."""
        if name not in self._installable:
            self.listed.add(name)
            versions: dict[Version, tuple[IndexFile, bool]] = {}
            for text, files in self.index.releases(name).items():
                try:
                    version = Version(text)
                except InvalidVersion:
                    continue
                usable = [f for f in files if self._runs_on_target(f)]
                if usable:
                    live = [f for f in usable if not f.yanked]
                    versions[version] = (self._best_file(live or usable), not live)
            self._installable[name] = versions
        return self._installable[name]

    def _runs_on_target(self, file: IndexFile) -> bool:
        python = _specifier(file.requires_python)
        if python and not python.contains(self.python, prereleases=True):
            return False
        if file.is_wheel:
            return self.target.wheel_rank(file.filename) is not None
        return not self.build

    def _best_file(self, files: Sequence[IndexFile]) -> IndexFile:
        """The best wheel for the target, else the sdist pip would take (a .tar.gz first)."""
        wheels = sorted((self.target.wheel_rank(f.filename), f.filename, f) for f in files if f.is_wheel)
        if wheels:
            return wheels[0][2]
        return sorted(files, key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))[0]

    def dist(self, candidate: Candidate) -> Dist:
        """The candidate's file read (once per run): what it requires, its sizes."""
        key = (candidate.name, str(candidate.version))
        if key not in self.dists:
            assert candidate.file is not None
            self.listed.add(candidate.name)  # a pin read from the listing: the listing is its source
            pinned_by = ("release" if candidate.name in self.releases else
                         "constraints" if candidate.name in self.constraints else "newest")
            self.dists[key] = Dist(candidate.name, key[1], candidate.file,
                                   read_metadata(self.index.download(candidate.file)), pinned_by)
        return self.dists[key]

    def requirements(self, dist: Dist, extra: str) -> list[Wanted]:
        """What ``dist`` (with ``extra``; "" for none) requires on the target."""
        environment = self.target.environment(extra)
        needs = []
        for line in dist.metadata.requires_dist:
            try:
                requirement = Requirement(line)
            except InvalidRequirement as error:
                raise WheelPlanError(f"{dist.key} ({dist.file.filename}): Requires-Dist {line!r} is not a "
                                     f"requirement ({error})") from None
            if requirement.marker is None or requirement.marker.evaluate(environment):
                needs.append(Wanted.of(requirement, dist.key))
        return needs


def _specifier(text: str | None) -> SpecifierSet | None:
    """A Requires-Python value; None when there is none or it does not parse (pip ignores those)."""
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


class ResolutionProgress(BaseReporter[Wanted, Candidate, str]):
    """resolvelib's progress told to the project's Reporter: each backtrack, with what it is about."""

    def __init__(self, reporter: Reporter, what: str):
        self.reporter = reporter
        self.what = what
        self.backtracks = 0

    def resolving_conflicts(self, causes: Collection[Any]) -> None:
        self.backtracks += 1
        names = ", ".join(sorted({str(c.requirement) for c in causes}))
        self.reporter.stage(f"{self.what}: backtracking ({self.backtracks}) on {names}")
