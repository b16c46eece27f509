"""The plan and the lock on the shipped tree and the bundled CS9 metadata."""

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.metadata.repo_config import BUNDLED_REPOS, BUNDLED_REPOS_DIR
from resolver.planning.treeplan import plan_tree
from resolver.resolving.resolution import TreeResolver

from .conftest import BASEOS_2022, ROOT, TINY_TREE, run_here


@pytest.fixture(scope="module")
def computed(bundled_repos):
    resolver = TreeResolver(load_images(ROOT / "images"), load_profiles(ROOT / "profiles"), platform("centos-9"),
                            bundled_repos, strict=False, choose_providers=True)
    return resolver, plan_tree(resolver)


def test_computed_plan_gives_each_deployed_image_exactly_its_set(computed):
    _, result = computed
    plan, needs = result.plan, result.inputs.needs
    for name, needed in needs.items():
        assert plan.images[name].content == needed  # no bloat, nothing missing
    assert plan.bloat == 0 and plan.total_set_size >= plan.lower_bound
    # intermediates are computed: every non-deployed layer is named by its content or kept by images/
    images = load_images(ROOT / "images")
    for name, image in plan.images.items():
        if not image.deployed:
            assert name.startswith("shared-") or images.spec(name).keep
    # identical sets share one layer: nova-conductor and -scheduler get empty ones
    assert needs["nova-conductor"] == needs["nova-scheduler"]
    assert not plan.images["nova-conductor"].layer_packages and not plan.images["nova-scheduler"].layer_packages
    assert plan.images["nova-conductor"].parent == plan.images["nova-scheduler"].parent
    assert result.objective_lower_bound <= plan.objective
    assert result.optimum is None or result.optimum == plan.objective


def test_every_layer_request_installs_exactly_its_layer(computed, bundled_repos):
    """dnf, asked for a layer's request list on its parent's set, gives that layer: no more, no less."""
    _, result = computed
    plan = result.plan
    for name in plan.shape.top_down():
        image = plan.images[name]
        if not image.layer_packages:
            continue
        parent = plan.images[image.parent].content if image.parent else frozenset()
        got = bundled_repos.resolve(result.layer_requests[name], [result.inputs.packages[p] for p in parent])
        assert got.names() == image.content, name


