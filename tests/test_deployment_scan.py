"""Needs the code reaches indirectly, on real upstream files (tests/data/code, provenance in its
SOURCES.txt): a dispatcher run by type (``mkfs -t vfat`` runs mkfs.vfat, ``mount -t nfs``
mount.nfs), with the type a literal or what the project's calls pass for a parameter; and the
configuration-dependent needs as profiles, off by the service's default."""

from __future__ import annotations

import json

from resolver.auditing.codescan import scan_sources

from .conftest import ROOT, run_main
from .test_evidence import CODE, PROFILES, uses_of


def test_mkfs_by_type_from_a_literal_and_through_a_parameter():
    # ironic/common/images.py:117: utils.execute('mkfs', '-t', 'vfat', ...)
    ironic = uses_of("ironic-29.1.0")
    assert {u.where for u in ironic.commands if u.command == "mkfs.vfat"} == {"ironic/common/images.py:117"}
    # nova/privsep/fs.py alone: unprivileged_mkfs(fs) runs ['mkfs', '-t', fs]; configurable_mkfs
    # passes specified_fs, which is _DEFAULT_FS_BY_OSTYPE.get(os_type, _DEFAULT_FILE_SYSTEM) when
    # default_ephemeral_format is unset: _DEFAULT_FILE_SYSTEM = FS_FORMAT_VFAT = "vfat"
    path = "nova/privsep/fs.py"
    nova = scan_sources([(path, (CODE / "nova-31.3.1" / path).read_text())])
    (vfat,) = [u for u in nova.commands if u.command == "mkfs.vfat"]
    assert vfat.where == "nova/privsep/fs.py:338" and vfat.via == "mkfs -t vfat (runs mkfs.vfat)"
    # the swap branch runs mkswap; ntfs and ext4 are per-os_type entries, not the default
    assert not {"mkfs.swap", "mkfs.ntfs", "mkfs.ext4"} & {u.command for u in nova.commands}


def test_mount_by_type_runs_the_helper_of_that_type():
    # os_brick/remotefs/remotefs.py: _do_mount(mount_type, ...) runs ['mount', '-t', mount_type]
    brick = uses_of("os_brick-6.11.1")
    assert {u.where for u in brick.commands if u.command == "mount.nfs"} == {"os_brick/remotefs/remotefs.py:126"}
    assert "os_brick/remotefs/remotefs.py:126" in {u.where for u in brick.commands if u.command == "mount"}


def test_nova_compute_has_what_mkfs_runs_and_the_evidence_says_so():
    code, out, _ = run_main("evidence", "nova-compute", "--format", "json", "--quiet")
    needs = {n["name"]: n for n in json.loads(out)["images"][0]["needs"]}
    assert needs["mkfs.vfat"]["status"] == "has" and needs["mkfs.vfat"]["present"] == ["dosfstools"]
    assert "nova/privsep/fs.py:338" in needs["mkfs.vfat"]["sites"]


def test_configuration_dependent_needs_are_profiles_off_by_default(tmp_path):
    nova = PROFILES.project("nova")
    # each names its option and the default that keeps it off
    assert "default_ephemeral_format=xfs" in nova.groups["ephemeral-xfs"].reason
    assert "remote_filesystem_transport=rsync (the default is ssh)" in nova.groups["rsync-transport"].reason
    assert [p.name for p in nova.groups["ephemeral-xfs"].packages] == ["xfsprogs"]
    data = json.loads(run_main("packages", "nova-compute", "--format", "json", "--quiet")[1])
    closure = {p["name"] for p in data["closure"]}
    assert "xfsprogs" not in closure and "rsync" not in closure
    # ironic-conductor copies PXE loaders only when [pxe]loader_file_paths is set (default {})
    ironic = PROFILES.project("ironic")
    assert "[pxe]loader_file_paths (default {})" in ironic.groups["pxe-loaders"].reason
    conductor = json.loads(run_main("packages", "ironic-conductor", "--format", "json", "--quiet")[1])
    assert not {"ipxe-bootimgs-x86", "shim-x64", "grub2-efi-x64"} & {p["name"] for p in conductor["closure"]}
    # a site that sets the options enables the profiles, and the packages are in
    site = tmp_path / "site.yaml"
    site.write_text("images:\n  nova-compute:\n    reason: xfs ephemeral disks, rsync migrations\n"
                    "    profiles:\n      nova: +ephemeral-xfs +rsync-transport\n")
    data = json.loads(run_main("packages", "nova-compute", "--overrides", str(site), "--format", "json",
                               "--quiet")[1])
    requested = {r["name"]: r["origin"] for r in data["requests"]}
    assert "nova/privsep/fs.py:338" in requested["xfsprogs"]
    assert "nova/virt/libvirt/volume/remotefs.py:248" in requested["rsync"]
    assert {"xfsprogs", "rsync"} <= {p["name"] for p in data["closure"]}


