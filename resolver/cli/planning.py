"""`resolver plan`, `lock` and `report`: the layer plan of the whole tree, its lock file and its
report with the Kolla and TCIB baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..baselines import resolve_baseline
from ..files import check_writable
from ..lock import compare, lock_from_plan, read_lock, write_lock
from ..overrides import Site
from ..plan import plan_json, plan_layers, suggest_tree_changes
from ..report import write_report
from ..repos import RepoSet
from ..resolution import TreeResolver, resolve_tree
from .common import FORMATTER, Progress, emit, is_strict, load_site, overrides_text, target_platforms


def planning_options() -> argparse.ArgumentParser:
    planning = argparse.ArgumentParser(add_help=False)
    planning.add_argument("--mode", choices=("strict", "relaxed"), default="strict",
                          help="strict: no deployed image gets an RPM it does not need (default); "
                               "relaxed: hoist an RPM when --hoist of an image's deployed descendants need it")
    planning.add_argument("--hoist", type=float, default=0.5, metavar="SHARE",
                          help="relaxed mode: share of deployed descendants that must need an RPM (default 0.5)")
    planning.add_argument("--apply-suggestions", action="store_true",
                          help="plan on the tree with the suggested changes applied")
    planning.add_argument("--no-provider-choice", action="store_true",
                          help="keep dnf's providers (no automatic coreutils-single, curl-minimal... choices)")
    planning.add_argument("--lock", type=Path, default=Path("resolver.lock"), metavar="FILE",
                          help="lock file (default resolver.lock)")
    return planning


def register(sub, common: argparse.ArgumentParser) -> None:
    planning = planning_options()
    plan = sub.add_parser("plan", parents=[common, planning], help="layer plan of the whole tree, with totals",
                          epilog="examples:\n  resolver plan\n  resolver plan --mode relaxed --hoist 0.6 "
                                 "--format json\n  resolver plan --apply-suggestions\n  resolver plan "
                                 "--verify-lock   # fail, saying what changed, when resolver.lock is stale",
                          formatter_class=FORMATTER)
    plan.add_argument("--verify-lock", action="store_true", help="check the plan still gives the locked sets")
    report = sub.add_parser("report", parents=[common, planning],
                            help="Markdown + SVG report of the plan, with Kolla and TCIB baselines",
                            epilog="example: resolver report --output report/", formatter_class=FORMATTER)
    report.add_argument("--output", type=Path, default=Path("report"), metavar="DIR")
    lock = sub.add_parser("lock", parents=[common, planning],
                          help="write the lock file (NEVRA per layer), atomically",
                          epilog="example: resolver lock --lock resolver.lock", formatter_class=FORMATTER)
    for parser in (plan, report, lock):
        parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.command == "lock":
        check_writable(args.lock)
    elif args.command == "report":
        check_writable(args.output, directory=True)
    site = load_site(args)
    target = target_platforms(args)[0]
    progress = Progress(args, total=len(site.tree.names()))
    try:
        with RepoSet(site.repos, cache_dir=args.cache_dir) as repos:

            def make(providers):
                return TreeResolver(site.tree, site.profiles, target, repos, is_strict(args), args.cache_dir,
                                    progress, providers)

            return _plan(args, make, progress, site)
    finally:
        progress.stop()


def _plan(args: argparse.Namespace, make, progress: Progress, site: Site) -> int:
    resolver, inputs, providers = resolve_tree(make, args.mode, args.hoist, not args.no_provider_choice)
    progress.stage("planning the layers")
    first = plan_layers(inputs.shape, inputs.needs, inputs.sizes, args.mode, args.hoist, inputs.headers)
    suggestions, improved = suggest_tree_changes(first, inputs.needs, inputs.sizes, inputs.headers)
    chosen = improved if args.apply_suggestions else first
    progress.stop()
    overrides = site.overrides_json()
    fresh = lock_from_plan(chosen, inputs.packages, resolver.target.name, resolver.repos.specs, overrides)
    if args.command == "lock":
        write_lock(fresh, args.lock)
        total = sum(len(layer.packages) for layer in fresh.layers.values())
        emit(args, {"lock": str(args.lock), "images": len(fresh.layers), "packages": total, "overrides": overrides},
             f"wrote {args.lock}: {len(fresh.layers)} images, {total} locked packages" + overrides_text(site))
        return 0
    if getattr(args, "verify_lock", False):
        compare(read_lock(args.lock), fresh, args.lock)
    data = plan_json(chosen, inputs.graph, suggestions, first if args.apply_suggestions else None)
    data["provider_choices"] = [c.to_json() for c in providers]
    data["overrides"] = overrides
    if args.command == "report":
        deployed = sorted(inputs.shape.deployed)
        baselines = [resolve_baseline(name, deployed, resolver.repos) for name in ("kolla", "tcib")]
        written = write_report(args.output, data, baselines, resolver.target.name)
        emit(args, {"written": [str(p) for p in written], "overrides": overrides},
             "wrote " + ", ".join(str(p) for p in written) + overrides_text(site))
        return 0
    emit(args, data, plan_text(data) + overrides_text(site))
    return 0


def plan_text(data: dict) -> str:
    lines = [f"{'image':34} {'parent':26} {'layer':>5} {'layer MB':>9} {'image MB':>9}  request"]
    for name, image in data["images"].items():
        role = "" if image["deployed"] else " (i)"
        lines.append(f"{name + role:34} {image['parent'] or '-':26} {len(image['layer_packages']):5} "
                     f"{image['layer_size'] / 1e6:9.1f} {image['image_size'] / 1e6:9.1f}  "
                     f"{' '.join(image['layer_request'])}")
    lines += ["", f"mode {data['mode']}: total set {data['total_set_size'] / 1e6:.1f} MB, lower bound "
                  f"{data['lower_bound'] / 1e6:.1f} MB (ratio {data['ratio']:.3f}), "
                  f"bloat {data['bloat'] / 1e6:.1f} MB, rpmdb/dnf overhead {data['overhead'] / 1e6:.1f} MB"]
    if data.get("before_suggestions"):
        before = data["before_suggestions"]
        lines.append(f"with the suggestions applied; the shipped tree gives {before['total_set_size'] / 1e6:.1f} MB "
                     f"(ratio {before['ratio']:.3f})")
    lines += ["", "Provider choices:" if data["provider_choices"] else "Provider choices: none (dnf's own)"]
    lines += [f"  {c['use']} instead of {c['instead_of']} ({c['where']}: {c['reason']})"
              + (f", saves {c['saves'] / 1e6:.1f} MB" if c["saves"] else "") for c in data["provider_choices"]]
    lines += ["", "Suggested tree changes (greedy, each on top of the previous):" if data["suggestions"]
              else "No tree change saves bytes."]
    lines += [f"  {s['description']}" for s in data["suggestions"]]
    return "\n".join(lines)
