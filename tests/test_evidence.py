"""Evidence from the projects' code, on real upstream files (tests/data/code, provenance in its
SOURCES.txt) and the bundled metadata."""

from pathlib import Path

import pytest

from resolver.auditing.codescan import scan_filters, scan_sources
from resolver.auditing.evidence import EvidenceContext, image_evidence
from resolver.auditing.evidence_findings import evidence_findings
from resolver.auditing.project_code import ProjectCode, claimed_by, scopes_of_command
from resolver.inputs.profiles import load_profiles

from .conftest import ROOT

CODE = ROOT / "tests" / "data" / "code"
PROFILES = load_profiles(ROOT / "profiles")


def uses_of(release_dir: str):
    root = CODE / release_dir
    return scan_sources((str(p.relative_to(root)), p.read_text()) for p in sorted(root.rglob("*"))
                        if p.is_file() and p.suffix in (".py", ".filters"))


def sites(uses, command):
    return {use.where for use in uses.commands if use.command == command}


def test_literal_commands_of_execute_calls_with_file_and_line():
    nova = uses_of("nova-31.3.1")
    # processutils.execute('qemu-img', ...) and a list bound to a name (mount_cmd = ['mount'] ...)
    assert "nova/privsep/qemu.py:219" in sites(nova, "qemu-img")
    assert sites(nova, "umount") == {"nova/privsep/fs.py:44"}
    assert any(site.startswith("nova/privsep/fs.py:") for site in sites(nova, "mount"))
    # `env LC_ALL=C LANG=C qemu-img info`: the program is what env runs
    assert "nova/privsep/qemu.py:247" in sites(nova, "qemu-img") and not sites(nova, "env")


def test_command_from_an_option_default_is_resolved_and_named():
    nova = uses_of("nova-31.3.1")
    # processutils.execute(CONF.mkisofs_cmd, ...); nova/conf/configdrive.py: default='genisoimage'
    use = next(u for u in nova.commands if u.command == "genisoimage")
    assert use.where == "nova/virt/configdrive.py:84" and "option mkisofs_cmd" in use.via


def test_class_attributes_wrappers_and_function_returns():
    brick = uses_of("os_brick-6.11.1")
    # cmd = LVM.LVM_CMD_PREFIX + ['vgs', ...]: env LC_ALL=C is a prefix, vgs the program
    assert "os_brick/local_dev/lvm.py:134" in sites(brick, "vgs")
    # self._run_lvm_command(['lvcreate', ...]): a function that runs its argument
    assert any("runs its argument" in u.via for u in brick.commands if u.command == "lvcreate")
    # an absolute path is kept whole and looked up as that file
    assert "os_brick/initiator/linuxscsi.py:276" in sites(brick, "/lib/udev/scsi_id")
    ironic = uses_of("ironic-29.1.0")
    # cmd_args = args[:] where args = _get_ipmitool_args(...) returns ['ipmitool', ...]
    assert "ironic/drivers/modules/ipmitool.py:684" in sites(ironic, "ipmitool")


def test_process_callbacks_and_module_constants():
    neutron = uses_of("neutron-26.0.6")
    assert "neutron/agent/linux/dhcp.py:569" in sites(neutron, "dnsmasq")  # returned by a cmd callback
    assert any(s.startswith("neutron/agent/linux/ra.py:") for s in sites(neutron, "radvd"))  # RADVD_SERVICE_CMD


def test_sql_and_other_execute_methods_are_not_commands():
    engines = uses_of("oslo_db-17.2.1")
    # cursor.execute("SET SESSION sql_mode = %s"): a string with spaces without a shell is no command line
    assert not engines.commands


def test_type_checking_imports_do_not_count_but_import_module_does():
    nova = uses_of("nova-31.3.1")
    libvirt = {use.line for use in nova.imports if use.module == "libvirt" and use.path.endswith("host.py")}
    assert 130 in libvirt and 72 not in libvirt


