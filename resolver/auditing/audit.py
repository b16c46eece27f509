"""Audit of upstream bindep.txt files against repository metadata: findings and patches.

Pure: a parsed file, the target platform, the shared rules and a small metadata protocol
(``Metadata``: the dnf adapter satisfies it) in; findings and patched text out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from operator import methodcaller
from typing import TYPE_CHECKING, Protocol

from ..inputs.bindepfile import BindepFile, Rule
from ..inputs.platforms import Platform
from ..inputs.profiles import Defaults
from ..metadata.closure import Resolution
from ..resolving.unresolved import NameCatalogue, diagnose
from ..text_enum import TextEnum

if TYPE_CHECKING:
    from ..metadata.repo_config import RepoSpec

#: distribution ids bindep's platform detection knows (bindep.depends.Depends.platform_profiles)
_DISTRO_IDS = ("debian", "ubuntu", "pop", "amzn", "amazonami", "centos", "rhel", "redhatenterpriseserver",
               "redhatenterpriseworkstation", "fedora", "opensuseproject", "opensuse", "opensuse-leap",
               "opensuse-tumbleweed", "sles", "suselinux", "ol", "oracle", "rocky", "almalinux", "gentoo",
               "arch", "manjaro", "alpine", "darwin")
_FAMILIES = ("dpkg", "rpm", "emerge", "pacman", "apk", "brew", "redhat", "suse", "base-py2", "base-py3")
_DPKG_ATOMS = ("platform:dpkg", "platform:debian", "platform:ubuntu")

class FindingKind(TextEnum):
    """What a finding is about; the order is the order of the summary and the index table."""

    PARSE_ERROR = "parse-error"
    BUILD_ONLY_IN_RUNTIME = "build-only-in-runtime"
    TEST_SERVER_IN_RUNTIME = "test-server-in-runtime"
    UNKNOWN_PLATFORM = "unknown-platform"
    NO_RPM_VARIANT = "no-rpm-variant"
    UNRESOLVABLE = "unresolvable"
    PROFILE_DRIFT = "profile-drift"
    REDUNDANT = "redundant"
    # from the projects' code (resolver evidence): see resolver/evidence_findings.py
    MISSING_COMMAND = "missing-command"
    MISSING_BINDING = "missing-binding"
    UNPROVIDED_COMMAND = "unprovided-command"
    UNRESOLVED_NEED = "unresolved-need"
    NO_EVIDENCE = "no-evidence"
    STALE_EVIDENCE = "stale-evidence"


SEVERITY = {
    FindingKind.PARSE_ERROR: "error",
    FindingKind.BUILD_ONLY_IN_RUNTIME: "error",
    FindingKind.TEST_SERVER_IN_RUNTIME: "error",
    FindingKind.UNKNOWN_PLATFORM: "error",
    FindingKind.NO_RPM_VARIANT: "warning",
    FindingKind.UNRESOLVABLE: "warning",
    FindingKind.PROFILE_DRIFT: "warning",
    FindingKind.REDUNDANT: "info",
    FindingKind.MISSING_COMMAND: "error",
    FindingKind.MISSING_BINDING: "error",
    # an image whose code runs a program no configured repository provides is incomplete
    FindingKind.UNPROVIDED_COMMAND: "error",
    FindingKind.UNRESOLVED_NEED: "error",
    FindingKind.NO_EVIDENCE: "warning",
    FindingKind.STALE_EVIDENCE: "warning",
}


class Metadata(NameCatalogue, Protocol):
    @property
    def specs(self) -> Sequence[RepoSpec]: ...

    def resolve(self, requests: Sequence[str]) -> Resolution: ...


@dataclass(frozen=True)
class Finding:
    project: str
    file: str
    line: int
    package: str
    kind: FindingKind
    message: str
    suggestion: str
    #: the corrected line (replaces ``line``), or a line to insert after it when ``insert`` is set
    patch_line: str | None = None
    insert: bool = False
    #: the image a finding from the code is about (empty for a bindep file finding)
    image: str = ""

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]

    def to_json(self) -> dict[str, object]:
        return {"project": self.project, "file": self.file, "line": self.line, "package": self.package,
                "kind": self.kind, "severity": self.severity, "message": self.message,
                "suggestion": self.suggestion, "image": self.image}


def known_selector(atom: str) -> bool:
    """True when some distribution bindep knows can produce this ``platform:`` profile."""
    value = atom.removeprefix("platform:")
    return value in _FAMILIES or any(value == d or value.startswith(d + "-") for d in _DISTRO_IDS)


def _fix_selector(atom: str) -> str:
    """``platform:centos9`` -> ``platform:centos-9``: the closest id, a hyphen, the rest."""
    value = atom.removeprefix("platform:")
    for distro_id in sorted(_DISTRO_IDS, key=len, reverse=True):
        if value.startswith(distro_id):
            return f"platform:{distro_id}-{value[len(distro_id):].lstrip('-_')}"
    close = difflib.get_close_matches(value, [*_DISTRO_IDS, *_FAMILIES], n=1, cutoff=0.6)
    return f"platform:{close[0]}" if close else atom


_LINE = re.compile(r"^(?P<name>\S+)(?:(?P<gap> +)\[(?P<selector>[^\]]*)\])?(?P<rest>.*)$")


def with_profile(text: str, profile: str) -> str:
    """A rule's line with a user profile added to its selector (comments and versions kept)."""
    match = _LINE.match(text)
    assert match, text  # bindep parsed it
    selector = " ".join(filter(None, [(match["selector"] or "").strip(), profile]))
    return f"{match['name']}{match['gap'] or ' '}[{selector}]{match['rest']}"


