"""`resolver build` and `render`: the tree as real images (buildah), or as Containerfiles."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path

from ..files import check_writable, write_atomically
from ..lock import repo_digests
from ..platforms import DEFAULT_PLATFORM, platform
from ..repos import RepoSet, RepoSpec
from ..resolution import TreeResolver
from .common import FORMATTER, emit, load_site


def register(sub, common: argparse.ArgumentParser) -> None:
    build = sub.add_parser(
        "build", parents=[common], help="build the tree: multi-stage, build-only packages never in a final image",
        epilog="examples:\n  resolver build                      # the demo tree on the demo distribution\n"
               "  resolver build keystone --format json\n  resolver build --jobs 1 --rebuild\n"
               "  resolver build --repos centos.repo --images images --profiles profiles   # real mirrors\n\n"
               "exit: 0 every image built or skipped, 1 an image failed, 2 bad input, 130 interrupted",
        formatter_class=FORMATTER)
    build.add_argument("build_images", nargs="*", metavar="IMAGE", help="images to build (with their parents)")
    build.add_argument("--jobs", type=int, default=2, help="images built at once (default 2)")
    build.add_argument("--rebuild", action="store_true", help="build even when an image with the same key exists")
    build.set_defaults(run=run_build)
    render = sub.add_parser(
        "render", parents=[common], help="write multi-stage Containerfiles (and a buildx bake file) for the tree",
        epilog="examples:\n  resolver render --output containerfiles/\n  resolver render --bake   "
               "# + docker-bake.json: docker buildx bake -f containerfiles/docker-bake.json",
        formatter_class=FORMATTER)
    render.add_argument("--output", type=Path, default=Path("containerfiles"), metavar="DIR")
    render.add_argument("--bake", action="store_true", help="also write docker-bake.json (targets, contexts)")
    render.add_argument("--package-manager", default="dnf", help="dnf or microdnf inside the images")
    render.set_defaults(run=run_render)
    for sub_parser in (build, render):
        sub_parser.add_argument("--tag-prefix", default="localhost/resolver", metavar="PREFIX",
                                help="image references are PREFIX/IMAGE:KEY (default localhost/resolver)")


@contextlib.contextmanager
def _staged(args: argparse.Namespace):
    """What `build` and `render` share: repositories (the demo distribution unless some are
    named), the tree, the plan `resolver plan` makes (computed tree, zero bloat), stage plans and
    content keys."""
    from ..containers.demo import DEMO_DATA, demo_repo
    from ..containers.stages import content_keys, stage_plans
    from ..treeplan import plan_tree

    demo = not args.repos
    site = load_site(args, DEMO_DATA / "images" if demo else None, DEMO_DATA / "profiles" if demo else None,
                     (RepoSpec("demo", str(demo_repo(args.cache_dir).path)),) if demo else None)
    tree, profiles, specs = site.tree, site.profiles, site.repos
    for name in getattr(args, "build_images", ()):
        tree.spec(name)  # an unknown image is a clear error before anything runs
    target = platform((args.platforms or [DEFAULT_PLATFORM])[0])
    with RepoSet(specs, cache_dir=args.cache_dir) as repos:
        strict = True if args.strict is None else args.strict
        resolver = TreeResolver(tree, profiles, target, repos, strict, args.cache_dir, None, choose_providers=True)
        result = plan_tree(resolver)
        stages = stage_plans(result.plan, result.inputs.packages, result.build_only, result.steps)
        keys = content_keys(stages, json.dumps(repo_digests(specs), sort_keys=True))
        yield specs, target, repos, result.inputs, stages, keys


def run_build(args: argparse.Namespace) -> int:
    from ..containers.buildah import Buildah
    from ..containers.runner import TreeBuilder

    with _staged(args) as (specs, target, repos, inputs, stages, keys):
        engine = Buildah(specs, releasever=target.name.rsplit("-", 1)[-1])
        builder = TreeBuilder(stages, keys, engine, repos, inputs.packages, _BuildProgress(), args.jobs,
                              args.rebuild, args.tag_prefix)
        previous = {sig: signal.signal(sig, lambda *_: engine.cancel()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            results = builder.build(args.build_images)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            engine.close()
    emit(args, {"images": [r.to_json() for r in results]}, _build_text(results))
    return 1 if any(r.status in ("failed", "not built") for r in results) else 0


def run_render(args: argparse.Namespace) -> int:
    check_writable(args.output, directory=True)
    from ..containers.containerfile import bake_file, containerfile

    with _staged(args) as (_, _, _, _, stages, keys):
        written = []
        for name, stage in stages.items():
            path = args.output / name / "Containerfile"
            write_atomically(path, containerfile(stage, keys[name], args.package_manager))
            written.append(str(path))
        if args.bake:
            path = args.output / "docker-bake.json"
            write_atomically(path, json.dumps(bake_file(stages, keys, args.tag_prefix), indent=2) + "\n")
            written.append(str(path))
    emit(args, {"written": written}, "wrote " + ", ".join(written))
    return 0


class _BuildProgress:
    """Per-image build states on stderr, one line each (works on terminals and in CI logs)."""

    def state(self, image: str, state: str, detail: str = "") -> None:
        print(f"[build] {image}: {state}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)


def _build_text(results) -> str:
    lines = [f"{'image':16} {'status':9} {'image MB':>9} {'layer MB':>9} {'plan MB':>8} {'seconds':>8}  reference"]
    for r in results:
        size = f"{r.size / 1e6:9.2f}" if r.size is not None else f"{'-':>9}"
        layer = f"{r.layer_size / 1e6:9.2f}" if r.layer_size is not None else f"{'-':>9}"
        lines.append(f"{r.name:16} {r.status:9} {size} {layer} {r.estimate / 1e6:8.2f} {r.seconds:8.1f}  {r.reference}")
        for addition in r.elf_added:
            if addition.file:
                lines.append(f"{'':16} + {addition.package}: {addition.file} needs {addition.capability}")
        if r.error:
            lines.append(f"{'':16} ! {r.error}")
    return "\n".join(lines)
