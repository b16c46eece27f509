"""Benchmark of the whole-tree plan on the bundled metadata (run by `tox -e bench`).

Prints, for the shipped tree: total set, lower bound, their ratio and bloat (strict, strict with
the suggested tree changes applied, relaxed), the same total for Kolla's and TCIB's lists resolved
on the same metadata, and the plan time against a baseline measured in the same run: the dnf
command line (`dnf --installroot … --assumeno install`) once per image, on the same repositories.
Every time is wall-clock on this machine; ratios are what to compare across machines.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resolver.baselines import resolve_baseline
from resolver.config import load_images, load_profiles
from resolver.plan import plan_layers, suggest_tree_changes
from resolver.platforms import platform
from resolver.repos import RepoSet, repo_specs
from resolver.resolution import TreeResolver, plan_inputs, resolve_tree

ROOT = Path(__file__).resolve().parent.parent


def whole_plan(cache: Path) -> tuple[float, float, TreeResolver, RepoSet]:
    """Ours: load metadata, read bindep, resolve every image, choose providers (each candidate
    re-resolves the tree), plan (timed); then suggest tree changes (timed apart: dnf has nothing
    like it)."""
    start = time.perf_counter()
    repos = RepoSet(repo_specs([]), cache_dir=cache)
    tree, profiles = load_images(ROOT / "images"), load_profiles(ROOT / "profiles")
    resolver, inputs, _ = resolve_tree(lambda providers: TreeResolver(
        tree, profiles, platform("centos-9"), repos, False, cache, None, providers))
    plan = plan_layers(inputs.shape, inputs.needs, inputs.sizes, "strict", headers=inputs.headers)
    planned = time.perf_counter()
    suggest_tree_changes(plan, inputs.needs, inputs.sizes, inputs.headers)
    return planned - start, time.perf_counter() - planned, resolver, repos


def dnf_command_line(resolver: TreeResolver, cache: Path) -> float:
    """Baseline: one dnf command-line resolve per image, of everything that image asks for."""
    repos = [f"--repofrompath={s.repo_id},{s.baseurl}" for s in resolver.repos.specs]
    enable = [f"--repo={s.repo_id}" for s in resolver.repos.specs]
    total = 0.0
    for name in resolver.tree.names():
        asked = [r.name for image in [*resolver.tree.ancestors(name), name] for r in resolver.image(image).requests]
        command = ["dnf", f"--installroot={cache}/root", "--releasever=9", "--forcearch=x86_64",
                   "--setopt=reposdir=/nonexistent", "--setopt=install_weak_deps=False",
                   "--setopt=strict=False", f"--setopt=cachedir={cache}/dnf-cli", *repos, *enable,
                   "--nogpgcheck", "--assumeno", "-q", "install", *sorted(set(asked))]
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, text=True, check=False)
        total += time.perf_counter() - start
    return total


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        cold_plan, cold_suggest, _, _ = whole_plan(cache)  # empty caches: parses bindep, builds solv files
        plan_time, suggest_time, resolver, repos = whole_plan(cache)  # warm, as dnf's own runs are
        dnf_cold = dnf_command_line(resolver, cache)  # the first image fills dnf's cache
        dnf_warm = dnf_command_line(resolver, cache)
    inputs = plan_inputs(resolver)  # the resolver with the chosen providers
    strict = plan_layers(inputs.shape, inputs.needs, inputs.sizes, "strict", headers=inputs.headers)
    _, improved = suggest_tree_changes(strict, inputs.needs, inputs.sizes, inputs.headers, limit=30)
    relaxed = plan_layers(inputs.shape, inputs.needs, inputs.sizes, "relaxed", 0.5, inputs.headers)
    deployed = sorted(inputs.shape.deployed)
    kolla = resolve_baseline("kolla", deployed, repos)
    tcib = resolve_baseline("tcib", deployed, repos)

    def mb(size: int) -> str:
        return f"{size / 1e6:8.1f} MB"

    images = len(inputs.shape.parents)
    print(f"shipped tree: {images} images, {len(deployed)} deployed; bundled CS9 metadata")
    for label, plan in (("strict", strict), ("strict + suggestions", improved), ("relaxed (hoist 0.5)", relaxed)):
        print(f"{label:22} total set {mb(plan.total_set_size)}  lower bound {mb(plan.lower_bound)}  "
              f"ratio {plan.ratio:5.3f}  bloat {mb(plan.bloat)}  rpmdb/dnf {mb(plan.overhead)}")
    for result in (kolla, tcib):
        unresolved = sum(len(v) for v in result.unresolved.values())
        print(f"{result.name + ' lists':22} total set {mb(result.total_set_size)}  ({len(result.matched)} of "
              f"{len(deployed)} images matched, {unresolved} names unresolvable)  "
              f"strict/{result.name} {strict.total_set_size / result.total_set_size:5.3f}  "
              f"suggested/{result.name} {improved.total_set_size / result.total_set_size:5.3f}  "
              f"relaxed/{result.name} {relaxed.total_set_size / result.total_set_size:5.3f}")
    print(f"whole-tree plan (metadata, bindep, {images} resolves, provider choice, plan), "
          "baseline: dnf command line once per image")
    print(f"  warm caches: ours {plan_time:6.2f} s  dnf {dnf_warm:6.2f} s  ratio {plan_time / dnf_warm:5.3f}")
    print(f"  cold caches: ours {cold_plan:6.2f} s  dnf {dnf_cold:6.2f} s  ratio {cold_plan / dnf_cold:5.3f}")
    print(f"tree-change suggestions (no dnf counterpart): {suggest_time:6.2f} s warm, {cold_suggest:6.2f} s cold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
