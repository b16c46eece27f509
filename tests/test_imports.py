"""`resolver import-kolla` and `import-tcib` on real files (tests/data/kolla, tests/data/tcib; provenance
in their SOURCES.txt): what carries over is written as a site override file that applies; the rest is
listed with file:line and why; exit 0 / 1 / 2 and the JSON keys are a contract."""

import json

import pytest

from resolver.inputs.platforms import platform
from resolver.overrides.import_entries import TreeRequests, rpm_name_candidates
from resolver.overrides.kolla_template import read_kolla_file

from .conftest import ROOT, run_here

KOLLA = ROOT / "tests" / "data" / "kolla"
TCIB = ROOT / "tests" / "data" / "tcib"


def run_import(tmp_path, command, *files, name="out.yaml"):
    output = tmp_path / name
    done = run_here(command, *map(str, files), "--output", str(output), "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout), output


@pytest.fixture(scope="module")
def osism(tmp_path_factory):
    return run_import(tmp_path_factory.mktemp("osism"), "import-kolla", KOLLA / "osism-template-overrides-2025.1.j2")


@pytest.fixture(scope="module")
def tripleo(tmp_path_factory):
    return run_import(tmp_path_factory.mktemp("tripleo"), "import-kolla", KOLLA / "tripleo_kolla_template_overrides.j2")


def entry(items, **match):
    found = [i for i in items if all(i.get(k) == v for k, v in match.items())]
    assert found, f"no entry with {match}"
    return found[0]


def test_json_contract_and_exit_1_when_something_is_not_imported(osism):
    code, data, output = osism
    assert code == 1
    assert data["output"] == str(output) and output.is_file()
    assert {"image", "kind", "value", "line"} <= set(data["imported"][0])
    assert {"item", "line", "reason"} <= set(data["not_imported"][0])


def test_pip_lists_a_footer_installs_with_kollas_macro_are_imported(osism):
    _, data, _ = osism
    pip = [(i["image"], i["value"], i["line"]) for i in data["imported"] if i["kind"] == "pip"]
    assert ("cinder-volume", "py-pure-client", 59) in pip and ("cinder-volume", "python-linstor", 59) in pip
    url = entry(data["not_imported"], item="git+https://github.com/sapcc/openstack-audit-middleware.git")
    assert url["line"] == 10 and "URL" in url["reason"]


def test_debian_names_are_listed_with_the_rpm_name_the_metadata_has(osism):
    _, data, _ = osism
    multipath = entry(data["not_imported"], item="multipath-tools")
    assert multipath["line"] == 57 and "Debian" in multipath["reason"]
    assert multipath["suggestion"] == "device-mapper-multipath"


def test_apt_run_blocks_are_listed_with_rpm_suggestions(osism):
    _, data, _ = osism
    keystone = [n for n in data["not_imported"] if n["line"] == 91][0]
    assert "apt" in keystone["reason"] and "mod_auth_openidc" in keystone["suggestion"]
    horizon = [n for n in data["not_imported"] if n["line"] == 21][0]
    assert "apt" in horizon["reason"] and "gcc" in horizon["suggestion"]


def test_unknown_images_list_the_tree_and_suggest_kollas_children(osism):
    _, data, _ = osism
    glance = entry(data["not_imported"], item="set glance_base_packages_append")
    assert "unknown image 'glance-base'" in glance["reason"] and "nova-compute" in glance["reason"]
    assert "glance-api" in glance["suggestion"]


def test_footer_run_steps_are_imported_and_the_file_applies(osism, tmp_path):
    _, data, output = osism
    steps = [i for i in data["imported"] if i["kind"] == "step"]
    assert [(s["image"], s["line"]) for s in steps] == [("nova-libvirt", 15), ("nova-libvirt", 17)]
    assert steps[0]["value"] == "chgrp tss /var/lib/swtpm-localca && chmod g+w /var/lib/swtpm-localca"
    done = run_here("packages", "cinder-volume", "--overrides", str(output), "--format", "json")
    assert done.returncode == 0, done.stderr
    applied = json.loads(done.stdout)["overrides"]["applied"]
    assert ("pip", "py-pure-client") in {(o["kind"], o["value"]) for o in applied}
    assert "osism-template-overrides-2025.1.j2:59" in entry(applied, value="py-pure-client")["reason"]
    # what was not imported is also in the written file's header
    assert "multipath-tools" in output.read_text().split("images:")[0]


def test_branches_for_other_targets_are_skipped_with_the_test(tripleo):
    code, data, _ = tripleo
    assert code == 1
    python2 = entry(data["skipped"], item="set mariadb_packages_append", line=216)
    assert "distro_python_version.startswith('3')" in python2["reason"]
    el8 = entry(data["skipped"], item="set swift_proxy_server_packages_remove")
    assert "base_distro_tag.startswith('8')" in el8["reason"]


def test_package_lists_and_removals_on_the_shipped_tree(tripleo):
    _, data, _ = tripleo
    added = {(i["image"], i["value"]) for i in data["imported"] if i["kind"] == "add-package"}
    assert ("nova-compute", "openssh-server") in added and ("base", "cronie") in added
    assert entry(data["not_imported"], item="openstack-tripleo-common")["reason"].startswith(
        "nova_scheduler_packages_append: no package provides")  # RDO's, not in CentOS Stream 9
    removed = entry(data["skipped"], item="scsi-target-utils", image="cinder-volume")
    assert "nothing to remove" in removed["reason"]
    assert "runs the package manager" in entry(data["not_imported"], line=458)["reason"]  # yum update
    # a list a later `set` rebuilds from itself keeps each entry's own line and comment
    cronie = entry(data["imported"], value="cronie")
    assert cronie["line"] == 61 and "Cron is required by multiple services" in cronie["reason"]


def test_exit_0_when_everything_is_imported(tmp_path):
    code, data, output = run_import(tmp_path, "import-kolla", KOLLA / "kolla-doc-packages-append.j2")
    assert code == 0 and not data["not_imported"]
    assert [(i["image"], i["kind"], i["value"], i["line"]) for i in data["imported"]] == \
        [("horizon", "add-package", "iproute", 4)]
    assert "name: iproute" in output.read_text()


def test_kolla_docs_examples(tmp_path):
    code, data, _ = run_import(tmp_path, "import-kolla", KOLLA / "kolla-doc-generic-customisation.j2",
                               KOLLA / "kolla-doc-plugin-footer.j2", KOLLA / "kolla-doc-packages-remove.j2")
    assert code == 1
    internal = entry(data["not_imported"], item="block horizon_ubuntu_source_setup")
    assert "Kolla's own block" in internal["reason"]
    plugin = entry(data["not_imported"], image="neutron-server")
    assert "pip" in plugin["reason"] and plugin["suggestion"] == "pip_packages: networking-cisco"
    assert "nothing to remove" in entry(data["skipped"], item="locales")["reason"]


def test_a_file_that_cannot_be_read_is_exit_2_and_nothing_is_written(tmp_path):
    output = tmp_path / "out.yaml"
    done = run_here("import-kolla", str(tmp_path / "missing.j2"), "--output", str(output))
    assert done.returncode == 2 and "missing.j2: cannot read" in done.stderr and not output.exists()
    broken = tmp_path / "broken.j2"
    broken.write_text((KOLLA / "kolla-doc-packages-append.j2").read_text().replace("%}\n", "\n", 2))
    done = run_here("import-kolla", str(broken), "--output", str(output))
    assert done.returncode == 2 and "broken.j2:" in done.stderr and "Jinja syntax error" in done.stderr
    assert not output.exists() and "Traceback" not in done.stderr
    done = run_here("import-tcib", str(tmp_path / "missing.yaml"), "--output", str(output))
    assert done.returncode == 2 and not output.exists()


def test_if_tests_are_evaluated_for_the_target():
    found = read_kolla_file(KOLLA / "tripleo_kolla_template_overrides.j2", platform("centos-9"))
    mariadb = [v.text for v in found.settings["mariadb_packages_append"][0]]
    assert "python3-pynacl" in mariadb and "python2-pynacl" not in mariadb
    assert "base_centos_yum_repos_to_enable_append" not in found.settings  # EL8 only


def test_rpm_name_candidates_for_debian_names():
    assert rpm_name_candidates("libapache2-mod-auth-openidc")[0] == "mod_auth_openidc"
    assert "libpq-devel" in rpm_name_candidates("libpq-dev")
    assert rpm_name_candidates("iputils-ping")[0] == "iputils"
    assert "libmemcached" in rpm_name_candidates("libmemcached11")


def test_removals_carry_over_only_where_a_drop_takes_the_package_out(tree_resolver):
    requests = TreeRequests(tree_resolver)
    assert requests.drop("nova-compute", "nvme-cli", "f", 1, "r")[0] == "imported"
    bucket, left = requests.drop("nova-compute", "libxslt", "f", 1, "r")
    assert bucket == "not_imported" and "nova-base" in left.reason and "nova-base" in left.suggestion
    assert requests.drop("nova-compute", "no-such-package", "f", 1, "r")[0] == "skipped"


# ---- TCIB -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tcib(tmp_path_factory):
    return run_import(tmp_path_factory.mktemp("tcib"), "import-tcib",
                      *sorted((TCIB / "openstack-k8s-operators").glob("*.yaml")))


def test_tcib_packages_and_actions(tcib):
    code, data, output = tcib
    assert code == 1 and output.is_file()
    added = {(i["image"], i["value"]) for i in data["imported"] if i["kind"] == "add-package"}
    assert {("nova-compute", "xfsprogs"), ("nova-compute", "swtpm"), ("mariadb", "galera")} <= added
    xorriso = entry(data["imported"], value="xorriso")
    assert "xorriso is needed for nova-compute to create the config drives" in xorriso["reason"]
    # what the shipped tree already requests is listed, not added twice
    assert "already requests iscsi-initiator-utils" in entry(data["skipped"], item="iscsi-initiator-utils",
                                                             image="nova-compute")["reason"]
    assert "no package provides 'ceph-common'" in entry(data["not_imported"], item="ceph-common")["reason"]
    assert entry(data["imported"], kind="step", image="nova-compute")["value"] == "rm -f /etc/machine-id"
    assert "TCIB's own container scripts" in entry(data["not_imported"], image="mariadb", line=4)["reason"]
    assert "not carried" in entry(data["not_imported"], item="tcib_user: nova")["reason"]
    assert "installs tcib_packages" in entry(data["skipped"], image="nova-compute", line=2)["reason"]


def test_tcib_module_streams_and_ansible_filters(tmp_path):
    code, data, _ = run_import(tmp_path, "import-tcib", *sorted((TCIB / "tripleo-common").glob("*.yaml")))
    assert code == 1
    mariadb = entry(data["not_imported"], item="enable mariadb:10.5")
    assert "streams of mariadb: mariadb:10.11" in mariadb["reason"] and mariadb["suggestion"] == "mariadb:10.11"
    assert "modules.el8" in entry(data["skipped"], item="enable mariadb:{{ tcib_rhel_modules['mariadb'] | "
                                                         "default('10.3') }}")["reason"]
    assert "ternary" in entry(data["not_imported"], image="mariadb", line=6)["reason"]
    assert "not for centos-9" in entry(data["skipped"], item="sysfsutils")["reason"]  # tcib_packages.el8


def test_the_readme_workflow_needs_no_copy_of_profiles_or_images(tmp_path):
    """The issue's "done when": the shipped tree, Ceph on nova-compute and cinder-volume, a vendor
    cinder driver image and the site's Kolla file, planned from a directory holding only the site's files."""
    site = tmp_path / "site.yaml"
    site.write_text((ROOT / "examples" / "site.yaml").read_text())
    done = run_here("import-kolla", str(KOLLA / "tripleo_kolla_template_overrides.j2"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # TripleO's file has entries for images this tree lacks
    assert (tmp_path / "overrides" / "kolla.yaml").is_file()  # the default output, applied from here on
    done = run_here("plan", "--overrides", "site.yaml", "--overrides", "overrides/kolla.yaml", "--no-provider-choice",
                   "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["images"]["cinder-volume-pure"]["deployed"]  # the vendor image, where the computed tree puts it
    assert "sg3_utils" in plan["images"]["cinder-volume-pure"]["layer_packages"]
    assert "openssh-server" in plan["images"]["nova-compute"]["layer_packages"]  # from the Kolla file
    assert [f["path"] for f in plan["overrides"]["files"]] == ["site.yaml", "overrides/kolla.yaml"]
    applied = {(o["image"], o["kind"], o["value"]) for o in plan["overrides"]["applied"]}
    assert {("nova-compute", "enable-profile", "nova +ceph"), ("cinder-volume", "enable-profile", "cinder +ceph"),
            ("base", "module", "mariadb:10.11")} <= applied
    assert not (tmp_path / "profiles").exists() and not (tmp_path / "images").exists()
