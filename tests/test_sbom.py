"""SBOMs without a build (issue 23, item 1): `resolver sbom --output DIR` on a two-image tree on
BaseOS 2022 (in-process CLI), and the document's shape for a builder stage; every document is
checked with the SPDX project's own validator (spdx-tools' pyspdxtools)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from resolver.lock import Lock, LockedLayer
from resolver.metadata.closure import PackageInfo
from resolver.sbom import LayerContents, chain_contents, image_sbom, rpm_purl

from .conftest import BASEOS_2022, TINY_TREE, run_here


def spdx_problems(path: Path) -> str:
    """What the SPDX project's validator says (nothing: valid; it exits 0 either way)."""
    tool = shutil.which("pyspdxtools", path=str(Path(sys.executable).parent)) or shutil.which("pyspdxtools")
    assert tool, "pyspdxtools (spdx-tools, the test extra) is not installed"
    done = subprocess.run([tool, "-i", str(path)], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip() + ("" if done.returncode == 0 else f" (exit {done.returncode})")


def rpm(name, evr="1.0-1.el9", checksum="sha256:" + "ab" * 32):
    return PackageInfo(name, evr, "x86_64", "baseos", 100, checksum, "")


def test_sbom_writes_a_valid_document_per_image_with_the_locked_packages(tmp_path, monkeypatch):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "tree.yaml").write_text(TINY_TREE)
    options = ["--images", str(tmp_path / "images"), "--repos", str(BASEOS_2022), "--no-overrides", "--quiet"]
    done = run_here("sbom", "--output", str(tmp_path / "sbom"), *options, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert run_here("lock", "--lock", str(tmp_path / "resolver.lock"), *options, cwd=tmp_path).returncode == 0
    locked = json.loads((tmp_path / "resolver.lock").read_text())["images"]
    # the computed tree of one deployed image is that image alone: one document, one layer
    assert sorted(p.name for p in (tmp_path / "sbom").iterdir()) == [f"{name}.spdx.json" for name in sorted(locked)]
    assert json.loads(done.stdout)["written"] == [str(tmp_path / "sbom" / f"{name}.spdx.json") for name in locked]
    for name in locked:
        assert spdx_problems(tmp_path / "sbom" / f"{name}.spdx.json") == ""
        document = json.loads((tmp_path / "sbom" / f"{name}.spdx.json").read_text())
        assert document["spdxVersion"] == "SPDX-2.3"
        packages = {p["SPDXID"]: p for p in document["packages"]}
        in_layer = {(r["spdxElementId"], r["relatedSpdxElement"]) for r in document["relationships"]
                    if r["relationshipType"] == "CONTAINED_BY"}
        chain = [name]
        while locked[chain[0]]["parent"]:
            chain.insert(0, locked[chain[0]]["parent"])
        for layer in chain:
            for package in locked[layer]["packages"]:
                (spdx_id,) = [i for i, p in packages.items() if p["name"] == package["name"] and "RPM" in i]
                assert (spdx_id, f"SPDXRef-Layer-{layer}") in in_layer
                assert packages[spdx_id]["checksums"] == [{"algorithm": "SHA256",
                                                           "checksumValue": package["checksum"][7:]}]
                assert packages[spdx_id]["externalRefs"][0]["referenceLocator"] == (
                    f"pkg:rpm/centos/{package['name']}@{package['evr'].replace(':', '%3A')}"
                    f"?arch={package['arch']}&repository_id={package['repo']}")
        assert len([i for i in packages if i.startswith("SPDXRef-RPM-")]) == sum(
            len(locked[layer]["packages"]) for layer in chain)
    # the same inputs and SOURCE_DATE_EPOCH: the same bytes
    again = tmp_path / "again"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for output in (tmp_path / "sbom", again):
        done = run_here("sbom", "--output", str(output), *options, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (again / "shell.spdx.json").read_text() == (tmp_path / "sbom" / "shell.spdx.json").read_text()
    assert '"created": "2023-11-14T22:13:20Z"' in (again / "shell.spdx.json").read_text()


def test_a_builder_stage_s_packages_are_build_dependencies_of_the_layer_it_built(tmp_path):
    wheel = {"name": "bcrypt", "version": "4.0.1", "filename": "bcrypt-4.0.1.tar.gz", "sha256": "cd" * 32}
    pip = {"name": "pip", "version": "26.3", "filename": "pip-26.3-py3-none-any.whl", "sha256": "ef" * 32}
    lock = Lock("centos-9", "computed", "none", (), {
        "base": LockedLayer("base", None, False, (rpm("bash"), rpm("glibc", "2:2.34-1.el9"))),
        "api": LockedLayer("api", "base", True, (rpm("python3"),))},
        python={"images": {"api": [wheel]}})
    layers = chain_contents(lock, "api", {"api": ((rpm("gcc"), rpm("python3-devel")), (wheel, pip))},
                            {"base": "sha256:" + "01" * 32, "api": "sha256:" + "02" * 32})
    assert [layer.image for layer in layers] == ["base", "api"]
    document = image_sbom("api", layers, "centos-9", "2026-01-01T00:00:00Z", "localhost/resolver/api:0123456789abcdef")
    (tmp_path / "api.spdx.json").write_text(json.dumps(document))
    assert spdx_problems(tmp_path / "api.spdx.json") == ""
    names = {"SPDXRef-DOCUMENT": "document", **{p["SPDXID"]: p["name"] for p in document["packages"]}}
    said = {(names[r["spdxElementId"]], r["relationshipType"], names[r["relatedSpdxElement"]])
            for r in document["relationships"]}
    assert said == {("document", "DESCRIBES", "api")} | {(n, "CONTAINED_BY", "api") for n in ("base", "api")} | {
        ("bash", "CONTAINED_BY", "base"), ("glibc", "CONTAINED_BY", "base"), ("python3", "CONTAINED_BY", "api"),
        ("bcrypt", "CONTAINED_BY", "api"), ("gcc", "BUILD_DEPENDENCY_OF", "api"),
        ("python3-devel", "BUILD_DEPENDENCY_OF", "api"), ("bcrypt", "BUILD_DEPENDENCY_OF", "api"),
        ("pip", "BUILD_DEPENDENCY_OF", "api")}
    layer = next(p for p in document["packages"] if p["SPDXID"] == "SPDXRef-Layer-api")
    assert layer["checksums"] == [{"algorithm": "SHA256", "checksumValue": "02" * 32}]
    assert rpm_purl(rpm("glibc", "2:2.34-1.el9"), "centos") == \
        "pkg:rpm/centos/glibc@2%3A2.34-1.el9?arch=x86_64&repository_id=baseos"
    assert isinstance(layers[0], LayerContents)
