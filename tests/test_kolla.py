"""Kolla's start contract as data and as files in an image root, the OCI labels, the lock's record
of Kolla's release, and kolla-ansible-style smoke checks as data (pure or on a temporary root)."""

import dataclasses
import hashlib
import shutil

import pytest

from resolver.containers.kolla import INSTALLED, install_contract, kolla_release, start_contracts
from resolver.containers.labels import image_labels
from resolver.containers.smoke import load_smoke
from resolver.errors import BuildError, InputError
from resolver.inputs.image_tree import ServiceUser, image_spec
from resolver.lock import Lock, lock_text, read_lock

RELEASE = kolla_release("2025.1")
PARENTS = {"base": None, "openstack-base": "base", "keystone": "openstack-base", "memcached": "base"}
SERVICES = {"keystone": ServiceUser("keystone", "/var/lib/keystone", ("/etc/keystone",)),
            "memcached": ServiceUser("memcached", "/run/memcache")}


def test_the_release_is_kolla_20_6_0_with_its_sdist_digest_and_kollas_fixed_uids():
    assert RELEASE.pin == "kolla==20.6.0"
    assert RELEASE.sha256 == "d7289be5572b9d15012c314757a6f3f556199c58c5f40cf86e074ffaf2293d67"
    uids = {name: RELEASE.users[name].uid for name in ("keystone", "nova", "neutron", "glance", "cinder",
                                                       "placement", "memcached", "mysql", "rabbitmq", "kolla")}
    assert uids == {"keystone": 42425, "nova": 42436, "neutron": 42435, "glance": 42415, "cinder": 42407,
                    "placement": 42482, "memcached": 42457, "mysql": 42434, "rabbitmq": 42439, "kolla": 42400}
    assert RELEASE.users["hacluster"].group == "haclient"  # users.py's explicit group
    # every installed file is the one SHA256SUMS names
    for file in RELEASE.files:
        assert hashlib.sha256(RELEASE.content(file)).hexdigest() == file.sha256


def test_a_changed_copy_of_kollas_file_is_refused(tmp_path):
    shutil.copytree(RELEASE.directory, tmp_path / "2025.1")
    copy = dataclasses.replace(RELEASE, directory=tmp_path / "2025.1")
    start = next(f for f in copy.files if f.dest == "/usr/local/bin/kolla_start")
    assert copy.content(start) == RELEASE.content(start)
    (tmp_path / "2025.1" / "start.sh").write_text("#!/bin/bash\nexec \"$@\"\n")
    with pytest.raises(BuildError, match=r"start.sh: not Kolla 20.6.0's docker/base/start.sh"):
        copy.content(start)


def test_the_root_gets_kollas_files_and_users_and_each_service_its_user_and_directories():
    contracts = start_contracts(PARENTS, SERVICES, RELEASE)
    root = contracts["base"]
    assert {f.dest for f in root.files} == {dest for dest, _ in INSTALLED.values()}
    assert {a.name for a in root.accounts} == set(RELEASE.users) and root.members == ("keystone", "memcached")
    assert next(a for a in root.accounts if a.name == "memcached").home == "/run/memcache"
    assert root.user is None and [d.path for d in root.directories] == ["/var/log/kolla"]
    keystone = contracts["keystone"]
    assert keystone.user == "keystone" and keystone.uid == 42425 and not keystone.files and not keystone.accounts
    assert [(d.path, d.uid) for d in keystone.directories] == [
        ("/var/lib/keystone", 42425), ("/var/log/kolla/keystone", 42425), ("/etc/keystone", 42425)]
    assert contracts["openstack-base"].user is None and not contracts["openstack-base"].directories
    # what changes a service's contract changes its key input, not its siblings'
    other = start_contracts(PARENTS, {**SERVICES, "keystone": ServiceUser("keystone", "/srv/keystone")}, RELEASE)
    assert other["keystone"].to_json() != keystone.to_json()
    assert other["memcached"].to_json() == contracts["memcached"].to_json()


def test_a_user_kolla_does_not_know_is_refused_and_a_bad_kolla_entry_too():
    with pytest.raises(InputError, match=r"image keystone: user 'keystonee' is not one of Kolla 20.6.0's users"):
        start_contracts(PARENTS, {"keystone": ServiceUser("keystonee", "/var/lib/keystonee")}, RELEASE)
    for bad in ({"user": "Keystone"}, {"user": "keystone", "home": "/var/../etc"}, {"home": "/x"},
                {"user": "keystone", "directories": ["relative"]}, {"user": "keystone", "shell": "/bin/sh"}):
        with pytest.raises(InputError, match=r"images.yaml\[0\]"):
            image_spec({"name": "keystone", "kolla": bad}, "images.yaml[0]")
    assert image_spec({"name": "keystone", "kolla": {"user": "keystone"}}, "x").kolla == ServiceUser(
        "keystone", "/var/lib/keystone")


