"""The ``resolver`` command: one module per command (parse, call the library, render), exit codes
mapped here in one place (the table is in the README, section "Exit codes")."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import ResolverError, Terminated
from . import audit, containers, evidence, images, imports, overrides, packages, planning, update
from .common import FORMATTER, EscapedOutput, common_options

EPILOG = """examples:
  resolver images
  resolver packages nova-compute
  resolver packages keystone --platform rocky-9 --format json
  resolver why nova-compute lsscsi
  resolver evidence nova-compute
  resolver closure bash coreutils --repos resolver/data/repos/cs9-baseos-osbuild-2022
  resolver closure kernel tmux --weak-deps --repos resolver/data/repos/cs9-baseos-osbuild-2022
  resolver plan --repos https://mirror.example/9/BaseOS/x86_64/os/ --metadata-expire 6h
  resolver packages nova-api --repos /etc/yum.repos.d/centos.repo
  resolver plan --overrides site.yaml          # the shipped tree changed by a site override file
  resolver diff --overrides site.yaml          # what those overrides change, per image

With no --repos the bundled CentOS Stream 9 metadata is used (best effort: it is partly
inconsistent, so skipped requests are listed). Named repositories are strict unless
--best-effort is given. Exit codes: 0 done, 1 unresolvable/findings/failed build, 2 bad input,
70 internal error, 130 interrupted (SIGINT), 141 output pipe closed, 143 terminated (SIGTERM)."""

#: one module per command group, in the order `resolver --help` lists them
COMMANDS = (packages, evidence, audit, planning, update, containers, images, overrides, imports)

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not bad input
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="resolver", description="bindep-driven package lists and image plans for RPM service containers.",
        epilog=EPILOG, formatter_class=FORMATTER)
    parser.add_argument("--version", action="version", version=f"resolver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for command in COMMANDS:
        command.register(sub, common)
    return parser, dict(sub.choices)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Arguments; an unknown flag is reported by the subcommand's parser (its usage, a suggestion)."""
    parser, commands = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = commands[args.command]
        known = [flag for action in command._actions for flag in action.option_strings]
        hints = [difflib.get_close_matches(flag.split("=")[0], known, n=1) for flag in unknown if flag.startswith("-")]
        hint = "; did you mean " + ", ".join(h[0] for h in hints if h) + "?" if any(hints) else ""
        command.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: what it writes to stdout and stderr (argparse's messages too) goes through
    ``EscapedOutput``, the one place terminal output is made safe."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapedOutput(stdout), EscapedOutput(stderr)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _run(argv: Sequence[str] | None) -> int:
    args = parse(argv)
    # dnf logs to stderr on its own (download errors, solver notes); ours says it once, in our words
    logging.getLogger("dnf").setLevel(logging.DEBUG if getattr(args, "verbose", False) else logging.CRITICAL)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        code = args.run(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at interpreter exit
        return code
    except ResolverError as error:
        print(f"resolver: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("resolver: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as stop:
        print("resolver: terminated", file=sys.stderr)
        return stop.exit_code
    except BrokenPipeError:
        # the reader went away (`resolver plan | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a bug: one line, the traceback only when asked for
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"resolver: internal error: {type(error).__name__}: {error} (a bug in resolver; "
              "--verbose shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        signal.signal(signal.SIGTERM, previous)
