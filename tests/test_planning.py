"""The computed tree and the bloat budget, against brute force on small random instances."""

import math
from itertools import count, product

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from resolver.planning.budget import Budget, pareto_curve, place_with_budget
from resolver.planning.plan import LAYER_BASE_BYTES, TreeShape, layered_plan, plan_layers
from resolver.planning.tree import TreeProblem, compute_tree


def set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        for index in range(len(part)):
            yield part[:index] + [[first] + part[index]] + part[index + 1:]
        yield [[first]] + part


def hierarchies(block):
    """Every tree over the deployed images of ``block`` whose inner nodes have two children or more."""
    if len(block) == 1:
        yield block[0]
        return
    for part in set_partitions(block):
        if len(part) > 1:
            yield from (tuple(c) for c in product(*(list(hierarchies(p)) for p in part)))


def every_tree(deployed):
    """Every forest over the deployed images, as TreeShapes."""
    for part in set_partitions(sorted(deployed)):
        for forest in product(*(list(hierarchies(p)) for p in part)):
            parents, names = {}, count()

            def attach(node, parent, parents=parents, names=names):
                if isinstance(node, str):
                    parents[node] = parent
                    return
                name = f"n{next(names)}"
                parents[name] = parent
                for child in node:
                    attach(child, name)

            for root in forest:
                attach(root, None)
            yield TreeShape(parents, frozenset(deployed))


def objective(shape, problem):
    """The objective of the shared-content plan on a tree, with the problem's overhead model."""
    plan = plan_layers(shape, problem.needs, problem.sizes, problem.per_item)
    layers = sum(1 for image in plan.images.values() if image.layer_packages)
    return plan.objective + layers * (problem.per_layer - LAYER_BASE_BYTES)


@st.composite
def problems(draw, most=5):
    deployed = [f"d{i}" for i in range(draw(st.integers(1, most)))]
    items = [f"p{i}" for i in range(draw(st.integers(1, 7)))]
    needs = {d: frozenset(draw(st.sets(st.sampled_from(items), min_size=1))) for d in deployed}
    sizes = {x: draw(st.sampled_from([0, 1, 5, 50, 400, 1000])) for x in items}
    headers = {x: draw(st.sampled_from([0, 3, 30, 200])) for x in items}
    return TreeProblem(needs, sizes, draw(st.sampled_from([0, 10, 100, 500])), headers)


@settings(max_examples=150, deadline=None)
@given(problems())
def test_exact_tree_is_the_cheapest_of_all_trees(problem):
    best = min(objective(shape, problem) for shape in every_tree(problem.needs))
    tree = compute_tree(problem)
    assert tree.proven and tree.cost == best
    # the tree it returns costs what it says, and holds every deployed image once
    assert objective(TreeShape(tree.parents, frozenset(problem.needs)), problem) == tree.cost
    assert set(problem.needs) <= set(tree.parents)


@settings(max_examples=100, deadline=None)
@given(problems(most=4), st.sampled_from([0, 1, 5, 400]))
def test_an_image_needing_only_what_its_group_shares_leaves_the_search_without_loss(problem, base_size):
    # the exact search leaves out images whose needs equal their node's content: the answer must
    # still be the cheapest tree under the group (brute force over every tree with that root)
    needs = {d: need | {"base"} for d, need in problem.needs.items()}
    needs["plain"] = frozenset.intersection(*needs.values())
    problem = TreeProblem(needs, {**problem.sizes, "base": base_size}, problem.per_layer,
                          {**problem.per_item, "base": 3}, groups={"group": frozenset(needs)})
    best = min(objective(shape, problem) for shape in every_tree(needs)
               if len(shape.roots()) == 1 and shape.roots()[0] not in needs)
    tree = compute_tree(problem)
    assert tree.proven and tree.cost == best
    assert tree.parents["plain"] == "group"
    assert objective(TreeShape(tree.parents, frozenset(needs)), problem) == tree.cost