def _dpkg_only(rule: Rule) -> bool:
    positives = [p for sense, p in rule.platform_atoms if sense]
    return bool(positives) and all(p in _DPKG_ATOMS or p.startswith(("platform:debian-", "platform:ubuntu-"))
                                   for p in positives)


def _rpm_candidates(dpkg_name: str) -> list[str]:
    """rpm names a Debian -dev package usually maps to: libffi-dev -> libffi-devel,
    libxslt1-dev -> libxslt-devel, libpq-dev -> libpq-devel / postgresql-devel."""
    if not dpkg_name.endswith("-dev"):
        return []
    stem = dpkg_name.removesuffix("-dev")
    stems = [stem, re.sub(r"\d+$", "", stem), stem.removeprefix("lib")]
    return list(dict.fromkeys(f"{s}-devel" for s in stems if s))


def audit_file(
    project: str,
    bindep: BindepFile,
    target: Platform,
    defaults: Defaults,
    metadata: Metadata,
    used_profiles: Iterable[str] = (),
) -> list[Finding]:
    """Every finding for one file on one target."""
    findings: list[Finding] = []

    def add(rule: Rule | None, kind: FindingKind, message: str, suggestion: str, patch_line: str | None = None,
            insert: bool = False, package: str | None = None) -> None:
        findings.append(Finding(project, bindep.path, rule.line if rule else 0,
                                package or (rule.name if rule else ""), kind, message, suggestion,
                                patch_line, insert))

    # line -> its corrected text; fixes to one line compose (a typo'd selector on a -devel line)
    fixed: dict[int, str] = {}

    def correct(rule: Rule, change: Callable[[str], str]) -> str:
        fixed[rule.line] = change(fixed.get(rule.line, rule.text))
        return fixed[rule.line]

    defined = sorted(bindep.defined_profiles())
    build_profile = "compile" if "compile" in defined else "test"
    for rule in bindep.rules:
        for _sense, atom in rule.platform_atoms:
            if not known_selector(atom):
                better = _fix_selector(atom)
                add(rule, FindingKind.UNKNOWN_PLATFORM, f"{atom} is produced by no distribution bindep knows; the rule "
                    "never matches where intended", f"write {better}",
                    correct(rule, methodcaller("replace", atom, better)) if better != atom else None)

    default_rules = bindep.active(target.profiles)
    servers = {c.name for c in defaults.drop}
    for rule in default_rules:
        if rule.name in servers:
            line = with_profile(rule.text, "test")
            add(rule, FindingKind.TEST_SERVER_IN_RUNTIME, f"{rule.name} is a server tests start; the default profile "
                f"installs it on every {target.name} host and image", line,
                correct(rule, lambda text: with_profile(text, "test")))
        elif defaults.is_build_tool(rule.name):
            line = with_profile(rule.text, build_profile)
            add(rule, FindingKind.BUILD_ONLY_IN_RUNTIME,
                f"{rule.name} is a build tool or header package in the default "
                "profile; runtime images would carry it", line,
                correct(rule, lambda text: with_profile(text, build_profile)))

    for profile in sorted(set(used_profiles) - set(defined)):
        add(None, FindingKind.PROFILE_DRIFT, f"profile {profile!r} is used by profiles/ or images/ but {bindep.path} "
            f"does not define it (defined: {', '.join(defined) or 'none'})",
            "update profiles/ to a profile the file defines, or add the profile upstream", package=profile)

    rpm_names = set()
    for extra in (None, *defined):
        rpm_names |= {r.name for r in bindep.active([*target.profiles, *([extra] if extra else [])])}
    searched = ", ".join(spec.repo_id for spec in metadata.specs)
    for name in sorted(rpm_names):
        if not metadata.names_providing(name):
            rule = next(r for r in bindep.rules if r.name == name)
            diagnosis = diagnose(name, metadata)
            check = "check the name on the target, or limit the line with a platform selector"
            add(rule, FindingKind.UNRESOLVABLE,
                f"no package in the {target.name} metadata provides {name} (repositories "
                f"searched: {searched})", f"not a typo: {diagnosis.hint()}" if diagnosis.elsewhere else
                f"{diagnosis.hint()} {check}" if diagnosis.did_you_mean else check)

    rpm_closure: set[str] | None = None
    for rule in bindep.rules:
        candidates = _rpm_candidates(rule.name) if _dpkg_only(rule) else []
        if not candidates:
            continue
        if rpm_closure is None:  # what the rpm entries install, headers pulled in included
            rpm_closure = set(metadata.resolve(sorted(rpm_names)).names()) | rpm_names
        if rpm_closure & set(candidates):
            continue
        available = [c for c in candidates if metadata.names_providing(c)]
        if available:
            # the dpkg line's profiles; a header with none goes to the build profile, or the
            # inserted line would itself be a build tool in the runtime profile
            profiles = " ".join(sorted(rule.user_profiles)) or (
                build_profile if defaults.is_build_tool(available[0]) else "")
            line = f"{available[0]} [platform:rpm{' ' + profiles if profiles else ''}]"
            add(rule, FindingKind.NO_RPM_VARIANT, f"{rule.name} has no rpm counterpart in the file; rpm hosts miss the "
                "same need", f"add: {line}", line, insert=True)

    flagged = {f.line for f in findings
               if f.kind in (FindingKind.TEST_SERVER_IN_RUNTIME, FindingKind.BUILD_ONLY_IN_RUNTIME)}
    findings.extend(_redundant(project, bindep, [r for r in default_rules if r.line not in flagged], metadata))
    findings = [replace(f, patch_line=fixed[f.line]) if f.patch_line and not f.insert else f for f in findings]
    return sorted(findings, key=lambda f: (f.line, f.kind, f.package))


