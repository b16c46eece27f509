"""The layer plan on a given tree: hand-made trees whose optimum is known, and its properties."""

from itertools import combinations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.metadata.closure import pulled_in
from resolver.planning.plan import TreeShape, layer_request, plan_layers

#   root -> a, b, c (deployed leaves)
SHAPE = TreeShape({"root": None, "a": "root", "b": "root", "c": "root"}, frozenset("abc"))
SIZES = {"glibc": 100, "httpd": 40, "tiny": 1}


def test_package_needed_by_all_leaves_goes_to_the_root():
    needs = {leaf: frozenset({"glibc"}) for leaf in "abc"}
    plan = plan_layers(SHAPE, needs, SIZES)
    assert plan.images["root"].layer_packages == {"glibc"}
    assert plan.total_set_size == plan.lower_bound == 100


def test_needed_by_two_of_three_siblings_stays_in_those_two():
    needs = {"a": frozenset({"httpd"}), "b": frozenset({"httpd"}), "c": frozenset()}
    plan = plan_layers(SHAPE, needs, SIZES)
    assert [n for n, i in plan.images.items() if "httpd" in i.layer_packages] == ["a", "b"]
    assert plan.bloat == 0 and plan.total_set_size == 80 and plan.lower_bound == 40


def test_a_deployed_intermediate_holds_what_it_needs_itself():
    shape = TreeShape({"root": None, "mid": "root", "leaf": "mid"}, frozenset({"mid", "leaf"}))
    plan = plan_layers(shape, {"mid": frozenset({"httpd"}), "leaf": frozenset()}, SIZES)
    assert plan.images["mid"].layer_packages == {"httpd"}
    assert plan.images["leaf"].bloat == 40  # unavoidable: the leaf sits on mid


def test_an_intermediate_keeps_only_what_it_can_install_on_its_own():
    # both leaves need "app", which requires "sh"; one has it from bash, the other from busybox:
    # the shared layer cannot hold app without a provider of sh, so app moves down to the leaves
    shape = TreeShape({"root": None, "a": "root", "b": "root"}, frozenset("ab"))
    needs = {"a": frozenset({"app", "bash", "glibc"}), "b": frozenset({"app", "busybox", "glibc"})}
    sizes = {"app": 10, "bash": 5, "busybox": 1, "glibc": 100}
    requires = {"app": (frozenset({"bash", "busybox"}),), "bash": (frozenset({"glibc"}),)}
    plain = plan_layers(shape, needs, sizes)
    assert plain.images["root"].layer_packages == {"app", "glibc"}
    closed = plan_layers(shape, needs, sizes, requires=requires)
    assert closed.images["root"].layer_packages == {"glibc"}
    assert closed.images["a"].layer_packages == {"app", "bash"} and closed.images["b"].content == needs["b"]


def test_rpmdb_overhead_counts_every_header_installed_so_far_per_non_empty_layer():
    needs = {"a": frozenset({"glibc", "httpd"}), "b": frozenset({"glibc"}), "c": frozenset({"glibc"})}
    plan = plan_layers(SHAPE, needs, SIZES, headers={"glibc": 10, "httpd": 3})
    extra = plan.images["a"].overhead - plan.images["root"].overhead
    assert extra == 3  # a's layer rewrites the rpmdb: glibc's and httpd's headers
    assert plan.images["b"].overhead == 0  # b installs nothing


def test_layer_request_leaves_out_what_another_layer_package_pulls_in():
    graph = nx.DiGraph([("httpd", "httpd-core"), ("httpd-core", "apr"), ("mod_ssl", "httpd")])
    assert layer_request(frozenset({"httpd", "httpd-core", "apr", "mod_ssl"}), graph) == ["mod_ssl"]
    cycle = nx.DiGraph([("a", "b"), ("b", "a")])
    assert layer_request(frozenset({"a", "b"}), cycle) == ["a"]


