"""The ``resolver`` command: one module per command (parse, call the library, render), exit codes
mapped here in one place.

Exit codes: 0 success; 1 requests that cannot be resolved on strict repositories (or findings, or a
failed build); 2 input that cannot be read (a bindep line, a profile, an image tree, a repository),
as bindep does; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import ResolverError
from . import audit, containers, evidence, images, packages, planning
from .common import FORMATTER, common_options

EPILOG = """examples:
  resolver images
  resolver packages nova-compute
  resolver packages keystone --platform rocky-9 --format json
  resolver why nova-compute lsscsi
  resolver evidence nova-compute
  resolver closure bash coreutils --repos resolver/data/repos/cs9-baseos-osbuild-2022
  resolver packages nova-api --repos /etc/yum.repos.d/centos.repo

With no --repos the bundled CentOS Stream 9 metadata is used (best effort: it is partly
inconsistent, so skipped requests are listed). Named repositories are strict unless
--best-effort is given."""

#: one module per command group, in the order `resolver --help` lists them
COMMANDS = (packages, evidence, audit, planning, containers, images)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resolver", description="bindep-driven package lists and image plans for RPM service containers.",
        epilog=EPILOG, formatter_class=FORMATTER)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for command in COMMANDS:
        command.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ResolverError as error:
        print(f"resolver: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("resolver: interrupted", file=sys.stderr)
        return 130
