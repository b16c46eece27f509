"""`resolver build` and `render`: the tree as real images (buildah), or as Containerfiles."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..files import check_writable, write_atomically
from ..lock import repo_digests
from ..platforms import DEFAULT_PLATFORM, platform, platform_id
from ..repos import RepoSet, RepoSpec
from ..resolution import TreeResolver
from .common import FORMATTER, emit, load_site


def register(sub, common: argparse.ArgumentParser) -> None:
    build = sub.add_parser(
        "build", parents=[common], help="build the tree: multi-stage, build-only packages never in a final image",
        epilog="examples:\n  resolver build                      # the demo tree on the demo distribution\n"
               "  resolver build keystone --format json\n  resolver build --jobs 1 --rebuild\n"
               "  resolver build --smoke              # then run the services: memcached answers stats...\n"
               "  resolver build --repos centos.repo --images images --profiles profiles   # real mirrors\n\n"
               "exit: 0 every image built or skipped (and its smoke checks passed), 1 an image or a check failed, "
               "2 bad input (or a compiled requirement whose build packages no bindep declares), 130 interrupted",
        formatter_class=FORMATTER)
    build.add_argument("build_images", nargs="*", metavar="IMAGE", help="images to build (with their parents)")
    build.add_argument("--jobs", type=int, default=2, help="images built at once (default 2)")
    build.add_argument("--rebuild", action="store_true", help="build even when an image with the same key exists")
    build.add_argument("--smoke", nargs="?", const=True, default=None, metavar="FILE",
                       help="then prove the images run: the checks in FILE (default: the demo's smoke.yaml)")
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
    named), the tree, the plan `resolver plan` makes (computed tree, zero bloat), the wheel plan
    (PyPI, cached), stage plans (with the site overrides' steps and module streams) and content keys."""
    from ..containers.pypi import PyPI
    from ..containers.stages import content_keys, module_layers, stage_plans
    from ..containers.wheels import plan_tree_wheels
    from ..demo.distribution import DEMO_DATA, demo_repo
    from ..files import default_cache_dir
    from ..overrides import inherited_streams
    from ..treeplan import plan_tree

    demo = not args.repos
    site = load_site(args, DEMO_DATA / "images" if demo else None, DEMO_DATA / "profiles" if demo else None,
                     (RepoSpec("demo", str(demo_repo(args.cache_dir).path)),) if demo else None)
    tree, specs = site.tree, site.repos
    for name in getattr(args, "build_images", ()):
        tree.spec(name)  # an unknown image is a clear error before anything runs
    target = platform((args.platforms or [DEFAULT_PLATFORM])[0])
    with RepoSet(specs, cache_dir=args.cache_dir) as repos:
        strict = True if args.strict is None else args.strict
        resolver = TreeResolver(tree, site.profiles, target, repos, strict, args.cache_dir, None,
                                choose_providers=True)
        result = plan_tree(resolver)
        index = PyPI(args.cache_dir or default_cache_dir())
        wheels = plan_tree_wheels(resolver, result, index)
        declared = set(tree.names())
        shape = result.plan.shape
        modules = module_layers(shape, {n: [str(s) for s in inherited_streams(tree, n)] for n in shape.deployed})
        stages = stage_plans(result.plan, result.inputs.packages, result.build_only, result.steps,
                             wheels.images if wheels else None,
                             {n: tree.spec(n).steps for n in result.plan.images if n in declared}, modules)
        keys = content_keys(stages, json.dumps(repo_digests(specs), sort_keys=True))
        yield _Staged(specs, target, repos, result.inputs, stages, keys, result.plan, wheels, index, demo)


@dataclass(frozen=True)
class _Staged:
    specs: tuple
    target: object
    repos: RepoSet
    inputs: object
    stages: dict
    keys: dict
    plan: object
    wheels: object
    index: object
    demo: bool