def test_rootwrap_filters_name_the_program_env_runs():
    text = (CODE / "neutron-26.0.6" / "etc/neutron/rootwrap.d/rootwrap.filters").read_text()
    found = {(u.command, u.via) for u in scan_filters(text, "rootwrap.filters")}
    assert ("haproxy", "rootwrap EnvFilter") in found and ("dnsmasq", "rootwrap CommandFilter") in found
    assert not any(command == "env" for command, _ in found)


def test_helper_commands_count_where_they_are_called():
    nova = uses_of("nova-31.3.1")
    profile = PROFILES.project("nova")
    # nova.privsep.fs.mount is called by ConfigDriveBuilder._make_vfat: the configdrive-vfat
    # group's `path:function` pattern claims that caller, not the libvirt driver or the default
    mount = next(u for u in nova.commands if u.command == "mount" and u.path == "nova/privsep/fs.py")
    assert any("nova/virt/configdrive.py" in c and "_make_vfat" in c for c in mount.callers)
    assert "configdrive-vfat" in scopes_of_command(profile, mount)
    # the closer pattern wins: configdrive.py is configdrive's, its _make_vfat configdrive-vfat's
    assert claimed_by(profile, "nova/virt/configdrive.py", "ConfigDriveBuilder._make_iso9660") == {"configdrive"}
    assert claimed_by(profile, "nova/api/openstack/compute/servers.py") == {"apache"}
    assert claimed_by(profile, "nova/compute/api.py", "KeypairAPI._generate_key_pair") == {"default"}


@pytest.fixture(scope="module")
def copied_code():
    """ProjectCode for the copied files (a real subset of each release; no network)."""
    def code_of(project):
        directory = {"nova": "nova-31.3.1", "os-brick": "os_brick-6.11.1", "neutron": "neutron-26.0.6"}.get(project)
        if directory is None:
            return None
        return ProjectCode(project, directory, "test", uses_of(directory), ())
    return code_of


def test_image_needs_what_its_profiles_run_and_says_whether_it_has_it(tree_resolver, copied_code):
    context = EvidenceContext(tree_resolver, copied_code)
    compute = image_evidence(context, "nova-compute")
    needs = {(n.kind, n.name): n for n in compute.needs}
    assert needs["command", "genisoimage"].status == "has"
    assert needs["command", "genisoimage"].present == ("xorriso",)  # CS9's xorriso provides genisoimage
    assert needs["command", "genisoimage"].profiles == ("configdrive",)
    assert needs["module", "libvirt"].status == "unresolved"  # requested; libvirt-libs needs BaseOS 2025
    assert ("entrypoint", "nova-compute") not in needs or needs["entrypoint", "nova-compute"].status != "missing"
    # nova-api runs none of the compute node's tools
    api = {(n.kind, n.name) for n in image_evidence(context, "nova-api").needs}
    assert ("command", "genisoimage") not in api and ("entrypoint", "httpd") in api


def test_missing_command_and_no_evidence_are_findings(tree_resolver, copied_code, tmp_path):
    context = EvidenceContext(tree_resolver, copied_code)
    dhcp = image_evidence(context, "neutron-dhcp-agent")
    assert {n.name: n.status for n in dhcp.needs}["dnsmasq"] == "has"
    findings = evidence_findings([dhcp, image_evidence(context, "nova-compute")])
    kinds = {(f.kind, f.package) for f in findings}
    # the copied subset lacks nova/crypto.py (where nova runs openssl): nova's `openssl` line has no evidence here
    assert ("no-evidence", "openssl") in kinds
    # nothing in nova, os-brick or neutron runs curl, sg3_utils or frr: dropped with a reason, not findings
    assert not {("no-evidence", "curl"), ("no-evidence", "sg3_utils"), ("no-evidence", "frr")} & kinds
    for finding in findings:
        assert finding.image and finding.message and finding.suggestion


def test_every_recorded_evidence_is_a_path_and_line_in_the_release():
    for profile in PROFILES.projects.values():
        for group in profile.groups.values():
            for package in (*group.packages, *group.build):
                for site in package.evidence:
                    path, _, line = site.rpartition(":")
                    assert Path(path).suffix in (".py", ".filters") and int(line) > 0, (profile.project, site)
