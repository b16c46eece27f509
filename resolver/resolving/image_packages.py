"""What one image contains and why: its requests, closure and own layer, what was kept to the
builder stage or excluded, what did not resolve, and the fate of each upstream bindep line
(``TreeResolver.image`` gives it; ``resolver packages IMAGE`` shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import networkx as nx

from ..metadata.closure import PackageInfo, Resolution
from ..selection import Exclusion, LineFate, Request
from .unresolved import UnresolvedRequest


@dataclass(frozen=True)
class ImagePackages:
    """What one image contains and why."""

    image: str
    platform: str
    parent: str | None
    requests: tuple[Request, ...]
    closure: tuple[PackageInfo, ...]
    #: what the image holds beyond its declared parent's set
    layer: tuple[PackageInfo, ...]
    build_only: tuple[Request, ...]
    #: names a rule keeps out of the image (none of them is requested by another line)
    excluded: tuple[Exclusion, ...]
    unresolved: tuple[UnresolvedRequest, ...]
    resolution: Resolution = field(compare=False, repr=False)
    #: names of the declared parent's set
    inherited: frozenset[str] = frozenset()
    #: what became of each upstream bindep line of this image's projects
    lines: tuple[LineFate, ...] = ()
    #: drops of one project's line for a name another line or group requests (it is in the image)
    overruled: tuple[Exclusion, ...] = ()

    @property
    def replaced(self) -> tuple[tuple[str, str, str], ...]:
        """(request, package, explanation): requests answered by a package that obsoletes them."""
        return self.resolution.replaced

    @property
    def satisfied_by(self) -> tuple[tuple[str, str], ...]:
        return self.resolution.satisfied_by

    @property
    def graph(self) -> nx.DiGraph:
        return self.resolution.graph

    @cached_property
    def minimal_request(self) -> tuple[str, ...]:
        """Names of this layer's request list: no name the parent has or another requested name
        already pulls in."""
        pulled_in = self.resolution.pulled_in(ignore=self.inherited, pullers=False)
        return tuple(request for request, package in self.satisfied_by
                     if package not in self.inherited and request not in pulled_in)

    @property
    def installsize(self) -> int:
        return sum(p.installsize for p in self.closure)

    @property
    def layer_installsize(self) -> int:
        return sum(p.installsize for p in self.layer)

    def request_of(self, name: str) -> Request:
        return next(r for r in self.requests if r.name == name)

    def package(self, name: str) -> PackageInfo | None:
        return next((p for p in self.closure if p.name == name), None)

    def to_json(self) -> dict:
        return {
            "image": self.image,
            "platform": self.platform,
            "parent": self.parent,
            "request": list(self.minimal_request),
            "requests": [{"name": r.name, "origin": str(r.origin)} for r in self.requests],
            "closure": [p.to_json() for p in self.closure],
            "layer": [p.name for p in self.layer],
            "installsize": self.installsize,
            "layer_installsize": self.layer_installsize,
            "build_only": [r.name for r in self.build_only],
            "excluded": [{"name": e.name, "reason": e.reason, "origin": e.origin.detail} for e in self.excluded],
            "overruled": [{"name": e.name, "reason": e.reason, "origin": e.origin.detail,
                           "requested_by": str(self.request_of(e.name).origin)} for e in self.overruled],
            "unresolved": [u.to_json() for u in self.unresolved],
            "replaced": [{"request": r, "package": p, "reason": t} for r, p, t in self.replaced],
            "lines": [line.to_json() for line in self.upstream_lines()],
        }

    def upstream_lines(self) -> tuple[LineFate, ...]:
        """Every upstream line's fate, with *unresolved* for runtime names the metadata cannot give."""
        unresolved = {u.name: u.problem for u in self.unresolved}
        return tuple(replace(line, fate="unresolved", reason=unresolved[line.name].splitlines()[0])
                     if line.fate == "runtime" and line.name in unresolved else line for line in self.lines)
