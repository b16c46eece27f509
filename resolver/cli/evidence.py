"""`resolver evidence`: what each image's code runs and imports, whether the image has it, and
which runtime packages nothing in the code justifies."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..errors import UnknownNameError
from ..evidence import EvidenceContext, ImageEvidence, image_evidence
from ..evidence_findings import evidence_findings, suggested_lines
from ..image_tree import load_images
from ..profiles import load_profiles
from ..project_code import ProjectCode, claimed_by, project_code, scopes_of_command
from ..repos import repo_specs
from ..resolution import TreeResolver
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

exit: 0 nothing missing, 1 an image lacks a command or module its code needs, 2 bad input"""


def register(sub, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("evidence", parents=[common], epilog=EPILOG, formatter_class=FORMATTER,
                            help="what each image's code runs and imports, and whether the image has it")
    parser.add_argument("targets", nargs="*", metavar="IMAGE|PROJECT",
                        help="images of the tree or projects of profiles/ (default: every deployed image)")
    parser.set_defaults(run=run)


def code_loader(resolver: TreeResolver, cache_dir, progress: Progress):
    """project -> its release's code, loaded once (None for a project without a release)."""
    loaded: dict[str, ProjectCode | None] = {}

    def code_of(project: str) -> ProjectCode | None:
        if project not in loaded:
            release = resolver.profiles.project(project).release
            progress.starting(f"reading {release}" if release else project)
            loaded[project] = project_code(project, release, cache_dir) if release else None
        return loaded[project]

    return code_of


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
            context = EvidenceContext(resolver, code_loader(resolver, args.cache_dir, progress))
            names = list(args.targets) or [n for n in tree.names() if tree.spec(n).deployed]
            images, projects = [], []
            for name in names:
                if name in tree.graph:
                    images.append(image_evidence(context, name))
                elif name in profiles.projects:
                    projects.append(name)
                else:
                    raise UnknownNameError("image or project", name, [*tree.names(), *profiles.projects])
            project_views = [project_view(context, p) for p in projects]
            findings = evidence_findings([e for e in images if tree.spec(e.image).deployed])
            suggestions = suggested_lines(images, resolver)
            unresolved = {e.image: resolver.image(e.image).unresolved for e in images}
    finally:
        progress.stop()
    data = {"images": [e.to_json() for e in images], "projects": [v[0] for v in project_views],
            "findings": [f.to_json() for f in findings],
            "suggested_bindep": [{"project": s.project, "profile": s.profile, "line": s.line, "because": s.because}
                                 for s in suggestions]}
    text = "\n\n".join([*(image_text(e) for e in images), *(v[1] for v in project_views)])
    if suggestions:
        text += "\n\nSuggested bindep lines, by project and backend profile (what the code needs, upstream lacks):"
        for suggestion in suggestions:
            text += f"\n  {suggestion.project} [{suggestion.profile}]: {suggestion.line:40} # {suggestion.because}"
    if findings:
        text += "\n\nFindings:\n" + "\n".join(f"  {f.severity}: {f.kind}: {f.message}" for f in findings)
    emit(args, data, text)
    warn_unresolved(args, unresolved)
    return 1 if any(f.severity == "error" for f in findings) else 0


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
    missing = sum(1 for n in item.needs if n.status == "missing")
    lines.append(f"\n{len(item.needs)} needs: {missing} missing, "
                 f"{sum(1 for n in item.needs if n.status == 'unprovided')} provided by no package, "
                 f"{sum(1 for r in item.requests if r.status == 'none')} request(s) without evidence; "
                 f"{len(item.dynamic)} execution call(s) in scope with a computed command (--format json)")
    if item.unread:
        lines.append(f"not read (no release in profiles/): {', '.join(item.unread)}")
    return "\n".join(lines)


def project_view(context: EvidenceContext, project: str) -> tuple[dict, str]:
    """Every command and module use of a project's release, by the profile whose code it is."""
    profile = context.resolver.profiles.project(project)
    code = context.code_of(project)
    if code is None:
        return {"project": project, "release": None}, f"{project}: no release in {profile.path}"
    rows: dict[str, list[tuple[str, str, Sequence[str]]]] = {}
    for use in code.uses.commands:
        for scope in sorted(scopes_of_command(profile, use) or {"(a helper nothing in the release calls)"}):
            rows.setdefault(scope, []).append((use.command, use.where, context.command_providers(use.command)))
    for use in code.uses.imports:
        if use.module in context.resolver.profiles.defaults.python_modules:
            for scope in sorted(claimed_by(profile, use.path)):
                rows.setdefault(scope, []).append((f"import {use.module}", f"{use.path}:{use.line}", ()))
    lines = [f"{project}: {code.release} (sdist sha256 {code.sha256[:12]}), {len(code.uses.commands)} command "
             f"use(s), {len(code.uses.dynamic)} computed"]
    for scope, uses in sorted(rows.items()):
        lines.append(f"\n[{scope}]")
        lines += [f"  {name:28} {', '.join(providers) or '-':36} {where}" for name, where, providers in uses]
    data = {"project": project, "release": code.release, "sha256": code.sha256,
            "scopes": {scope: [{"name": n, "site": w, "providers": list(p)} for n, w, p in uses]
                       for scope, uses in rows.items()},
            "dynamic": [f"{d.path}:{d.line} ({d.via})" for d in code.uses.dynamic],
            "unparsed": list(code.uses.unparsed)}
    return data, "\n".join(lines)
