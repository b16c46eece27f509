"""What applied site overrides do to resolution: requests credited to an enabled profile, drops,
module streams in force for an image and the checks on them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from ..errors import InputError
from ..inputs.image_tree import ImageSpec, ImageTree, ModuleStream, OverrideKind
from ..selection import Exclusion, Origin, Selection


def credit_profiles(selection: Selection, project: str, spec: ImageSpec) -> Selection:
    """Requests that count only because an override enabled their profile name that override."""
    enabled = {record.value.split(" +", 1)[1]: record for record in spec.overrides
               if record.kind == OverrideKind.ENABLE_PROFILE and record.value.startswith(f"{project} +")}
    if not enabled:
        return selection

    def credited(origin: Origin) -> Origin:
        for profile in (origin.profile or "").split(","):
            record = enabled.get(profile)
            if record is not None:
                return dataclasses.replace(origin, via=f"profile {profile} enabled by {record.where}: {record.reason}")
        return origin

    return Selection(tuple(dataclasses.replace(r, origin=credited(r.origin)) for r in selection.runtime),
                     tuple(dataclasses.replace(r, origin=credited(r.origin)) for r in selection.build_only),
                     selection.excluded)


def drop_requests(selection: Selection, spec: ImageSpec) -> Selection:
    """The image's selection without the names its overrides drop (kept as exclusions, with the
    override's reason); a drop that matches none of the image's requests is an error."""
    if not spec.drop:
        return selection
    runtime, build_only, excluded = list(selection.runtime), list(selection.build_only), list(selection.excluded)
    for drop in spec.drop:
        matched = [r for r in runtime + build_only if r.name == drop.name]
        if not matched:
            requested = sorted({r.name for r in runtime + build_only})
            raise InputError(f"{drop.where}: {spec.name} does not request {drop.name!r}, so there is nothing to "
                             f"drop (a drop removes this image's own requests; a parent's are in the parent's "
                             f"layer); its requests: {', '.join(requested) or 'none'}")
        runtime = [r for r in runtime if r.name != drop.name]
        build_only = [r for r in build_only if r.name != drop.name]
        excluded.append(Exclusion(drop.name, drop.reason, Origin("override", drop.where, None, None, drop.reason)))
    return Selection(tuple(runtime), tuple(build_only), tuple(excluded))


def check_drops(spec: ImageSpec, closure: Collection[str], parent_closure: Collection[str],
                required_by: Callable[[str], list[str]]) -> None:
    """A drop must take the package out of the image: not when the parent image has it (drop it
    there) or another package of the image requires it."""
    for drop in spec.drop:
        if drop.name not in closure:
            continue
        if drop.name in parent_closure:
            raise InputError(f"{drop.where}: {drop.name} stays in {spec.name}: its parent {spec.parent} has it "
                             f"(`resolver why {spec.parent} {drop.name}`); drop it there")
        raise InputError(f"{drop.where}: {drop.name} stays in {spec.name}: {', '.join(required_by(drop.name))} "
                         f"require(s) it (`resolver why {spec.name} {drop.name}` after removing the drop)")


def inherited_streams(tree: ImageTree, image: str) -> tuple[ModuleStream, ...]:
    """The module streams in force for an image: its ancestors' and its own (parents first)."""
    streams: dict[str, ModuleStream] = {}
    for name in [*tree.ancestors(image), image]:
        for stream in tree.spec(name).module_streams:
            streams[stream.module] = stream
    return tuple(streams.values())


def check_module_streams(tree: ImageTree, available: Callable[[], Mapping[str, Sequence[str]]]) -> None:
    """Every stream an image enables exists in the repositories' modules.yaml."""
    known: Mapping[str, Sequence[str]] | None = None
    for name in tree.names():
        for stream in tree.spec(name).module_streams:
            known = known if known is not None else available()
            if stream.stream not in known.get(stream.module, ()):
                listed = ", ".join(f"{m}:{s}" for m, streams in known.items() for s in streams) or "none"
                raise InputError(f"{stream.where}: no module stream {stream} in the repositories; they have: {listed}")


def stream_hint(tree: ImageTree, module_of: Callable[[Any], str | None], *found: tuple[str, Any]) -> str:
    """Why one package name has two versions in the tree when a module stream an override enables
    for part of the tree is the cause, and what to do; "" otherwise. ``found``: (image, package)."""
    for image, package in found:
        stream = module_of(package)
        enabled = next((s for s in inherited_streams(tree, image) if str(s) == stream), None)
        if enabled is not None:
            chains = [[*tree.ancestors(i), i] for i, _ in found]
            common = [a for a, b in zip(*chains) if a == b]
            where = f"on {common[-1]}, an ancestor of both," if common else "on every image that has it"
            return (f"module stream {stream} is enabled for {image} by {enabled.where}, so one package name has "
                    f"two versions; a layer plan needs one: enable the stream {where} or drop the package "
                    f"from the other image")
    return ""

