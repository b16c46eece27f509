"""Requests that did not resolve, told apart so that a user can act on each: what the metadata has
but cannot install, what it has never seen (a typo gets a "did you mean"), what is known to live
in a repository that is not configured; the warning a best-effort run ends with and the error a
strict run stops with, both over every image at once.

Three kinds, decided by the metadata itself:

- ``uninstallable``: a package of the repositories has the name (as its name, a provide or a
  file), or requires it, and libsolv cannot install it; libsolv's problem text says why (on the
  bundled BaseOS 2022 + AppStream 2025 pair: AppStream packages that need newer BaseOS libraries).
- ``unknown``: no package of the repositories knows the name: a typo, another distribution's name,
  or a package of a repository that is not configured. One case of the last is derivable from the
  metadata: on EL, a ``NAME-devel`` that is absent while the source package ``NAME`` has binary
  packages in the repositories is shipped in CodeReady Builder (CRB), the repository EL keeps
  most -devel packages in (mariadb-devel, libyaml-devel, libvirt-devel).
- ``replaced``: a package of the repositories obsoletes the request, so dnf installs that one
  instead (on the bundled pair systemd-boot-unsigned obsoletes systemd-udev); what only the request
  ships (``udevadm``, ``scsi_id``) is not in the image, so the image is as incomplete as with the
  other two kinds.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..metadata.closure import Unresolved
from ..selection import Origin
from .not_bundled import REPO_FILE, package_elsewhere

UNINSTALLABLE = "uninstallable"
UNKNOWN = "unknown"
#: dnf installs another package that obsoletes the request: what the request alone ships is absent
REPLACED = "replaced"
#: a suggestion must be this close (difflib's ratio): ``lsscssi`` -> lsscsi (0.92) is offered,
#: ``ceph-comon`` -> php-common (0.80) is not
_CLOSE = 0.85
CRB = "CodeReady Builder (CRB)"


class NameCatalogue(Protocol):
    """What the diagnosis asks of the metadata (``RepoSet``)."""

    def names_providing(self, spec: str) -> list[str]: ...

    def known_names(self) -> frozenset[str]: ...

    def source_names(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Diagnosis:
    """Why a name did not resolve, as far as the metadata tells."""

    kind: str
    #: close names the metadata has (for an unknown name)
    did_you_mean: tuple[str, ...] = ()
    #: a repository that is not configured where the name is known to live
    elsewhere: str = ""
    #: how that is known
    because: str = ""

    def hint(self, short: bool = False) -> str:
        """What to check, as a phrase (``short``: for the one-line warning)."""
        if self.elsewhere:
            return f"in {self.elsewhere} on EL, not configured" if short else \
                f"{self.because}: on EL it is in {self.elsewhere}, not configured here (add it with --repos)"
        if self.did_you_mean:
            return f"did you mean {' or '.join(self.did_you_mean)}?"
        if self.kind == REPLACED:
            return "obsoleted: dnf installs the obsoleting package, without what only this one ships" if short \
                else "dnf installs the obsoleting package instead; what only this package ships is not in the image"
        if self.kind == UNKNOWN:
            return "a typo?" if short else "no package has or provides this name: check it, or add the " \
                                           "repository that has it"
        return ""

    def to_json(self) -> dict:
        return {"kind": self.kind, "did_you_mean": list(self.did_you_mean), "elsewhere": self.elsewhere,
                "hint": self.hint()}


@dataclass(frozen=True)
class UnresolvedRequest(Unresolved):
    """A request of an image that the repositories could not give: where it was asked, and why it
    did not resolve as far as the metadata tells."""

    origin: Origin
    diagnosis: Diagnosis = field(default=Diagnosis(UNINSTALLABLE))

    def to_json(self) -> dict:
        return {"name": self.name, "problem": self.problem, "origin": str(self.origin), **self.diagnosis.to_json()}


def diagnose(name: str, metadata: NameCatalogue) -> Diagnosis:
    """Tell a name the metadata has from one it has never seen (with where it may live instead)."""
    if metadata.names_providing(name):
        return Diagnosis(UNINSTALLABLE)
    elsewhere = package_elsewhere(name)
    if elsewhere is not None:
        return Diagnosis(UNKNOWN, elsewhere=elsewhere.where, because=f"{elsewhere.because}; {REPO_FILE} defines "
                                                                      "these repositories")
    stem = name.removesuffix("-devel")
    if stem != name and stem in metadata.source_names():
        return Diagnosis(UNKNOWN, elsewhere=CRB, because=f"the repositories have binary packages of its source "
                                                         f"package {stem}, not this -devel")
    if "(" in name or "/" in name:  # a soname or a file: nothing to spell differently
        return Diagnosis(UNKNOWN)
    known = metadata.known_names()
    if name in known:  # a package outside the module streams in force
        return Diagnosis(UNINSTALLABLE)
    return Diagnosis(UNKNOWN, did_you_mean=tuple(difflib.get_close_matches(name, known, n=3, cutoff=_CLOSE)))


def by_name(per_image: Mapping[str, Sequence[UnresolvedRequest]]) -> list[tuple[UnresolvedRequest, list[str]]]:
    """Each unresolved name and origin once, with the images that lack it."""
    found: dict[tuple[str, str], tuple[UnresolvedRequest, list[str]]] = {}
    for image, unresolved in per_image.items():
        for item in unresolved:
            found.setdefault((item.name, str(item.origin)), (item, []))[1].append(image)
    return list(found.values())


def _images(names: Sequence[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def count_text(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def warning_lines(per_image: Mapping[str, Sequence[UnresolvedRequest]]) -> list[str]:
    """What a best-effort run says on stderr at its end: one line counting what did not resolve
    per image, and one naming the names the metadata has never seen (typos among them). An image
    named "" stands for requests of no image (`resolver closure`)."""
    counts = {image: len(unresolved) for image, unresolved in per_image.items() if unresolved}
    if not counts:
        return []
    ordered = sorted(counts, key=lambda image: (-counts[image], image))
    total = count_text(sum(counts.values()), "request")
    if list(counts) == [""]:
        lines = [f"resolver: warning: {total} did not resolve (best effort)"]
    else:
        lines = [f"resolver: warning: {total} of {count_text(len(counts), 'image')} did not resolve (best effort): "
                 f"{', '.join(f'{image} {counts[image]}' for image in ordered)}"]
    unknown: dict[str, tuple[Diagnosis, list[str]]] = {}
    for item, images in by_name(per_image):
        if item.diagnosis.kind == UNKNOWN:
            unknown.setdefault(item.name, (item.diagnosis, []))[1].extend(i for i in images if i)
    for title, elsewhere in (("names that live in repositories that are not configured", True),
                             ("names these repositories have never seen", False)):
        named = [(name, d, images) for name, (d, images) in unknown.items() if bool(d.elsewhere) == elsewhere]
        if named:
            lines.append(f"resolver: warning: {title}: " + "; ".join(
                f"{name} ({_images(images) + '; ' if images else ''}{diagnosis.hint(short=True)})"
                for name, diagnosis, images in named))
    return lines


def first_cause(problem: str) -> str:
    """The root cause when the text leads with one, else the first line of libsolv's text that names
    a package (skips 'Problem: conflicting requests')."""
    causes = [line.strip(" -") for line in problem.splitlines()]
    return next((c for c in causes if c.startswith(("root cause", "nothing", "package", "no package"))), causes[0])


def grouped_lines(per_image: Mapping[str, Sequence[UnresolvedRequest]], indent: str = "  ",
                  images: bool = True, full: bool = True) -> list[str]:
    """Each unresolved name once, under its kind: names the repositories have but cannot install
    with libsolv's reason (``full``: its whole text, else its first cause), then names they have
    never seen with what to check; with ``images``, the images lacking each."""
    lines: list[str] = []
    names = by_name(per_image)
    for kind, title in ((UNINSTALLABLE, "the repositories have these but cannot install them (libsolv's reason):"),
                        (REPLACED, "the repositories replace these through Obsoletes (what only they ship is absent):"),
                        (ELSEWHERE, "repositories that are not configured ship these:"),
                        (UNKNOWN, "the repositories have never seen these:")):
        group = [(item, lacking) for item, lacking in names if _group(item.diagnosis) == kind]
        if not group:
            continue
        lines.append(f"{indent}{title}")
        width = min(32, max(len(item.name) for item, _ in group))
        for item, lacking in group:
            where = f" ({_images(lacking)})" if images else ""
            lines.append(f"{indent}  {item.name:{width}}{where} <- {item.origin}")
            if kind in (UNKNOWN, ELSEWHERE):
                lines.append(f"{indent}      {item.diagnosis.hint()}")
            elif kind == REPLACED:
                lines.append(f"{indent}      {item.problem}")
            else:
                causes = item.problem.splitlines()[:6] if full else [first_cause(item.problem)]
                lines.extend(f"{indent}      {line}" for line in causes)
    return lines


#: the group of unknown names a repository that is not configured is known to ship
ELSEWHERE = "elsewhere"


def _group(diagnosis: Diagnosis) -> str:
    return ELSEWHERE if diagnosis.kind == UNKNOWN and diagnosis.elsewhere else diagnosis.kind


def unresolvable_message(per_image: Mapping[str, Sequence[UnresolvedRequest]], repositories: Sequence[str]) -> str:
    """The strict run's error: every unresolved request of every image, the names the metadata has
    but cannot install (with libsolv's reason) apart from the names it has never seen."""
    total = sum(len(unresolved) for unresolved in per_image.values())
    images = sum(1 for unresolved in per_image.values() if unresolved)
    return "\n".join([f"{total} request(s) of {images} image(s) cannot be resolved on {', '.join(repositories)} "
                      "(--best-effort lists them and goes on; `resolver why IMAGE NAME --best-effort` gives "
                      "libsolv's whole text):", *grouped_lines(per_image, full=False)])
