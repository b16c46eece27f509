"""`resolver plan`, `lock` and `report`: the layer plan of the whole tree, its lock file and its
report with the Kolla and TCIB baselines and the Pareto curve (total against bloat)."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..files import check_set_directory, check_writable, writer_turn
from ..overrides.site import Site
from ..planned_tree import plan_whole_tree
from ..planning.tree import EXACT_LIMIT
from ..planning.treeplan import TREE_MODES
from ..resolving.resolution import TreeResolver
from ..resolving.unresolved import UnresolvedRequest, grouped_lines
from .common import (
    FORMATTER,
    Progress,
    emit,
    is_strict,
    load_site,
    open_repos,
    overrides_text,
    target_platforms,
    warn_unresolved,
    whole_number,
)


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of megabytes") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a bloat budget is a number of megabytes, 0 or more "
                                         "(leave the option out for no budget)")
    return round(value * 1_000_000)


def planning_options() -> argparse.ArgumentParser:
    planning = argparse.ArgumentParser(add_help=False)
    planning.add_argument("--tree", choices=TREE_MODES, default="computed",
                          help="computed: intermediate layers computed from the deployed images (default); "
                               "declared: the parents written in images/")
    planning.add_argument("--max-bloat", type=_megabytes, default=None, metavar="MB",
                          help="bloat budget in total (MB of packages deployed images hold without needing "
                               "them); solved exactly on the tree (0 = strict, also exact)")
    planning.add_argument("--max-image-bloat", type=_megabytes, default=None, metavar="MB",
                          help="bloat budget per deployed image (MB)")
    planning.add_argument("--exact-limit", type=whole_number(0, 22, " (the exact method's memory grows as 2^N)"),
                          default=EXACT_LIMIT, metavar="N",
                          help=f"compute the tree exactly up to N distinct deployed sets per group, "
                               f"agglomeratively beyond (default {EXACT_LIMIT}; each one more triples the time)")
    planning.add_argument("--no-provider-choice", action="store_true",
                          help="keep dnf's providers (no automatic coreutils-single, curl-minimal... choices)")
    planning.add_argument("--lock", type=Path, default=Path("resolver.lock"), metavar="FILE",
                          help="lock file (default resolver.lock)")
    planning.add_argument("--python", action="store_true",
                          help="also plan the services' venvs as `resolver build` does (wheels at the pinned releases "
                               "under upper-constraints, from PyPI, cached): Python bytes per layer, totals with them, "
                               "the wheel pins in the lock")
    return planning


PLAN_EXAMPLES = """examples:
  resolver plan
  resolver plan --format json
  resolver plan --tree declared      # the parents written in images/
  resolver plan --max-bloat 50       # at most 50 MB of bloat in total, solved exactly
  resolver plan --pareto             # objective against bloat, each point proven
  resolver plan --python             # + the venv layers: Python bytes per layer, totals with them
  resolver plan --verify-lock        # fail, naming what changed, when resolver.lock is stale"""


def register(sub, common: argparse.ArgumentParser) -> None:
    planning = planning_options()
    plan = sub.add_parser("plan", parents=[common, planning], help="layer plan of the whole tree, with totals",
                          epilog=PLAN_EXAMPLES, formatter_class=FORMATTER)
    plan.add_argument("--verify-lock", action="store_true", help="check the plan still gives the locked sets")
    plan.add_argument("--pareto", action="store_true",
                      help="also solve the Pareto curve of total against bloat on the tree (integer programmes)")
    report = sub.add_parser("report", parents=[common, planning],
                            help="Markdown + SVG report: the plan, Kolla and TCIB baselines, the Pareto curve",
                            epilog="example: resolver report --output report/", formatter_class=FORMATTER)
    report.add_argument("--output", type=Path, default=Path("report"), metavar="DIR")
    lock = sub.add_parser("lock", parents=[common, planning],
                          help="write the lock file (NEVRA per layer), atomically",
                          epilog="example: resolver lock --lock resolver.lock", formatter_class=FORMATTER)
    for parser in (plan, report, lock):
        parser.set_defaults(run=run)


def _output_of(args: argparse.Namespace) -> Path | None:
    """What the command writes: the lock, the report directory, or nothing (plan)."""
    return {"lock": getattr(args, "lock", None), "report": getattr(args, "output", None)}.get(args.command)


def run(args: argparse.Namespace) -> int:
    output = _output_of(args)
    if args.command == "lock":
        check_writable(args.lock)
    elif args.command == "report":
        from ..reporting.report import report_file

        check_set_directory(args.output, report_file, "report")
    site = load_site(args)
    target = target_platforms(args)[0]
    with _writer_turn(output):
        progress = Progress(args, total=len(site.tree.deployed()))
        try:
            with open_repos(args, site.repos) as repos:
                resolver = TreeResolver(site.tree, site.profiles, target, repos, is_strict(args), args.cache_dir,
                                        progress, choose_providers=not args.no_provider_choice)
                return _plan(args, resolver, progress, site)
        finally:
            progress.stop()


