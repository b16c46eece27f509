"""Supply chain on a real build of one branch of the demo tree (base, openstack-base, placement-api,
memcached; built once for the module under its own tag prefix, removed afterwards): the SBOM of
every image is valid for the SPDX project's own validator and complete against the image (every
name in its rpm database, every dist-info in its venv); the images pushed to a real registry
(Debian's docker-registry on the loopback), read back with skopeo, each blob sent once."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from resolver.containers.buildah import DBPATH
from resolver.containers.python_target import VENV

from .conftest import run_cli
from .test_sbom import spdx_problems

pytestmark = pytest.mark.skipif(
    not (shutil.which("buildah") and shutil.which("podman") and os.geteuid() == 0),
    reason="real builds need buildah and podman as root (./bootstrap installs them)")

IMAGES = ("memcached", "placement-api")
BUILT = ("base", "memcached", "openstack-base", "placement-api")


@pytest.fixture(scope="module", autouse=True)
def module_cache(session_cache, tmp_path_factory):
    """One cache for the module's builds (the demo repository, the downloads), never the user's."""
    cache = tmp_path_factory.mktemp("supply-chain-cache") / "xdg"
    shutil.copytree(session_cache, cache, copy_function=os.link)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


@pytest.fixture(autouse=True)
def own_cache(module_cache):
    return module_cache


@pytest.fixture(scope="module")
def prefix():
    name = f"localhost/supply-chain-test-{uuid.uuid4().hex[:8]}"
    yield name
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                            text=True).stdout.split()
    mine = [ref for ref in listed if ref.startswith(name + "/")]
    if mine:
        subprocess.run(["podman", "rmi", "-f", *mine], capture_output=True)


@pytest.fixture(scope="module")
def built(prefix, tmp_path_factory):
    """The branch built with --sbom: the build's JSON by image, and the SBOM directory."""
    sboms = tmp_path_factory.mktemp("built") / "sbom"
    done = run_cli("build", *IMAGES, "--tag-prefix", prefix, "--sbom", str(sboms), "--format", "json", timeout=2400)
    assert done.returncode == 0, done.stderr[-3000:]
    return {i["name"]: i for i in json.loads(done.stdout)["images"]}, sboms


def in_image(ref):
    """The names in an image's rpm database and the name==version of every dist-info of its venv."""
    root = Path(subprocess.run(["podman", "image", "mount", ref], capture_output=True, text=True,
                               check=True).stdout.strip())
    try:
        rpms = subprocess.run(["rpm", "--root", str(root), "--dbpath", DBPATH, "-qa", "--qf", "%{NAME}\\n"],
                              capture_output=True, text=True, check=True).stdout.split()
        dists = [entry.name[:-len(".dist-info")].split("-", 1)
                 for entry in (root / VENV.lstrip("/")).glob("lib/python3*/site-packages/*.dist-info")]
    finally:
        subprocess.run(["podman", "image", "unmount", ref], capture_output=True)
    return set(rpms), {f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}" for name, version in dists}


def described(document):
    """The document's RPM names and wheels (name==version) that some layer of the image holds."""
    by_id = {p["SPDXID"]: p for p in document["packages"]}
    contained = {r["spdxElementId"] for r in document["relationships"] if r["relationshipType"] == "CONTAINED_BY"
                 and r["relatedSpdxElement"].startswith("SPDXRef-Layer-")}
    purls = [by_id[i]["externalRefs"][0]["referenceLocator"] for i in contained if "externalRefs" in by_id[i]]
    rpms = {p.split("/")[2].split("@")[0] for p in purls if p.startswith("pkg:rpm/")}
    wheels = {p.removeprefix("pkg:pypi/").replace("@", "==") for p in purls if p.startswith("pkg:pypi/")}
    return rpms, wheels


def test_every_built_image_has_a_valid_spdx_document(built):
    images, sboms = built
    assert sorted(p.name for p in sboms.iterdir()) == [f"{name}.spdx.json" for name in BUILT]
    for name in BUILT:
        assert spdx_problems(sboms / f"{name}.spdx.json") == "", name


def test_the_sbom_names_every_rpm_and_every_dist_info_of_the_image(built):
    images, sboms = built
    for name in BUILT:
        rpms, dists = in_image(images[name]["reference"])
        document = json.loads((sboms / f"{name}.spdx.json").read_text())
        said_rpms, said_wheels = described(document)
        assert rpms == said_rpms, name
        assert dists == said_wheels, name
        assert bool(dists) == (name in ("openstack-base", "placement-api")), name


