"""`resolver why` for packages an image does not hold: kept to the builder stage, an upstream line
that does not apply on the target, a name nothing asks for; on the shipped tree and bundled metadata."""

import pytest

from resolver.errors import InputError
from resolver.resolving.why import explain


def test_a_build_only_package_is_said_to_be_in_the_builder_stage_only(tree_resolver):
    keystone = tree_resolver.image("keystone")
    build = next(r for r in keystone.build_only if keystone.package(r.name) is None)
    why = explain(tree_resolver, "keystone", build.name)
    assert why.status == "build-only" and why.request == build.name and why.origin == build.origin
    assert why.text[0] == f"{build.name} is not in keystone: build-only, installed in its builder stage only"
    data = why.to_json()
    assert data["status"] == "build-only" and data["origin"]["file"] and data["origin"]["line"] > 0


def test_an_upstream_line_for_other_platforms_is_not_on_target(tree_resolver):
    keystone = tree_resolver.image("keystone")
    asked = {r.name for r in keystone.build_only} | {e.name for e in keystone.excluded}
    line = next(f for f in keystone.lines if f.fate == "excluded" and f.name not in asked
                and keystone.package(f.name) is None)
    why = explain(tree_resolver, "keystone", line.name)
    assert why.status == "not-on-target" and why.problem == line.reason and "not for centos-9" in line.reason
    origin = why.to_json()["origin"]
    # the origin points at the upstream bindep line that names the package
    with open(origin["file"], encoding="utf-8") as upstream:
        assert line.name in upstream.read().splitlines()[origin["line"] - 1]


def test_a_name_nothing_asks_for_is_an_input_error_pointing_at_packages(tree_resolver):
    with pytest.raises(InputError, match=r"resolver packages keystone"):
        explain(tree_resolver, "keystone", "no-such-package-anywhere")


def test_an_inherited_package_names_its_layer_and_a_chain_of_requires_to_it(tree_resolver):
    why = explain(tree_resolver, "keystone", "bash")
    assert why.status == "inherited" and why.inherited_through[0] == "keystone"
    assert why.inherited_through[-1] == why.layer == tree_resolver.tree.ancestors("keystone")[0]
    assert tree_resolver.image(why.layer).parent is None  # the root image's layer holds the shell
    # the chain starts at the package answering the request and ends at bash, each edge a Requires
    path = [why.provided_by, *(step.provider for step in why.chain)]
    assert path[-1] == "bash" and [step.package for step in why.chain] == path[:-1]
    assert [s["provider"] for s in why.to_json()["chain"]] == [s.provider for s in why.chain]
    assert f"bash is inherited from the parent image {why.layer}" in why.text


def test_a_dropped_package_names_the_rule_that_dropped_it(tree_resolver):
    keystone = tree_resolver.image("keystone")
    dropped = next(e for e in keystone.excluded if keystone.package(e.name) is None)
    why = explain(tree_resolver, "keystone", dropped.name)
    assert why.status == "excluded" and why.origin == dropped.origin
    assert why.text == (f"{dropped.name} is not in keystone: excluded by {dropped.origin.detail}: {dropped.reason}",)