def _writer_turn(output: Path | None):
    """`lock` and `report` writing into the same directory take turns, the whole run each (the
    one started later waits, saying for whom, then writes last): no run's work is lost unseen."""
    if output is None:
        return contextlib.nullcontext()

    def waiting(holder: str) -> None:
        print(f"resolver: waiting for {holder} to finish writing in {output.absolute().parent}",
              file=sys.stderr, flush=True)

    return writer_turn(output.absolute().parent, waiting)


def _plan(args: argparse.Namespace, resolver: TreeResolver, progress: Progress, site: Site) -> int:
    from ..lock import compare, read_lock, write_lock
    from ..planning.budget import Budget

    # a lock that cannot be read fails before the planning work
    locked = read_lock(args.lock) if getattr(args, "verify_lock", False) else None
    budgeted = args.max_bloat is not None or args.max_image_bloat is not None
    overrides = site.overrides_json()
    planned = plan_whole_tree(resolver, progress, str(_output_of(args) or "the plan"), args.lock, overrides,
                              args.tree, args.exact_limit,
                              Budget(args.max_bloat, args.max_image_bloat) if budgeted else None, args.python,
                              args.command == "report" or getattr(args, "pareto", False), args.cache_dir)
    progress.stop()
    result, fresh = planned.result, planned.lock
    if args.command == "lock":
        write_lock(fresh, args.lock)
        total = sum(len(layer.packages) for layer in fresh.layers.values())
        wheel_pins = sum(len(pins) for pins in fresh.python["images"].values()) if fresh.python else None
        incomplete = f"; incomplete (requests that did not resolve): {', '.join(result.incomplete)}" \
            if result.incomplete else ""
        emit(args, {"lock": str(args.lock), "images": len(fresh.layers), "packages": total, "wheels": wheel_pins,
                    "overrides": overrides, "incomplete": result.incomplete},
             f"wrote {args.lock}: {len(fresh.layers)} images, {total} locked packages"
             + (f", {wheel_pins} locked wheels" if fresh.python else "") + incomplete + overrides_text(site))
        warn_unresolved(args, result.unresolved)
        return 0
    if locked is not None:
        compare(locked, fresh, args.lock)
    data = planned.to_json(overrides)
    if args.command == "report":
        from ..reporting.baselines import resolve_baseline
        from ..reporting.report import write_report

        deployed = sorted(result.inputs.needs)
        baselines = [resolve_baseline(name, deployed, resolver.repos) for name in ("kolla", "tcib")]
        written = write_report(args.output, data, baselines, resolver.target.name)
        emit(args, {"written": [str(p) for p in written], "overrides": overrides},
             "wrote " + ", ".join(str(p) for p in written) + overrides_text(site))
        warn_unresolved(args, result.unresolved)
        return 0
    verified = ""
    if locked is not None:
        data["verified_lock"] = str(args.lock)
        verified = (f"\n{args.lock} matches the plan: {len(locked.layers)} images, "
                    f"{sum(len(layer.packages) for layer in locked.layers.values())} locked packages")
    emit(args, data, plan_text(data, result.unresolved) + overrides_text(site) + verified)
    warn_unresolved(args, result.unresolved)
    return 0


def whole_text(data: dict) -> list[str]:
    """The whole set's figures, first: RPMs and venv layers together, or saying they are RPM only."""
    whole = data["whole"]
    what = "RPMs + venv layers" if "python" in whole["includes"] else f"RPM only: {whole['rpm_only']}" \
        if whole.get("rpm_only") else "RPMs; the tree installs no Python"
    ratio = whole["objective"] / whole["objective_lower_bound"] if whole["objective_lower_bound"] else 1.0
    return [f"whole set ({what}): objective {whole['objective'] / 1e6:.1f} MB, lower bound "
            f"{whole['objective_lower_bound'] / 1e6:.1f} MB (ratio {ratio:.3f}"
            + (f", proven optimum {whole['optimum'] / 1e6:.1f} MB" if whole["optimum"] is not None else "")
            + f"); total set {whole['total_set_size'] / 1e6:.1f} MB (each item once: "
            f"{whole['lower_bound'] / 1e6:.1f} MB); bloat {whole['bloat'] / 1e6:.1f} MB", ""]


