"""An imported entry checked before it carries over: RPM package names against the target's
metadata and the tree's own requests (with a suggestion for a Debian name), Python requirements,
and shell steps sorted into what carries over as is, as packages, or not at all."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from ..errors import InputError
from ..inputs.image_tree import OverrideKind
from ..inputs.platforms import Platform
from ..names import package_name, unwritable_reason
from ..resolving.resolution import TreeResolver
from .site_import import Imported, ImportReport, Left

# ---- package and Python entries ----------------------------------------------------------------

#: Debian packages whose RPM counterpart has another stem (checked against the metadata before
#: it is suggested); other suggestions come from the naming rules in ``rpm_name_candidates``.
DEBIAN_RENAMES = {
    "multipath-tools": "device-mapper-multipath",
    "apache2": "httpd",
    "openssh-client": "openssh-clients",
    "iputils-ping": "iputils",
    "build-essential": "gcc",
    "libapache2-mod-wsgi-py3": "python3-mod_wsgi",
    "python3-openvswitch": "python3-openvswitch3.3",
    "open-iscsi": "iscsi-initiator-utils",
    "qemu-utils": "qemu-img",
    "locales": "glibc-langpack-en",
}


def rpm_name_candidates(name: str) -> list[str]:
    """RPM names a Debian package name usually has (libfoo-dev -> libfoo-devel/foo-devel,
    libfoo11 -> libfoo, libapache2-mod-x -> mod_x, python-x -> python3-x...), most likely first."""
    found = [DEBIAN_RENAMES[name]] if name in DEBIAN_RENAMES else []
    if name.endswith("-dev"):
        stem = name[:-4]
        found += [f"{stem}-devel", f"{stem[3:]}-devel" if stem.startswith("lib") else f"lib{stem}-devel"]
    soname = re.fullmatch(r"lib(?P<stem>[a-z][a-z0-9+]*?)-?[0-9][0-9.]*(t64)?", name)
    if soname:
        found += [f"lib{soname['stem']}", f"{soname['stem']}-libs"]
    if name.startswith("libapache2-mod-"):
        found.append("mod_" + name.removeprefix("libapache2-mod-").replace("-", "_"))
    if name.startswith("python-"):
        found.append("python3-" + name.removeprefix("python-"))
    for debian, rpm in (("-tools", "-utils"), ("-utils", "-tools")):
        if name.endswith(debian):
            found.append(name[: -len(debian)] + rpm)
    if "-" in name:
        found.append(name.rsplit("-", 1)[0])
    return list(dict.fromkeys(c for c in found if c != name))


class ProvideIndex:
    """Whether ``dnf install SPEC`` finds a package, with dnf asked only where it could: a query
    costs about a millisecond (minutes for a list of 200,000 unknown names), while a spec matches
    only by a package or provide name (``known``, built once), a NEVRA form starting with one
    (``name-1.0``, ``name.x86_64``), a file path or a rich provide (``python3dist(six)``). Those
    go to dnf (``ask``), each distinct spec once; any other spec is unknown without a query."""

    def __init__(self, known: frozenset[str], ask: Callable[[str], bool]):
        self.known = known
        self.ask = ask
        self.longest = max(map(len, known), default=0)
        self.answers: dict[str, bool] = {}

    def __call__(self, spec: str) -> bool:
        if spec not in self.answers:
            self.answers[spec] = self.ask(spec) if self.might_match(spec) else False
        return self.answers[spec]

    def might_match(self, spec: str) -> bool:
        if spec in self.known or "/" in spec or "(" in spec:
            return True
        # a NEVRA form's name ends before a '-' (version) or '.' (arch); no name is longer than the longest
        return any(spec[:end] in self.known for end in range(1, min(len(spec), self.longest + 1))
                   if spec[end] in "-.")


class PackageChecks:
    """Checks entries against the target's repositories (``has_package(name)``: a package of that
    exact name exists; ``provided(spec)``: something provides it) and the tree's requests."""

    def __init__(self, has_package: Callable[[str], bool], provided: Callable[[str], bool],
                 repo_ids: Sequence[str], target: Platform, requests: TreeRequests):
        self.has_package = has_package
        self.provided = provided
        self.repo_ids = repo_ids
        self.target = target
        self.requests = requests

    def rpm(self, entry: object) -> tuple[str | None, str, str | None]:
        """(name to import or None, reason when None, suggestion) for one RPM package entry."""
        text = str(entry)
        if problem := unwritable_reason(text):
            return None, problem, None
        if "://" in text or text.endswith(".rpm"):
            return None, ("a URL or package file: resolver resolves names from repository metadata; give the "
                          "repository under repos.add"), None
        if re.search(r"[*?\[\]<>=]", text) or re.search(r"\s", text):
            base = re.split(r"[*?\[\]<>=\s]", text)[0].rstrip("-")
            return None, ("version-pinned or a glob: resolver picks versions from the metadata and locks them "
                          "(`resolver lock`)"), self._name_hint(base)
        try:
            package_name(text, "")
        except InputError:
            return None, "not a package name the tree accepts (letters, digits and . + _ - / only)", None
        if self.provided(text):
            return text, "", None
        pinned = re.fullmatch(r"(?P<name>.+?)-[0-9][A-Za-z0-9.+~^_]*(-[A-Za-z0-9.+~^_]+)?", text)
        if pinned and self.has_package(pinned["name"]):
            return None, ("version-pinned: resolver picks versions from the metadata and locks them "
                          "(`resolver lock`)"), pinned["name"]
        candidates = [c for c in rpm_name_candidates(text) if self.has_package(c)]
        where = f"the repositories ({', '.join(self.repo_ids)}) for {self.target.name}"
        if candidates:
            return None, f"no package provides {text!r} in {where}: a Debian package name?", \
                " or ".join(candidates[:3])
        return None, (f"no package provides {text!r} in {where}; add the repository that has it "
                      "(repos.add or --repos) and import again"), None

    def _name_hint(self, name: str) -> str | None:
        return name if name and self.has_package(name) else None


