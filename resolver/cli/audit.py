"""`resolver audit`: findings and suggested patches for upstream bindep files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..auditing.audit import index_page, project_page, summary_line
from ..auditing.upstream_audit import audit_upstream
from ..files import check_writable, write_atomically
from ..names import confined
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
    targets = target_platforms(args, several=True)
    progress = Progress(args)
    try:
        with open_repos(args, site.repos) as repos:
            audited = audit_upstream(args.targets, site.tree, site.profiles, targets, repos,
                                     (args.profiles or default_dir("profiles")) / "upstream", progress,
                                     args.cache_dir, args.all_upstream, args.evidence)
    finally:
        progress.stop()
    findings = audited.findings
    if args.patch:
        for project, patch in audited.patches.items():
            write_atomically(confined(args.patch, f"{project}.patch"), patch)
    if args.report:
        for project in audited.audited:
            write_atomically(confined(args.report, f"{project}.md"),
                             project_page(project, [f for f in findings if f.project == project],
                                          audited.patches.get(project, ""), audited.suggested.get(project, ())))
        write_atomically(args.report / "index.md", index_page(audited.audited, findings, [t.name for t in targets]))
    lines = [f"{f.file}:{f.line}: {f.severity}: {f.kind}: {f.message}\n    suggestion: {f.suggestion}"
             for f in findings]
    if not args.evidence:
        lines.append("(add --evidence for the findings from the projects' code: missing commands, no-evidence...)")
    lines.append(summary_line(findings))
    emit(args, {"findings": [f.to_json() for f in findings], "platforms": [t.name for t in targets]},
         "\n".join(lines))
    if audited.unreadable:
        return 2
    return 1 if any(f.severity == "error" for f in findings) else 0
