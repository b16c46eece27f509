"""What every subcommand shares: the common options, the default directories, the progress
reporter, output (text or JSON) and the run context (tree, profiles, target, repositories)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..platforms import DEFAULT_PLATFORM, known_platforms

_CHECKOUT = Path(__file__).resolve().parent.parent.parent
FORMATTER = argparse.RawDescriptionHelpFormatter


def default_dir(name: str) -> Path:
    """``./NAME`` when it exists, else the one in the source checkout."""
    return Path(name) if Path(name).is_dir() else _CHECKOUT / name


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profiles", type=Path, default=None, metavar="DIR",
                        help="per-project profiles (default: ./profiles or the checkout's)")
    common.add_argument("--images", type=Path, default=None, metavar="DIR",
                        help="the image tree (default: ./images or the checkout's)")
    common.add_argument("--platform", action="append", default=None, dest="platforms", metavar="PLATFORM",
                        help=f"target platform for bindep ({', '.join(known_platforms())}; default "
                             f"{DEFAULT_PLATFORM}; audit takes several)")
    common.add_argument("--repos", action="append", default=[], metavar="R",
                        help="a .repo file, or a directory holding repodata/ (repeatable; default: bundled CS9)")
    strictness = common.add_mutually_exclusive_group()
    strictness.add_argument("--best-effort", dest="strict", action="store_false", default=None,
                            help="list unresolvable requests and go on")
    strictness.add_argument("--strict", dest="strict", action="store_true",
                            help="fail on any unresolvable request (default with --repos)")
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--cache-dir", type=Path, default=None, help="download cache (default ~/.cache/resolver)")
    return common


class Progress:
    """Per-image progress on stderr (only when it is a terminal)."""

    def __init__(self) -> None:
        self._status = None
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status("loading repository metadata")
            self._status.start()

    def starting(self, image: str) -> None:
        if self._status:
            self._status.update(f"resolving {image}")

    def finished(self, image: str) -> None:
        pass

    def stop(self) -> None:
        if self._status:
            self._status.stop()


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    if args.format == "json":
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(text)


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def target_platforms(args: argparse.Namespace, several: bool = False) -> list:
    """The --platform values as Platforms; one unless the command takes several."""
    from ..errors import InputError
    from ..platforms import platform

    targets = [platform(name) for name in args.platforms or [DEFAULT_PLATFORM]]
    if len(targets) > 1 and not several:
        raise InputError(f"{args.command} takes one --platform; audit takes several")
    return targets


def is_strict(args: argparse.Namespace) -> bool:
    """Named repositories are strict, the bundled (partly inconsistent) pair best effort."""
    return bool(args.repos) if args.strict is None else args.strict