def check_pip(entry: object) -> tuple[str | None, str, str | None]:
    """(requirement to import or None, reason when None, suggestion) for one Python entry."""
    text = str(entry).strip()
    if problem := unwritable_reason(text):
        return None, problem, None
    if "://" in text or text.startswith(("/", ".")):
        return None, ("a URL or path: the build installs Python requirements from the package index under "
                      "upper-constraints; publish it to an index and name the distribution"), None
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        return None, f"not a Python requirement ({error})", None
    if requirement.specifier or requirement.url:
        return None, ("version-pinned: the build pins every Python requirement with the release's "
                      "upper-constraints"), requirement.name
    return text, "", None


class TreeRequests:
    """What the tree's images already request, to tell an import's entries that change something
    from those the tree already has (resolved best effort, each image once)."""

    def __init__(self, resolver: TreeResolver):
        self.resolver = resolver
        self._requested: dict[str, dict[str, str]] = {}

    def requested(self, image: str) -> dict[str, str]:
        if image not in self._requested:
            selection = self.resolver.selection_of(image)
            self._requested[image] = {r.name: str(r.origin) for r in (*selection.runtime, *selection.build_only)}
        return self._requested[image]

    def already(self, image: str, name: str) -> str | None:
        """Where the image or a parent already requests ``name``, or None."""
        for owner in (image, *reversed(self.resolver.tree.ancestors(image))):
            origin = self.requested(owner).get(name)
            if origin is not None:
                return f"{owner} already requests {name} ({origin})"
        return None

    def drop(self, image: str, name: str, file: str, line: int, reason: str) -> tuple[str, Imported | Left]:
        """Whether removing a package from an image carries over: it does when the image requests it
        (the drop removes the request); a parent's request or a dependency cannot be dropped there;
        a package the image does not have needs nothing."""
        owner = next((a for a in self.resolver.tree.ancestors(image) if self.resolver.image(a).package(name)), None)
        if name in self.requested(image) and owner is None:
            required_by = [p for p in self.resolver.image(image).graph.predecessors(name)] \
                if self.resolver.image(image).package(name) else []
            if not required_by:
                return "imported", Imported(image, OverrideKind.DROP_PACKAGE, name, file, line, reason)
            return "not_imported", Left(name, file, line, f"{', '.join(sorted(required_by))} of {image} require(s) "
                                        "it, so a drop would not remove it", image)
        excluded = next((e for e in self.resolver.selection_of(image).excluded if e.name == name), None)
        if excluded is not None:
            return "skipped", Left(name, file, line, f"already excluded from {image}: {excluded.reason}", image)
        if owner is not None:
            return "not_imported", Left(name, file, line, f"{image} has it from its parent {owner}: a drop removes "
                                        "an image's own requests", image,
                                        f"drop it from {owner} (every image under it loses it)")
        if self.resolver.image(image).package(name) is not None:
            return "not_imported", Left(name, file, line, f"a dependency another package of {image} needs, not a "
                                        f"request; it cannot be removed alone (`resolver why {image} {name}`)", image)
        return "skipped", Left(name, file, line, f"{image} does not have {name} here: nothing to remove", image)


# ---- shell steps -------------------------------------------------------------------------------

