"""A portable lock (issue 23, item 5): `resolver lock` writes no path of the machine it runs on.
Two checkouts of the same tree and repository copy in two places give byte-identical locks; a
repository under the lock's directory is named by its relative path, any other local one (the
bundled ones) by its directory name, each with its id and repomd digest (in-process CLI)."""

import json
import re

from .conftest import BASEOS_2022, TINY_TREE_MISSING, run_here
from .repodata import copy_repo


def checkout(place):
    """A site: the tree, a copy of BaseOS 2022 under repos/, the lock written beside them."""
    (place / "images").mkdir(parents=True)
    (place / "images" / "tree.yaml").write_text(TINY_TREE_MISSING)
    copy_repo(BASEOS_2022, place / "repos" / "baseos")
    done = run_here("lock", "--lock", str(place / "resolver.lock"), "--images", str(place / "images"),
                    "--repos", str(place / "repos" / "baseos"), "--repos", str(BASEOS_2022), "--best-effort",
                    "--no-overrides", "--quiet", cwd=place.parent)
    assert done.returncode == 0, done.stderr
    return (place / "resolver.lock").read_text()


def test_the_same_site_in_two_places_gives_the_same_lock_with_no_path_of_the_machine(tmp_path):
    first, second = checkout(tmp_path / "a" / "site"), checkout(tmp_path / "elsewhere" / "b" / "deeper")
    assert first == second
    assert not re.findall(r'"/[^"]*"|/(?:tmp|work|root|home)/', first)
    repos = json.loads(first)["repos"]
    digest = repos[0]["repomd_sha256"]
    assert re.fullmatch("[0-9a-f]{64}", digest)
    assert repos == [{"id": "baseos", "path": "repos/baseos", "repomd_sha256": digest},
                     {"id": BASEOS_2022.name, "name": BASEOS_2022.name, "repomd_sha256": digest}]
    (shell,) = [layer for layer in json.loads(first)["images"].values() if layer["unresolved"]]
    assert shell["unresolved"][0]["origin"].startswith("images/tree.yaml:4: ")


def test_a_file_outside_the_lock_the_current_directory_and_the_checkout_is_named_by_its_name(tmp_path):
    from resolver.lock import portable_paths

    origin = "/srv/site/images/nova.yaml:36: [5] (nova-libvirt): reads /etc/libvirt/qemu.conf, see a/b:2"
    assert portable_paths({"origin": origin, "also": [str(tmp_path / "images" / "x.yaml")]}, (tmp_path,)) == {
        "origin": "nova.yaml:36: [5] (nova-libvirt): reads /etc/libvirt/qemu.conf, see a/b:2",
        "also": ["images/x.yaml"]}
