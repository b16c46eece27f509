"""What an image asks for, and why: bindep evaluation for a target platform plus the overlay in
``profiles/``. Pure: parsed files and profiles in, a Selection out.

Upstream bindep files describe test and build hosts, not runtime images, so each entry is sorted:
- **runtime**: active for the platform with the runtime profiles, evaluated as bindep does: the
  user profiles the project or the image names that the file defines (``libvirt``, ``ceph``...),
  or ``default`` when none is named (bindep's command line adds it then);
- **build-only**: active in a build profile (``compile``; ``test`` only for entries matching the
  build-tool rule), or a build tool (-devel, gcc, make...) found in a runtime profile;
- **excluded**: dropped by a correction, always with its reason.

Every line of the file gets a fate (``Selection.lines``): runtime, build-only or excluded with the
reason (a correction, the build-tool filter, another platform, a profile not evaluated), so no
upstream line is ever gone without a word; resolution adds *unresolved*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import UnknownNameError
from .inputs.bindepfile import BindepFile, Rule
from .inputs.image_tree import ExtraPackage
from .inputs.platforms import Platform
from .inputs.profiles import Correction, Defaults, ProjectProfile


@dataclass(frozen=True)
class Origin:
    """Where a name came from: a bindep line, an overlay group or correction, or the image."""

    kind: str  # "bindep", "group", "add", "image", "runtime-library", "binding"
    detail: str
    project: str | None = None
    profile: str | None = None
    reason: str | None = None
    #: the site override that made this origin count (a backend profile it enabled)
    via: str | None = None
    #: where the project's code needs it (``nova/privsep/qemu.py:219``, in the pinned release)
    evidence: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = self.detail
        if self.profile:
            text += f" [{self.profile}]"
        if self.reason:
            text += f": {self.reason}"
        if self.evidence:
            text += f" (evidence: {', '.join(self.evidence)})"
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
class LineFate:
    """What became of one upstream bindep line: ``runtime``, ``build-only`` or ``excluded``
    (with the reason); resolution turns a runtime line whose name cannot be had into ``unresolved``."""

    project: str
    path: str
    line: int
    name: str
    fate: str
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def to_json(self) -> dict[str, object]:
        return {"project": self.project, "file": self.path, "line": self.line, "name": self.name,
                "fate": self.fate, "reason": self.reason}


@dataclass(frozen=True)
class Selection:
    runtime: tuple[Request, ...]
    build_only: tuple[Request, ...]
    excluded: tuple[Exclusion, ...]
    lines: tuple[LineFate, ...] = ()

    def merged(self, other: Selection) -> Selection:
        """Both selections; a name two projects ask for keeps its first origin."""
        excluded = {e.name: e for e in reversed(self.excluded + other.excluded)}
        return Selection(tuple(unique_requests(self.runtime + other.runtime)),
                         tuple(unique_requests(self.build_only + other.build_only)),
                         tuple(reversed(excluded.values())), self.lines + other.lines)



def _rule_origin(project: str, bindep: BindepFile, rule: Rule, chosen: Iterable[str]) -> Origin:
    # The profile that made the rule active: one it names, else "default" (no user selector, or
    # bindep's default profile).
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
    defined = upstream_defined | set(profile.groups) | {"default"}
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
    fates: dict[int, LineFate] = {}

    def keep_runtime(name: str, origin: Origin, line: int = 0) -> None:
        # drops correct upstream lines; the overlay's own groups and adds are deliberate (a group
        # may take back, with its evidence, a name dropped from upstream's default)
        drop = _first_match(drops, name, chosen_set) if line else None
        if drop is not None:
            excluded.append(Exclusion(name, drop.reason, Origin("drop", drop.where, profile.project,
                                                                 origin.profile, drop.reason)))
            fate = ("excluded", f"{drop.reason} ({drop.where})")
        elif defaults.is_build_tool(name):
            build.append(Request(name, Origin(origin.kind, origin.detail, profile.project, origin.profile,
                                              "build tool in a runtime profile: kept to the builder stage",
                                              evidence=origin.evidence)))
            fate = ("build-only", "build tool in a runtime profile: kept to the builder stage")
        else:
            runtime.append(Request(name, origin))
            fate = ("runtime", f"profile {origin.profile}")
        if line:
            fates[line] = LineFate(profile.project, bindep.path, line, name, *fate)

    # bindep's command line evaluates the profiles named, or `default` when none is
    evaluated = [p for p in chosen if p in upstream_defined] or ["default"]
    runtime_rules = bindep.active([*target.profiles, *evaluated])
    for rule in runtime_rules:
        keep_runtime(rule.name, _rule_origin(profile.project, bindep, rule, evaluated), rule.line)
    for name in chosen:
        group = profile.groups.get(name)
        if group is None:
            continue
        for package in group.packages:
            keep_runtime(package.name, Origin("group", group.where, profile.project, name, group.reason,
                                              evidence=package.evidence))
        for package in group.build:
            build.append(Request(package.name, Origin("group", group.where, profile.project, name,
                                                      f"builder stage: {group.reason}", evidence=package.evidence)))
    for correction in profile.add:
        if correction.profile is None or correction.profile in chosen_set:
            keep_runtime(correction.name, Origin("add", correction.where, profile.project,
                                                 correction.profile, correction.reason, evidence=correction.evidence))

    seen_runtime = {r.name for r in runtime} | {e.name for e in excluded}
    build_profiles = [p for p in (*profile.build_profiles, *profile.filtered_build_profiles) if p in upstream_defined]
    for build_profile in build_profiles:
        filtered = build_profile in profile.filtered_build_profiles
        for rule in bindep.active([*target.profiles, build_profile]):
            if rule in runtime_rules or rule.line in fates:
                continue
            if rule.name in seen_runtime:
                fates[rule.line] = LineFate(profile.project, bindep.path, rule.line, rule.name, "runtime",
                                            f"also a runtime name (build profile {build_profile})")
            elif (drop := _first_match(drops, rule.name, chosen_set)) is not None:
                # a drop holds for the builder too: a -devel nothing compiles against is not installed
                excluded.append(Exclusion(rule.name, drop.reason, Origin("drop", drop.where, profile.project,
                                                                          build_profile, drop.reason)))
                seen_runtime.add(rule.name)
                fates[rule.line] = LineFate(profile.project, bindep.path, rule.line, rule.name, "excluded",
                                            f"{drop.reason} ({drop.where})")
            elif filtered and not defaults.is_build_tool(rule.name):
                fates[rule.line] = LineFate(profile.project, bindep.path, rule.line, rule.name, "excluded",
                                            f"profile {build_profile} entry that is not a build tool "
                                            "(build-tool rule, profiles/defaults.yaml)")
            else:
                build.append(Request(rule.name, _rule_origin(profile.project, bindep, rule, [build_profile])))
                fates[rule.line] = LineFate(profile.project, bindep.path, rule.line, rule.name, "build-only",
                                            f"profile {build_profile}")
    for rule in bindep.rules:
        if rule.line not in fates:
            fates[rule.line] = LineFate(profile.project, bindep.path, rule.line, rule.name, "excluded",
                                        _why_inactive(bindep, rule, target, evaluated, build_profiles))
    return Selection(tuple(unique_requests(runtime)), tuple(unique_requests(build)), tuple(excluded),
                     tuple(fates[line] for line in sorted(fates)))


def _why_inactive(bindep: BindepFile, rule: Rule, target: Platform, evaluated: Sequence[str],
                  build_profiles: Sequence[str]) -> str:
    """Why bindep does not select a line for this image: another platform, or a profile not evaluated."""
    if rule not in bindep.active([*target.profiles, *rule.user_profiles]):
        atoms = " ".join(("" if sense else "!") + atom for sense, atom in rule.platform_atoms)
        return f"not for {target.name} ({atoms or 'its profiles exclude it'})"
    return (f"profile {', '.join(sorted(rule.user_profiles)) or 'default'} is not evaluated "
            f"(runtime: {', '.join(evaluated)}; build: {', '.join(build_profiles) or 'none'})")


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
