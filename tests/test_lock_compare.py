"""`plan --verify-lock` on a lock that no longer matches: every kind of change `resolver.lock.compare`
names, each provoked by editing a real lock of a two-image tree on BaseOS 2022 (in-process CLI)."""

import copy
import json

import pytest

from .conftest import BASEOS_2022, TINY_TREE_MISSING, run_here


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """Options of the tree (its shell image has one request no repository has) and its lock."""
    place = tmp_path_factory.mktemp("lock-compare")
    (place / "images").mkdir()
    (place / "images" / "tree.yaml").write_text(TINY_TREE_MISSING)
    options = ["--images", str(place / "images"), "--repos", str(BASEOS_2022), "--best-effort", "--no-overrides",
               "--quiet"]
    done = run_here("lock", "--lock", str(place / "resolver.lock"), *options)
    assert done.returncode == 0, done.stderr
    return options, json.loads((place / "resolver.lock").read_text())


def verify(tmp_path, options, data):
    lock = tmp_path / "resolver.lock"
    lock.write_text(json.dumps(data))
    done = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.rstrip().endswith("run `resolver lock` to lock the new sets"), done.stderr
    return [line.strip() for line in done.stderr.splitlines()[1:-1]]


def test_the_unchanged_lock_verifies(tmp_path, locked):
    options, data = locked
    (tmp_path / "resolver.lock").write_text(json.dumps(data))
    done = run_here("plan", "--verify-lock", "--lock", str(tmp_path / "resolver.lock"), *options)
    assert done.returncode == 0, done.stderr


def test_each_change_of_repositories_overrides_requests_and_packages_is_named(tmp_path, locked):
    options, data = locked
    data = copy.deepcopy(data)
    (shell,) = data["images"].values()
    repo = data["repos"][0]
    repo["id"] = "an-old-repo"
    data["overrides"]["files"] = [{"path": "overrides/site.yaml", "sha256": "0" * 64}]
    shell["unresolved"] = [{**shell["unresolved"][0], "name": "bash"}]  # bash did not resolve then
    removed, changed = shell["packages"][0], shell["packages"][1]
    del shell["packages"][0]
    changed["checksum"] = "sha256:" + "0" * 64  # same version, another file
    shell["packages"].append({**changed, "name": "ghost-package"})
    by_package = {removed["name"]: f"shell: {removed['name']} added", "ghost-package": "shell: ghost-package removed",
                  changed["name"]: f"shell: {changed['name']} {changed['evr']}.{changed['arch']} -> "
                                   f"{changed['evr']}.{changed['arch']}"}
    assert verify(tmp_path, options, data) == [
        f"repository an-old-repo: metadata changed (repomd {repo['repomd_sha256'][:12]} -> "
        f"{repo['repomd_sha256'][:12]})",
        "the repository set changed",
        "site overrides changed: overrides/site.yaml -> none (or their content)",
        "shell: bash now resolves",
        "shell: no-such-package no longer resolves",
        *(by_package[name] for name in sorted(by_package)),
    ]


def test_images_added_and_removed_are_named(tmp_path, locked):
    options, data = locked
    data = copy.deepcopy(data)
    (name,) = data["images"]
    data["images"]["retired"] = data["images"].pop(name)
    assert verify(tmp_path, options, data) == ["image retired removed", f"image {name} added"]


def test_a_long_list_of_changes_is_cut_at_twenty_with_the_count_of_the_rest(tmp_path, locked):
    options, data = locked
    data = copy.deepcopy(data)
    (shell,) = data["images"].values()
    shell["packages"] += [{**shell["packages"][0], "name": f"ghost-{n:02}"} for n in range(25)]
    said = verify(tmp_path, options, data)
    assert said[:20] == [f"shell: ghost-{n:02} removed" for n in range(20)] and said[20:] == ["... and 5 more"]


@pytest.mark.parametrize("edit, said", [
    (None, "cannot read lock file (No such file or directory)"),
    (lambda data: {**data, "lock_version": 1}, "lock version 1 is not 2; run `resolver lock`"),
    (lambda data: {key: value for key, value in data.items() if key != "platform"},
     "not a lock file written by `resolver lock` (missing or bad 'platform')"),
])
def test_a_lock_that_cannot_be_read_says_why(tmp_path, locked, edit, said):
    options, data = locked
    lock = tmp_path / "resolver.lock"
    if edit:
        lock.write_text(json.dumps(edit(data)))
    done = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    assert done.returncode == 2 and f"resolver: error: {lock}: {said}" in done.stderr, done.stderr
