"""Benchmark of the whole set, RPMs and venvs on one tree (issue 20). Every figure is measured in
this run and printed against its baseline, measured in the same run:

1. Quality on the shipped tree (bundled CS9 metadata, upper-constraints 2025.1, cp39, zero bloat):
   `resolver plan --python --format json`'s whole objective against its lower bound (target
   <= 1.40) and against the wheels placed on the tree of the RPM sets alone (the plan before).
2. Speed: `resolver plan --python --format json` warm against `resolver plan --format json` warm
   (whole processes, same caches, runs interleaved, medians of 3; target <= 2).
3. Scale: the tree over RPMs and wheels of 1,000 synthetic deployed images (each a shipped deployed
   image's RPMs and wheels plus a seeded draw of others from the shipped sets, real sizes), searched
   and refined in a child process, wall time and peak memory (targets 60 s, 1 GB), against the same
   search over their RPMs alone. This is the tree computation, not a whole `plan` of 1,000 images
   (its dnf solves are bench/plan_bench.py's).

    python bench/whole_bench.py
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resolver.containers.pypi import PyPI
from resolver.containers.wheels import python_layers, wheel_closures
from resolver.files import default_cache_dir
from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.metadata.repo_config import repo_specs
from resolver.metadata.repos import RepoSet
from resolver.planning.treeplan import plan_tree
from resolver.planning.whole import whole_figures
from resolver.resolving.resolution import TreeResolver

ROOT = Path(__file__).resolve().parent.parent
IMAGES = 1000

_CHILD = """
import json, resource, sys, time
from resolver.planning.plan import LAYER_BASE_BYTES, VENV_BASE_BYTES
from resolver.planning.refine import WholeCost, refine
from resolver.planning.tree import TreeProblem, compute_tree
data = json.load(open(sys.argv[1]))
wheels = frozenset(data["other"])
other = wheels if sys.argv[2] == "whole" else frozenset()
needs = {n: frozenset(x for x in v if other or x not in wheels) for n, v in data["needs"].items()}
start = time.perf_counter()
problem = TreeProblem(needs, data["sizes"], LAYER_BASE_BYTES, data["headers"])
tree = compute_tree(problem)
cost = tree.cost
if other:
    cost = refine(tree.parents, problem, WholeCost(problem, other, VENV_BASE_BYTES))[1]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak, "cost": cost, "method": tree.method}))
"""


def plan(*extra: str) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "resolver", "plan", "--format", "json", "--quiet", *extra],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def quality_and_speed() -> tuple[dict, dict]:
    plan()  # warm both (the wheel closures, the trees) before anything is timed
    _, whole = plan("--python")
    with_python, without = [], []
    for _ in range(3):
        without.append(plan()[0])
        with_python.append(plan("--python")[0])
    figures = whole["whole"]
    with RepoSet(repo_specs([])) as repos:
        resolver = TreeResolver(load_images(ROOT / "images"), load_profiles(ROOT / "profiles"), platform("centos-9"),
                                repos, strict=False, choose_providers=True)
        rpm_tree = plan_tree(resolver, check=False)
        inputs = rpm_tree.inputs
        items = wheel_closures(resolver.tree, resolver.profiles, inputs.needs, inputs.packages,
                               PyPI(default_cache_dir())).items()
        before = whole_figures(rpm_tree.plan, rpm_tree.objective_lower_bound,
                               python_layers(rpm_tree.plan.shape, items.needs, items.sizes))
    print("1. quality, shipped tree (zero bloat):")
    print(f"   whole objective {figures['objective'] / 1e6:.1f} MB, lower bound "
          f"{figures['objective_lower_bound'] / 1e6:.1f} MB: ratio "
          f"{figures['objective'] / figures['objective_lower_bound']:.3f} (target <= 1.40; optimum "
          f"{'proven' if figures['optimum'] else 'not proven: agglomerative search, refined'})")
    print(f"   baseline, the wheels on the RPM sets' tree: {before.objective / 1e6:.1f} MB, ratio "
          f"{before.objective / before.objective_lower_bound:.3f}; one tree is "
          f"{figures['objective'] / before.objective:.3f} x the baseline")
    print("2. speed, warm, whole processes (medians of 3, interleaved):")
    print(f"   plan --python {statistics.median(with_python):.2f} s against plan {statistics.median(without):.2f} s: "
          f"{statistics.median(with_python) / statistics.median(without):.2f} x (target <= 2)")
    return {"needs": {n: sorted(v | items.needs.get(n, frozenset())) for n, v in inputs.needs.items()},
            "sizes": {**inputs.sizes, **items.sizes}, "headers": inputs.headers,
            "other": sorted(items.sizes)}, figures


def synthetic(shipped: dict, images: int, seed: int = 20) -> dict:
    """``images`` deployed images: each a shipped one's items plus a seeded draw of 0 to 12 others."""
    rng = random.Random(seed)
    templates = sorted(shipped["needs"].items())
    union = sorted(set().union(*map(set, shipped["needs"].values())))
    needs = {}
    for index in range(images):
        name, items = templates[index % len(templates)]
        needs[f"{name}-{index:04d}"] = sorted(set(items) | set(rng.sample(union, rng.randint(0, 12))))
    return {**shipped, "needs": needs}


def scale(shipped: dict) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "problem.json"
        path.write_text(json.dumps(synthetic(shipped, IMAGES)))
        runs = {}
        for kind in ("rpm", "whole"):
            done = subprocess.run([sys.executable, "-c", _CHILD, str(path), kind], cwd=ROOT, capture_output=True,
                                  text=True, check=True)
            runs[kind] = json.loads(done.stdout)
    whole, rpm = runs["whole"], runs["rpm"]
    print(f"3. scale, the tree of {IMAGES} synthetic images:")
    print(f"   RPMs and wheels {whole['seconds']:.1f} s, {whole['peak_mb']:.0f} MB peak ({whole['method']}, refined) "
          f"against RPMs alone {rpm['seconds']:.1f} s, {rpm['peak_mb']:.0f} MB: "
          f"{whole['seconds'] / max(rpm['seconds'], 1e-9):.2f} x the time (targets 60 s, 1 GB)")


def main() -> int:
    shipped, _ = quality_and_speed()
    scale(shipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
