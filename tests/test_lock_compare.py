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
                  changed["name"]: f"shell: {changed['name']}-{changed['evr']}.{changed['arch']} checksum "
                                   f"sha256:{'0' * 64} -> {locked[1]['images']['shell']['packages'][1]['checksum']} "
                                   "(the same version, another file)"}
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


def test_an_edited_tree_and_changed_sizes_are_named(tmp_path, locked):
    """The tree a lock records (each layer's parent, which layers are deployed) and each package's
    size are part of what it locks (they passed unchecked before)."""
    options, data = locked
    data = copy.deepcopy(data)
    shell = data["images"]["shell"]
    data["images"]["base"] = {"parent": None, "deployed": False, "packages": [], "unresolved": []}
    shell["parent"], shell["deployed"] = "base", False
    package = shell["packages"][0]
    nevra = f"{package['name']}-{package['evr']}.{package['arch']}"
    fresh_size = package["installsize"]
    package["installsize"] += 1
    assert verify(tmp_path, options, data) == [
        "image base removed", "shell: parent base -> none", "shell: now deployed",
        f"shell: {nevra} size {fresh_size + 1} -> {fresh_size} bytes"]


def test_a_verified_lock_says_so_in_one_line(tmp_path, locked):
    options, data = locked
    lock = tmp_path / "resolver.lock"
    lock.write_text(json.dumps(data))
    done = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    packages = sum(len(layer["packages"]) for layer in data["images"].values())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{lock} matches the plan: 1 images, {packages} locked packages"
    done = run_here("plan", "--verify-lock", "--lock", str(lock), *options, "--format", "json")
    assert json.loads(done.stdout)["verified_lock"] == str(lock)


def _package_edit(key, value):
    def edit(data):
        data["images"]["shell"]["packages"][0][key] = value
        return data
    return edit


def _image_edit(key, value):
    def edit(data):
        data["images"]["shell"][key] = value
        return data
    return edit


WHERE = "images.shell.packages[0]"


@pytest.mark.parametrize("edit, said", [
    (_package_edit("installsize", -1), f"{WHERE}.installsize: -1 is not a package's size in bytes (0 to 1099511627776"),
    (_package_edit("installsize", 10 ** 30), f"{WHERE}.installsize: {10 ** 30} is not a package's size in bytes"),
    (_package_edit("installsize", 1.5), f"{WHERE}.installsize: a number with a fraction, not a whole number"),
    (_package_edit("installsize", "12"), f"{WHERE}.installsize: a string, not a whole number"),
    (_package_edit("installsize", True), f"{WHERE}.installsize: true or false, not a whole number"),
    (_package_edit("evr", ["1"]), f"{WHERE}.evr: a list, not a string"),
    (_package_edit("name", "bash\x1b[2J"), '"bash\\u001b[2J" holds a control character'),
    (_package_edit("name", "bash;rm"), f"{WHERE}.name/evr/arch: "),
    (_package_edit("checksum", "sha256:XYZ"), f"{WHERE}.checksum: sha256:XYZ is not a checksum (TYPE:HEX)"),
    (_image_edit("deployed", "yes"), "images.shell.deployed: a string, not true or false"),
    (_image_edit("packages", 5), "images.shell.packages: a whole number, not a list"),
    (_image_edit("parent", "nowhere"), "images.shell.parent: nowhere is not an image of the lock"),
    (_image_edit("parent", "shell"), "images.shell.parent: the parents form a cycle through shell"),
    (_image_edit("unresolved", [{"name": 5}]), "images.shell.unresolved[0].name: a whole number, not a string"),
    (lambda data: {**data, "images": {"Shell/..": data["images"]["shell"]}}, 'images.Shell/..: Shell/.. is not an '
                                                                             "image name"),
    (lambda data: {**data, "overrides": {"files": [{"path": 1}]}}, "overrides.files[0].path: a whole number"),
    (lambda data: {**data, "python": {"images": {"shell": 3}}}, "python.images.shell: a whole number, not a list"),
    (lambda data: {**data, "repos": ["x"]}, "repos[0]: a string, not an object"),
    (lambda data: {**data, "lock_version": "2"}, 'lock version "2" is not 2'),
    (lambda data: [data], "the file: a list, not an object"),
])
def test_a_wrongly_typed_or_absurd_lock_is_refused_naming_the_field(tmp_path, locked, edit, said):
    """Every field's type and range is checked (sizes: whole numbers from 0 to 1 TiB); the error
    names the file and the field, exit 2 (a wrong type was exit 70, a negative size passed)."""
    options, data = locked
    lock = tmp_path / "resolver.lock"
    lock.write_text(json.dumps(edit(copy.deepcopy(data))))
    done = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    assert done.returncode == 2 and f"resolver: error: {lock}: {said}" in done.stderr, done.stderr
    assert "\x1b" not in done.stderr


@pytest.mark.parametrize("content, said", [
    (b'{"lock_version": 2, "platform": "centos-9\xff"}', ":1: not UTF-8 text (byte 0xff)"),
    (b"[" * 100_000, "not a lock file written by `resolver lock` (nested too deep)"),
    (b'{"lock_version": ' + b"9" * 5000 + b"}", "not a lock file written by `resolver lock` (Exceeds the limit"),
    (b"fifo", "not a regular file; give a lock file"),
    (b"huge", "larger than 128 MiB; not a lock file this tool reads"),
])
def test_a_lock_that_is_no_json_text_is_refused_without_reading_it_whole(tmp_path, locked, content, said):
    """Non-UTF-8, nesting Python's parser recurses on, a number of thousands of digits (exit 70
    before), a FIFO (read_text blocked on it for ever) and a sparse 1 GiB file (read whole
    before): refused, naming the file."""
    import os

    options, _ = locked
    lock = tmp_path / "resolver.lock"
    if content == b"fifo":
        os.mkfifo(lock)
    elif content == b"huge":
        with open(lock, "wb") as sparse:
            sparse.truncate(1 << 30)
    else:
        lock.write_bytes(content)
    done = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    assert done.returncode == 2 and f"resolver: error: {lock}" in done.stderr and said in done.stderr, done.stderr