def test_each_layer_is_named_by_its_digest_and_the_image_by_its_reference(built):
    images, sboms = built
    document = json.loads((sboms / "placement-api.spdx.json").read_text())
    layers = json.loads(subprocess.run(["podman", "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                        images["placement-api"]["reference"]], capture_output=True, text=True,
                                       check=True).stdout)
    by_id = {p["SPDXID"]: p for p in document["packages"]}
    assert [by_id[f"SPDXRef-Layer-{n}"]["versionInfo"] for n in ("base", "openstack-base", "placement-api")] == layers
    (image,) = [r["relatedSpdxElement"] for r in document["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert by_id[image]["versionInfo"] == images["placement-api"]["reference"].rsplit(":", 1)[1]
    # the runtime libraries the build found the venv's compiled wheels need (not in the plan's layer)
    added = {a["package"] for a in images["openstack-base"]["elf_added"]}
    assert added and added <= described(json.loads((sboms / "openstack-base.spdx.json").read_text()))[0]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Debian's docker-registry on the loopback, a free port, its own storage and config; its
    access log (one line per HTTP request) is where the test sees which blobs were sent."""
    if not (shutil.which("docker-registry") and shutil.which("skopeo")):
        pytest.skip("needs docker-registry and skopeo (./bootstrap installs them)")
    place = tmp_path_factory.mktemp("registry")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (place / "config.yml").write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                                      f"    rootdirectory: {place / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    log = (place / "access.log").open("w")
    server = subprocess.Popen(["docker-registry", "serve", str(place / "config.yml")], stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}", place / "access.log"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def uploads(log: Path) -> list[str]:
    """The blob uploads the registry took (PATCH: a blob's bytes sent)."""
    return [line for line in log.read_text().splitlines() if '"PATCH /v2/' in line]


def test_push_sends_each_blob_once_and_the_registry_serves_the_images(built, prefix, registry):
    images, _ = built
    address, log = registry
    done = run_cli("build", *IMAGES, "--tag-prefix", prefix, "--push", f"{address}/openstack", "--no-tls-verify",
                   "--tag", "2025.1", "--format", "json", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    pushed = {p["image"]: p for p in json.loads(done.stdout)["pushed"]}
    assert sorted(pushed) == sorted(BUILT)
    layers = {}
    for name in BUILT:
        key = images[name]["reference"].rsplit(":", 1)[1]
        assert pushed[name]["references"] == [f"{address}/openstack/{name}:{key}", f"{address}/openstack/{name}:2025.1"]
        for reference in pushed[name]["references"]:
            inspected = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{reference}"],
                                                  capture_output=True, text=True, check=True).stdout)
            assert inspected["Digest"] == pushed[name]["digest"]
        config = json.loads(subprocess.run(["skopeo", "inspect", "--config", "--tls-verify=false",
                                            f"docker://{pushed[name]['references'][0]}"],
                                           capture_output=True, text=True, check=True).stdout)
        local = json.loads(subprocess.run(["podman", "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                           images[name]["reference"]], capture_output=True, text=True,
                                          check=True).stdout)
        assert config["rootfs"]["diff_ids"] == local
        layers.update(dict.fromkeys(local))
    # every layer once (a child's parent layers are mounted from the parent's repository), and each
    # image's config: nothing sent twice
    assert len(uploads(log)) == len(layers) + len(BUILT)
    again = run_cli("build", *IMAGES, "--tag-prefix", prefix, "--push", f"{address}/openstack", "--no-tls-verify",
                    "--quiet", timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(uploads(log)) == len(layers) + len(BUILT)


def test_push_to_a_plain_http_registry_without_no_tls_verify_fails_saying_so(built, prefix, registry):
    address, _ = registry
    done = run_cli("build", "memcached", "--tag-prefix", prefix, "--push", f"{address}/openstack", "--quiet",
                   timeout=900)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"pushing {prefix}/base:" in done.stderr


@pytest.fixture(scope="module")
def rebuilt(built, prefix):
    """The same lock built again under another prefix: none of the first build's images reused."""
    other = f"{prefix}-again"
    done = run_cli("build", *IMAGES, "--tag-prefix", other, "--format", "json", timeout=2400)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        yield {i["name"]: i for i in json.loads(done.stdout)["images"]}
    finally:
        listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                                text=True).stdout.split()
        mine = [ref for ref in listed if ref.startswith(other + "/")]
        if mine:
            subprocess.run(["podman", "rmi", "-f", *mine], capture_output=True)


def inspected(reference, field):
    return subprocess.run(["podman", "image", "inspect", "--format", field, reference], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_the_same_lock_built_twice_gives_byte_identical_layers(built, rebuilt):
    images, _ = built
    for name in BUILT:
        assert rebuilt[name]["status"] == "built"
        assert rebuilt[name]["key"] == images[name]["key"]
        assert inspected(rebuilt[name]["reference"], "{{json .RootFS.Layers}}") == \
            inspected(images[name]["reference"], "{{json .RootFS.Layers}}"), name
    # the root image has no FROM naming its prefix: the same image, config and all
    assert inspected(rebuilt["base"]["reference"], "{{.Id}}") == inspected(images["base"]["reference"], "{{.Id}}")


def test_the_rpm_database_and_the_byte_code_hold_no_time_of_the_build(built):
    images, _ = built
    root = Path(subprocess.run(["podman", "image", "mount", images["placement-api"]["reference"]],
                               capture_output=True, text=True, check=True).stdout.strip())
    try:
        times = subprocess.run(["rpm", "--root", str(root), "--dbpath", DBPATH, "-qa", "--qf",
                                "%{INSTALLTIME} %{INSTALLTID}\\n"], capture_output=True, text=True,
                               check=True).stdout.split()
        byte_code = sorted((root / VENV.lstrip("/")).glob("lib/python3*/site-packages/**/*.pyc"))
        flags = {int.from_bytes(path.read_bytes()[4:8], "little") for path in byte_code}
    finally:
        subprocess.run(["podman", "image", "unmount", images["placement-api"]["reference"]], capture_output=True)
    assert len(set(times)) == 1  # every package installed "at" the build's one time
    created = inspected(images["placement-api"]["reference"], "{{.Created.Unix}}")
    assert times[0] == created
    assert byte_code and flags == {1}  # hash-based, unchecked: no source time in any .pyc