def plan_text(data: dict, unresolved: Mapping[str, Sequence[UnresolvedRequest]] | None = None) -> str:
    python = data.get("python") is not None
    lines = whole_text(data)
    lines += [f"{'image':40} {'parent':40} {'layer':>5} {'RPM MB':>9} {'image MB':>9}"
              + (f" {'Python MB':>9} {'whole MB':>9}" if python else "") + "  request"]
    for name, image in data["images"].items():
        role = (" !" if image["unresolved"] else "") + ("" if image["deployed"] else " (i)")
        lines.append(f"{name + role:40} {image['parent'] or '-':40} {len(image['layer_packages']):5} "
                     f"{image['layer_size'] / 1e6:9.1f} {image['image_size'] / 1e6:9.1f}"
                     + (f" {image['python_bytes'] / 1e6:9.1f} {image['whole_image_size'] / 1e6:9.1f}" if python else "")
                     + f"  {' '.join(image['layer_request'])}")
    lines += ["", f"RPMs: {data['tree']} tree ({data['method'] or 'as written in images/'}), budget {data['budget']}: "
                  f"objective {data['objective'] / 1e6:.1f} MB = packages {data['total_set_size'] / 1e6:.1f} MB "
                  f"+ rpmdb/dnf overhead {data['overhead'] / 1e6:.1f} MB; bloat {data['bloat'] / 1e6:.1f} MB",
              f"lower bounds: packages {data['lower_bound'] / 1e6:.1f} MB (ratio {data['ratio']:.3f}), "
              f"objective {data['objective_lower_bound'] / 1e6:.1f} MB",
              "(i) intermediate. RPM MB: the layer's packages; image MB: the image's packages in this plan, with the "
              "tree's provider choices (`resolver packages IMAGE` solves one image with the pins only, so it can say "
              "more)" + ("; Python MB: the venv layer; whole MB: the image as `podman images` gives it (every layer, "
                         "RPMs, venv, overhead)" if python else "")]
    if data["incomplete"]:
        deployed = sum(1 for image in data["images"].values() if image["deployed"])
        lines.append(f"! incomplete: {len(data['incomplete'])} of {deployed} deployed images have requests that did "
                     "not resolve (best effort, listed at the end): their sets, and the totals above, lack them")
    if data["tree"] == "computed" and data["method"] == "exact":
        lines.append(f"tree search: exact ({data['searched_sets']} distinct deployed sets in the largest search, "
                     f"--exact-limit {data['exact_limit']})")
    elif data["tree"] == "computed":
        lines.append(f"tree search: agglomerative ({data['searched_sets']} distinct deployed sets in one search, "
                     f"over --exact-limit {data['exact_limit']}): not proven optimal; --exact-limit "
                     f"{data['searched_sets']} proves it (the exact method's time triples with each set)")
    if data["optimum"] is not None:
        lines.append(f"proven optimum of the zero-bloat objective over all trees: {data['optimum'] / 1e6:.1f} MB")
    if python:
        py = data["python"]
        lines.append(f"Python ({py['target']}, upper-constraints {py['constraints']}): venv layers "
                     f"{data['python_total'] / 1e6:.1f} MB, each once (lower bound {py['lower_bound'] / 1e6:.1f} MB); "
                     "the tree is computed over RPMs and wheels together")
    if data.get("solver"):
        solver = data["solver"]
        lines.append(f"budget solve: objective {solver['objective'] / 1e6:.1f} MB, proven bound "
                     f"{solver['bound'] / 1e6:.1f} MB (gap {solver['gap'] * 100:.3f} %)")
    lines += ["", "Provider choices:" if data["provider_choices"] else "Provider choices: none (dnf's own)"]
    lines += [f"  {c['use']} instead of {c['instead_of']} ({c['where']}: {c['reason']})"
              + (f", {c['saves'] / 1e6:.1f} MB off the deployed sets" if c["saves"] else "")
              for c in data["provider_choices"]]
    lines += [f"  withdrawn: {w['use']} instead of {w['instead_of']} ({w['reason']})"
              for w in data.get("providers_withdrawn", [])]
    if data["provider_splits"]:
        lines.append(f"Provider splits (one requirement, several providers across images): "
                     f"{len(data['provider_splits'])}, e.g. {data['provider_splits'][0]['description']}")
    lines += [f"Suggestion: {s['description']}" for s in data["suggestions"]]
    if data.get("pareto"):
        lines.append(f"Pareto curve on this tree, each point solved; it counts {data['pareto_counts']}:")
    for point in data.get("pareto", []):
        # the curve's last point has no budget (None): the cheapest placement at any bloat
        limit = f"<= {point['budget'] / 1e6:8.1f} MB" if point["budget"] is not None else f"{'unlimited':>14}"
        lines.append(f"  pareto: bloat {limit}  objective {point['objective'] / 1e6:8.1f} MB"
                     f"  bloat {point['bloat'] / 1e6:7.1f} MB  gap {point['gap'] * 100:.3f} %")
    if unresolved and any(unresolved.values()):
        lines += ["", "Unresolved requests (images marked !; `resolver packages IMAGE` shows each with its origin):",
                  *grouped_lines(unresolved, full=False)]
    return "\n".join(lines)

