"""Errata rebuild plans (issue 23, item 3): `resolver update` on a copy of BaseOS 2022 where a
security erratum arrives as createrepo_c would publish it (one package's release bumped, its
checksum new, repomd.xml rewritten): only the images holding it rebuild, and each deployed image
pulls the planned bytes of the rebuilt layers of its chain (in-process CLI)."""

import json

import pytest

from .conftest import BASEOS_2022, TINY_TREE, run_here
from .repodata import copy_repo, publish_release

#: the conftest's two-image tree with a second deployed image beside shell
TREE = TINY_TREE + """\
- name: tools
  parent: base
  deployed: true
  packages:
    - {name: tar, reason: archives}
"""
OPTIONS = ["--images", "images", "--no-overrides", "--quiet"]


@pytest.fixture
def site(tmp_path):
    """A site locked on its own copy of BaseOS 2022 (the lock names it repos/baseos)."""
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "tree.yaml").write_text(TREE)
    copy_repo(BASEOS_2022, tmp_path / "repos" / "baseos")
    (tmp_path / "roles.yaml").write_text("compute: [shell, tools]\nstorage: [tools]\n")
    done = run_here("lock", *OPTIONS, "--repos", "repos/baseos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def update(site, *args):
    done = run_here("update", *OPTIONS, "--lock", "resolver.lock", "--format", "json", *args, cwd=site)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def planned(site):
    done = run_here("plan", *OPTIONS, "--repos", "repos/baseos", "--format", "json", cwd=site)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["images"]


def test_an_erratum_rebuilds_only_the_images_holding_it(site):
    assert update(site, "--roles", "roles.yaml")["rebuild"] == []
    locked = json.loads((site / "resolver.lock").read_text())
    (sudo,) = [p for p in locked["images"]["shell"]["packages"] if p["name"] == "sudo"]
    release = sudo["evr"].rsplit("-", 1)[1]
    publish_release(site / "repos" / "baseos", "sudo", release, release + "_0.1")
    plan = update(site, "--roles", "roles.yaml")
    version = sudo["evr"].rsplit("-", 1)[0]
    assert plan["changes"] == [{"image": "shell", "kind": "rpm", "name": "sudo",
                                "old": f"sudo-{version}-{release}.x86_64",
                                "new": f"sudo-{version}-{release}_0.1.x86_64"}]
    assert plan["changed_layers"] == ["shell"] and plan["rebuild"] == ["shell"]
    shell = planned(site)["shell"]
    assert plan["pull_bytes"] == {"shell": shell["layer_size"] + shell["overhead"], "tools": 0}
    assert plan["roles"] == {"compute": {"images": ["shell", "tools"], "pull_bytes": plan["pull_bytes"]["shell"]},
                             "storage": {"images": ["tools"], "pull_bytes": 0}}
    assert json.loads((site / "resolver.lock").read_text()) == locked  # without --write, the lock stays
    assert update(site, "--write")["written"] is True
    assert update(site)["rebuild"] == []
    assert run_here("plan", *OPTIONS, "--repos", "repos/baseos", "--verify-lock", cwd=site).returncode == 0


def test_an_erratum_in_the_shared_layer_rebuilds_every_image_below_it(site):
    locked = json.loads((site / "resolver.lock").read_text())
    (root,) = [name for name, image in locked["images"].items() if image["parent"] is None]
    (bash,) = [p for p in locked["images"][root]["packages"] if p["name"] == "bash"]
    release = bash["evr"].rsplit("-", 1)[1]
    publish_release(site / "repos" / "baseos", "bash", release, release + "_0.1")
    plan = update(site, "--roles", "roles.yaml")
    assert [c["name"] for c in plan["changes"]] == ["bash"]
    assert plan["changed_layers"] == [root] and plan["rebuild"] == [root, "shell", "tools"]
    images = planned(site)

    def layer(name):
        return images[name]["layer_size"] + images[name]["overhead"]

    assert plan["pull_bytes"] == {"shell": layer(root) + layer("shell"), "tools": layer(root) + layer("tools")}
    # a node of both images pulls the shared layer once
    assert plan["roles"]["compute"]["pull_bytes"] == layer(root) + layer("shell") + layer("tools")


def test_a_role_naming_an_image_the_plan_lacks_is_refused_with_its_line(site):
    (site / "roles.yaml").write_text("compute: [shell]\nnetwork: [ovn-controller]\n")
    done = run_here("update", *OPTIONS, "--lock", "resolver.lock", "--roles", "roles.yaml", cwd=site)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "roles.yaml:2: role 'network': 'ovn-controller' is not an image of the plan" in done.stderr


def test_a_lock_naming_a_repository_by_a_directory_s_name_asks_for_repos(site, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    done = run_here("lock", *OPTIONS, "--repos", "repos/baseos", "--lock", str(elsewhere / "resolver.lock"),
                    cwd=site)
    assert done.returncode == 0, done.stderr
    done = run_here("update", *OPTIONS, "--lock", str(elsewhere / "resolver.lock"), cwd=site)
    assert done.returncode == 2 and "repository baseos is named 'baseos'" in done.stderr
    assert "--repos DIR" in done.stderr
    done = run_here("update", *OPTIONS, "--lock", str(elsewhere / "resolver.lock"), "--repos", "repos/baseos",
                    cwd=site)
    assert done.returncode == 0, done.stderr
