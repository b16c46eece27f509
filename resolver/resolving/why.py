"""`resolver why IMAGE PACKAGE`: how a package enters an image, or which rule keeps it out, as
fields (``Why.to_json``) and as the lines ``resolver why`` prints (``Why.text``).

In the image: the image whose own layer holds it (the parents it is inherited through), the request
that brings it (a bindep line with its profile, an overlay group or correction, the image's own
list, an override) and the shortest Requires chain from that request to it. Not in the image: the
rule that took it out (a drop with its file:line and reason), the builder stage it is kept to, the
upstream line that does not apply on the target, or libsolv's reason it could not be installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx

from ..errors import InputError
from ..overrides.override_effects import inherited_streams
from ..selection import Origin

if TYPE_CHECKING:
    from ..metadata.closure import PackageInfo
    from .resolution import TreeResolver

#: where an origin's detail names a place: ``FILE:LINE`` then, after ``: ``, the rule
#: (``profiles/oslo.db.yaml:8: drop[0]``, ``images/nova.yaml:36: [5] (nova-libvirt)``)
_PLACE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)(?::\s*(?P<rule>.*))?$")


def origin_json(origin: Origin) -> dict:
    """An origin's fields: its kind, the file and line it is written at, the rule there, the
    project and profile, the reason, the override it came through and the code evidence."""
    place = _PLACE.match(origin.detail)
    return {"kind": origin.kind, "file": place["file"] if place else None,
            "line": int(place["line"]) if place else None,
            "rule": (place["rule"] or None) if place else origin.detail,
            "project": origin.project, "profile": origin.profile, "reason": origin.reason,
            "via": origin.via, "evidence": list(origin.evidence)}


@dataclass(frozen=True)
class Step:
    """One Requires edge of the chain: ``package`` requires ``requires``, which ``provider`` gives."""

    package: str
    requires: str
    provider: str


@dataclass(frozen=True)
class Why:
    image: str
    package: str
    #: ``in-layer`` (the image's own layer), ``inherited``, ``excluded`` (a rule dropped it),
    #: ``build-only`` (builder stage only), ``not-on-target`` (its upstream line does not apply),
    #: ``unresolved`` (requested, cannot be installed), ``no-chain`` (in the layer, no chain modelled)
    status: str
    #: the image whose own layer holds the package (when it is in the image)
    layer: str | None = None
    #: the images it is inherited through, the image itself first, ``layer`` last
    inherited_through: tuple[str, ...] = ()
    #: the request that brings it, and the package that answers that request (a provide)
    request: str | None = None
    provided_by: str | None = None
    #: where the request, the rule or the line comes from
    origin: Origin | None = None
    #: the rule an image's request for the package was dropped by, while another package pulls it in
    dropped: Origin | None = None
    chain: tuple[Step, ...] = ()
    #: libsolv's text (unresolved), or the reason an upstream line does not apply
    problem: str = ""
    #: the module stream the package comes from, and the override that enabled it
    stream: str | None = None
    stream_enabled_by: str | None = None
    text: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict:
        return {"image": self.image, "package": self.package, "status": self.status, "layer": self.layer,
                "inherited_through": list(self.inherited_through), "request": self.request,
                "provided_by": self.provided_by,
                "origin": origin_json(self.origin) if self.origin else None,
                "dropped": origin_json(self.dropped) if self.dropped else None,
                "chain": [{"package": s.package, "requires": s.requires, "provider": s.provider} for s in self.chain],
                "problem": self.problem or None, "module_stream": self.stream,
                "module_stream_enabled_by": self.stream_enabled_by, "text": list(self.text)}


def explain(resolver: TreeResolver, image: str, package: str) -> Why:
    """How ``package`` enters ``image``, or why it is not there; an error when nothing names it."""
    result = resolver.image(image)
    if result.package(package) is None:
        return _absent(resolver, image, package)
    through = [image]
    while True:
        parent = resolver.image(through[-1]).parent
        if parent is None or resolver.image(parent).package(package) is None:
            break
        through.append(parent)
    holder = resolver.image(through[-1])
    held = holder.package(package)
    assert held is not None  # the walk above stops at the highest image that holds it
    text = [f"{package} is inherited from the parent image {parent}" for parent in through[1:]]
    answers = {name: request for request, name in reversed(holder.satisfied_by)}
    best: list[str] | None = None
    for start in answers:
        try:
            path = nx.shortest_path(holder.graph, start, package)
        except nx.NetworkXNoPath:
            continue
        if best is None or len(path) < len(best):
            best = path
    dropped = next((e.origin for e in result.overruled if e.name == package), None)
    common = {"image": image, "package": package, "layer": holder.image, "inherited_through": tuple(through),
              "dropped": dropped, **_stream(resolver, holder.image, held)}
    extra = []
    if common["stream"]:
        by = f", enabled by {common['stream_enabled_by']}" if common["stream_enabled_by"] else ""
        extra.append(f"{held.nevra} is from module stream {common['stream']}{by}")
    status = "inherited" if len(through) > 1 else "in-layer"
    if best is None:
        text.append(f"{package} is in {holder.image}'s layer but no Requires chain from a request reaches it "
                    "(pulled in by a rich or file dependency the graph does not model)")
        return Why(status="no-chain", text=tuple(text + extra), **common)
    request = next(r for r in holder.requests if r.name == answers[best[0]])
    chain = tuple(Step(a, holder.graph.edges[a, b]["requires"], b) for a, b in zip(best, best[1:]))
    asked = request.name if request.name == best[0] else f"{request.name} (provided by {best[0]})"
    text += [f"{package} is in {holder.image}'s own layer", f"requested: {asked} <- {request.origin}"]
    text += [f"  {s.package} requires {s.requires} -> {s.provider}" for s in chain]
    if dropped is not None:
        # the drop corrects one project's line; the request above is another line or group
        brings = "the chain above from that request" if chain else "the request above"
        extra.append(f"another line's request for {package} was dropped by {dropped.detail}: {dropped.reason}; "
                     f"{brings} still brings it in")
    return Why(status=status, request=request.name, provided_by=best[0], origin=request.origin, chain=chain,
               text=tuple(text + extra), **common)


def _absent(resolver: TreeResolver, image: str, package: str) -> Why:
    """A package not in the image: the rule, stage, line or problem that keeps it out."""
    result = resolver.image(image)
    dropped = next((e for e in result.excluded if e.name == package), None)
    if dropped is not None:
        return Why(image, package, "excluded", origin=dropped.origin, text=(
            f"{package} is not in {image}: excluded by {dropped.origin.detail}: {dropped.reason}",))
    unresolved = next((u for u in result.unresolved if u.name == package), None)
    if unresolved is not None:
        hint = unresolved.diagnosis.hint()
        return Why(image, package, "unresolved", request=package, origin=unresolved.origin,
                   problem=unresolved.problem, text=(
                       f"{package} is requested for {image} but cannot be resolved on these repositories",
                       f"requested: {package} <- {unresolved.origin}",
                       *(f"  {line}" for line in unresolved.problem.splitlines()[:6]),
                       *([f"  {hint}"] if hint else [])))
    build = next((r for r in result.build_only if r.name == package), None)
    if build is not None:
        return Why(image, package, "build-only", request=package, origin=build.origin, text=(
            f"{package} is not in {image}: build-only, installed in its builder stage only",
            f"requested: {package} <- {build.origin}"))
    line = next((f for f in result.lines if f.name == package and f.fate == "excluded"), None)
    if line is not None:
        origin = Origin("bindep", line.where, line.project)
        return Why(image, package, "not-on-target", origin=origin, problem=line.reason, text=(
            f"{package} is not in {image}: its upstream line {line.where} is excluded: {line.reason}",))
    raise InputError(f"{package!r} is not in image {image}; `resolver packages {image}` lists what is")


def _stream(resolver: TreeResolver, image: str, package: PackageInfo) -> dict:
    """Where a package comes from a module stream: which, and the override that enabled it."""
    stream = resolver.repos.module_of(package)
    if stream is None:
        return {"stream": None, "stream_enabled_by": None}
    enabled = next((s for s in inherited_streams(resolver.tree, image) if str(s) == stream), None)
    return {"stream": stream, "stream_enabled_by": f"{enabled.where}: {enabled.reason}" if enabled else None}