def test_install_writes_kollas_files_users_and_directories_into_a_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nkeystone:x:999:999::/:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\n")
    contracts = start_contracts(PARENTS, SERVICES, RELEASE)
    install_contract(tmp_path, contracts["base"])
    install_contract(tmp_path, contracts["keystone"])
    passwd = (tmp_path / "etc/passwd").read_text().splitlines()
    assert passwd[0] == "root:x:0:0:root:/root:/bin/bash"
    # the package's own entry of the same name is replaced (Kolla's uids win, as Kolla makes them first)
    assert [line for line in passwd if line.startswith("keystone:")] == [
        "keystone:x:42425:42425::/var/lib/keystone:/usr/sbin/nologin"]
    assert "kolla:x:42400:keystone,memcached" in (tmp_path / "etc/group").read_text().splitlines()
    assert "keystone:!!:::::::" in (tmp_path / "etc/shadow").read_text().splitlines()  # sudo's PAM account check
    assert (tmp_path / "etc/sudoers").stat().st_mode & 0o777 == 0o440
    start = tmp_path / "usr/local/bin/kolla_start"
    assert start.read_bytes() == (RELEASE.directory / "start.sh").read_bytes() and start.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "usr/local/bin/kolla_extend_start").read_bytes() == b""
    log = (tmp_path / "var/log/kolla/keystone").stat()
    assert (log.st_uid, log.st_gid) == (42425, 42400)
    assert (tmp_path / "var/log/kolla").stat().st_mode & 0o7777 == 0o2775


def test_labels_are_the_oci_set_and_the_locks_digest_and_refuse_unchecked_values():
    labels = image_labels("keystone", "2025.1", "a" * 64, "2026-12-08T04:00:00Z")
    assert labels["org.opencontainers.image.title"] == "keystone"
    assert labels["org.opencontainers.image.version"] == "2025.1"
    assert labels["io.resolver.lock.sha256"] == "a" * 64
    assert {"org.opencontainers.image.revision", "org.opencontainers.image.source",
            "org.opencontainers.image.created"} <= set(labels)
    for args in (("keystone", "2025.1\nRUN x", "a" * 64, "2026-12-08T04:00:00Z"),
                 ("keystone", "2025.1", "a" * 63, "2026-12-08T04:00:00Z"),
                 ('key"stone', "2025.1", "a" * 64, "2026-12-08T04:00:00Z")):
        with pytest.raises(InputError, match="refusing to put it in a Containerfile"):
            image_labels(*args)


def test_the_lock_records_kollas_release_and_reads_it_back(tmp_path):
    lock = Lock("centos-9", "computed", "none", (), {}, kolla=RELEASE.to_json())
    path = tmp_path / "resolver.lock"
    path.write_text(lock_text(lock))
    assert read_lock(path).kolla == RELEASE.to_json()
    assert read_lock(path).kolla["files"]["docker/base/start.sh"] == next(
        f.sha256 for f in RELEASE.files if f.source == "docker/base/start.sh")


def test_a_kolla_smoke_check_is_data_and_its_file_names_stay_in_the_config_directory(tmp_path):
    smoke = tmp_path / "smoke.yaml"
    smoke.write_text("""memcached:
  - kolla: {command: "/usr/bin/memcached -p {port}", config_files: []}
    send: "stats\\r\\n"
    healthcheck: [healthcheck_listen, memcached, "{port}"]
""")
    (check,) = load_smoke(smoke)["memcached"]
    assert check.serve and check.kolla["command"] == "/usr/bin/memcached -p {port}"
    assert check.healthcheck == ("healthcheck_listen", "memcached", "{port}")
    smoke.write_text("""keystone:
  - kolla: {command: /usr/bin/keystone-startup.sh}
    files: {../../etc/passwd: "x"}
    get: /v3
""")
    with pytest.raises(InputError):
        load_smoke(smoke)
    smoke.write_text("keystone:\n  - kolla: {command: x}\n    serve: [x]\n    get: /\n")
    with pytest.raises(InputError, match=r"'run' or 'serve' .* or 'kolla'"):
        load_smoke(smoke)