def test_project_scan_lists_the_dispatched_program_under_its_profile():
    code, out, _ = run_main("evidence", "nova", "--format", "json", "--quiet")
    (view,) = json.loads(out)["projects"]
    assert any(u["name"] == "mkfs.vfat" and u["providers"] == ["dosfstools"] for u in view["scopes"]["libvirt"])


def test_one_tls_rule_for_every_httpd_image(tree_resolver):
    tree = tree_resolver.tree
    served = [n for n in tree.deployed() if tree.spec(n).command[:1] == ("httpd",)]
    # keystone, horizon, placement and heat named mod_ssl in their profiles; nova-api, neutron-server,
    # cinder-api and ironic-api did not: now one rule in profiles/defaults.yaml gives it to all
    assert {"nova-api", "neutron-server", "cinder-api", "ironic-api", "keystone", "horizon"} <= set(served)
    for name in served:
        origin = next(r.origin for r in tree_resolver.image(name).requests if r.name == "mod_ssl")
        assert origin.detail.startswith(str(ROOT / "profiles" / "defaults.yaml")), (name, origin)
        assert tree_resolver.image(name).package("mod_ssl") is not None
    assert all(tree_resolver.image(n).package("mod_ssl") is None for n in ("glance-api", "nova-compute"))
    # no project profile names it beside the rule
    assert not any(p.name == "mod_ssl" for profile in PROFILES.projects.values()
                   for group in profile.groups.values() for p in group.packages)


def test_absolute_paths_the_code_reads_with_their_alternatives():
    # nova/virt/libvirt/host.py:102,110: os.path.exists(path) for/in QEMU_FIRMWARE_DESCRIPTOR_PATHS,
    # a module-level list searched in order: either directory is enough
    path = "nova/virt/libvirt/host.py"
    nova = scan_sources([(path, (CODE / "nova-31.3.1" / path).read_text())])
    firmware = ("/etc/qemu/firmware", "/usr/share/qemu/firmware")
    assert [(u.where, u.files) for u in nova.files] == [(f"{path}:102", firmware), (f"{path}:110", firmware)]
    # ironic/common/images.py:224: os.path.isfile(os.path.join(directory, 'ldlinux.c32')) for directory
    # in LDLINUX_SRC_DIRS (a function's local list): the joined paths
    ironic = uses_of("ironic-29.1.0")
    (ldlinux,) = [u for u in ironic.files if u.where == "ironic/common/images.py:224"]
    assert ldlinux.files == ("/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/share/syslinux/ldlinux.c32")
    assert ldlinux.via == "os.path.isfile" and ldlinux.function == "create_isolinux_image_for_bios"


def test_paths_read_through_a_command_and_a_configuration_default():
    # os_brick/initiator/connectors/iscsi.py:1059: self._execute('cat', file_path), file_path bound
    # to '/etc/iscsi/initiatorname.iscsi' in the function
    path = "os_brick/initiator/connectors/iscsi.py"
    brick = scan_sources([(path, (CODE / "os_brick-6.11.1" / path).read_text())])
    assert [(u.where, u.files) for u in brick.files] == [(f"{path}:1059", ("/etc/iscsi/initiatorname.iscsi",))]
    # ironic/conf/default.py:234: cfg.StrOpt('isolinux_bin', default='/usr/lib/syslinux/isolinux.bin')
    path = "ironic/conf/default.py"
    conf = scan_sources([(path, (CODE / "ironic-29.1.0" / path).read_text())])
    (isolinux,) = [u for u in conf.files if u.files == ("/usr/lib/syslinux/isolinux.bin",)]
    assert isolinux.where == f"{path}:234" and isolinux.via == "default of option isolinux_bin"


def test_paths_the_service_writes_or_the_kernel_serves_are_not_needs():
    from resolver.auditing.code_uses import read_path
    for written in ("/var/lib/nova/instances", "/etc/nova/nova.conf", "/etc/os-brick/x", "/tmp/x", "/proc/cpuinfo",
                    "/sys/module/kvm_amd/parameters/sev", "/dev/kvm", "/run/x", "$state_path/x", "relative/x"):
        assert read_path(written, "nova/virt/libvirt/host.py" if "brick" not in written else "os_brick/utils.py") \
            is None, written
    assert read_path("/usr/share/qemu/firmware/", "nova/virt/libvirt/host.py") == "/usr/share/qemu/firmware"
    # sev's /sys file is in host.py and is not listed
    path = "nova/virt/libvirt/host.py"
    nova = scan_sources([(path, (CODE / "nova-31.3.1" / path).read_text())])
    assert not any(f.startswith("/sys") for u in nova.files for f in u.files)
