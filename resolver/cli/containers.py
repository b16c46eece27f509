"""`resolver build` and `render`: the tree as real images (buildah), or as Containerfiles; `resolver
prune`: old content tags removed."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..files import check_set_directory, check_writable, replace_directory
from ..inputs.platforms import DEFAULT_PLATFORM, platform
from ..names import IMAGE_NAME, TAG, TAG_PREFIX, build_value
from .common import FORMATTER, announce, emit, load_site, open_repos, warn_unresolved, whole_number

if TYPE_CHECKING:
    from ..containers.staging import StagedTree
    from ..containers.tree_build import TreeBuild


def register(sub, common: argparse.ArgumentParser) -> None:
    build = sub.add_parser(
        "build", parents=[common], help="build the tree: multi-stage, build-only packages never in a final image",
        epilog="examples:\n  resolver build                      # the demo tree on the demo distribution\n"
               "  resolver build keystone --format json\n  resolver build --jobs 1 --rebuild\n"
               "  resolver build --smoke              # then run the services: memcached answers stats...\n"
               "  resolver build --repos centos.repo --images images --profiles profiles   # real mirrors\n"
               "  resolver build --logs-dir logs/ --tag 2025.1 --prune   # kolla-build's habits\n"
               "  resolver build --push registry.example:5000/openstack --tag 2025.1   # + IMAGE:KEY, IMAGE:2025.1\n"
               "  resolver build --sbom sbom/         # + sbom/IMAGE.spdx.json\n\n"
               "exit: 0 every image built or skipped (and its smoke checks passed), 1 an image or a check failed, "
               "2 bad input (or a compiled requirement whose build packages no bindep declares, or no root), "
               "130 interrupted (SIGINT), 143 terminated (SIGTERM)",
        formatter_class=FORMATTER)
    build.add_argument("build_images", nargs="*", metavar="IMAGE", help="images to build (with their parents)")
    build.add_argument("--jobs", type=whole_number(1), default=2, help="images built at once (default 2)")
    build.add_argument("--rebuild", action="store_true", help="build even when an image with the same key exists")
    build.add_argument("--smoke", nargs="?", const=True, default=None, metavar="FILE",
                       help="then prove the images run: the checks in FILE (default: the demo's smoke.yaml)")
    build.add_argument("--logs-dir", type=Path, default=None, metavar="DIR",
                       help="write DIR/IMAGE.log per image: every command of its builder and final stage (buildah, "
                            "dnf, pip) with its output and exit code, then its smoke checks")
    build.add_argument("--prune", action="store_true",
                       help="after a build where every image is done, remove the older content tags of the built "
                            "images (what another tag points at stays; see `resolver prune`)")
    build.add_argument("--sbom", type=Path, default=None, metavar="DIR",
                       help="write DIR/IMAGE.spdx.json for every image built or found: an SPDX 2.3 SBOM from the "
                            "lock (docs/supply-chain.md)")
    build.add_argument("--push", default=None, metavar="DEST",
                       type=_option(TAG_PREFIX, "a registry and repository path (registry.example:5000/openstack)"),
                       help="then push every image done to DEST/IMAGE:KEY and DEST/IMAGE:TAG with skopeo, parents "
                            "first; blobs the registry has are not sent again")
    build.add_argument("--no-tls-verify", dest="tls_verify", action="store_false",
                       help="push over plain HTTP or to a self-signed registry (a local one)")
    build.set_defaults(run=run_build)
    sbom = sub.add_parser(
        "sbom", parents=[common], help="an SPDX 2.3 SBOM per image of the planned tree, without building",
        epilog="examples:\n  resolver sbom --output sbom/\n  resolver sbom memcached --output sbom/\n"
               "  SOURCE_DATE_EPOCH=1700000000 resolver sbom --output sbom/   # the same documents every run\n\n"
               "Each IMAGE.spdx.json: a package per RPM (purl, the metadata's checksum) and per wheel (purl, "
               "sha256), each CONTAINED_BY the layer that installs it; the builder stages' packages "
               "BUILD_DEPENDENCY_OF the layer they built (docs/supply-chain.md)",
        formatter_class=FORMATTER)
    sbom.add_argument("build_images", nargs="*", metavar="IMAGE", help="images (default: every image of the tree)")
    sbom.add_argument("--output", type=Path, default=Path("sbom"), metavar="DIR",
                      help="the directory of the documents (replaced as a whole; default sbom)")
    sbom.set_defaults(run=run_sbom)
    render = sub.add_parser(
        "render", parents=[common], help="write multi-stage Containerfiles (and a buildx bake file) for the tree",
        epilog="examples:\n  resolver render --output containerfiles/\n  resolver render --bake   "
               "# + docker-bake.json: docker buildx bake -f containerfiles/docker-bake.json",
        formatter_class=FORMATTER)
    render.add_argument("--output", type=Path, default=Path("containerfiles"), metavar="DIR")
    render.add_argument("--bake", action="store_true", help="also write docker-bake.json (targets, contexts)")
    render.add_argument("--package-manager", choices=("dnf", "microdnf"), default="dnf",
                        help="dnf or microdnf inside the images")
    render.set_defaults(run=run_render)
    prune = sub.add_parser(
        "prune", parents=[common], help="remove old content tags (PREFIX/IMAGE:KEY) that builds left behind",
        epilog="examples:\n  resolver prune --dry-run\n  resolver prune --keep 2 --tag-prefix localhost/resolver\n\n"
               "Only content tags (16 hex digits) of PREFIX/IMAGE are removed; an image another name points at "
               "(IMAGE:latest, a release tag, a pushed name) is kept, and the KEEP newest per image.",
        formatter_class=FORMATTER)
    prune.add_argument("--keep", type=whole_number(0), default=1, metavar="N",
                       help="content tags kept per image besides the tagged ones, newest first (default 1)")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    prune.set_defaults(run=run_prune)
    for sub_parser in (build, render, prune):
        sub_parser.add_argument("--tag-prefix", default="localhost/resolver", metavar="PREFIX",
                                type=_option(TAG_PREFIX, "a registry and repository path (lower case, no tag)"),
                                help="image references are PREFIX/IMAGE:KEY and PREFIX/IMAGE:TAG "
                                     "(default localhost/resolver)")
    for sub_parser in (build, render):
        sub_parser.add_argument("--tag", default="latest", type=_option(TAG, "an image tag"),
                                help="the readable tag moved to every image built or found (default latest; a "
                                     "release name such as 2025.1 works too)")


def _option(pattern, what: str):
    """An option value that goes into a Containerfile or a command line, checked at parse time."""
    def check(value: str) -> str:
        try:
            return build_value(pattern, value, "", what)
        except InputError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
    return check


@contextlib.contextmanager
def _staged(args: argparse.Namespace) -> Iterator[StagedTree]:
    """The staged tree `build` and `render` work on, on open repositories: the demo tree on the
    demo distribution unless repositories are named."""
    from ..containers.staging import stage_tree
    from ..demo.distribution import DEMO_DATA, demo_repo, demo_spec

    demo = not args.repos
    if demo:  # said, and the names checked, before the demo distribution is made (minutes, the first time)
        _demo_first(args, DEMO_DATA)
    site = load_site(args, DEMO_DATA / "images" if demo else None, DEMO_DATA / "profiles" if demo else None,
                     (demo_spec(demo_repo(args.cache_dir)),) if demo else None,
                     strict=True, announce_tree=not demo)
    for name in getattr(args, "build_images", ()):
        site.tree.spec(name)  # an unknown image is a clear error before anything runs
    target = platform((args.platforms or [DEFAULT_PLATFORM])[0])
    with open_repos(args, site.repos) as repos:
        yield stage_tree(site.tree, site.profiles, target, repos, True if args.strict is None else args.strict,
                         args.cache_dir)


def _demo_first(args: argparse.Namespace, demo_data: Path) -> None:
    """Without --repos, build and render work on the demo tree and distribution: say so first, and
    send an image of the shipped tree to the command that builds it."""
    from ..errors import UnknownNameError
    from ..inputs.image_tree import load_images
    from .common import default_dir, shown_path

    demo_images = shown_path(args.images or demo_data / "images")
    announce(args, f"the demo tree ({demo_images}) on the demo distribution (Debian 12 binaries packaged as "
                   "EL-named RPMs, made on first use), strict; the shipped tree (images/, profiles/) needs a "
                   f"distribution's repositories: resolver {args.command} --repos FILE.repo")
    names = load_images(args.images or demo_data / "images").names()
    for name in getattr(args, "build_images", ()):
        if name in names:
            continue
        if args.images is None and name in load_images(default_dir("images")).names():
            raise InputError(f"{name} is an image of the shipped tree (images/), not of the demo tree `resolver "
                             f"build` works on without --repos ({demo_images}: {', '.join(names)}); build the "
                             f"shipped tree on a distribution's repositories: resolver build {name} --repos "
                             "FILE.repo (a .repo file or a directory holding repodata/)")
        raise UnknownNameError("image", name, names, f"the demo tree ({demo_images})")


def run_build(args: argparse.Namespace) -> int:
    from ..containers.buildah import check_build_setup
    from ..containers.smoke import load_smoke
    from ..containers.tree_build import BuildOptions, build_tree
    from ..demo.distribution import DEMO_DATA

    check_build_setup(args.push is not None)  # no root, no buildah: said before any planning
    if args.logs_dir is not None:
        check_writable(args.logs_dir, directory=True)
    if args.sbom is not None:
        from ..containers.image_sboms import sbom_file

        check_set_directory(args.sbom, sbom_file, "sbom")
    with _staged(args) as staged:
        checks = {}
        if args.smoke:
            checks = load_smoke(DEMO_DATA / "smoke.yaml" if args.smoke is True else Path(args.smoke))
        built = build_tree(staged, _BuildProgress(args), BuildOptions(
            args.build_images, args.jobs, args.rebuild, args.tag_prefix, args.tag, args.logs_dir, checks, args.prune,
            args.push, args.tls_verify))
        if args.sbom is not None:
            _write_sboms(args.sbom, staged, built)
    emit(args, built.to_json(), build_text(built))
    warn_unresolved(args, staged.unresolved)
    return 1 if built.failed else 0


def _write_sboms(directory: Path, staged: StagedTree, built: TreeBuild) -> None:
    """The documents of the images built or found (with their layers' digests), as one set."""
    from ..containers.buildah import image_layers
    from ..containers.image_sboms import sbom_file, tree_sboms

    done = {r.name: r for r in built.results if r.status in ("built", "skipped")}
    digests = {name: image_layers(result.reference)[-1] for name, result in done.items()}
    replace_directory(directory, tree_sboms(staged, list(done), done, digests), sbom_file, "sbom")


def run_sbom(args: argparse.Namespace) -> int:
    from ..containers.image_sboms import sbom_file, tree_sboms

    check_set_directory(args.output, sbom_file, "sbom")
    with _staged(args) as staged:
        names = args.build_images or list(staged.stages)
        files = tree_sboms(staged, names)
    replace_directory(args.output, files, sbom_file, "sbom")
    written = [str(args.output / name) for name in files]
    emit(args, {"written": written}, "wrote " + ", ".join(written))
    warn_unresolved(args, staged.unresolved)
    return 0


def run_prune(args: argparse.Namespace) -> int:
    from ..containers.tags import prune_content_tags

    pruned = prune_content_tags(args.tag_prefix, args.keep, args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    lines = [f"{verb} {len(pruned.remove)} content tags under {args.tag_prefix}/"]
    lines += [f"  - {ref}" for ref in pruned.remove]
    lines += [f"  kept {ref} ({why})" for ref, why in pruned.keep]
    emit(args, {"removed": list(pruned.remove), "kept": [{"reference": r, "why": w} for r, w in pruned.keep],
                "dry_run": args.dry_run}, "\n".join(lines))
    return 0


def _rendered(entry: Path) -> bool:
    """An entry of a render's output directory (anything else there is refused, not replaced)."""
    from ..containers.containerfile import BAKE_FILE, KOLLA_FILES, RENDERED
    from ..containers.kolla import INSTALLED

    if entry.name == BAKE_FILE:
        return entry.is_file()
    if entry.name == KOLLA_FILES:
        names = {dest.rsplit("/", 1)[1] for dest, _ in INSTALLED.values()}
        return entry.is_dir() and not entry.is_symlink() and all(p.name in names for p in entry.iterdir())
    return bool(IMAGE_NAME.match(entry.name)) and entry.is_dir() and not entry.is_symlink() and all(
        p.name in RENDERED for p in entry.iterdir())


def run_render(args: argparse.Namespace) -> int:
    check_set_directory(args.output, _rendered, "render")
    from ..containers.containerfile import render_tree

    with _staged(args) as staged:
        files = render_tree(staged, args.package_manager, args.bake, args.tag_prefix, args.tag)
    # the Containerfiles, their requirements and the bake file belong together: replaced as one set
    replace_directory(args.output, files, _rendered, "render")
    written = [str(args.output / name) for name in files]
    emit(args, {"written": written}, "wrote " + ", ".join(written))
    warn_unresolved(args, staged.unresolved)
    return 0


class _BuildProgress:
    """Per-image build states on stderr, one line each (works on terminals and in CI logs); with
    --verbose every line the build's commands print, prefixed with the image; --quiet: nothing."""

    def __init__(self, args: argparse.Namespace):
        self.quiet = bool(getattr(args, "quiet", False))
        self.verbose = bool(getattr(args, "verbose", False))

    def state(self, image: str, state: str, detail: str = "") -> None:
        if not self.quiet:
            print(f"[build] {image}: {state}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)

    def output(self, image: str, line: str) -> None:
        if self.verbose:
            print(f"[{image}] {line}", file=sys.stderr, flush=True)


def build_text(built: TreeBuild) -> str:
    results, smoke, totals, wheels = built.results, built.smoke, built.totals, built.wheels

    def mb(value: float | None) -> str:
        return f"{value / 1e6:9.2f}" if value is not None else f"{'-':>9}"

    lines = [f"{'image':16} {'status':9} {'image MB':>9} {'layer MB':>9} {'RPM MB':>9} {'Python MB':>9} "
             f"{'plan MB':>8} {'seconds':>8}  reference"]
    for r in results:
        lines.append(f"{r.name:16} {r.status:9} {mb(r.size)} {mb(r.layer_size)} {mb(r.rpm_bytes)} "
                     f"{mb(r.python_bytes)} {r.estimate / 1e6:8.2f} {r.seconds:8.1f}  {r.reference}")
        if r.wheels:
            lines.append(f"{'':16} venv layer: {len(r.wheels)} wheels"
                         + (f"; the builder compiled {', '.join(r.compiled)}" if r.compiled else ""))
        if r.unused_build_only:
            lines.append(f"{'':16} finding: build-only {', '.join(r.unused_build_only)}: nothing the builder "
                         "compiles needs them (not installed)")
        for addition in r.elf_added:
            if addition.file:
                lines.append(f"{'':16} + {addition.package}: {addition.file} needs {addition.capability}")
        for check in smoke.get(r.name, ()):
            lines.append(f"{'':16} {'ok  ' if check.ok else 'FAIL'} {check.check}")
            lines.append(f"{'':21} {check.detail[:160]}")
        if r.error:
            lines.append(f"{'':16} ! {r.error}")
            if r.log:
                lines.append(f"{'':16}   the whole output: {r.log}")
    lines.append(f"planned total set: RPM {totals['rpm_planned'] / 1e6:.1f} MB + Python "
                 f"{totals['python_planned'] / 1e6:.1f} MB = {totals['planned'] / 1e6:.1f} MB; measured layers "
                 f"{totals['layers'] / 1e6:.1f} MB (RPM {totals['rpm_bytes'] / 1e6:.1f} MB, Python "
                 f"{totals['python_bytes'] / 1e6:.1f} MB)")
    if wheels is not None:
        lines.append(f"Python target {wheels.target.name}, upper-constraints {wheels.constraints}, {wheels.pip.key}")
    lines += [f"pushed {p.image}: {', '.join(p.references)} ({p.digest})" for p in built.pushed]
    if built.prune:
        pruned = built.pruned
        lines.append(f"pruned {len(pruned.remove)} older content tags" + "".join(f"\n  {r}" for r in pruned.remove)
                     if pruned else "not pruned: an image failed")
    return "\n".join(lines)
