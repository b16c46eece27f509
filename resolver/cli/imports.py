"""`resolver import-kolla` and `import-tcib`: another builder's customisations as a site override file.

Exit codes (a contract): 0 everything was imported (skipped entries need no counterpart), 1 some
entries were not imported (listed with file:line and the reason), 2 a file cannot be read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..overrides.builder_import import import_builder_files
from ..overrides.kolla_template import read_kolla_file
from ..overrides.site_import import ImportReport
from .common import FORMATTER, Progress, emit, load_site, open_repos, target_platforms

_EXIT = "exit: 0 all imported, 1 something not imported (listed with file:line and why), 2 a file cannot be read"


def register(sub, common: argparse.ArgumentParser) -> None:
    kolla = sub.add_parser(
        "import-kolla", parents=[common], help="Kolla --template-override files as a site override file",
        epilog="examples:\n  resolver import-kolla template-overrides.j2\n  resolver import-kolla a.j2 b.j2 "
               "--output overrides/kolla.yaml --format json\n\nReads {% set <image>_packages_append|_remove|"
               "_override %}, <image>_pip_packages..., base's\nrepository lists and {% block <image>_header|_footer "
               "%} (Jinja's own parser, evaluated\nfor --platform); writes what carries over; lists the rest with "
               f"file:line and why.\n{_EXIT}",
        formatter_class=FORMATTER)
    tcib = sub.add_parser(
        "import-tcib", parents=[common], help="TCIB container files (tcib_packages, tcib_actions) as a site "
                                              "override file",
        epilog="examples:\n  resolver import-tcib tcib/base/os/nova-base/nova-compute/nova-compute.yaml\n"
               f"  resolver import-tcib */*.yaml --output overrides/tcib.yaml --format json\n{_EXIT}",
        formatter_class=FORMATTER)
    for parser, name in ((kolla, "kolla"), (tcib, "tcib")):
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument("--output", type=Path, default=Path("overrides") / f"{name}.yaml", metavar="FILE",
                            help=f"the site override file to write (default overrides/{name}.yaml, which "
                                 "commands run here then apply)")
        parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args, exclude=args.output)
    target = target_platforms(args)[0]
    # Kolla files are parsed before the metadata loads; any file that cannot be read stops the
    # import (exit 2) before anything is written
    kolla = [read_kolla_file(path, target) for path in args.files] if args.command == "import-kolla" else None
    progress = Progress()
    try:
        report = import_builder_files(args.files, kolla, args.output,
                                      f"resolver {args.command} " + " ".join(str(p) for p in args.files), site,
                                      target, lambda specs: open_repos(args, specs), progress, args.cache_dir)
    finally:
        progress.stop()
    emit(args, report.to_json(args.output), import_text(report, args.output))
    return 1 if report.not_imported else 0


def import_text(report: ImportReport, output: Path) -> str:
    lines = [f"wrote {output}: {len(report.imported)} imported, {len(report.not_imported)} not imported, "
             f"{len(report.skipped)} skipped (need no counterpart here)"]
    if report.imported:
        lines += ["", "Imported:"]
        lines += [f"  {i.image or '(tree)':22} {i.kind:13} {i.value}  ({Path(i.file).name}:{i.line})"
                  for i in report.imported]
    if report.not_imported:
        lines += ["", "Not imported:"]
        for n in report.not_imported:
            lines.append(f"  {Path(n.file).name}:{n.line}: {n.item}")
            lines.append(f"      {n.reason}" + (f" (suggestion: {n.suggestion})" if n.suggestion else ""))
    if report.skipped:
        lines += ["", "Skipped:"]
        lines += [f"  {Path(s.file).name}:{s.line}: {s.item}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)