def run_build(args: argparse.Namespace) -> int:
    from ..containers.buildah import Buildah
    from ..containers.runner import TreeBuilder
    from ..containers.smoke import load_smoke, smoke_image
    from ..containers.wheels import python_json
    from ..demo.distribution import DEMO_DATA

    with _staged(args) as staged:
        checks = {}
        if args.smoke:
            checks = load_smoke(DEMO_DATA / "smoke.yaml" if args.smoke is True else Path(args.smoke))
        engine = Buildah(staged.specs, releasever=staged.target.name.rsplit("-", 1)[-1],
                         platform_id=platform_id(staged.target.name))
        builder = TreeBuilder(staged.stages, staged.keys, engine, staged.repos, staged.inputs.packages,
                              _BuildProgress(), args.jobs, args.rebuild, args.tag_prefix, staged.index,
                              staged.wheels.pip if staged.wheels else None)
        previous = {sig: signal.signal(sig, lambda *_: engine.cancel()) for sig in (signal.SIGTERM, signal.SIGINT)}
        smoke = {}
        try:
            started = time.perf_counter()
            results = builder.build(args.build_images)
            seconds = time.perf_counter() - started
            for result in results:
                if result.name in checks and result.status in ("built", "skipped"):
                    _BuildProgress().state(result.name, "smoke")
                    smoke[result.name] = smoke_image(engine, result.name, result.reference, checks[result.name])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            engine.close()
    images = []
    for result in results:
        data = result.to_json()
        if result.name in checks:
            data["smoke"] = [s.to_json() for s in smoke.get(result.name, ())]
        images.append(data)
    totals = _totals(results, staged)
    emit(args, {"images": images, "totals": totals, "seconds": round(seconds, 2),
                "python": python_json(staged.wheels) if staged.wheels else None},
         _build_text(results, smoke, totals, staged.wheels))
    failed = any(r.status in ("failed", "not built") for r in results)
    return 1 if failed or any(not s.ok for checks in smoke.values() for s in checks) else 0


def _totals(results, staged: _Staged) -> dict:
    """The tree's bytes by kind, each layer once: planned (RPM plan + wheel plan) and measured."""
    planned_python = staged.wheels.layers.total_set_size if staged.wheels else 0
    return {"rpm_planned": staged.plan.total_set_size, "python_planned": planned_python,
            "planned": staged.plan.total_set_size + planned_python,
            "rpm_bytes": sum(r.rpm_bytes for r in results),
            "python_bytes": sum(r.python_bytes or 0 for r in results),
            "layers": sum(r.layer_size or 0 for r in results)}


def run_render(args: argparse.Namespace) -> int:
    check_writable(args.output, directory=True)
    from ..containers.containerfile import bake_file, containerfile

    with _staged(args) as staged:
        written = []
        pip = staged.wheels.pip if staged.wheels else None
        target_platform = platform_id(staged.target.name)
        for name, stage in staged.stages.items():
            for filename, text in containerfile(stage, staged.keys[name], args.package_manager, pip,
                                                target_platform).items():
                path = args.output / name / filename
                write_atomically(path, text)
                written.append(str(path))
        if args.bake:
            path = args.output / "docker-bake.json"
            write_atomically(path, json.dumps(bake_file(staged.stages, staged.keys, args.tag_prefix), indent=2) + "\n")
            written.append(str(path))
    emit(args, {"written": written}, "wrote " + ", ".join(written))
    return 0


class _BuildProgress:
    """Per-image build states on stderr, one line each (works on terminals and in CI logs)."""

    def state(self, image: str, state: str, detail: str = "") -> None:
        print(f"[build] {image}: {state}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)


def _build_text(results, smoke, totals: dict, wheels) -> str:
    def mb(value) -> str:
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
    lines.append(f"planned total set: RPM {totals['rpm_planned'] / 1e6:.1f} MB + Python "
                 f"{totals['python_planned'] / 1e6:.1f} MB = {totals['planned'] / 1e6:.1f} MB; measured layers "
                 f"{totals['layers'] / 1e6:.1f} MB (RPM {totals['rpm_bytes'] / 1e6:.1f} MB, Python "
                 f"{totals['python_bytes'] / 1e6:.1f} MB)")
    if wheels is not None:
        lines.append(f"Python target {wheels.target.name}, upper-constraints {wheels.constraints}, {wheels.pip.key}")
    return "\n".join(lines)