def _redundant(project: str, bindep: BindepFile, rules: Sequence[Rule], metadata: Metadata) -> list[Finding]:
    """Runtime entries that another runtime entry's closure already pulls in."""
    if len(rules) < 2:
        return []
    pulled = metadata.resolve([r.name for r in rules]).pulled_in()
    return [Finding(project, bindep.path, rule.line, rule.name, FindingKind.REDUNDANT,
                    f"{rule.name} is already required by {', '.join(pulled[rule.name])}",
                    "keep it only if the project uses it directly")
            for rule in rules if rule.name in pulled]


def patched_text(bindep: BindepFile, findings: Iterable[Finding]) -> str:
    """The file with every patchable finding applied (a line's fixes are already composed)."""
    lines = bindep.text.splitlines()
    replace: dict[int, str] = {}
    inserts: dict[int, list[str]] = {}
    for finding in findings:
        if finding.patch_line is None or finding.line == 0:
            continue
        if finding.insert:
            inserts.setdefault(finding.line, []).append(finding.patch_line)
        else:
            replace.setdefault(finding.line, finding.patch_line)
    out = []
    for number, line in enumerate(lines, start=1):
        out.append(replace.get(number, line))
        out.extend(inserts.get(number, []))
    return "\n".join(out) + "\n"


def unified_patch(bindep: BindepFile, findings: Iterable[Finding]) -> str:
    new = patched_text(bindep, findings)
    return "".join(difflib.unified_diff(bindep.text.splitlines(keepends=True), new.splitlines(keepends=True),
                                        "a/bindep.txt", "b/bindep.txt"))


KINDS = tuple(FindingKind)


def summary_line(findings: Sequence[Finding]) -> str:
    counts = {kind: sum(1 for f in findings if f.kind == kind) for kind in KINDS}
    listed = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
    return f"{len(findings)} finding(s){': ' + listed if listed else ''}"


def project_page(project: str, findings: Sequence[Finding], patch: str,
                 suggested: Sequence[tuple[str, str, str]] = ()) -> str:
    """One Markdown page: the findings of a project, its suggested patch, and the bindep lines its
    code asks for, grouped by backend profile (``suggested``: profile, line, because)."""
    lines = [f"# {project}", "", summary_line(findings), "",
             "| file | line | package | kind | severity | message | suggestion |", "|---|---|---|---|---|---|---|"]
    for f in findings:
        cells = [f.file, str(f.line or ""), f.package, f.kind, f.severity, f.message, f.suggestion]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if patch:
        lines += ["", "## Suggested patch", "", "```diff", patch.rstrip("\n"), "```"]
    if suggested:
        lines += ["", "## Bindep lines the code asks for, by backend profile", "",
                  "What the images' code runs or imports (`resolver evidence`) and this bindep.txt does not list:", ""]
        for profile in dict.fromkeys(p for p, _, _ in suggested):
            lines += [f"{profile}:", "", "```"]
            lines += [f"{line:45} # {because}" for p, line, because in suggested if p == profile]
            lines += ["```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def index_page(projects: Sequence[str], findings: Sequence[Finding], platforms: Sequence[str]) -> str:
    """The index table: project, findings by kind (every audited project, clean ones too)."""
    lines = [f"# bindep audit ({', '.join(platforms)})", "",
             "Made by `tox -e audit` (`resolver audit`); one page per project beside this file.", "",
             "| project | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 1) + "|"]
    for project in projects:
        counts = [sum(1 for f in findings if f.project == project and f.kind == kind) for kind in KINDS]
        lines.append(f"| [{project}]({project}.md) | " + " | ".join(str(c) if c else "" for c in counts) + " |")
    return "\n".join(lines) + "\n"
