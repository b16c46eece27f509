"""`resolver evidence`: what each image's code runs and imports, whether the image has it, and
which runtime packages nothing in the code justifies."""

from __future__ import annotations

import argparse

from ..auditing.evidence import ImageEvidence
from ..auditing.evidence_report import Evidence, ProjectView, gather_evidence
from ..inputs.image_tree import load_images
from ..inputs.profiles import load_profiles
from ..metadata.repo_config import repo_specs
from ..resolving.resolution import TreeResolver
from .common import (
    FORMATTER,
    Progress,
    announce,
    default_dir,
    distribution_text,
    emit,
    is_strict,
    open_repos,
    target_platforms,
    tree_text,
    warn_unresolved,
)

EPILOG = """examples:
  resolver evidence nova-compute
  resolver evidence neutron-server neutron-dhcp-agent --format json
  resolver evidence os-brick            # a project: every command its release runs, by profile
  resolver evidence                     # every deployed image

Each project's code is its pinned release (`release:` in profiles/), read from the PyPI sdist,
downloaded once into the cache (keyed by the sdist's sha256) and reused offline.

exit: 0 nothing missing, 1 an image lacks a command or module its code needs (missing, requested but
unresolved, or in no configured repository), 2 bad input"""


def register(sub, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("evidence", parents=[common], epilog=EPILOG, formatter_class=FORMATTER,
                            help="what each image's code runs and imports, and whether the image has it")
    parser.add_argument("targets", nargs="*", metavar="IMAGE|PROJECT",
                        help="images of the tree or projects of profiles/ (default: every deployed image)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tree = load_images(args.images or default_dir("images"))
    target = target_platforms(args)[0]
    specs = repo_specs(args.repos)
    announce(args, f"{tree_text(args.images or default_dir('images'), args.profiles or default_dir('profiles'), tree)} "
                   f"for {target.name} on {distribution_text(specs)}, {'strict' if is_strict(args) else 'best effort'}")
    progress = Progress(args)
    try:
        with open_repos(args, specs) as repos:
            profiles = load_profiles(args.profiles or default_dir("profiles"))
            resolver = TreeResolver(tree, profiles, target, repos, is_strict(args), args.cache_dir, progress)
            evidence = gather_evidence(resolver, args.cache_dir, progress, args.targets)
    finally:
        progress.stop()
    emit(args, evidence.to_json(), evidence_text(evidence))
    warn_unresolved(args, evidence.unresolved)
    return 1 if any(f.severity == "error" for f in evidence.findings) else 0


def evidence_text(evidence: Evidence) -> str:
    text = "\n\n".join([*(image_text(e) for e in evidence.images), *(project_text(v) for v in evidence.projects)])
    if evidence.suggestions:
        text += "\n\nSuggested bindep lines, by project and backend profile (what the code needs, upstream lacks):"
        for suggestion in evidence.suggestions:
            text += f"\n  {suggestion.project} [{suggestion.profile}]: {suggestion.line:40} # {suggestion.because}"
    if evidence.findings:
        text += "\n\nFindings:\n" + "\n".join(f"  {f.severity}: {f.kind}: {f.message}" for f in evidence.findings)
    return text


_MARK = {"has": "has", "venv": "venv", "missing": "MISSING", "unprovided": "NO PACKAGE", "unresolved": "UNRESOLVED"}


def image_text(item: ImageEvidence) -> str:
    lines = [f"{item.image}: {', '.join(item.releases) or 'no release read'}",
             "profiles: " + "  ".join(f"{p}[{','.join(v)}]" for p, v in item.profiles.items())]
    groups: dict[tuple[str, str], list] = {}
    for need in item.needs:
        groups.setdefault((need.project, ",".join(need.profiles)), []).append(need)
    for (project, profiles), needs in groups.items():
        lines.append(f"\n{project} [{profiles}]")
        for need in needs:
            having = ", ".join(need.present) or ", ".join(need.providers) or need.detail or "-"
            more = f" (+{len(need.sites) - 1})" if len(need.sites) > 1 else ""
            lines.append(f"  {need.kind:10} {need.name:28} {_MARK[need.status]:10} {having:32} {need.sites[0]}{more}")
    lines.append("\nRuntime requests (this image and its parents):")
    for request in item.requests:
        status = {"evidence": "evidence", "reason": "reason", "none": "NO EVIDENCE"}[request.status]
        because = request.because[0] if request.because else str(request.origin.origin.reason or "")
        lines.append(f"  {request.name:28} {status:11} {because}")
    counts = {status: sum(1 for n in item.needs if n.status == status) for status in ("missing", "unresolved",
                                                                                      "unprovided")}
    lacking = sum(counts.values())
    lines.append(f"\n{len(item.needs)} needs: {lacking} not in the image ({counts['missing']} missing, "
                 f"{counts['unresolved']} requested but unresolved, {counts['unprovided']} in no configured "
                 f"repository){'; the image is incomplete' if lacking else ''}; "
                 f"{sum(1 for r in item.requests if r.status == 'none')} request(s) without evidence; "
                 f"{len(item.dynamic)} execution call(s) in scope with a computed command (--format json)")
    if item.unread:
        lines.append(f"not read (no release in profiles/): {', '.join(item.unread)}")
    return "\n".join(lines)


def project_text(view: ProjectView) -> str:
    code = view.code
    if code is None:
        return f"{view.project}: no release in {view.profile_path}"
    lines = [f"{view.project}: {code.release} (sdist sha256 {code.sha256[:12]}), {len(code.uses.commands)} command "
             f"use(s), {len(code.uses.dynamic)} computed"]
    for scope, uses in sorted(view.scopes.items()):
        lines.append(f"\n[{scope}]")
        lines += [f"  {name:28} {', '.join(providers) or '-':36} {where}" for name, where, providers in uses]
    return "\n".join(lines)
