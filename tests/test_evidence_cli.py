"""`resolver evidence` and `resolver audit --evidence` in process, on a two-image tree whose deployed
image runs os-brick's iSCSI code (the pinned os-brick==6.11.1 sdist, read from PyPI once per
session cache) and names an entry point no package provides."""

import json
import re
import shutil

import pytest

from .conftest import ROOT, run_here

TREE = """\
- name: base
  packages:
    - {name: bash, reason: a shell}
- name: brick
  parent: base
  deployed: true
  command: [/usr/bin/no-such-entry-point]
  projects:
    os-brick: [iscsi]
"""


@pytest.fixture
def images(tmp_path):
    directory = tmp_path / "images"
    directory.mkdir()
    (directory / "tree.yaml").write_text(TREE)
    return directory


def evidence_json(*args):
    done = run_here("evidence", *args, "--format", "json")
    return done, json.loads(done.stdout)


def test_image_needs_say_what_the_code_runs_and_which_package_gives_it(images):
    done, data = evidence_json("--images", str(images))
    # an entry point no package provides leaves the image unable to start: an error, exit 1 (as
    # /lib/udev/scsi_id is: systemd-udev is replaced through Obsoletes on the bundled pair)
    assert done.returncode == 1, done.stderr
    [brick] = data["images"]
    assert brick["image"] == "brick" and brick["releases"] == ["os-brick==6.11.1"]
    assert brick["profiles"]["os-brick"][:2] == ["default", "iscsi"]
    needs = {(n["kind"], n["name"]): n for n in brick["needs"]}
    # the iscsi profile runs iscsiadm and the image has its provider (asked for by that profile)
    iscsiadm = needs["command", "iscsiadm"]
    assert iscsiadm["status"] == "has" and "iscsi-initiator-utils" in iscsiadm["present"]
    assert all(re.fullmatch(r"os_brick/.+\.py:\d+", site) for site in iscsiadm["sites"])
    assert needs["entrypoint", "no-such-entry-point"]["status"] == "unprovided"
    # the request carrying iscsiadm is justified by that use, citing it
    requests = {r["name"]: r for r in brick["requests"]}
    assert requests["iscsi-initiator-utils"]["status"] == "evidence"
    assert any("iscsiadm" in b for b in requests["iscsi-initiator-utils"]["because"])
    assert requests["bash"]["status"] == "reason"
    kinds = {(f["kind"], f["package"]) for f in data["findings"]}
    assert ("unprovided-command", "no-such-entry-point") in kinds
    # what the code needs beyond the root image and os-brick's own bindep.txt is suggested per profile
    for line in data["suggested_bindep"]:
        assert line["project"] == "os-brick" and line["line"].endswith("]")
        assert ("platform:rpm" if line["profile"] == "default" else f"platform:rpm {line['profile']}") in line["line"]


def test_image_text_lists_needs_requests_and_findings(images):
    done = run_here("evidence", "--images", str(images), "brick")
    assert done.returncode == 1, done.stderr
    text = done.stdout
    assert text.startswith("brick: os-brick==6.11.1")
    assert re.search(r"command +iscsiadm +has +iscsi-initiator-utils", text)
    assert re.search(r"entrypoint +no-such-entry-point +NO PACKAGE", text)
    assert "Runtime requests (this image and its parents):" in text
    assert "Findings:\n  error: unprovided-command: brick: brick [command] runs no-such-entry-point" in text


def test_project_view_lists_every_use_by_profile_and_is_read_back_from_the_cache(images, own_cache):
    first, data = evidence_json("--images", str(images), "os-brick")
    assert first.returncode == 0, first.stderr
    [view] = data["projects"]
    assert view["release"] == "os-brick==6.11.1" and re.fullmatch(r"[0-9a-f]{64}", view["sha256"])
    # rbd's Python binding is imported only by the ceph connector, the rootwrap helper by every backend
    assert {"name": "import rados", "site": "os_brick/initiator/linuxrbd.py:27", "providers": []} \
        in view["scopes"]["ceph"]
    assert any(u["name"] == "privsep-helper" and u["site"].endswith(".filters:8") for u in view["scopes"]["default"])
    assert view["dynamic"] and not data["images"]
    scans = list(own_cache.glob("**/evidence/*.json"))
    assert len(scans) == 1
    # the second run reads the cached scan: the same answer
    again, cached = evidence_json("--images", str(images), "os-brick")
    assert cached == data and list(own_cache.glob("**/evidence/*.json")) == scans
    text = run_here("evidence", "--images", str(images), "os-brick").stdout
    assert text.startswith("os-brick: os-brick==6.11.1 (sdist sha256 ") and "\n[ceph]\n" in text


