"""Weak dependencies: off by default (as Kolla and TCIB install), on with --weak-deps or an
image's ``weak_deps: true``, and then exactly what a real tool's dnf depsolve gave."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from resolver.errors import InputError
from resolver.inputs.image_tree import load_images

from .conftest import BASEOS_2022, ROOT, run_here
from .test_repos import dnf_cli_closure

RECORDED = ROOT / "tests" / "data" / "depsolve" / "osbuild-images-depsolve-weak-deps.json"
needs_dnf = pytest.mark.skipif(shutil.which("dnf") is None, reason="the dnf command line is not installed")


def closure(*args: str) -> set[tuple[str, str, str]]:
    done = run_here("closure", *args, "--repos", str(BASEOS_2022), "--format", "json", "-q")
    assert done.returncode == 0, done.stderr
    return {(p["name"], p["evr"], p["arch"]) for p in json.loads(done.stdout)["closure"]}


def test_weak_deps_give_exactly_the_recorded_depsolve_of_osbuild_images():
    recorded = json.loads(RECORDED.read_text())
    assert recorded["provenance"]["install_weak_deps"] is True
    expected = {(p["name"], f"{p['epoch']}:{p['version']}-{p['release']}" if p["epoch"] else
                 f"{p['version']}-{p['release']}", p["arch"]) for p in recorded["packages"]}
    assert len(expected) == 107
    assert closure(*recorded["provenance"]["request"], "--weak-deps") == expected


@needs_dnf
def test_without_weak_deps_the_closure_is_the_dnf_command_lines_with_them_off(tmp_path):
    names = json.loads(RECORDED.read_text())["provenance"]["request"]
    ours = closure(*names)
    assert ours == dnf_cli_closure(names, BASEOS_2022, tmp_path)
    weak = closure(*names, "--weak-deps")
    assert weak == dnf_cli_closure(names, BASEOS_2022, tmp_path / "weak", weak_deps=True)
    assert ours < weak  # the Recommends are what the default leaves out


def _tree(tmp_path: Path, base_setting: str, child_setting: str = "") -> list[str]:
    images, profiles = tmp_path / "images", tmp_path / "profiles"
    images.mkdir(parents=True)
    profiles.mkdir()
    shutil.copy(ROOT / "profiles" / "defaults.yaml", profiles)
    (images / "tree.yaml").write_text(
        f"- name: base\n  parent: null\n{base_setting}  packages: [{{name: bash, reason: shell}}]\n"
        f"- name: tools\n  parent: base\n  deployed: true\n{child_setting}"
        "  packages: [{name: tmux, reason: terminal multiplexer}, {name: zsh, reason: shell}]\n")
    return ["--images", str(images), "--profiles", str(profiles), "--no-overrides", "--repos", str(BASEOS_2022),
            "--format", "json", "-q"]


def image_closure(options: list[str], *more: str) -> set[str]:
    done = run_here("packages", "tools", *options, *more)
    assert done.returncode == 0, done.stderr
    return {p["name"] for p in json.loads(done.stdout)["closure"]}


def test_an_image_setting_weak_deps_is_what_dnf_install_gives_it_and_below(tmp_path):
    off = image_closure(_tree(tmp_path / "off", ""))
    on_here = image_closure(_tree(tmp_path / "here", "", "  weak_deps: true\n"))
    inherited = image_closure(_tree(tmp_path / "parent", "  weak_deps: true\n"))
    flag = image_closure(_tree(tmp_path / "flag", ""), "--weak-deps")
    assert off < on_here == inherited == flag
    # the image's own word beats the parent's and the flag
    assert image_closure(_tree(tmp_path / "no", "  weak_deps: true\n", "  weak_deps: false\n"), "--weak-deps") == off
    assert {n for n, _, _ in closure("bash", "tmux", "zsh", "--weak-deps")} == on_here


def test_weak_deps_must_be_true_or_false(tmp_path):
    _tree(tmp_path, '  weak_deps: "yes"\n')
    with pytest.raises(InputError, match="'weak_deps'"):
        load_images(tmp_path / "images")


def test_why_names_the_recommends_that_brought_a_weak_dependency(tmp_path):
    options = _tree(tmp_path, "", "  weak_deps: true\n")
    images = Path(options[1])
    (images / "tree.yaml").write_text((images / "tree.yaml").read_text().replace("name: tmux", "name: kernel"))
    done = run_here("why", "tools", "kpartx", *options[:-3], "-q")
    assert done.returncode == 0, done.stderr
    assert "dracut requires Recommends: kpartx -> kpartx" in done.stdout
