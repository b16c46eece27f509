"""What the images' code says about the bindep files: audit findings (what an image's code needs
and it lacks, requests nothing justifies, stale evidence) and bindep lines to suggest upstream."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..resolving.resolution import TreeResolver
from .audit import Finding, FindingKind
from .evidence import ImageEvidence, Justification
from .project_code import DEFAULT_SCOPE


@dataclass(frozen=True)
class BindepSuggestion:
    """A bindep line the code says the project's file should carry, under the profile that needs it."""

    project: str
    profile: str
    line: str
    because: str


def suggested_lines(evidence: Iterable[ImageEvidence], resolver: TreeResolver) -> list[BindepSuggestion]:
    """Upstream lines, grouped by backend profile, for what the code needs and the project's own
    bindep.txt does not ask for (the overlay or nothing does)."""
    found: dict[tuple[str, str, str], BindepSuggestion] = {}
    for item in evidence:
        # what every host has (the tree's root image) is not worth a bindep line: coreutils, grep
        root = ([*resolver.tree.ancestors(item.image)] or [item.image])[0]
        everywhere = {p.name for p in resolver.image(root).closure}
        for need in item.needs:
            if (need.kind == "entrypoint" or need.status in ("venv", "unprovided")
                    or need.project not in resolver.profiles.projects):
                continue
            package = (need.present or need.providers or ("",))[0]
            upstream = {rule.name for rule in resolver.bindep_of(need.project).rules}
            if not package or package in everywhere or package in upstream:
                continue
            for profile in need.profiles:
                selector = "platform:rpm" if profile == DEFAULT_SCOPE else f"platform:rpm {profile}"
                key = (need.project, profile, package)
                found.setdefault(key, BindepSuggestion(need.project, profile, f"{package} [{selector}]",
                                                       f"{need.kind} {need.name} at {need.sites[0]}"))
    return [found[key] for key in sorted(found)]


def evidence_findings(evidence: Sequence[ImageEvidence]) -> list[Finding]:
    """Audit findings of deployed images: what their code needs and they lack, runtime requests
    nothing justifies (once per request, naming every image that carries it), stale evidence."""
    findings: list[Finding] = []
    for item in evidence:
        for need in item.needs:
            if need.status not in ("missing", "unprovided", "unresolved"):
                continue
            path, _, line = need.sites[0].rpartition(":") if need.kind != "entrypoint" else (need.sites[0], "", "0")
            profiles = ", ".join(need.profiles)
            if need.status == "unresolved":
                kind = FindingKind.UNRESOLVED_NEED
                verb = "imports" if need.kind == "module" else "runs"
                message = (f"{item.image}: {need.project} [{profiles}] {verb} {need.name}; the image asks for its "
                           f"provider but it is not installed ({need.detail})")
                suggestion = "`resolver packages IMAGE` gives the reason; configure the repository that has it"
            elif need.status == "unprovided":
                kind = FindingKind.UNPROVIDED_COMMAND
                where = f": {need.detail}" if need.detail else ""
                message = (f"{item.image}: {need.project} [{profiles}] runs {need.name}, "
                           f"which no configured repository provides{where}")
                suggestion = (f"request {need.providers[0]} (with this evidence) and configure its repository"
                              if need.providers else "check the name on the target, or provide it from the "
                              "service's venv, or put the code that runs it in a profile that is off")
            elif need.kind == "module":
                kind = FindingKind.MISSING_BINDING
                message = (f"{item.image}: {need.project} [{profiles}] imports {need.name}; the image lacks "
                           f"{' '.join(need.build) + ' (builder) and ' if need.build else ''}"
                           f"{', '.join(need.providers) or 'its library'}")
                suggestion = f"add {(need.providers or need.build)[0]} to the {profiles} profile"
            else:
                kind = FindingKind.MISSING_COMMAND
                message = (f"{item.image}: {need.project} [{profiles}] runs {need.name} "
                           f"({len(need.sites)} site(s)); no provider ({', '.join(need.providers)}) is in the image")
                suggestion = f"add {need.providers[0]} [platform:rpm {need.profiles[0]}]"
            findings.append(Finding(need.project, path, int(line or 0), need.name, kind, message, suggestion,
                                    image=item.image))
    # one finding per request, naming every deployed image that carries it without evidence (an
    # image whose code runs it does not excuse one whose code does not)
    unjustified: dict[tuple[str, str], list[Justification]] = {}
    carriers: dict[tuple[str, str], list[str]] = {}
    for item in evidence:
        for request in item.requests:
            key = (request.name, request.origin.origin.detail)
            if request.status == "none":
                unjustified.setdefault(key, []).append(request)
                carriers.setdefault(key, []).append(item.image)
            for site in request.stale:
                findings.append(Finding(request.origin.origin.project or "", site.rpartition(":")[0],
                                        int(site.rpartition(":")[2]), request.package, FindingKind.STALE_EVIDENCE,
                                        f"{item.image}: {request.origin.origin.detail} cites {site} for "
                                        f"{request.package}, but the code there does not run or import what it "
                                        "provides", "update the evidence from `resolver evidence`",
                                        image=item.image))
    for key, requests in unjustified.items():
        first = requests[0]
        path, _, line = first.origin.origin.detail.rpartition(":")
        images = sorted(set(carriers[key]))
        findings.append(Finding(first.origin.origin.project or "", path, int(line) if line.isdigit() else 0,
                                first.package, FindingKind.NO_EVIDENCE,
                                f"{first.name} (requested in {first.image}, carried by {', '.join(images)}) "
                                f"{first.because[-1]}",
                                "move it to the profile whose code runs it, or drop it (with a reason in profiles/)",
                                image=first.image))
    return list({(f.image, f.kind, f.package, f.file, f.line): f for f in findings}.values())