def test_a_project_without_release_says_so(images, tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(ROOT / "profiles", profiles)
    brick = profiles / "os-brick.yaml"
    brick.write_text(re.sub(r"(?m)^release:.*\n", "", brick.read_text()))
    done = run_here("evidence", "--images", str(images), "--profiles", str(profiles), "os-brick", "brick")
    assert done.returncode == 1, done.stderr  # the entry point no package provides
    assert f"os-brick: no release in {brick}" in done.stdout
    assert "not read (no release in profiles/): os-brick" in done.stdout


def test_unknown_target_is_exit_2_naming_it(images):
    done = run_here("evidence", "--images", str(images), "no-such-image-or-project")
    assert done.returncode == 2
    assert "no-such-image-or-project" in done.stderr


def test_audit_with_evidence_adds_the_code_findings(images, tmp_path):
    report = tmp_path / "report"
    plain = run_here("audit", "--images", str(images), "os-brick", "--format", "json")
    done = run_here("audit", "--images", str(images), "os-brick", "--evidence", "--report", str(report),
                    "--format", "json")
    found = {(f["kind"], f["package"]) for f in json.loads(done.stdout)["findings"]}
    assert ("unprovided-command", "no-such-entry-point") in found
    assert found >= {(f["kind"], f["package"]) for f in json.loads(plain.stdout)["findings"]}
    # the deployed image's own command finding gets a page, as the projects do
    assert (report / "brick.md").is_file() and (report / "os-brick.md").is_file()
    assert "no-such-entry-point" in (report / "brick.md").read_text()
    # os-brick's page carries the bindep lines its code asks for, under each profile, as evidence suggests
    page = (report / "os-brick.md").read_text()
    suggested = evidence_json("--images", str(images))[1]["suggested_bindep"]
    assert suggested and "## Bindep lines the code asks for, by backend profile" in page
    for line in suggested:
        assert f"{line['profile']}:" in page and line["line"] in page
    assert "--evidence" in run_here("audit", "--images", str(images), "os-brick").stdout


def test_what_a_chosen_profile_runs_and_the_image_lacks_is_an_error(images):
    # the ceph connector: its packages (Ceph's repositories) are not in the bundled metadata
    (images / "tree.yaml").write_text(TREE.replace("os-brick: [iscsi]", "os-brick: [ceph]"))
    done, data = evidence_json("--images", str(images))
    assert done.returncode == 1, done.stderr
    needs = {(n["kind"], n["name"]): n for n in data["images"][0]["needs"]}
    findings = {(f["kind"], f["package"]): f for f in data["findings"]}
    for kind, name in needs:
        need = needs[kind, name]
        if need["status"] == "missing" and kind == "module":
            finding = findings["missing-binding", name]
            assert finding["suggestion"] == f"add {need['providers'][0]} to the ceph profile"
        elif need["status"] == "missing":
            assert findings["missing-command", name]["suggestion"] == f"add {need['providers'][0]} [platform:rpm ceph]"
    assert {k for k, _ in findings} >= {"missing-binding", "missing-command"}


def test_audit_reads_an_sdist_under_its_project_name_and_refuses_unknown_names(tmp_path):
    from .test_sources import make_sdist

    sdist = make_sdist(tmp_path, name="mytool", version="1.2.0", bindep="lsscsi\nno-such-package-here\n")
    done = run_here("audit", str(sdist), "--format", "json")
    findings = json.loads(done.stdout)["findings"]
    # a name the target's metadata lacks is a finding; only error-level findings make exit 1
    assert done.returncode == (1 if any(f["severity"] == "error" for f in findings) else 0) and findings
    assert {f["project"] for f in findings} == {"mytool"}
    assert any(f["package"] == "no-such-package-here" for f in findings)
    unknown = run_here("audit", "no-such-project-or-file")
    assert unknown.returncode == 2 and "no-such-project-or-file" in unknown.stderr
