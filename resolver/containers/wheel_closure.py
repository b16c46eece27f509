"""Requirement closures on the index as pip resolves them: resolvelib (the engine pip uses) on
``wheel_provider.IndexProvider`` (Requires-Python on every candidate, upper-constraints as hard
pins, backtracking on conflicts); closures kept between runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from packaging.requirements import Requirement
from resolvelib import ResolutionImpossible, ResolutionTooDeep, Resolver

from ..downloads import read_recorded, write_recorded
from ..errors import WheelPlanError
from ..inputs.image_tree import PipRequirement
from ..inputs.profiles import Release
from ..progress import Reporter, SilentReporter
from .pypi import PyPI, file_metadata_from_json, index_file_from_json
from .python_target import Dist, TargetPython
from .wheel_provider import PYTHON, IndexProvider, ResolutionProgress, Wanted

#: bump when a closure's answer for the same inputs changes (kept closures are keyed by it)
_CLOSURE_FORMAT = 2
#: resolvelib's rounds (a round pins one project or backtracks once); pip's own limit
_MAX_ROUNDS = 200_000


class WheelResolver:
    """Requirement closures on the index, pinned by the constraints; each (name, version) read once.

    Closures are kept between runs (``CACHE/pypi/closures``) under the digest of the target, the
    constraints file and the index; a kept closure is used again only while the listing of every
    project the resolution read is byte for byte the one it was made from (``PyPI.releases``
    fetches a listing again when a pin is missing from it), so a warm plan reads no archive and
    reaches no index."""

    def __init__(self, index: PyPI, target: TargetPython, constraints: Mapping[str, str], constraints_digest: str = "",
                 reporter: Reporter | None = None):
        self.index = index
        self.target = target
        self.constraints = constraints
        self.reporter = reporter or SilentReporter()
        self._dists: dict[tuple[str, str], Dist] = {}
        inputs = json.dumps([_CLOSURE_FORMAT, target.name, constraints_digest, index.simple_url])
        self._memo_path = index.cache / "closures" / f"{hashlib.sha256(inputs.encode()).hexdigest()}.json"
        self._memo = self._load_memo()
        self._memo_changed = False

    def closure(self, roots: Sequence[Requirement | Release | PipRequirement], build: bool = False,
                what: str = "a Python closure") -> list[Dist]:
        """Every distribution ``roots`` need at run time (``build``: wheels only, for a build
        environment), as pip would install them under the constraints. A conflict no choice of
        versions solves (a pinned release or a requirement against the constraints, a Requires-
        Python the target does not meet) is an error naming each side; a root whose marker the
        target does not meet is left out."""
        wanted, releases = [], []
        for root in roots:
            if isinstance(root, Release):
                wanted.append(Wanted.of(Requirement(str(root)), "the project's pinned release"))
                releases.append(root.name)
            elif isinstance(root, PipRequirement):
                wanted.append(Wanted.of(Requirement(root.requirement), f"{root.where} (pip_packages)"))
            else:
                wanted.append(Wanted.of(root, "a build requirement"))
        environment = self.target.environment()
        kept_roots = [r for r, given in zip(wanted, roots) if _marker_holds(given, environment)]
        key = json.dumps([build, sorted(f"{w.wanted_by}:{w}" for w in kept_roots)])
        kept = self._memo["closures"].get(key)
        if kept is not None and all(self.index.listing_digest(n) == d for n, d in kept["listings"].items()):
            return [self._kept_dist(k) for k in kept["dists"]]
        provider = IndexProvider(self.index, self.target, self.constraints, self._dists, releases, build)
        result = self._resolve(provider, kept_roots, what)
        self._memo["closures"][key] = {"dists": [d.key for d in result],
                                       "listings": {n: self.index.listing_digest(n) for n in sorted(provider.listed)}}
        self._memo["dists"].update({d.key: _dist_json(d) for d in result})
        self._memo_changed = True
        return result

    def _resolve(self, provider: IndexProvider, roots: list[Wanted], what: str) -> list[Dist]:
        if not roots:
            return []
        self.reporter.stage(f"resolving {what} (resolvelib)")
        try:
            state = Resolver(provider, ResolutionProgress(self.reporter, what)).resolve(roots, max_rounds=_MAX_ROUNDS)
        except ResolutionImpossible as error:
            raise WheelPlanError(f"{what}: {conflict_message(error.causes, self.constraints, self.target)}") from None
        except ResolutionTooDeep:
            raise WheelPlanError(f"{what}: no resolution within {_MAX_ROUNDS} rounds of backtracking; pin more "
                                 "of its requirements (upper-constraints, the images' pip_packages)") from None
        pinned = {c.name: c for c in state.mapping.values() if c.name != PYTHON}
        return [provider.dist(pinned[name]) for name in sorted(pinned)]

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


def _marker_holds(root: Requirement | Release | PipRequirement, environment: dict[str, str]) -> bool:
    if isinstance(root, Release):
        return True
    requirement = Requirement(root.requirement) if isinstance(root, PipRequirement) else root
    return requirement.marker is None or requirement.marker.evaluate(environment)


def conflict_message(causes: Collection[Any], constraints: Mapping[str, str], target: TargetPython) -> str:
    """resolvelib's causes as one sentence per project: who asks for what, and the constraint
    or the target's Python that none of the index's releases meets together with them."""
    by_name: dict[str, set[str]] = {}
    for cause in causes:
        wanted = cause.requirement
        by_name.setdefault(wanted.name, set()).add(f"{wanted.wanted_by} requires {wanted}")
    sentences = []
    for name, asks in sorted(by_name.items()):
        if name == PYTHON:
            tail = f", but the target is CPython {target.version[0]}.{target.version[1]} ({target.name})"
        elif name in constraints:
            tail = f", but the upper-constraints pin {name}==={constraints[name]}"
        else:
            tail = f"; no release of {name} on the index for {target.name} fits them all"
        sentences.append(" and ".join(sorted(asks)) + tail)
    return "; ".join(sentences)
