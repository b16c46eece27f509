"""Output that does not contradict itself, and one verdict for what an image lacks: a name is
either requested or excluded, never both; `why` names the chain it speaks of; `evidence` counts the
needs it marks unresolved and exits 1 for them; libsolv's reason leads with the root cause; a
request replaced through Obsoletes and a command only another repository ships leave the image
incomplete, with that repository named. The shipped tree, the bundled metadata, the real CLI."""

from __future__ import annotations

import json
import re

import pytest

from resolver.resolving.unresolved import first_cause

from .conftest import run_main


@pytest.fixture(scope="module")
def nova_compute():
    code, out, err = run_main("packages", "nova-compute", "--format", "json", "--quiet")
    assert code == 0, err
    return json.loads(out), run_main("packages", "nova-compute", "--quiet")[1]


def test_a_name_is_requested_or_excluded_never_both(nova_compute):
    data, text = nova_compute
    requested = {r["name"] for r in data["requests"]}
    assert {e["name"] for e in data["excluded"]}.isdisjoint(requested)
    # the drops another line overrules are there, with the request that wins
    overruled = {e["name"]: e for e in data["overruled"]}
    assert {"openssh-clients", "lsscsi", "iscsi-initiator-utils"} <= set(overruled)
    assert overruled["lsscsi"]["origin"].startswith("profiles/nova.yaml:")
    assert overruled["lsscsi"]["requested_by"].startswith("profiles/upstream/os-brick.txt:")
    request = text[text.index("Request (this layer"):text.index("\nClosure:")]
    excluded = text[text.index("\nExcluded:"):text.index("\nDropped from one line")]
    for name in ("openssh-clients", "lsscsi", "iscsi-initiator-utils"):
        assert re.search(rf"^  {re.escape(name)} ", request, re.M)
        assert not re.search(rf"^  {re.escape(name)} ", excluded, re.M)


def test_why_names_the_request_when_there_is_no_chain():
    code, out, _ = run_main("why", "nova-compute", "lsscsi", "--format", "json", "--quiet")
    why = json.loads(out)
    assert code == 0 and why["status"] == "in-layer" and why["chain"] == [] and why["dropped"]
    assert "the request above still brings it in" in why["text"][-1]
    assert not any("chain above" in line for line in why["text"])
    # a package reached through Requires keeps speaking of its chain
    chained = json.loads(run_main("why", "nova-compute", "libfdisk", "--format", "json", "--quiet")[1])
    assert chained["chain"] and not any("request above" in line for line in chained["text"])


def test_a_replaced_request_is_unresolved_and_the_image_incomplete(nova_compute):
    data, text = nova_compute
    unresolved = {u["name"]: u for u in data["unresolved"]}
    assert unresolved["systemd-udev"]["kind"] == "replaced"
    assert "obsoleted by systemd-boot-unsigned" in unresolved["systemd-udev"]["problem"]
    assert "replaced:" not in text[text.index("\nExcluded:"):text.index("\nUnresolved:")]
    section = text[text.index("\nUnresolved: 2 requests"):]
    assert "replace these through Obsoletes" in section and "systemd-udev <- profiles/os-brick.yaml:" in section
    plan = json.loads(run_main("plan", "--format", "json", "--quiet")[1])
    assert "systemd-udev" in {u["name"] for u in plan["images"]["nova-compute"]["unresolved"]}
    assert "nova-compute" in plan["incomplete"]


def test_libsolv_reason_leads_with_the_root_cause(nova_compute):
    data, text = nova_compute
    libvirt = next(u for u in data["unresolved"] if u["name"] == "python3-libvirt")
    # libsolv names the last link (python3-libvirt requires libvirt.so.0); the cause is a level down
    assert libvirt["problem"].startswith("root cause: nothing provides libnuma.so.1(libnuma_1.6)(64bit) "
                                         "needed by libvirt-libs-")
    assert "requires libvirt.so.0()(64bit) -> libvirt-libs-" in libvirt["problem"].splitlines()[0]
    assert first_cause(libvirt["problem"]).startswith("root cause: nothing provides libnuma.so.1")
    assert "root cause: nothing provides libnuma.so.1(libnuma_1.6)" in text


def test_evidence_counts_what_it_marks_unresolved_and_exits_1():
    code, out, _ = run_main("evidence", "nova-compute", "--quiet")
    assert code == 1
    marked = len(re.findall(r"^  \S+ +\S+ +UNRESOLVED ", out, re.M))
    assert marked == 2  # the libvirt binding and /lib/udev/scsi_id (systemd-udev, replaced)
    assert re.search(rf"needs: {marked} not in the image \(0 missing, {marked} requested but unresolved, 0 in no "
                     r"configured repository\); the image is incomplete", out)
    assert "error: unresolved-need: nova-compute: os-brick [iscsi] runs /lib/udev/scsi_id" in out


def test_a_command_only_another_repository_ships_leaves_the_image_incomplete():
    code, out, err = run_main("packages", "neutron-server", "--format", "json", "--quiet")
    unresolved = {u["name"]: u for u in json.loads(out)["unresolved"]}
    assert unresolved["openvswitch"]["kind"] == "unknown"
    assert unresolved["openvswitch"]["elsewhere"] == "centos-openstack-epoxy + centos-nfv-openvswitch"
    assert "neutron/common/ovn/utils.py:127" in unresolved["openvswitch"]["origin"]
    assert "centos-nfv-openvswitch" in err.strip().splitlines()[-1]
    code, out, _ = run_main("evidence", "neutron-server", "--format", "json", "--quiet")
    (need,) = [n for n in json.loads(out)["images"][0]["needs"] if n["name"] == "ovsdb-client"]
    assert code == 1 and need["status"] == "unresolved" and need["providers"] == ["openvswitch"]
    assert "centos-nfv-openvswitch" in need["detail"]
