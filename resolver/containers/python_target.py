"""The Python side's target and pins: the target's interpreter and C library (from the planned
``python3`` and ``glibc`` packages, never the host), the wheel tags it accepts, one pinned
distribution (``Dist``: a requirement at a version and the file the target gets it from), and an
OpenStack series' upper-constraints evaluated for the target.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from ..errors import InputError, WheelPlanError
from ..metadata.closure import PackageInfo
from .pypi import FileMetadata, IndexFile

DATA = Path(__file__).resolve().parent.parent / "data"
CONSTRAINTS_DIR = DATA / "constraints"
#: where every image's service venv lives: where Kolla puts it (its openstack-base image)
VENV = "/var/lib/kolla/venv"
#: bytes pip's install writes per byte of .py (the .pyc files, RECORD...), measured on the demo
#: tree's venv layers built here (1.13 to 1.37 by layer; keystone's, the largest share, 1.37)
PYC_BYTES_PER_PY_BYTE = 1.3


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


def hashed_requirements(pins: Iterable[tuple[str, str]]) -> str:
    """A requirements file for pip's ``--require-hashes``: each requirement (a pin, or a wheel's
    path) with the sha256 its file must have."""
    return "".join(f"{requirement} --hash=sha256:{sha256}\n" for requirement, sha256 in pins)


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



def constraints_digest(series: str) -> str:
    return hashlib.sha256((CONSTRAINTS_DIR / f"upper-constraints-{series}.txt").read_bytes()).hexdigest()