@settings(max_examples=150, deadline=None)
@given(problems())
def test_agglomerative_tree_is_valid_and_never_below_the_optimum(problem):
    tree = compute_tree(problem, exact_limit=0)
    assert tree.method == "agglomerative" and not tree.proven
    assert objective(TreeShape(tree.parents, frozenset(problem.needs)), problem) == tree.cost
    assert tree.cost >= compute_tree(problem).cost


def test_identical_deployed_sets_share_one_layer():
    needs = {"nova-api": frozenset({"glibc", "python3"}), "nova-conductor": frozenset({"glibc", "python3"}),
             "memcached": frozenset({"glibc", "memcached"})}
    sizes = {"glibc": 100, "python3": 50, "memcached": 5}
    tree = compute_tree(TreeProblem(needs, sizes, per_layer=10))
    shared = tree.parents["nova-api"]
    assert shared.startswith("~") and tree.parents["nova-conductor"] == shared
    plan = plan_layers(TreeShape(tree.parents, frozenset(needs)), needs, sizes)
    assert plan.images[shared].layer_packages == {"python3"}
    assert not plan.images["nova-api"].layer_packages and not plan.images["nova-conductor"].layer_packages


def test_a_layer_is_formed_only_where_it_pays_for_its_overhead():
    needs = {"a": frozenset({"glibc", "x"}), "b": frozenset({"glibc", "y"}), "c": frozenset({"glibc", "z"})}
    sizes = {"glibc": 100, "x": 1, "y": 1, "z": 1}
    cheap = compute_tree(TreeProblem(needs, sizes, per_layer=10))
    assert cheap.parents["a"] == cheap.parents["b"] == cheap.parents["c"]  # one base, three children
    costly = compute_tree(TreeProblem(needs, sizes, per_layer=500))
    assert all(costly.parents[d] is None for d in needs)  # a 100-byte base does not pay 500 bytes


def test_pinned_groups_are_kept_with_exactly_their_images():
    needs = {"keystone": frozenset({"glibc", "httpd", "python3"}), "horizon": frozenset({"glibc", "httpd", "python3"}),
             "memcached": frozenset({"glibc", "memcached"}), "nova": frozenset({"glibc", "python3", "qemu"})}
    sizes = {"glibc": 100, "httpd": 40, "python3": 60, "memcached": 5, "qemu": 30}
    groups = {"openstack-base": frozenset({"keystone", "horizon", "nova"}), "base": frozenset(needs)}
    tree = compute_tree(TreeProblem(needs, sizes, per_layer=10, groups=groups))
    assert tree.parents["base"] is None and tree.parents["openstack-base"] == "base"
    below = {d for d in needs if "openstack-base" in TreeShape(tree.parents, frozenset(needs)).path(d)}
    assert below == groups["openstack-base"]
    with pytest.raises(ValueError, match="overlap"):
        compute_tree(TreeProblem(needs, sizes, groups={"x": frozenset({"keystone", "memcached"}),
                                                       "y": frozenset({"memcached", "nova"})}))


@st.composite
def closed_problems(draw):
    """Deployed sets closed under random requirements (as dnf's closures are), with the requirements."""
    problem = draw(problems(most=4))
    items = sorted(problem.sizes)
    requires = {x: tuple(frozenset({draw(st.sampled_from(items))}) for _ in range(draw(st.integers(0, 2))))
                for x in items}

    def closure(need):
        result, todo = set(need), list(need)
        while todo:
            for alternatives in requires[todo.pop()]:
                for y in alternatives - result:
                    result.add(y)
                    todo.append(y)
        return frozenset(result)

    needs = {d: closure(n) for d, n in problem.needs.items()}
    return TreeProblem(needs, problem.sizes, problem.per_layer, problem.per_item), requires


