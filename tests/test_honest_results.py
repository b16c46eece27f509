"""Honest best-effort results: what did not resolve is a result of its own everywhere (text, JSON,
report, tree picture, a warning at the end), typos are told from names the metadata cannot
install, incomplete images are never compared as if complete, and every command says first which
tree and distribution it works on. Real metadata and the real CLI (in-process: resolver.cli.main)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from resolver.auditing.audit import audit_file
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.inputs.sources import read_bindep
from resolver.reporting.baselines import BaselineResult
from resolver.reporting.report import markdown, tree_graph
from resolver.resolving.unresolved import UNINSTALLABLE, UNKNOWN, diagnose
from resolver.resolving.why import explain

from .conftest import BASEOS_2022, ROOT, TINY_TREE_MISSING, run_main


@pytest.fixture(scope="module")
def shipped_plan():
    """`resolver plan` on the shipped tree and the bundled metadata (best effort), text and JSON."""
    text = run_main("plan")
    data = run_main("plan", "--format", "json", "--quiet")
    assert text[0] == 0 and data[0] == 0, text[2] + data[2]
    return text, json.loads(data[1]), data[2]


def test_plan_json_has_the_unresolved_requests_of_every_image(shipped_plan):
    _, data, _ = shipped_plan
    libvirt = {u["name"]: u for u in data["images"]["nova-libvirt"]["unresolved"]}
    # libvirt-daemon, qemu-kvm...: AppStream 2025 packages that need BaseOS 2025 libraries
    assert {"libvirt-daemon", "qemu-kvm", "libvirt-client"} <= set(libvirt)
    assert libvirt["qemu-kvm"]["kind"] == UNINSTALLABLE and "qemu-kvm-core" in libvirt["qemu-kvm"]["problem"]
    assert "images/nova.yaml:" in libvirt["qemu-kvm"]["origin"]
    assert all("unresolved" in image for image in data["images"].values())
    assert data["images"]["memcached"]["unresolved"] == [] and "memcached" not in data["incomplete"]
    assert "nova-libvirt" in data["incomplete"]
    assert data["incomplete"] == sorted(n for n, i in data["images"].items() if i["unresolved"])


def test_plan_text_marks_incomplete_images_and_a_warning_sums_them_up(shipped_plan):
    (_, text, stderr), data, quiet_stderr = shipped_plan
    assert re.search(r"^nova-libvirt ! ", text, re.M) and re.search(r"^memcached  ", text, re.M)
    assert "Unresolved requests (images marked !" in text
    section = text[text.index("Unresolved requests (images marked !"):]
    assert section.index("cannot install them") < section.index("libvirt-daemon")
    # every name the shipped profiles ask for exists in the metadata (a typo's warning line is
    # tested with an override below)
    assert "have never seen these" not in section
    # the last lines on stderr, --quiet or not: counts per image, then the names that live in
    # repositories that are not configured (openvswitch: RDO and the NFV SIG)
    for err in (stderr, quiet_stderr):
        summary, elsewhere = err.strip().splitlines()[-2:]
        assert elsewhere.startswith("resolver: warning: names that live in repositories that are not configured: "
                                    "openvswitch (neutron-")
        counts = dict(re.findall(r"([a-z0-9-]+) (\d+)", summary.split("(best effort): ")[1]))
        assert {n: int(c) for n, c in counts.items()} == {n: len(i["unresolved"]) for n, i in data["images"].items()
                                                          if i["unresolved"]}
        assert summary.startswith(f"resolver: warning: {sum(map(int, counts.values()))} requests of {len(counts)} "
                                  "images did not resolve (best effort): nova-libvirt 6")
        assert "never seen" not in err
    # the image sizes of the plan and of `resolver packages` differ, and the plan says why
    assert "`resolver packages IMAGE` solves one image with the pins only" in text


def test_strict_lists_every_unresolved_request_of_every_image(tmp_path):
    site = tmp_path / "site.yaml"  # a typo, so that both kinds are there
    site.write_text("images:\n  memcached:\n    reason: probe\n    packages:\n      add: [{name: lsscssi}]\n")
    code, _, stderr = run_main("plan", "--strict", "--quiet", "--overrides", str(site))
    assert code == 1
    # not only the first image: nova-libvirt's, nova-compute's, keystone's and memcached's, told apart by kind
    uninstallable = stderr.index("the repositories have these but cannot install them")
    unknown = stderr.index("the repositories have never seen these")
    for name in ("libvirt-daemon", "qemu-kvm", "python3-libvirt", "libldap.so.2()(64bit)"):
        assert uninstallable < stderr.index(f"    {name} ") < unknown
    assert stderr.index("    lsscssi ") > unknown and "did you mean lsscsi" in stderr[unknown:]
    assert re.search(r"cannot be resolved on cs9-baseos-osbuild-2022, cs9-appstream-osbuild-2025", stderr)


def test_a_typo_in_an_override_gets_a_did_you_mean_and_the_warning_names_it(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("images:\n  memcached:\n    reason: probe\n    packages:\n"
                    "      add: [{name: lsscssi}, {name: ceph-comon}, {name: postgresql}]\n")
    code, out, err = run_main("packages", "memcached", "--overrides", str(site), "--format", "json")
    assert code == 0
    unresolved = {u["name"]: u for u in json.loads(out)["unresolved"]}
    assert unresolved["lsscssi"]["kind"] == UNKNOWN and unresolved["lsscssi"]["did_you_mean"] == ["lsscsi"]
    assert unresolved["ceph-comon"]["kind"] == UNKNOWN and "site.yaml:" in unresolved["ceph-comon"]["origin"]
    assert unresolved["postgresql"]["kind"] == UNINSTALLABLE  # AppStream has it; libsolv cannot install it
    warning = err.strip().splitlines()[-1]
    assert "lsscssi (memcached; did you mean lsscsi?)" in warning and "ceph-comon (memcached; a typo?)" in warning
    assert "postgresql" not in warning  # a name the metadata has is not a typo
    text = run_main("packages", "memcached", "--overrides", str(site))[1]
    section = text[text.index("Unresolved: 3 requests"):]
    assert section.index("postgresql") < section.index("have never seen these") < section.index("lsscssi")


def test_names_the_metadata_lacks_are_diagnosed(bundled_repos):
    assert diagnose("postgresql", bundled_repos).kind == UNINSTALLABLE
    devel = diagnose("mariadb-devel", bundled_repos)  # mariadb's binaries are in AppStream, its -devel in CRB
    assert devel.kind == UNKNOWN and devel.elsewhere == "CodeReady Builder (CRB)" and not devel.did_you_mean
    assert diagnose("liberasurecode-devel", bundled_repos).elsewhere == ""  # no liberasurecode binary here
    assert diagnose("python-yaml", bundled_repos).did_you_mean[0] == "python3-yaml"
    assert diagnose("ceph-comon", bundled_repos).did_you_mean == ()  # php-common is not close enough
    soname = diagnose("libfoo.so.9()(64bit)", bundled_repos)  # nothing to spell differently
    assert soname.kind == UNKNOWN and soname.did_you_mean == () and soname.hint(short=True) == "a typo?"


def test_audit_names_the_repositories_searched_and_crb_for_a_missing_devel(bundled_repos):
    profiles = load_profiles(ROOT / "profiles")
    bindep = read_bindep(profiles.project("oslo.db").source)
    found = audit_file("oslo.db", bindep, platform("centos-9"), profiles.defaults, bundled_repos)
    (finding,) = [f for f in found if f.kind == "unresolvable" and f.package == "mariadb-devel"]
    assert "repositories searched: cs9-baseos-osbuild-2022, cs9-appstream-osbuild-2025" in finding.message
    assert finding.suggestion.startswith("not a typo:") and "CodeReady Builder (CRB)" in finding.suggestion
    assert "check the name" not in finding.suggestion


def _plan(complete: int, incomplete: int) -> dict:
    """A plan as `resolver plan --format json` gives it: base with two deployed children."""
    def image(parent, size, deployed=True, unresolved=()):
        return {"parent": parent, "deployed": deployed, "layer_request": [], "layer_packages": [],
                "layer_size": size, "image_size": size + (100 if parent else 0), "bloat": 0, "overhead": 0,
                "unresolved": list(unresolved)}
    missing = {"name": "qemu-kvm", "problem": "package qemu-kvm requires qemu-kvm-core, but none of the providers "
               "can be installed", "origin": "images/nova.yaml:36", "kind": UNINSTALLABLE, "did_you_mean": [],
               "elsewhere": "", "hint": ""}
    return {"objective": 0, "total_set_size": 100 + complete + incomplete, "lower_bound": 0, "ratio": 1.0,
            "objective_lower_bound": 0, "optimum": None, "bloat": 0, "overhead": 0, "tree": "computed",
            "suggestions": [], "incomplete": ["nova-libvirt"],
            "images": {"base": image(None, 100, deployed=False), "memcached": image("base", complete),
                       "nova-libvirt": image("base", incomplete, unresolved=[missing])}}


def test_the_report_compares_only_complete_images_and_shows_the_others_apart():
    plan = _plan(complete=2_000_000, incomplete=0)
    kolla = BaselineResult("kolla", {"memcached": "memcached", "nova-libvirt": "nova-libvirt"}, (),
                           {"base": 300_000_000, "memcached": 10_000_000, "nova-libvirt": 400_000_000},
                           {"memcached": 310_000_000, "nova-libvirt": 700_000_000}, {},
                           {"base": None, "memcached": "base", "nova-libvirt": "base"})
    text = markdown(plan, [kolla], [], "centos-9")
    # ours over memcached: base 100 B + 2 MB; theirs: base 300 MB + 10 MB; nova-libvirt apart, not compared
    assert "| kolla | 1 complete: memcached | 2.0 | 310.0 | 0.006 |" in text
    assert "| kolla | 1 incomplete (!), not compared: nova-libvirt | ≥ 0.0 | 700.0 | - |" in text
    assert "| nova-libvirt ! | base | yes |" in text and "≥ 0.0 |" in text
    rows = text[text.index("## Unresolved requests"):].splitlines()
    assert any(row.startswith("| qemu-kvm | uninstallable | nova-libvirt | images/nova.yaml:36 |") for row in rows)


def test_the_tree_picture_marks_incomplete_images():
    graph = tree_graph(_plan(complete=1, incomplete=0))
    assert graph.nodes["nova-libvirt"]["color"] == "red" and "1 unresolved" in graph.nodes["nova-libvirt"]["label"]
    assert "color" not in graph.nodes["memcached"]


def test_why_json_gives_fields_not_prose(tree_resolver):
    dropped = explain(tree_resolver, "nova-compute", "mariadb").to_json()
    assert dropped["status"] == "excluded"
    origin = dropped["origin"]
    assert origin["file"].endswith("profiles/oslo.db.yaml") and origin["line"] == 8 and origin["rule"] == "drop[0]"
    assert origin["kind"] == "drop" and origin["reason"].startswith("no evidence: oslo.db")
    chain = explain(tree_resolver, "nova-compute", "userspace-rcu").to_json()
    assert chain["status"] == "in-layer" and chain["request"] == "device-mapper-multipath"
    assert chain["origin"]["file"].endswith("os-brick.txt") and chain["origin"]["profile"]
    assert chain["chain"][-1] == {"package": "device-mapper-multipath", "requires": "liburcu.so.6()(64bit)",
                                  "provider": "userspace-rcu"}
    inherited = explain(tree_resolver, "nova-compute", "sudo").to_json()
    assert inherited["status"] == "inherited" and inherited["layer"] == "base"
    assert inherited["inherited_through"] == ["nova-compute", "nova-base", "openstack-base", "base"]
    code, out, _ = run_main("why", "nova-compute", "gcc", "--format", "json", "--quiet")
    assert code == 0 and json.loads(out)["status"] == "build-only"




def _tiny_checkout(directory):
    """A checkout of its own: a small tree, the shipped profiles, a copy of BaseOS 2022."""
    (directory / "images").mkdir(parents=True)
    (directory / "images" / "tree.yaml").write_text(TINY_TREE_MISSING)
    shutil.copytree(ROOT / "profiles", directory / "profiles")
    shutil.copytree(BASEOS_2022, directory / "repos" / "baseos")
    return directory


def test_a_lock_holds_no_path_of_the_checkout_and_verifies_in_another(tmp_path):
    first = _tiny_checkout(tmp_path / "first")
    options = ["--images", str(first / "images"), "--profiles", str(first / "profiles"),
               "--repos", str(first / "repos" / "baseos"), "--best-effort", "--quiet", "--no-overrides"]
    code, _, err = run_main("lock", *options, "--lock", str(first / "resolver.lock"))
    assert code == 0, err
    text = (first / "resolver.lock").read_text()
    assert str(tmp_path) not in text
    data = json.loads(text)
    assert [r["path"] for r in data["repos"]] == ["repos/baseos"]
    (missing,) = data["images"]["shell"]["unresolved"]
    assert missing["name"] == "no-such-package" and missing["kind"] == UNKNOWN
    assert missing["origin"].startswith("images/tree.yaml:")
    # the same checkout elsewhere: the committed lock still matches
    second = tmp_path / "second"
    shutil.copytree(first, second)
    code, _, err = run_main("plan", "--verify-lock", *[o.replace(str(first), str(second)) for o in options],
                            "--lock", str(second / "resolver.lock"))
    assert code == 0, err


def test_commands_say_first_which_tree_and_distribution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main("packages", "memcached")
    assert code == 0
    assert err.splitlines()[0].startswith("resolver: packages: the shipped tree (")
    assert "on the bundled CentOS Stream 9 metadata (cs9-baseos-osbuild-2022, cs9-appstream-osbuild-2025), " \
           "best effort" in err.splitlines()[0]
    # without --repos, build works on the demo tree: it says so, and an image of the shipped tree is sent
    # to the command that builds it (checked before the demo distribution is made)
    code, _, err = run_main("build", "glance-api")
    assert code == 2
    first, error = err.splitlines()[:2]
    assert first.startswith("resolver: build: the demo tree (") and "--repos FILE.repo" in first
    assert error.startswith("resolver: error: glance-api is an image of the shipped tree (images/), not of the "
                            "demo tree") and "resolver build glance-api --repos FILE.repo" in error
