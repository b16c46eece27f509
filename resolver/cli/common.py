"""What every subcommand shares: the common options, the default directories, the progress
reporter, output (text or JSON) and the run context (tree, profiles, target, repositories)."""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from ..inputs.platforms import DEFAULT_PLATFORM, known_platforms
from ..names import escaped

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
    site = common.add_mutually_exclusive_group()
    site.add_argument("--overrides", action="append", default=[], metavar="FILE",
                      help="site override file or directory (repeatable, applied in order; default: "
                           "$RESOLVER_OVERRIDES, else ./overrides/*.yaml when it exists)")
    site.add_argument("--no-overrides", action="store_true", help="the shipped tree only: no site overrides")
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--cache-dir", type=_cache_dir, default=None,
                        help="download and metadata cache (default $XDG_CACHE_HOME/resolver, ~/.cache/resolver)")
    common.add_argument("--metadata-expire", type=_expiry, default=None, metavar="SECONDS",
                        help="use a remote repository's cached metadata this long without checking its "
                             "repomd.xml (seconds, or 30m, 6h, 2d, never; default $RESOLVER_METADATA_EXPIRE, "
                             "else 0: every run); local repositories are checked on every run")
    common.add_argument("--weak-deps", action="store_true",
                        help="install weak dependencies (Recommends), as plain `dnf install` does; default off, "
                             "as Kolla and TCIB build (images/*.yaml: weak_deps: true per image)")
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr, only errors and warnings")
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="more on stderr: each stage as a log line, tool output, tracebacks of internal errors")
    return common


def whole_number(low: int, high: int | None = None, why: str = ""):
    """An option type: a whole number from ``low`` to ``high``, refused by the parser (exit 2,
    before any work) otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range: {bounds}{why}")
        return value

    return parse


def _cache_dir(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory; name a directory for the cache")
    return path


def _expiry(text: str) -> int:
    from ..metadata.repodata import parse_expiry

    try:
        return parse_expiry(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def open_repos(args: argparse.Namespace, specs):
    """The repositories' metadata, loaded with the command's cache, metadata expiry and weak-deps setting."""
    from ..metadata.repos import RepoSet

    return RepoSet(specs, cache_dir=args.cache_dir, metadata_expire=args.metadata_expire,
                   weak_deps=args.weak_deps)


class EscapedOutput(io.TextIOBase):
    """stdout or stderr as every command writes to it: text from files, metadata and indexes (names,
    entries, reasons, paths) reaches the terminal with its control, line-breaking and format
    characters shown escaped (``names.escaped``: ``\\x1b``, ``\\r``, ``\\u202e``), so no value can move
    the cursor, rewrite a line or reorder it; newlines and tabs stay. JSON output is ASCII already."""

    def __init__(self, stream: TextIO):
        self.unescaped = stream

    def write(self, text: str) -> int:
        self.unescaped.write(escaped(text, keep="\n\t"))
        return len(text)

    def flush(self) -> None:
        self.unescaped.flush()

    def isatty(self) -> bool:
        return self.unescaped.isatty()

    def fileno(self) -> int:
        return self.unescaped.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.unescaped, "encoding", "utf-8")


class Progress:
    """Progress of long work on stderr: a spinner with counts and elapsed time on a terminal, plain
    log lines elsewhere (CI logs), nothing with --quiet. Library code reports through it."""

    def __init__(self, args: argparse.Namespace | None = None, total: int = 0) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.verbose = bool(getattr(args, "verbose", False))
        self.total = total
        self._seen: set[str] = set()
        #: solves announced by ``resolving_again`` and not yet started, per image; done and announced
        self._pending: dict[str, int] = {}
        self._again = [0, 0]
        self._start = time.monotonic()
        self._status = None
        if not self.quiet and sys.stderr.isatty() and not self.verbose:
            from rich.console import Console

            # the spinner's own terminal codes go to the terminal; its text is escaped (``_show``)
            self._status = Console(file=getattr(sys.stderr, "unescaped", sys.stderr)).status(
                "loading repository metadata")
            self._status.start()
        else:
            self.stage("loading repository metadata")

    def _show(self, text: str) -> None:
        line = f"{text} ({time.monotonic() - self._start:.1f} s)"
        if self._status:
            self._status.update(escaped(line))
        elif not self.quiet:
            print(f"resolver: {line}", file=sys.stderr, flush=True)

    def stage(self, text: str) -> None:
        """A named step of the run (loading metadata, planning, writing the report)."""
        self._show(text)

    def starting(self, image: str) -> None:
        if self._pending.get(image):  # provider settling: a few images are solved again
            self._pending[image] -= 1
            self._again[0] += 1
            self._show(f"resolving again {self._again[0]}/{self._again[1]} {image} "
                       "(one provider per requirement across the tree)")
            return
        self._seen.add(image)
        count = f"{len(self._seen)}/{self.total} " if self.total else ""
        self._show(f"resolving {count}{image}")

    def resolving_again(self, image: str) -> None:
        self._pending[image] = self._pending.get(image, 0) + 1
        self._again[1] += 1

    def stop(self) -> None:
        if self._status:
            self._status.stop()
            self._status = None


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    if args.format == "json":
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(text)


def load_site(args: argparse.Namespace, images: Path | None = None, profiles: Path | None = None,
              specs=None, exclude: Path | None = None, distribution: str | None = None,
              strict: bool | None = None, announce_tree: bool = True):
    """The tree, profiles and repositories with the site overrides applied (``images`` and
    ``profiles``: the directories when --images/--profiles is not given; ``exclude``: an override
    file not to apply, such as the one an import rewrites). Says first, on stderr, which tree and
    which distribution the command works on (``distribution``: what ``specs`` are, when given;
    ``strict``: the command's own default when --strict/--best-effort is not given;
    ``announce_tree`` False: the command says it)."""
    from ..metadata.repo_config import repo_specs
    from ..overrides.override_files import override_paths
    from ..overrides.site import load_site as load

    paths = [] if args.no_overrides else override_paths(args.overrides)
    if exclude is not None:
        paths = [p for p in paths if p.resolve() != exclude.resolve()]
    images_dir = args.images or images or default_dir("images")
    profiles_dir = args.profiles or profiles or default_dir("profiles")
    site = load(images_dir, profiles_dir, paths, repo_specs(args.repos) if specs is None else specs, args.cache_dir)
    strict = is_strict(args) if strict is None or args.strict is not None else strict
    if announce_tree:
        announce(args, f"{tree_text(images_dir, profiles_dir, site.tree, site.files)} for "
                       f"{', '.join(args.platforms or [DEFAULT_PLATFORM])} on "
                       f"{distribution or distribution_text(site.repos)}, {'strict' if strict else 'best effort'}")
    return site


def announce(args: argparse.Namespace, text: str) -> None:
    """A command's first line on stderr (which tree, which distribution); --quiet leaves it out."""
    if not getattr(args, "quiet", False):
        print(f"resolver: {args.command}: {text}", file=sys.stderr, flush=True)


