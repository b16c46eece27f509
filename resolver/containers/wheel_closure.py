"""Requirement closures on the index: each requirement pinned by the constraints (or a project's
release, or the newest fitting version), the file the target installs for it chosen, its metadata
read from that file; closures kept between runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..downloads import read_recorded, write_recorded
from ..errors import WheelPlanError
from ..inputs.image_tree import PipRequirement
from ..inputs.profiles import Release
from .pypi import IndexFile, PyPI, file_metadata_from_json, index_file_from_json, read_metadata
from .python_target import Dist, TargetPython

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
        """The kept closures, when the file is the one written (its recorded digest) and holds
        only closures of sound distributions; else none (they are made again, the file rewritten)."""
        empty: dict = {"closures": {}, "dists": {}}
        raw = read_recorded(self._memo_path, MAX_MEMO_BYTES)
        try:
            memo = json.loads(raw) if raw is not None else empty
            _check_memo(memo)
        except (ValueError, RecursionError, TypeError, KeyError):
            return empty
        return memo

    def _kept_dist(self, key: str) -> Dist:
        data = self._memo["dists"][key]
        dist = self._dists.get((data["name"], data["version"]))
        if dist is None:
            dist = _dist_from_json(data)
            self._dists[(dist.name, dist.version)] = dist
        return dist

    def save(self) -> None:
        """Keep this run's new closures."""
        if self._memo_changed:
            write_recorded(self._memo_path, json.dumps(self._memo, sort_keys=True).encode())
            self._memo_changed = False


#: kept closures of a whole tree: a few MiB
MAX_MEMO_BYTES = 64 * 1024 * 1024


def _dist_from_json(data: Any) -> Dist:
    if not isinstance(data, dict) or set(data) != {"name", "version", "pinned_by", "file", "metadata"} \
            or not all(isinstance(data[k], str) for k in ("name", "version")) \
            or data["pinned_by"] not in ("constraints", "release", "newest"):
        raise ValueError("not a kept distribution")
    return Dist(data["name"], data["version"], index_file_from_json(data["file"]),
                file_metadata_from_json(data["metadata"]), data["pinned_by"])


def _check_memo(memo: Any) -> None:
    """ValueError unless ``memo`` is kept closures as ``save`` writes them: each closure's
    distributions kept, each distribution sound (names, sha256, requirements, sizes)."""
    if not isinstance(memo, dict) or set(memo) != {"closures", "dists"} \
            or not all(isinstance(memo[k], dict) for k in memo):
        raise ValueError("not kept closures")
    for key, data in memo["dists"].items():
        dist = _dist_from_json(data)
        if key != dist.key:
            raise ValueError(f"{key} holds {dist.key}")
    for closure in memo["closures"].values():
        if not isinstance(closure, dict) or set(closure) != {"dists", "listings"} \
                or not isinstance(closure["dists"], list) or not isinstance(closure["listings"], dict) \
                or not all(isinstance(k, str) and k in memo["dists"] for k in closure["dists"]) \
                or not all(isinstance(d, (str, type(None))) for d in closure["listings"].values()):
            raise ValueError("not a kept closure")


def _dist_json(dist: Dist) -> dict:
    return {"name": dist.name, "version": dist.version, "pinned_by": dist.pinned_by,
            "file": dataclasses.asdict(dist.file), "metadata": dataclasses.asdict(dist.metadata)}

