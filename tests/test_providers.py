"""Choosing between alternative providers (coreutils or coreutils-single...) on real metadata."""

import json
import shutil

import pytest

from resolver.config import load_images, load_profiles
from resolver.errors import InputError
from resolver.plan import plan_layers
from resolver.platforms import platform
from resolver.resolution import TreeResolver, plan_inputs, resolve_tree

from .conftest import ROOT, run_cli


def test_substitution_replaces_the_provider_only_where_it_would_be_installed(bundled_repos):
    plain = bundled_repos.resolve(["sudo", "procps-ng"])
    assert "coreutils" in plain.names() and "coreutils-single" not in plain.names()
    chosen = bundled_repos.resolve(["sudo", "procps-ng"], substitutions=[("coreutils", "coreutils-single")])
    assert "coreutils-single" in chosen.names() and "coreutils" not in chosen.names()
    assert chosen.substituted == (("coreutils", "coreutils-single"),)
    untouched = bundled_repos.resolve(["lsscsi"], substitutions=[("coreutils", "coreutils-single")])
    assert "coreutils-single" not in untouched.names() and untouched.substituted == ()


def test_automatic_choice_keeps_what_shrinks_the_tree(bundled_repos):
    tree, profiles = load_images(ROOT / "images"), load_profiles(ROOT / "profiles")

    def make(providers):
        return TreeResolver(tree, profiles, platform("centos-9"), bundled_repos, False, None, None, providers)

    without = plan_inputs(make(None))
    resolver, inputs, choices = resolve_tree(make)
    chosen = {(c.instead_of, c.use): c for c in choices}
    assert ("coreutils", "coreutils-single") in chosen
    before = plan_layers(without.shape, without.needs, without.sizes).total_set_size
    after = plan_layers(inputs.shape, inputs.needs, inputs.sizes).total_set_size
    assert after < before and before - after == sum(c.saves for c in choices)
    base = resolver.image("base")
    assert "coreutils-single" in {p.name for p in base.closure}
    origin = next(r.origin for r in base.requests if r.name == "coreutils-single")
    assert "installed instead of coreutils" in str(origin)


def _profiles_with_pin(tmp_path, instead_of, use):
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    defaults = tmp_path / "profiles" / "defaults.yaml"
    defaults.chmod(0o644)
    defaults.write_text(defaults.read_text()
                        + f"providers:\n  - {{instead_of: {instead_of}, use: {use}, reason: smaller}}\n")
    return tmp_path / "profiles"


def test_a_pin_is_applied_with_its_reason(tmp_path):
    profiles = _profiles_with_pin(tmp_path, "coreutils", "coreutils-single")
    done = run_cli("packages", "base", "--profiles", str(profiles), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    requests = {r["name"]: r["origin"] for r in data["requests"]}
    assert "installed instead of coreutils: smaller" in requests["coreutils-single"]
    assert "coreutils" not in {p["name"] for p in data["closure"]}


def test_a_pin_never_overrides_an_explicit_request(tmp_path):
    # os-brick's bindep asks for curl itself (kept here: the shipped profile drops it for lack of
    # evidence): curl-minimal may not replace it
    profiles = _profiles_with_pin(tmp_path, "curl", "curl-minimal")
    brick = profiles / "os-brick.yaml"
    brick.write_text(brick.read_text().replace("  - name: curl\n", "  - name: curl-never-requested\n"))
    done = run_cli("packages", "nova-compute", "--profiles", str(profiles), "--format", "json")
    names = {p["name"] for p in json.loads(done.stdout)["closure"]}
    assert "curl" in names and "curl-minimal" not in names


def test_a_pin_naming_a_missing_package_is_an_error(tmp_path, bundled_repos):
    profiles = load_profiles(_profiles_with_pin(tmp_path, "curl", "curl-minimall"))
    with pytest.raises(InputError, match=r"providers\[0\]: no package 'curl-minimall'"):
        TreeResolver(load_images(ROOT / "images"), profiles, platform("centos-9"), bundled_repos, False)