@st.composite
def trees(draw):
    count = draw(st.integers(2, 7))
    parents = {"n0": None}
    for index in range(1, count):
        parents[f"n{index}"] = f"n{draw(st.integers(0, index - 1))}"
    leaves = {n for n in parents if n not in parents.values()}
    extra = draw(st.sets(st.sampled_from(sorted(parents)), max_size=2))
    deployed = frozenset(leaves | extra)
    universe = [f"p{i}" for i in range(draw(st.integers(1, 6)))]
    needs = {d: frozenset(draw(st.sets(st.sampled_from(universe)))) for d in sorted(deployed)}
    sizes = {p: draw(st.integers(1, 1000)) for p in universe}
    return TreeShape(parents, deployed), needs, sizes


@settings(max_examples=200, deadline=None)
@given(trees())
def test_properties(case):
    shape, needs, sizes = case
    plan = plan_layers(shape, needs, sizes)
    for image, needed in needs.items():
        assert plan.images[image].content >= needed
    assert plan.total_set_size >= plan.lower_bound
    assert plan.total_set_size == sum(i.layer_size for i in plan.images.values())
    strict = plan
    leaves_only = all(not shape.children(d) for d in shape.deployed)
    if leaves_only:
        assert strict.bloat == 0


@settings(max_examples=200, deadline=None)
@given(trees())
def test_strict_is_the_smallest_bloat_free_plan(case):
    """Brute force, per package: the fewest layers holding it with no deployed image getting it
    unneeded (when such a placement exists) equals what the planner uses."""
    shape, needs, sizes = case
    if any(shape.children(d) for d in shape.deployed):
        return  # deployed intermediates can force bloat; covered by the hand-made test
    plan = plan_layers(shape, needs, sizes)
    nodes = sorted(shape.parents)
    for package in sizes:
        wanting = {d for d, n in needs.items() if package in n}
        used = sum(package in i.layer_packages for i in plan.images.values())
        best = None
        for size in range(0, len(nodes) + 1):
            for chosen in combinations(nodes, size):
                holders = {d for d in shape.deployed if set(shape.path(d)) & set(chosen)}
                if holders == wanting:
                    best = size
                    break
            if best is not None:
                break
        assert used == best


def _pullers_by_definition(requests, edges, inside):
    """pulled_in as its docstring defines it, by plain reachability (networkx descendants)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(package for _, package in requests)
    graph.add_edges_from((a, b) for a, b in edges if inside is None or b in inside)
    reach = {package: nx.descendants(graph, package) for _, package in requests}
    result = {}
    for index, (request, package) in enumerate(requests):
        found = [position for position, (_, other) in enumerate(requests)
                 if (other == package and position < index)
                 or (other != package and package in reach[other]
                     and not (other in reach[package] and index < position))]
        if found:
            result[request] = [requests[position][0] for position in found]
    return result


NODES = list("abcdefgh")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(edges=st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=20),
       asked=st.lists(st.sampled_from(NODES), max_size=8),
       inside=st.one_of(st.none(), st.frozensets(st.sampled_from(NODES))))
def test_pulled_in_is_reachability_in_linear_time(edges, asked, inside):
    """The components-based pulled_in (linear: a 20,000-package layer's request list took 40 s with
    the bitsets it replaced, 0.6 s now) gives what reachability defines, cycles and repeats included."""
    requests = [(f"r{index}-{package}", package) for index, package in enumerate(asked)]
    requires = {}
    for a, b in edges:
        requires.setdefault(a, set()).add(b)
    expected = _pullers_by_definition(requests, edges, inside)
    assert pulled_in(requests, requires, inside) == expected
    assert pulled_in(requests, requires, inside, pullers=False) == {request: [] for request in expected}


def test_the_request_list_of_a_20000_package_layer_is_linear_work():
    """A layer of 20,000 packages, each requiring three later ones (a deep closure): 40 s with the
    bitsets pulled_in used (quadratic), 0.6 s now; bounded at 15 s for a loaded machine."""
    import random
    import time

    rng = random.Random(1)
    items = [f"p{i:05d}" for i in range(20_000)]
    requires = {x: {items[j] for j in rng.sample(range(i + 1, len(items)), min(3, len(items) - i - 1))}
                for i, x in enumerate(items)}
    started = time.monotonic()
    request = layer_request(frozenset(items), requires)
    assert time.monotonic() - started < 15
    pulled = set().union(*requires.values())
    assert request == [x for x in items if x not in pulled]  # a DAG: exactly what nothing requires