_APT = re.compile(r"(^|[\s;&|(])(apt-get|apt|aptitude|dpkg)\s")
_PACKAGE_MANAGER = re.compile(r"(^|[\s;&|(])(dnf|yum|microdnf|rpm)\s")
_PIP = re.compile(r"(^|[\s;&|(/])(pip3?|python3? -m pip)\s+(--?\S+\s+)*install\s")
#: what only exists in Kolla's or TCIB's own images (their start scripts and helper packages)
_BUILDER_SCRIPTS = re.compile(r"kolla_[a-z_]+|/var/lib/kolla|uid_gid_manage|/usr/share/(openstack-)?tripleo-common"
                              r"|/usr/share/tcib|openstack-tripleo-common-containers")


def install_arguments(command: str, tools: str) -> list[str]:
    """The names ``TOOL [-y ...] install NAME...`` installs (options and template words skipped)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    names: list[str] = []
    state = "idle"  # idle -> tool (the command) -> install (its names follow)
    for word in words:
        if word in ("&&", "||", ";", "|") or word.endswith(";"):
            state = "idle"
        elif state == "install":
            if not word.startswith("-") and "{{" not in word:
                names.append(word)
        elif re.fullmatch(tools, word):
            state = "tool"
        elif state == "tool" and word == "install":
            state = "install"
        elif state == "tool" and not word.startswith("-"):
            state = "idle"
    return names


@dataclass(frozen=True)
class StepVerdict:
    """How a shell command carries over: ``step`` (as is), ``packages`` (a plain install of RPM
    names: import those), or ``left`` (with the reason and the names it installs, if any)."""

    kind: str
    reason: str = ""
    names: tuple[str, ...] = ()
    #: what ``names`` are: "rpm" (to check against the metadata) or "pip" (Python requirements)
    names_kind: str = "rpm"


def judge_step(command: str) -> StepVerdict:
    if _APT.search(command):
        return StepVerdict("left", "installs packages with apt (a Debian command) on an RPM target",
                           tuple(install_arguments(command, r"apt-get|apt|aptitude")))
    if _PACKAGE_MANAGER.search(command):
        names = tuple(install_arguments(command, r"dnf|yum|microdnf"))
        only_install = re.fullmatch(r"\s*(dnf|yum|microdnf)\s+(-y\s+)?install\s+(-y\s+)?[^;&|]+?"
                                    r"(\s*&&\s*(dnf|yum|microdnf) clean all)?(\s*&&\s*rm -rf /var/cache/\S+)?\s*",
                                    command)
        if only_install and names:
            return StepVerdict("packages", names=names)
        return StepVerdict("left", "runs the package manager inside the image; resolver images have none (the "
                                   "layer plan installs every package)", names)
    if _PIP.search(command):
        return StepVerdict("left", "installs Python packages with pip inside the image; name them under "
                                   "pip_packages so the build installs them under upper-constraints",
                           tuple(install_arguments(command, r"pip3?")), "pip")
    scripts = sorted(set(m.group(0) for m in _BUILDER_SCRIPTS.finditer(command)))
    if scripts:
        return StepVerdict("left", f"relies on Kolla's or TCIB's own container scripts or files "
                                   f"({', '.join(scripts)}), which resolver images do not carry")
    return StepVerdict("step")


def add_package(report: ImportReport, checks: PackageChecks, image: str, entry: object, file: str, line: int,
                reason: str, context: str) -> None:
    """An RPM entry for an image: imported when the metadata has it and the tree does not already
    request it there, else listed with why."""
    package, why, suggestion = checks.rpm(entry)
    already = checks.requests.already(image, package) if package is not None else None
    if package is None:
        report.not_imported.append(Left(str(entry), file, line, f"{context}: {why}", image, suggestion))
    elif already is not None:
        report.skipped.append(Left(package, file, line, already, image))
    else:
        report.imported.append(Imported(image, OverrideKind.ADD_PACKAGE, package, file, line, reason))


def carry_step(report: ImportReport, checks: PackageChecks, command: str, image: str, file: str, line: int,
               reason: str, when: str) -> None:
    """A shell command for an image: a step, its packages, or listed with why (and the RPM names of
    what it installs, as a suggestion)."""
    if problem := unwritable_reason(command):
        report.not_imported.append(Left(command, file, line, problem, image))
        return
    verdict = judge_step(command)
    if verdict.kind == "step":
        report.imported.append(Imported(image, OverrideKind.STEP, command, file, line, reason, when))
    elif verdict.kind == "packages":
        for name in verdict.names:
            add_package(report, checks, image, name, file, line, reason, "installed by a RUN")
    else:
        suggestion = None
        if verdict.names and verdict.names_kind == "pip":
            suggestion = "pip_packages: " + ", ".join(verdict.names)
        elif verdict.names:
            found = [checks.rpm(name) for name in verdict.names]
            suggestion = "packages.add: " + ", ".join(name or hint or f"{original} (no RPM name found)"
                                                      for (name, _, hint), original in zip(found, verdict.names))
        report.not_imported.append(Left(command, file, line, verdict.reason, image, suggestion))