def dnf_command_line(names, tmp_path):
    repos = [f"--repofrompath={r},{BUNDLED_REPOS_DIR / r}" for r in BUNDLED_REPOS]
    done = subprocess.run(
        ["dnf", f"--installroot={tmp_path / 'root'}", "--releasever=9", "--forcearch=x86_64",
         "--setopt=reposdir=/nonexistent", "--setopt=install_weak_deps=False", "--setopt=strict=False",
         f"--setopt=cachedir={tmp_path / 'cache'}", *repos, *(f"--repo={r}" for r in BUNDLED_REPOS),
         "--nogpgcheck", "--assumeno", "install", *names],
        capture_output=True, text=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    table = done.stdout.split("Installing:", 1)[1].split("Transaction Summary", 1)[0]
    table = table.split("Skipping packages with broken dependencies", 1)[0]  # what it would not install
    rows = [line.split() for line in table.splitlines() if line.strip() and not line.startswith(("Installing", "="))]
    # a long name wraps: its row continues on the next line
    tokens = [t for row in rows for t in row]
    return {tokens[i] for i in range(0, len(tokens), 6)}


@pytest.mark.skipif(shutil.which("dnf") is None, reason="the dnf command line is not installed")
@pytest.mark.parametrize("image", ["memcached", "keystone", "nova-compute"])
def test_deployed_set_is_what_the_dnf_command_line_installs(computed, image, tmp_path):
    resolver, _ = computed
    result = resolver.image(image)
    asked = [r.name for r in result.requests]
    assert {p.name for p in result.closure} == dnf_command_line(asked, tmp_path)


@pytest.fixture(scope="module")
def planned():
    """`resolver plan --format json` on the shipped tree (no budget)."""
    done = run_here("plan", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_plan_json_contract_and_lock_round_trip(tmp_path, planned):
    data = planned
    assert {"total_set_size", "lower_bound", "ratio", "bloat", "overhead", "images", "suggestions",
            "objective", "optimum", "tree", "method", "objective_lower_bound"} <= set(data)
    nova = data["images"]["nova-compute"]
    assert {"parent", "layer_request", "layer_packages", "layer_size", "image_size", "deployed", "bloat",
            "overhead"} <= set(nova)
    assert set(nova["layer_request"]) <= set(nova["layer_packages"])

    lock = tmp_path / "resolver.lock"
    assert run_here("lock", "--lock", str(lock)).returncode == 0
    locked = json.loads(lock.read_text())
    assert locked["tree"] == "computed" and locked["budget"] == "none"
    layer = locked["images"]["nova-compute"]["packages"]
    assert {p["name"] for p in layer} == set(nova["layer_packages"])
    assert all(p["checksum"].startswith("sha256:") for p in layer)
    assert run_here("plan", "--verify-lock", "--lock", str(lock)).returncode == 0
    declared = run_here("plan", "--verify-lock", "--lock", str(lock), "--tree", "declared")
    assert declared.returncode == 2 and "tree: computed -> declared" in declared.stderr

    # a lock whose sets the metadata no longer gives: say what changed
    layer[0]["evr"] = "0:0.1-1.el9"
    lock.write_text(json.dumps(locked))
    stale = run_here("plan", "--verify-lock", "--lock", str(lock))
    assert stale.returncode == 2
    assert f"nova-compute: {layer[0]['name']} 0:0.1-1.el9" in stale.stderr and "resolver lock" in stale.stderr

    # a truncated lock
    lock.write_text(lock.read_text()[:500])
    truncated = run_here("plan", "--verify-lock", "--lock", str(lock))
    assert truncated.returncode == 2 and "truncated" in truncated.stderr and "Traceback" not in truncated.stderr


def test_declared_tree_and_the_computed_one_beside_it():
    done = run_here("plan", "--tree", "declared", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["tree"] == "declared" and data["images"]["nova-compute"]["parent"] == "nova-base"
    assert data["bloat"] == 0
    # the declared tree is dearer; the suggestion says by how much the computed one saves
    (suggestion,) = data["suggestions"]
    assert suggestion["kind"] == "computed-tree"
    assert suggestion["saves"] == data["objective"] - data["computed_objective"] > 0


def test_bloat_budget_is_solved_and_kept(planned):
    done = run_here("plan", "--max-bloat", "40", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert 0 < data["bloat"] <= 40_000_000 and data["solver"]["proven"]
    assert data["objective"] < planned["objective"]
    per_image = json.loads(run_here("plan", "--max-image-bloat", "5", "--format", "json").stdout)
    assert all(image["bloat"] <= 5_000_000 for image in per_image["images"].values())


def _write_half_then_fill_the_disk(directory, monkeypatch):
    """``os.write`` into a file of ``directory`` writes half its buffer, then fails: disk full."""
    real_write = os.write

    def write(descriptor, data):
        if os.readlink(f"/proc/self/fd/{descriptor}").startswith(f"{directory}/"):
            real_write(descriptor, bytes(data[:len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", write)


def _stop_at_the_rename(lock, failure, monkeypatch):
    """``os.replace`` onto ``lock`` raises ``failure`` once the whole new lock sits beside it."""
    real_replace = os.replace

    def replace(source, target, **kwargs):
        if Path(target) == lock:
            assert json.loads(Path(source).read_text())["images"], "the new lock, whole, under its temporary name"
            raise failure
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("fault, code, said", [
    ("disk-full-midway", 2, "cannot write (No space left on device)"),
    ("rename-fails", 2, "cannot write (Input/output error)"),
    ("interrupted-before-rename", 130, "resolver: interrupted"),
])
def test_lock_is_written_atomically(tmp_path, monkeypatch, fault, code, said):
    """A lock write that fails or is interrupted midway leaves the previous lock as it was and no
    temporary file; the same write without the fault replaces it."""
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "tree.yaml").write_text(TINY_TREE)
    options = ["--images", str(tmp_path / "images"), "--repos", str(BASEOS_2022), "--no-overrides", "--quiet"]
    out = tmp_path / "out"
    out.mkdir()
    lock = out / "resolver.lock"
    lock.write_text("previous lock")
    with monkeypatch.context() as patch:
        if fault == "disk-full-midway":
            _write_half_then_fill_the_disk(out, patch)
        else:
            _stop_at_the_rename(lock, KeyboardInterrupt() if fault.startswith("interrupted")
                                else OSError(errno.EIO, os.strerror(errno.EIO)), patch)
        failed = run_here("lock", "--lock", str(lock), *options)
    assert failed.returncode == code and said in failed.stderr, failed.stderr
    assert lock.read_text() == "previous lock"
    assert [p.name for p in out.iterdir()] == ["resolver.lock"]  # no temporary left behind
    done = run_here("lock", "--lock", str(lock), *options)
    assert done.returncode == 0, done.stderr
    assert "shell" in json.loads(lock.read_text())["images"]
    assert [p.name for p in out.iterdir()] == ["resolver.lock"]
