"""The whole set counted on one tree: RPM layers and venv layers together (pure), and the tree
computed over both kinds refined on the whole objective (a layer of wheels alone writes no rpm
database; the layer that makes the venv writes its skeleton)."""

import random

from resolver.planning.plan import LAYER_BASE_BYTES, VENV_BASE_BYTES, TreeShape, plan_layers
from resolver.planning.refine import WholeCost, refine
from resolver.planning.tree import TreeProblem, compute_tree
from resolver.planning.whole import whole_figures

SHAPE = TreeShape({"base": None, "a": "base", "b": "base"}, frozenset({"a", "b"}))


def test_whole_figures_add_both_kinds_and_the_venv_once_per_path():
    rpm = plan_layers(SHAPE, {"a": frozenset({"glibc", "httpd"}), "b": frozenset({"glibc"})},
                      {"glibc": 100, "httpd": 30}, {"glibc": 7, "httpd": 3})
    python = plan_layers(SHAPE, {"a": frozenset({"six==1"}), "b": frozenset({"six==1", "pbr==6"})},
                         {"six==1": 50, "pbr==6": 20})
    whole = whole_figures(rpm, 1000, python)
    assert whole.total_set_size == 130 + 70 and whole.lower_bound == 200 and whole.bloat == 0
    # the venv is made once, in base (where six goes): b's layer of pbr alone installs into it
    assert whole.objective == rpm.objective + 70 + VENV_BASE_BYTES
    assert whole.objective_lower_bound == 1000 + 70 + VENV_BASE_BYTES
    assert whole.includes == ("rpm", "python") and whole.optimum is None
    # an image as `podman images` gives it: every layer below it, RPMs, venv and overhead
    base_rpm = rpm.images["base"]
    assert whole.image_sizes["b"] == 100 + base_rpm.overhead + 50 + VENV_BASE_BYTES + 20
    assert whole.image_sizes["a"] == 130 + base_rpm.overhead + rpm.images["a"].overhead + 50 + VENV_BASE_BYTES
    assert whole_figures(rpm, 1000, None, proven_cost=rpm.objective).optimum == rpm.objective


def test_the_whole_cost_of_a_tree_is_its_plans_figures():
    """WholeCost (what refine minimises) equals the objective of the two plans on random trees."""
    rng = random.Random(20)
    for _ in range(30):
        deployed = [f"d{i}" for i in range(rng.randint(2, 7))]
        rpms, wheels = [f"r{i}" for i in range(12)], [f"w{i}==1" for i in range(12)]
        needs = {d: frozenset(rng.sample(rpms, rng.randint(0, 8)) + rng.sample(wheels, rng.randint(0, 8)))
                 for d in deployed}
        sizes = {x: rng.randint(1, 10_000_000) for x in rpms + wheels}
        headers = {x: rng.randint(1, 100_000) for x in rpms}
        problem = TreeProblem(needs, sizes, LAYER_BASE_BYTES, headers)
        parents = compute_tree(problem, exact_limit=rng.choice([0, 8])).parents
        shape = TreeShape(dict(parents), frozenset(deployed))
        rpm_needs = {d: frozenset(x for x in need if x in headers) for d, need in needs.items()}
        wheel_needs = {d: need - rpm_needs[d] for d, need in needs.items()}
        rpm = plan_layers(shape, rpm_needs, sizes, headers)
        python = plan_layers(shape, wheel_needs, sizes)
        cost = WholeCost(problem, frozenset(wheels), VENV_BASE_BYTES)
        assert cost(parents) == whole_figures(rpm, 0, python).objective


def test_a_layer_of_shared_wheels_is_made_where_the_searchs_rpm_overhead_would_refuse_it():
    """Two services with the same small RPM set whose rpm database is large, sharing 200 kB of
    wheels: the search (every layer rewrites the rpm database) keeps them apart; refined on the
    whole objective, the shared wheels go into one layer both install into."""
    needs = {"api": frozenset({"glibc", "oslo==1", "api==1"}), "worker": frozenset({"glibc", "oslo==1", "worker==1"})}
    sizes = {"glibc": 1_000, "oslo==1": 200_000, "api==1": 10, "worker==1": 10}
    problem = TreeProblem(needs, sizes, LAYER_BASE_BYTES, {"glibc": 2_000_000})
    searched = compute_tree(problem)
    assert searched.parents == {"api": None, "worker": None}
    cost = WholeCost(problem, frozenset({"oslo==1", "api==1", "worker==1"}), VENV_BASE_BYTES)
    parents, value = refine(searched.parents, problem, cost)
    assert parents["api"] == parents["worker"] is not None and value < cost(searched.parents)
    shape = TreeShape(parents, frozenset(needs))
    wheels = plan_layers(shape, {d: need - {"glibc"} for d, need in needs.items()}, sizes)
    assert wheels.images[parents["api"]].layer_packages == {"oslo==1"}