def shown_path(path: Path) -> str:
    """A directory as the user would write it: relative to the current one when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def tree_text(images: Path, profiles: Path, tree, overrides=()) -> str:
    """Which tree: the shipped one (the checkout's images/ and profiles/) or another, and the site
    override files applied."""
    shipped = images.resolve() == (_CHECKOUT / "images").resolve() and \
        profiles.resolve() == (_CHECKOUT / "profiles").resolve()
    text = (f"{'the shipped tree' if shipped else 'the tree'} ({shown_path(images)}, {shown_path(profiles)}: "
            f"{len(tree.names())} images")
    if overrides:
        text += f", site overrides {', '.join(shown_path(f.path) for f in overrides)}"
    return text + ")"


def distribution_text(specs) -> str:
    from ..metadata.repo_config import repo_specs

    ids = ", ".join(spec.repo_id for spec in specs)
    if tuple(specs) == repo_specs([]):
        return f"the bundled CentOS Stream 9 metadata ({ids})"
    return f"the repositories {ids}"


def overrides_text(site, images=None) -> str:
    """What the commands print after their output about the site overrides applied (``images``:
    the changes of these images; tree-wide changes always): nothing without override files."""
    if not site.files:
        return ""
    lines = ["", "", f"Site overrides applied: {', '.join(str(f.path) for f in site.files)}"]
    lines += [f"  {o.image or '(tree)'}: {o.kind} {o.value} ({o.where}: {o.reason})" for o in site.applied(images)]
    return "\n".join(lines)


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def target_platforms(args: argparse.Namespace, several: bool = False) -> list:
    """The --platform values as Platforms; one unless the command takes several."""
    from ..errors import InputError
    from ..inputs.platforms import platform

    targets = [platform(name) for name in args.platforms or [DEFAULT_PLATFORM]]
    if len(targets) > 1 and not several:
        raise InputError(f"{args.command} takes one --platform; audit takes several")
    return targets


def is_strict(args: argparse.Namespace) -> bool:
    """Named repositories are strict, the bundled (partly inconsistent) pair best effort."""
    return bool(args.repos) if args.strict is None else args.strict


def warn_unresolved(args: argparse.Namespace, per_image) -> None:
    """The end of a best-effort run: what did not resolve, summed up on stderr (even with --quiet:
    it is a warning, not progress)."""
    from ..resolving.unresolved import warning_lines

    for line in warning_lines(per_image):
        print(line, file=sys.stderr)
