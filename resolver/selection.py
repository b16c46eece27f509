"""What an image asks for, and why: bindep evaluation for a target platform plus the overlay in
``profiles/``. Pure: parsed files and profiles in, a Selection out.

Upstream bindep files describe test and build hosts, not runtime images, so each entry is sorted:
- **runtime**: active for the platform with the default profile (no user profile) or a profile
  the project or the image names as runtime (``libvirt``, ``ceph``...);
- **build-only**: active in a build profile (``compile``; ``test`` only for entries matching the
  build-tool rule), or a build tool (-devel, gcc, make...) found in a runtime profile;
- **excluded**: dropped by a correction, always with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .bindepfile import BindepFile, Rule
from .config import Correction, Defaults, ExtraPackage, ProjectProfile
from .errors import UnknownNameError
from .platforms import Platform


@dataclass(frozen=True)
class Origin:
    """Where a name came from: a bindep line, an overlay group or correction, or the image."""

    kind: str  # "bindep", "group", "add", "image", "runtime-library"
    detail: str
    project: str | None = None
    profile: str | None = None
    reason: str | None = None
    #: the site override that made this origin count (a backend profile it enabled)
    via: str | None = None

    def __str__(self) -> str:
        text = self.detail
        if self.profile:
            text += f" [{self.profile}]"
        if self.reason:
            text += f": {self.reason}"
        if self.via:
            text += f" ({self.via})"
        return text


@dataclass(frozen=True)
class Request:
    name: str
    origin: Origin


@dataclass(frozen=True)
class Exclusion:
    name: str
    reason: str
    origin: Origin


@dataclass(frozen=True)
class Selection:
    runtime: tuple[Request, ...]
    build_only: tuple[Request, ...]
    excluded: tuple[Exclusion, ...]

    def merged(self, other: Selection) -> Selection:
        """Both selections; a name two projects ask for keeps its first origin."""
        excluded = {e.name: e for e in reversed(self.excluded + other.excluded)}
        return Selection(tuple(unique_requests(self.runtime + other.runtime)),
                         tuple(unique_requests(self.build_only + other.build_only)),
                         tuple(reversed(excluded.values())))



def _rule_origin(project: str, bindep: BindepFile, rule: Rule, chosen: Iterable[str]) -> Origin:
    # The profile that made the rule active: one it names, else "default".
    named = sorted(rule.user_profiles & set(chosen))
    return Origin("bindep", f"{bindep.path}:{rule.line}", project, ",".join(named) or "default")


def _first_match(corrections: Sequence[Correction], name: str, chosen: set[str]) -> Correction | None:
    for correction in corrections:
        if correction.name == name and (correction.profile is None or correction.profile in chosen):
            return correction
    return None


def select_project(
    profile: ProjectProfile,
    bindep: BindepFile,
    target: Platform,
    image_profiles: Sequence[str],
    defaults: Defaults,
    where: str = "",
) -> Selection:
    """The runtime, build-only and excluded names of one project for one image."""
    upstream_defined = bindep.defined_profiles()
    chosen = list(dict.fromkeys([*profile.runtime_profiles, *image_profiles]))
    defined = upstream_defined | set(profile.groups)
    for name in chosen:
        if name not in defined:
            # bindep would silently ignore it (LOCI shipped glance without qemu-utils that way)
            raise UnknownNameError(f"profile of {profile.project}", name, sorted(defined),
                                   where or str(profile.path))
    chosen_set = set(chosen)
    drops = [*profile.drop, *defaults.drop]
    runtime: list[Request] = []
    build: list[Request] = []
    excluded: list[Exclusion] = []

    def keep_runtime(name: str, origin: Origin) -> None:
        drop = _first_match(drops, name, chosen_set)
        if drop is not None:
            excluded.append(Exclusion(name, drop.reason, Origin("drop", drop.where, profile.project,
                                                                 origin.profile, drop.reason)))
        elif defaults.is_build_tool(name):
            build.append(Request(name, Origin(origin.kind, origin.detail, profile.project, origin.profile,
                                              "build tool in a runtime profile: kept to the builder stage")))
        else:
            runtime.append(Request(name, origin))

    runtime_rules = bindep.active([*target.profiles, *(p for p in chosen if p in upstream_defined)])
    for rule in runtime_rules:
        keep_runtime(rule.name, _rule_origin(profile.project, bindep, rule, chosen))
    for name in chosen:
        group = profile.groups.get(name)
        if group is None:
            continue
        for package in group.packages:
            keep_runtime(package, Origin("group", group.where, profile.project, name, group.reason))
    for correction in profile.add:
        if correction.profile is None or correction.profile in chosen_set:
            keep_runtime(correction.name, Origin("add", correction.where, profile.project,
                                                 correction.profile, correction.reason))

    seen_runtime = {r.name for r in runtime} | {e.name for e in excluded}
    for build_profile in (*profile.build_profiles, *profile.filtered_build_profiles):
        if build_profile not in upstream_defined:
            continue
        filtered = build_profile in profile.filtered_build_profiles
        for rule in bindep.active([*target.profiles, build_profile]):
            if rule in runtime_rules or rule.name in seen_runtime:
                continue
            if filtered and not defaults.is_build_tool(rule.name):
                continue
            build.append(Request(rule.name, _rule_origin(profile.project, bindep, rule, [build_profile])))
    return Selection(tuple(unique_requests(runtime)), tuple(unique_requests(build)), tuple(excluded))


def select_extras(image: str, extras: Sequence[ExtraPackage], where: str) -> Selection:
    """Packages an image names itself (memcached, httpd...) or a site override adds to it."""
    return Selection(tuple(Request(e.name, Origin(e.kind, e.where or where, None, None, e.reason or None))
                           for e in extras), (), ())


def unique_requests(requests: Iterable[Request]) -> list[Request]:
    """First origin of each name wins (file order is the order a reader expects)."""
    seen: dict[str, Request] = {}
    for request in requests:
        seen.setdefault(request.name, request)
    return list(seen.values())
