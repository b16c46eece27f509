"""`resolver audit`: findings and suggested patches for upstream bindep files."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

from ..audit import Finding, FindingKind, audit_file, index_page, project_page, summary_line, unified_patch
from ..errors import BindepParseError, UnknownNameError
from ..files import check_writable, write_atomically
from ..image_tree import ImageTree
from ..names import confined
from ..profiles import Profiles
from ..repos import RepoSet
from ..sources import Source, read_bindep
from .common import FORMATTER, Progress, default_dir, emit, load_site, open_repos, target_platforms


def register(sub, common: argparse.ArgumentParser) -> None:
    audit = sub.add_parser(
        "audit", parents=[common], help="audit upstream bindep files against the metadata",
        epilog="examples:\n  resolver audit nova keystone\n  resolver audit --all-upstream "
               "--patch patches/ --report docs/audit\n\nexit: 0 no error-level finding, 1 findings, "
               "2 a file could not be read or parsed",
        formatter_class=FORMATTER)
    audit.add_argument("targets", nargs="*", metavar="PROJECT|PATH",
                       help="projects named in profiles/ (default: all of them), bindep files or sdists")
    audit.add_argument("--all-upstream", action="store_true",
                       help="audit every bundled upstream file listed in profiles/upstream/SOURCES.txt")
    audit.add_argument("--patch", type=Path, metavar="DIR", help="write PROJECT.patch (unified diff) per project")
    audit.add_argument("--report", type=Path, metavar="DIR", help="write one Markdown page per project and index.md")
    audit.add_argument("--evidence", action="store_true",
                       help="add the findings from the projects' code for every deployed image (resolver evidence: "
                            "missing-command, missing-binding, no-evidence...); reads each release's sdist")
    audit.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for directory in (args.patch, args.report):
        if directory is not None:
            check_writable(directory, directory=True)
    site = load_site(args)
    tree, profiles = site.tree, site.profiles
    targets = target_platforms(args, several=True)
    progress = Progress(args)
    try:
        with open_repos(args, site.repos) as repos:
            findings, patches, audited, unreadable = _collect(args, tree, profiles, targets, repos, progress)
            suggested: dict[str, list[tuple[str, str, str]]] = {}
            if args.evidence:
                evidence_found, suggested = _evidence(args, tree, profiles, targets[0], repos, progress)
                findings += evidence_found
                audited += [p for p in dict.fromkeys(f.project for f in evidence_found) if p not in audited]
    finally:
        progress.stop()
    if args.patch:
        for project, patch in patches.items():
            write_atomically(confined(args.patch, f"{project}.patch"), patch)
    if args.report:
        for project in audited:
            write_atomically(confined(args.report, f"{project}.md"),
                             project_page(project, [f for f in findings if f.project == project],
                                          patches.get(project, ""), suggested.get(project, ())))
        write_atomically(args.report / "index.md", index_page(audited, findings, [t.name for t in targets]))
    lines = [f"{f.file}:{f.line}: {f.severity}: {f.kind}: {f.message}\n    suggestion: {f.suggestion}"
             for f in findings]
    if not args.evidence:
        lines.append("(add --evidence for the findings from the projects' code: missing commands, no-evidence...)")
    lines.append(summary_line(findings))
    emit(args, {"findings": [f.to_json() for f in findings], "platforms": [t.name for t in targets]},
         "\n".join(lines))
    if unreadable:
        return 2
    return 1 if any(f.severity == "error" for f in findings) else 0


def _collect(args: argparse.Namespace, tree: ImageTree, profiles: Profiles, targets: list, repos: RepoSet,
             progress: Progress) -> tuple[list[Finding], dict[str, str], list[str], bool]:
    findings: list[Finding] = []
    patches: dict[str, str] = {}
    unreadable = False
    audited: list[str] = []
    upstream = (args.profiles or default_dir("profiles")) / "upstream"
    names = list(args.targets)
    if args.all_upstream:
        sources = (upstream / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
        names += [line.split("|")[0].strip() for line in sources if line.strip() and not line.startswith("#")]
    for project, source, used in _audit_targets(names, tree, profiles, upstream):
        progress.stage(f"auditing {project}")
        audited.append(project)
        try:
            bindep = read_bindep(source, args.cache_dir)
        except BindepParseError as error:
            findings.append(Finding(project, error.filename, error.line, "", FindingKind.PARSE_ERROR, error.message,
                                    "fix the line so bindep can parse it"))
            unreadable = True
            continue
        found = [f for target in targets
                 for f in audit_file(project, bindep, target, profiles.defaults, repos, used)]
        found = list({(f.line, f.kind, f.package): f for f in found}.values())
        findings.extend(found)
        patch = unified_patch(bindep, found)
        if patch:
            patches[project] = patch
    return findings, patches, audited, unreadable


def _evidence(args: argparse.Namespace, tree: ImageTree, profiles: Profiles, target, repos: RepoSet,
              progress: Progress) -> tuple[list[Finding], dict[str, list[tuple[str, str, str]]]]:
    """Findings from the projects' code on every deployed image, and the bindep lines it asks for."""
    from ..evidence import EvidenceContext, image_evidence
    from ..evidence_findings import evidence_findings, suggested_lines
    from ..resolution import TreeResolver
    from .evidence import code_loader

    resolver = TreeResolver(tree, profiles, target, repos, False, args.cache_dir, progress)
    context = EvidenceContext(resolver, code_loader(resolver, args.cache_dir, progress))
    found = [image_evidence(context, name) for name in tree.names() if tree.spec(name).deployed]
    suggested: dict[str, list[tuple[str, str, str]]] = {}
    for line in suggested_lines(found, resolver):
        suggested.setdefault(line.project, []).append((line.profile, line.line, line.because))
    return evidence_findings(found), suggested


def _audit_targets(targets: Sequence[str], tree: ImageTree, profiles: Profiles, upstream: Path):
    """(project, source, profiles used by profiles/ and images/) for each audit target: a project
    of profiles/, a bundled upstream file (profiles/upstream/NAME.txt), a bindep file or an sdist."""
    used_by_images: dict[str, set[str]] = {}
    for name in tree.names():
        for project, chosen in tree.spec(name).projects.items():
            used_by_images.setdefault(project, set()).update(chosen)
    for target in targets or list(profiles.projects):
        if target in profiles.projects:
            profile = profiles.projects[target]
            used = (set(profile.runtime_profiles) | set(profile.build_profiles)
                    | set(profile.filtered_build_profiles) | used_by_images.get(target, set())) - set(profile.groups)
            yield target, profile.source, used
        elif target.endswith((".tar.gz", ".tgz")):
            yield re.sub(r"-[0-9][^-]*$", "", target.rpartition("/")[2].split(".tar")[0]), \
                Source("sdist", target), set()
        else:
            path = Path(target) if Path(target).exists() else upstream / f"{target}.txt"
            if not path.exists():
                known = sorted({*profiles.projects, *(p.stem for p in upstream.glob("*.txt"))})
                raise UnknownNameError("project or file", target, known)
            yield path.stem, Source("path", str(path)), set()