@settings(max_examples=60, deadline=None)
@given(closed_problems(), st.sampled_from([0, 5, 60, 1000]))
def test_budget_solve_is_the_cheapest_installable_placement_within_the_budget(case, allowed):
    """Brute force over every placement on a two-level tree (root, one group, the images): the
    cheapest whose bloat fits and whose every image holds a provider of each of its items' needs."""
    problem, requires = case
    deployed = sorted(problem.needs)
    parents = {"root": None, "mid": "root", **{d: ("mid" if i % 2 else "root") for i, d in enumerate(deployed)}}
    shape = TreeShape(parents, frozenset(deployed))
    union = sorted(set().union(*problem.needs.values()))
    nodes = sorted(parents)
    options = {}
    for item in union:
        choices = []
        for mask in range(1 << len(nodes)):
            holders = [n for b, n in enumerate(nodes) if mask >> b & 1]
            counts = {d: sum(h in shape.path(d) for h in holders) for d in deployed}
            if all(counts[d] == (1 if item in problem.needs[d] else counts[d]) and counts[d] <= 1 for d in deployed):
                choices.append(holders)
        options[item] = choices
    # a brute force, so a bounded one: without this, one drawn case in a run could take minutes
    assume(math.prod(len(choices) for choices in options.values()) <= 5_000)
    best = None
    for choice in product(*(options[item] for item in union)):
        layers = {n: {item for item, holders in zip(union, choice) if n in holders} for n in parents}
        plan = layered_plan(shape, problem.needs, problem.sizes, layers, problem.per_item)
        installable = all(alternatives & image.content for image in plan.images.values()
                          for x in image.content for alternatives in requires[x])
        if plan.bloat <= allowed and installable:
            layer_count = sum(1 for image in plan.images.values() if image.layer_packages)
            value = plan.objective + layer_count * (problem.per_layer - LAYER_BASE_BYTES)
            best = value if best is None else min(best, value)
    solution = place_with_budget(shape, problem.needs, problem.sizes, Budget(allowed), problem.per_layer,
                                 problem.per_item, requires)
    assert solution.proven and solution.bloat <= allowed
    assert abs(solution.objective - best) <= 1e-3 * best + 1e-6


def test_pareto_points_trade_bytes_for_bloat():
    needs = {"a": frozenset({"glibc", "httpd"}), "b": frozenset({"glibc", "httpd"}), "c": frozenset({"glibc"}),
             "d": frozenset({"glibc", "httpd", "php"})}
    sizes = {"glibc": 100, "httpd": 40, "php": 30}
    shape = TreeShape({"root": None, **dict.fromkeys(needs, "root")}, frozenset(needs))
    points = pareto_curve(shape, needs, sizes, per_layer=5)
    assert all(p.solution.proven for p in points)
    assert points[0].budget == 0 and points[0].solution.bloat == 0
    # more bloat allowed never costs more; the unlimited point puts httpd in the root (c's bloat)
    objectives = [p.solution.objective for p in points]
    assert objectives == sorted(objectives, reverse=True)
    assert points[-1].budget is None and points[-1].solution.layers["root"] >= {"glibc", "httpd"}


def test_the_agglomerative_search_on_1000_images_and_a_100000_package_image_is_bounded():
    """1,000 deployed sets, one of 100,000 packages: the joins work on distinct need patterns and
    on the columns a join holds (469 s before, 11 s now, measured on a loaded machine; bounded
    here at 120 s), and the tree covers every image."""
    import random
    import time

    rng = random.Random(1)
    items = [f"p{i:06d}" for i in range(100_000)]
    base = set(items[-200:])
    needs = {"big": frozenset(items)} | {f"svc-{k:03d}": frozenset(base | set(rng.sample(items[:3000], 30)))
                                         for k in range(999)}
    sizes = {x: 1000 + i % 5000 for i, x in enumerate(items)}
    started = time.monotonic()
    tree = compute_tree(TreeProblem(needs, sizes, 200_000, {x: 500 for x in items}), 15)
    assert time.monotonic() - started < 120
    assert tree.method == "agglomerative" and set(needs) <= set(tree.parents)
