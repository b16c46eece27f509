"""Real multi-stage builds of the demo tree: EL-named RPMs made from Debian's binaries, real dnf,
real buildah/podman, real wheels from PyPI; the services started and asked.

The whole tree is built once per module (under its own tag prefix, removed afterwards); the demo
repository and the downloads are cached (XDG_CACHE_HOME), so a second build in the run is warm."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from resolver.containers.buildah import DBPATH, PREFIX, Buildah
from resolver.containers.elf import requires
from resolver.containers.python_target import VENV
from resolver.demo.distribution import DEMO_DATA, demo_repo, demo_spec
from resolver.demo.signing import KEY_FILE

from .conftest import ROOT, run_cli

pytestmark = pytest.mark.skipif(
    not (shutil.which("buildah") and shutil.which("podman") and os.geteuid() == 0),
    reason="real builds need buildah and podman as root (./bootstrap installs them)")

#: build tools that must never be in a final image
COMPILERS = {"gcc", "cpp", "binutils", "glibc-devel", "kernel-headers"}


def remove_images(prefix):
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                            capture_output=True, text=True).stdout.split()
    mine = [ref for ref in listed if ref.startswith(prefix + "/")]
    if mine:
        subprocess.run(["podman", "rmi", "-f", *mine], capture_output=True)


@pytest.fixture(scope="module", autouse=True)
def module_cache(session_cache, tmp_path_factory):
    """One cache for the module's builds (never the user's): the demo repository, with the signing
    key made for it, and the downloads. An image's content key comes from the repository it was
    built from, so "nothing changed builds nothing" needs the same repository across builds."""
    cache = tmp_path_factory.mktemp("build-cache") / "xdg"
    shutil.copytree(session_cache, cache, copy_function=os.link)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


@pytest.fixture(autouse=True)
def own_cache(module_cache):
    """(Replaces the per-test cache of conftest.py: the builds share the module's.)"""
    return module_cache


@pytest.fixture(scope="module")
def prefix():
    name = f"localhost/resolver-test-{uuid.uuid4().hex[:8]}"
    yield name
    remove_images(name)


def build(prefix, *args, images=None, profiles=None):
    extra = (["--images", str(images)] if images else []) + (["--profiles", str(profiles)] if profiles else [])
    done = run_cli("build", "--tag-prefix", prefix, "--format", "json", *extra, *args, timeout=1800)
    return done, (json.loads(done.stdout)["images"] if done.stdout.strip() else [])


class Mounted:
    """An image's root (podman image mount) and the names in its rpm database (rpm --root)."""

    def __init__(self, ref):
        self.ref = ref

    def __enter__(self):
        self.root = Path(subprocess.run(["podman", "image", "mount", self.ref], capture_output=True, text=True,
                                        check=True).stdout.strip())
        out = subprocess.run(["rpm", "--root", str(self.root), "--dbpath", DBPATH, "-qa", "--qf", "%{NAME}\\n"],
                             capture_output=True, text=True, check=True).stdout
        self.rpms = set(out.split())
        return self

    def __exit__(self, *exc):
        subprocess.run(["podman", "image", "unmount", self.ref], capture_output=True)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def first_build(prefix, logs):
    done, images = build(prefix, "--smoke", "--logs-dir", str(logs))
    assert done.returncode == 0, done.stderr[-3000:]
    return {i["name"]: i for i in images}


def image_id(ref):
    return subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def planned():
    """The demo plan, independently of the build: every image's planned content."""
    done = run_cli("plan", "--repos", str(demo_repo()), "--images", str(DEMO_DATA / "images"),
                   "--profiles", str(DEMO_DATA / "profiles"), "--format", "json")
    assert done.returncode == 0, done.stderr
    images = json.loads(done.stdout)["images"]

    def content(name):
        image = images[name]
        return set(image["layer_packages"]) | (content(image["parent"]) if image["parent"] else set())

    return {name: content(name) for name in images}


def path_to(images, name):
    chain = [name]
    while images[chain[-1]].get("parent"):
        chain.append(images[chain[-1]]["parent"])
    return chain


def test_demo_rpms_carry_the_dependencies_rpm_generated_from_debian_binaries():
    repo = demo_repo()

    def query(name, what):
        (rpm,) = repo.glob(f"x86_64/{name}-[0-9]*.rpm")
        return set(subprocess.run(["rpm", "-qp", f"--{what}", str(rpm)], capture_output=True, text=True,
                                  check=True).stdout.splitlines())

    assert "libldap-2.5.so.0()(64bit)" in query("openldap", "provides")
    assert "libsasl2.so.2()(64bit)" in query("openldap", "requires")
    assert "libevent-2.1.so.7()(64bit)" in query("memcached", "requires")
    assert "python(abi) = 3.11" in query("python3", "provides")
    assert "python(abi) = 3.11" in query("python3-libs", "requires")


def test_demo_rpms_are_signed_with_the_repositorys_own_key_and_builds_check_them(tmp_path):
    repo = demo_repo()
    key = repo / KEY_FILE
    assert demo_spec(repo).checks_signatures and demo_spec(repo).gpgkey == (f"file://{key}",)
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    subprocess.run(["rpmkeys", "--dbpath", str(keyring), "--import", str(key)], check=True)
    rpms = sorted(repo.rglob("*.rpm"))
    checked = subprocess.run(["rpmkeys", "--dbpath", str(keyring), "--checksig", *map(str, rpms)],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(rpms) > 50 and all(line.endswith(": digests signatures OK") for line in checked), checked[:3]
    # the build's dnf --installroot checks them (no buildah: a plain directory as the root)
    engine = Buildah([demo_spec(repo)])
    try:
        engine.install(tmp_path / "root", ["tzdata"], "installing tzdata")
        assert "tzdata" in engine.installed(tmp_path / "root")
    finally:
        engine.close()


def test_final_images_hold_exactly_their_plan(first_build, planned):
    tree = {i["name"]: i for i in yaml.safe_load((DEMO_DATA / "images" / "tree.yaml").read_text())}
    assert {i["status"] for i in first_build.values()} == {"built"}
    for name, image in first_build.items():
        with Mounted(image["reference"]) as mounted:
            assert mounted.rpms == set(image["packages"])  # the JSON reports what the rpm database holds
        # the ELF additions of the image and its parents, and what they pull in, are the only extras
        added = {a["package"] for n in path_to(tree, name) for a in first_build[n]["elf_added"]}
        assert added <= mounted.rpms and planned[name] <= mounted.rpms, name
        extra = mounted.rpms - planned[name]
        assert extra <= added | {"libgcc"}, (name, extra)  # libstdc++ requires libgcc


def test_no_compiler_no_devel_no_wheel_no_pip_cache_in_final_images(first_build):
    keystone = first_build["keystone"]
    assert {"gcc", "openldap-devel", "cyrus-sasl-devel", "python3-devel"} <= set(keystone["build_only"])
    for name, image in first_build.items():
        with Mounted(image["reference"]) as mounted:
            assert not [r for r in mounted.rpms if r.endswith("-devel") or r in COMPILERS], name
            files = [p for p in mounted.root.rglob("*") if p.is_file() or p.is_symlink()]
            assert not [p for p in files if p.name.endswith(".whl")], name
            assert not (mounted.root / "root" / ".cache").exists(), name
            assert not [p for p in files if "/site-packages/pip/" in str(p)], name  # pip ran from its wheel
            for mount_point in ("wheels", "sources", "pip"):
                assert not (mounted.root / mount_point).exists(), name


def test_keystone_builder_compiled_python_ldap_against_the_runtime_libldap(first_build):
    keystone = first_build["keystone"]
    assert keystone["compiled"] == ["python-ldap==3.4.4"]
    with Mounted(keystone["reference"]) as mounted:
        (module,) = mounted.root.joinpath(VENV.lstrip("/")).glob("lib/python3.*/site-packages/_ldap*.so")
        assert "libldap-2.5.so.0" in {n.soname for n in requires(module, module.name)}
        owner = subprocess.run(["rpm", "--root", str(mounted.root), "--dbpath", DBPATH, "-q", "--whatprovides",
                                "libldap-2.5.so.0()(64bit)", "--qf", "%{NAME}"], capture_output=True, text=True)
        assert owner.stdout == "openldap"  # the runtime RPM, from the plan (openldap-devel's library)
        assert (mounted.root / "usr/lib/x86_64-linux-gnu/libldap-2.5.so.0").exists()


def test_build_only_packages_nothing_compiles_against_are_findings_not_installed(first_build):
    assert first_build["keystone"]["unused_build_only"] == ["libffi-devel"]
    assert set(first_build["placement-api"]["unused_build_only"]) == {"gcc", "libffi-devel", "python3-devel"}
    assert first_build["placement-api"]["build_only"] == []  # only binary wheels: no builder


def test_shared_wheels_sit_once_in_the_intermediate_venv_layer(first_build):
    keystone, placement, base = (set(first_build[n]["wheels"]) for n in ("keystone", "placement-api",
                                                                           "openstack-base"))
    assert not keystone & placement
    assert {"oslo-config==9.7.2", "keystoneauth1==5.10.0", "sqlalchemy==2.0.38"} <= base
    assert "keystone==27.1.0" in keystone and "openstack-placement==13.0.1" in placement
    with Mounted(first_build["openstack-base"]["reference"]) as mounted:
        site = next(mounted.root.joinpath(VENV.lstrip("/")).glob("lib/python3.*/site-packages"))
        assert (site / "oslo_config").is_dir() and not (site / "keystone").exists()
    assert first_build["openstack-base"]["python_bytes"] > first_build["placement-api"]["python_bytes"]


def test_sizes_are_reported_per_kind_and_near_the_plan(first_build):
    for image in first_build.values():
        assert abs(image["size"] - image["estimate"]) <= 0.10 * image["estimate"], image["name"]
        python = image["python_bytes"] or 0
        assert python == 0 or python <= image["layer_size"], image["name"]
    assert first_build["memcached"]["python_bytes"] == 0
    assert first_build["keystone"]["python_bytes"] > 30e6


def test_smoke_checks_prove_the_services_run(first_build):
    smoke = {name: image.get("smoke") for name, image in first_build.items()}
    assert [len(smoke[n]) for n in ("memcached", "keystone", "placement-api")] == [1, 3, 1]
    for name in ("memcached", "keystone", "placement-api"):
        assert all(check["ok"] for check in smoke[name]), smoke[name]
    assert "HTTP 200" in smoke["placement-api"][0]["detail"]
    # started as kolla-ansible starts them: kolla_start, the role's config.json, Kolla's uid and health check
    started = {"memcached": (smoke["memcached"][0], "uid 42457", "healthcheck_listen memcached"),
               "keystone": (smoke["keystone"][2], "uid 42425", "healthcheck_curl http://127.0.0.1:"),
               "placement-api": (smoke["placement-api"][0], "uid 42482", "healthcheck_curl http://127.0.0.1:")}
    for name, (check, uid, healthcheck) in started.items():
        assert check["check"].startswith("kolla_start ("), name
        assert f"runs as {uid}" in check["detail"] and f"{healthcheck}" in check["detail"], check
        assert "passed" in check["detail"], check


def test_images_start_as_kolla_images_do_and_carry_the_oci_labels(first_build):
    """CMD kolla_start, the venv first on PATH, each service's Kolla user, Kolla's scripts where
    Kolla installs them (byte for byte), and the labels with the lock's digest."""
    users = {"memcached": "memcached", "keystone": "keystone", "placement-api": "placement"}
    digests = set()
    for name, image in first_build.items():
        done = subprocess.run(["podman", "image", "inspect", "--format", "{{json .Config}}", image["reference"]],
                              capture_output=True, text=True, check=True)
        config = json.loads(done.stdout)
        assert config["Cmd"] == ["kolla_start"], name
        assert f"PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in config["Env"], name
        assert config.get("User", "") == users.get(name, ""), name
        labels = config["Labels"]
        assert labels["org.opencontainers.image.title"] == name
        assert {"org.opencontainers.image.version", "org.opencontainers.image.created",
                "org.opencontainers.image.revision", "org.opencontainers.image.source"} <= set(labels), name
        digests.add(labels["io.resolver.lock.sha256"])
    assert len(digests) == 1  # one plan, one lock
    kolla = ROOT / "resolver" / "data" / "kolla" / "2025.1"
    with Mounted(first_build["keystone"]["reference"]) as image:
        assert (image.root / "usr/local/bin/kolla_start").read_bytes() == (kolla / "start.sh").read_bytes()
        assert (image.root / "usr/local/bin/kolla_set_configs").stat().st_mode & 0o777 == 0o755
        assert (image.root / "etc/sudoers").stat().st_mode & 0o777 == 0o440
        assert "keystone:x:42425:42425::/var/lib/keystone:/usr/sbin/nologin" in (image.root / "etc/passwd").read_text()
        assert (image.root / "var/lib/keystone").stat().st_uid == 42425
        assert (image.root / "usr/bin/sudo").stat().st_mode & 0o4000  # setuid: kolla_start's sudo works


def test_memcached_image_serves_stats_on_loopback_and_stops(first_build):
    """Independently of the smoke module: the test starts the image's memcached itself."""
    container = f"{PREFIX}test-memcached-{uuid.uuid4().hex[:6]}"
    subprocess.run(["buildah", "from", "--name", container, first_build["memcached"]["reference"]],
                   capture_output=True, check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["buildah", "run", "--isolation", "chroot", "--network", "host", container, "--",
                                "/usr/bin/memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        answer = b""
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                    connection.sendall(b"stats\r\n")
                    answer = connection.recv(4096)
                break
            except OSError:
                time.sleep(0.1)
        assert answer.startswith(b"STAT pid ") and b"STAT version 1.6" in answer
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        process.kill()
        process.wait()
        subprocess.run(["buildah", "rm", container], capture_output=True)


def test_every_image_is_tagged_latest_beside_its_content_key(first_build, prefix):
    for name, image in first_build.items():
        assert image["tag"] == f"{prefix}/{name}:latest"
        assert image_id(image["tag"]) == image_id(image["reference"]), name


def test_each_image_has_a_log_of_every_command_of_its_stages(first_build, logs):
    keystone = (logs / "keystone.log").read_text()
    assert first_build["keystone"]["log"] == str(logs / "keystone.log")
    # the builder stage (dnf of the build-only packages, pip wheel), the final stage, the commit, the smoke checks
    assert "$ dnf -y -q --installroot=" in keystone and "openldap-devel" in keystone
    assert "pip wheel --no-index" in keystone and "python_ldap-3.4.4" in keystone
    assert "$ buildah commit" in keystone and keystone.count("## exit 0 after") >= 8
    assert "# keystone: smoke checks started" in keystone and "keystone-manage" in keystone
    assert {p.name for p in logs.iterdir()} == {f"{name}.log" for name in first_build}


def test_no_change_builds_nothing_and_one_leaf_pin_change_rebuilds_that_leaf(first_build, prefix, tmp_path):
    done, again = build(prefix)
    assert done.returncode == 0 and {i["status"] for i in again} == {"skipped"}
    assert {i["name"]: i["python_bytes"] for i in again} == {n: i["python_bytes"] for n, i in first_build.items()}
    profiles = tmp_path / "profiles"
    shutil.copytree(DEMO_DATA / "profiles", profiles)
    placement = profiles / "placement.yaml"
    placement.write_text(placement.read_text().replace("openstack-placement==13.0.1", "openstack-placement==13.0.0"))
    done, changed = build(prefix, "--prune", profiles=profiles)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {i["name"] for i in changed if i["status"] == "built"} == {"placement-api"}
    new = next(i for i in changed if i["name"] == "placement-api")
    assert "openstack-placement==13.0.0" in new["wheels"]
    # --prune: the old placement-api content tag went, the new one carries latest; nothing else moved
    assert json.loads(done.stdout)["pruned"] == [first_build["placement-api"]["reference"]]
    assert image_id(f"{prefix}/placement-api:latest") == image_id(new["reference"])
    for name in ("base", "openstack-base", "keystone", "memcached"):
        assert image_id(first_build[name]["reference"]) == image_id(f"{prefix}/{name}:latest")


def test_a_failing_step_shows_its_last_lines_and_its_log(first_build, prefix, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    tree = (DEMO_DATA / "images" / "tree.yaml").read_text()
    (images / "tree.yaml").write_text(tree.replace(
        "    - {name: memcached, reason: the cache server this image runs}\n",
        "    - {name: memcached, reason: the cache server this image runs}\n"
        "  build: {run: 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo step line $i; "
        "done; exit 3'}\n"))
    logs = tmp_path / "logs"
    done = run_cli("build", "memcached", "--tag-prefix", prefix, "--images", str(images), "--logs-dir", str(logs),
                   "--verbose", timeout=1800)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "[build] memcached: failed memcached: build step failed" in done.stderr
    assert "[memcached] step line 20" in done.stderr  # --verbose streams the tool's output
    summary = done.stdout[done.stdout.index("\nmemcached "):]
    assert "exit 3" in summary and "step line 20" in summary and "step line 10\n" in summary
    assert "step line 2\n" not in summary  # the last 15 lines; the whole output is in the log
    assert f"the whole output: {logs / 'memcached.log'}" in summary
    log = (logs / "memcached.log").read_text()
    assert "step line 1\n" in log and "## exit 3 after" in log and "# failed: memcached: build step failed" in log
    # the readable tag stays on the last good image
    assert image_id(f"{prefix}/memcached:latest") == image_id(first_build["memcached"]["reference"])


def test_prune_removes_old_content_tags_of_its_prefix_only(tmp_path):
    prefix = f"localhost/resolver-prune-{uuid.uuid4().hex[:8]}"
    other = f"{prefix}x"  # shares the prefix's first characters, not its path

    def commit(*names):
        container = subprocess.run(["buildah", "from", "scratch"], capture_output=True, text=True,
                                   check=True).stdout.strip()
        (tmp_path / "f").write_text(uuid.uuid4().hex)  # a distinct image each time
        subprocess.run(["buildah", "copy", container, str(tmp_path / "f"), "/f"], capture_output=True, check=True)
        subprocess.run(["buildah", "commit", "--quiet", container, names[0]], capture_output=True, check=True)
        subprocess.run(["buildah", "rm", container], capture_output=True, check=True)
        for name in names[1:]:
            subprocess.run(["buildah", "tag", names[0], name], capture_output=True, check=True)
        time.sleep(1.1)  # podman's creation times are in seconds: oldest to newest

    try:
        commit(f"{prefix}/keystone:{'0' * 16}", f"{prefix}/keystone:2025.1")  # a release tag points at it
        commit(f"{prefix}/keystone:{'1' * 16}")
        commit(f"{prefix}/keystone:{'3' * 16}")
        commit(f"{prefix}/keystone:{'2' * 16}", f"{prefix}/keystone:latest")  # the newest
        commit(f"{prefix}/memcached:{'4' * 16}")
        commit(f"{prefix}/keystone:not-a-key")
        commit(f"{other}/keystone:{'5' * 16}")
        dry = run_cli("prune", "--tag-prefix", prefix, "--dry-run", "--format", "json")
        assert dry.returncode == 0, dry.stderr
        stale = [f"{prefix}/keystone:{'3' * 16}", f"{prefix}/keystone:{'1' * 16}"]
        assert json.loads(dry.stdout)["removed"] == stale
        done = run_cli("prune", "--tag-prefix", prefix)
        assert done.returncode == 0, done.stderr
        assert "removed 2 content tags" in done.stdout and f"kept {prefix}/keystone:{'0' * 16} (also " in done.stdout
        listed = set(subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                                    capture_output=True, text=True).stdout.split())
        assert not set(stale) & listed
        assert {f"{prefix}/keystone:{'0' * 16}", f"{prefix}/keystone:2025.1", f"{prefix}/keystone:{'2' * 16}",
                f"{prefix}/keystone:latest", f"{prefix}/memcached:{'4' * 16}", f"{prefix}/keystone:not-a-key",
                f"{other}/keystone:{'5' * 16}"} <= listed
    finally:
        remove_images(prefix)
        remove_images(other)


def test_a_user_who_cannot_build_is_told_what_is_needed_before_any_work(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("_CONTAINERS_USERNS_CONFIGURED", None)
    tmp_path.chmod(0o777)
    # the user must reach this Python's environment: tox makes .tox 0700, so open it to others for
    # the run (traversal only), as a shared install would be
    closed = [d for d in (Path(sys.prefix), *Path(sys.prefix).parents) if not d.stat().st_mode & 0o001]
    for directory in closed:
        directory.chmod(directory.stat().st_mode | 0o001)
    try:
        done = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--",
                               sys.executable, "-m", "resolver", "build"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        for directory in closed:
            directory.chmod(directory.stat().st_mode & ~0o001)
    assert done.returncode == 2, done.stderr
    assert "run it as root" in done.stderr and "buildah unshare" in done.stderr and "/etc/subuid" in done.stderr
    assert "None" not in done.stderr and not (tmp_path / "cache").exists()  # nothing planned or downloaded


def test_a_hostile_package_name_is_refused_before_anything_is_built(tmp_path):
    from .test_build_values import hostile_repository

    repo = hostile_repository(tmp_path / "repo")
    images, profiles = tmp_path / "images", tmp_path / "profiles"
    images.mkdir()
    profiles.mkdir()
    (images / "tree.yaml").write_text("- name: base\n  deployed: true\n  packages:\n"
                                      "    - {name: bash, reason: shell}\n")
    shutil.copy(DEMO_DATA / "profiles" / "defaults.yaml", profiles)
    prefix = f"localhost/resolver-hostile-{uuid.uuid4().hex[:8]}"
    done = run_cli("build", "--repos", str(repo), "--images", str(images), "--profiles", str(profiles),
                   "--tag-prefix", prefix)
    assert done.returncode == 2 and "'tzdata\\nRUN touch /pwned" in done.stderr, done.stderr
    assert "[build]" not in done.stderr  # refused before any image started
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}"], capture_output=True, text=True)
    assert prefix not in listed.stdout


def test_compiled_requirement_without_its_build_packages_is_refused_before_building(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(DEMO_DATA / "profiles", profiles)
    bindep = profiles / "upstream" / "keystone.txt"
    bindep.write_text(bindep.read_text().replace("openldap-devel [platform:redhat compile]\n", ""))
    prefix = f"localhost/resolver-refused-{uuid.uuid4().hex[:8]}"
    done, _ = build(prefix, profiles=profiles)
    assert done.returncode == 2
    assert "python-ldap==3.4.4" in done.stderr and "openldap-devel" in done.stderr
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}"], capture_output=True, text=True)
    assert prefix not in listed.stdout


def test_terminated_build_leaves_no_new_tag_and_no_working_container():
    """SIGTERM (what `timeout`, systemd and CI runners send) cleans up exactly as Ctrl-C, exit 143.
    The branch base -> memcached (no wheels to compile), stopped while memcached builds on the done base."""
    prefix = f"localhost/resolver-kill-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "resolver", "build", "memcached", "--jobs", "1", "--tag-prefix", prefix,
               "--format", "json"]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        states = {}

        def record(line):
            if line.startswith("[build] "):
                image, _, state = line.removeprefix("[build] ").partition(": ")
                states[image] = state.split()[0]

        for line in process.stderr:
            record(line)
            if "done" in states.values() and states.get(line.split(": ")[0][8:]) == "building":
                process.send_signal(signal.SIGTERM)
                break
        _, rest = process.communicate(timeout=300)
        for line in rest.splitlines():
            record(line)
        assert process.returncode == 143 and "build stopped by SIGTERM" in rest, rest[-2000:]
        finished = {name for name, state in states.items() if state == "done"}
        interrupted = set(states) - finished
        assert interrupted, states  # the signal landed before the tree was done
        listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}"], capture_output=True,
                                text=True).stdout.split()
        tagged = {ref.rsplit("/", 1)[1] for ref in listed if ref.startswith(prefix + "/")}
        assert tagged == finished  # nothing tagged for an image that did not finish (content key or latest)
        containers = subprocess.run(["buildah", "containers", "--format", "{{.ContainerName}}"],
                                    capture_output=True, text=True).stdout.split()
        assert not [c for c in containers if c.startswith(PREFIX)]
        done, rerun = build(prefix, "memcached", "--jobs", "1")
        assert done.returncode == 0, done.stderr
        statuses = {i["name"]: i["status"] for i in rerun}
        assert {n for n, s in statuses.items() if s == "skipped"} == finished
        assert {n for n, s in statuses.items() if s == "built"} == interrupted
    finally:
        remove_images(prefix)


def test_unknown_image_is_refused_before_building():
    done = run_cli("build", "keystone-api")
    assert done.returncode == 2 and "unknown image 'keystone-api'" in done.stderr


def test_rendered_containerfiles_and_bake_file_follow_the_tree(tmp_path):
    done = run_cli("render", "--bake", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    tree = {i["name"]: i for i in yaml.safe_load((DEMO_DATA / "images" / "tree.yaml").read_text())}
    bake = json.loads((tmp_path / "docker-bake.json").read_text())
    assert set(bake["target"]) == set(tree)
    assert set(bake["group"]["default"]["targets"]) == {n for n, i in tree.items() if i.get("deployed")}
    for name, target in bake["target"].items():
        parent = tree[name].get("parent")
        assert target.get("contexts", {}) == ({f"resolver/{parent}": f"target:{parent}"} if parent else {})
        text = (tmp_path / target["dockerfile"]).read_text()
        final = text.rsplit("\nFROM ", 1)[1]
        assert final.startswith(f"resolver/{parent}" if parent else "scratch")
        assert "-devel" not in final and "gcc-" not in final and "pip-cache" not in final
    keystone = (tmp_path / "keystone" / "Containerfile").read_text()
    builder, final = keystone.split("\n# Final stage")
    assert "FROM resolver/openstack-base AS builder" in builder
    assert "cyrus-sasl-devel gcc openldap-devel python3-devel" in builder and "libffi-devel" not in builder
    assert "pip wheel --no-deps --require-hashes" in builder
    assert "--mount=type=bind,from=builder,source=/wheels" in final and "--require-hashes -r /install.txt" in final
    # the venv layer's wheels are pinned with the lock's sha256 beside the Containerfile
    assert "keystone==27.1.0 --hash=sha256:" in (tmp_path / "keystone" / "install.txt").read_text()
    requirements = (tmp_path / "keystone" / "requirements.txt").read_text().splitlines()
    assert "python-ldap==3.4.4 --hash=sha256:" in "\n".join(requirements)
    assert all(" --hash=sha256:" in line for line in requirements)
    assert not (tmp_path / "memcached" / "requirements.txt").exists()


def test_site_override_steps_and_pip_packages_are_built_into_that_image_only(first_build, prefix, tmp_path):
    """placement-api gets a Python requirement of its own (pinned by the constraints) and two
    steps, one before its layer's packages, one after (its venv is there then)."""
    probe = "{ test -e /var/lib/kolla/venv/bin/placement-api && echo present || echo absent; }"
    site = tmp_path / "site.yaml"
    site.write_text(f"""images:
  placement-api:
    reason: the site's placement caches in memcached
    pip_packages: [{{name: pymemcache}}]
    steps:
      - {{run: "{probe} > /etc/site-after", when: after-packages}}
      - {{run: "{probe} > /etc/site-before", when: before-packages}}
""")
    done, images = build(prefix, "--overrides", str(site))
    assert done.returncode == 0, done.stderr[-3000:]
    status = {i["name"]: i["status"] for i in images}
    assert status.pop("placement-api") == "built" and set(status.values()) == {"skipped"}
    placement = next(i for i in images if i["name"] == "placement-api")
    assert "pymemcache==4.0.0" in placement["wheels"]  # the upper-constraints pin
    with Mounted(placement["reference"]) as mounted:
        assert (mounted.root / "etc/site-before").read_text() == "absent\n"
        assert (mounted.root / "etc/site-after").read_text() == "present\n"
        assert next(mounted.root.joinpath(VENV.lstrip("/")).glob("lib/python3.*/site-packages/pymemcache"))


def make_modular_repo(directory):
    """demo 1.0 (not modular) and demo 2.0, the only artifact of module stream demo:2.0, which
    requires the platform (as maven:3.8 does on CentOS Stream 9): built with rpmbuild,
    createrepo_c and modifyrepo_c."""
    spec = directory / "demo.spec"
    spec.write_text("Name: demo\nVersion: %{ver}\nRelease: 1%{?dist}\nSummary: demo\nLicense: MIT\nBuildArch: noarch\n"
                    "%description\ndemo\n%install\nmkdir -p %{buildroot}/usr/share/demo\n"
                    "echo %{ver} > %{buildroot}/usr/share/demo/version\n%files\n/usr/share/demo/version\n")
    repo = directory / "repo"
    for version, dist in (("1.0", ""), ("2.0", ".module_el9+1+abc")):
        subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {directory / 'top'}", "--define", f"ver {version}",
                        "--define", f"dist {dist or '%{nil}'}", "--define", f"_rpmdir {repo}", str(spec)],
                       capture_output=True, check=True)
    subprocess.run(["createrepo_c", "-q", str(repo)], check=True)
    modules = directory / "modules.yaml"
    modules.write_text(yaml.safe_dump({
        "document": "modulemd", "version": 2,
        "data": {"name": "demo", "stream": "2.0", "version": 9000020240101, "context": "abc", "arch": "x86_64",
                 "summary": "demo 2.0", "description": "demo 2.0", "license": {"module": ["MIT"]},
                 "dependencies": [{"buildrequires": {"platform": ["el9"]}, "requires": {"platform": ["el9"]}}],
                 "artifacts": {"rpms": ["demo-0:2.0-1.module_el9+1+abc.noarch"]}}}, explicit_start=True))
    subprocess.run(["modifyrepo_c", "--mdtype=modules", str(modules), str(repo / "repodata")],
                   capture_output=True, check=True)
    return repo


def test_module_stream_is_enabled_in_the_image_and_its_package_installed(tmp_path):
    repo = make_modular_repo(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "tree.yaml").write_text(
        "- {name: app, deployed: true, packages: [{name: demo, reason: the application}]}\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "defaults.yaml").write_text("{}\n")
    site = tmp_path / "site.yaml"
    site.write_text('images:\n  app:\n    modules: [{name: "demo:2.0", reason: the application needs 2.0}]\n')
    prefix = f"localhost/resolver-modules-{uuid.uuid4().hex[:8]}"
    common = ["--repos", str(repo), "--images", str(tmp_path / "images"), "--profiles", str(tmp_path / "profiles")]
    try:
        for overrides, version in ((["--overrides", str(site)], "2.0"), (["--no-overrides"], "1.0")):
            done, (app,) = build(prefix, *common, *overrides)
            assert done.returncode == 0, done.stderr[-3000:]
            with Mounted(app["reference"]) as mounted:
                assert mounted.rpms == {"demo"} and (mounted.root / "usr/share/demo/version").read_text() == \
                    f"{version}\n"
                state = mounted.root / "etc/dnf/modules.d/demo.module"
                if version == "2.0":  # dnf's module state, for whatever installs on top of the image
                    assert "stream=2.0" in state.read_text() and "state=enabled" in state.read_text()
                else:
                    assert not state.exists()
    finally:
        remove_images(prefix)


def test_a_build_takes_only_the_containers_of_runs_that_ended_for_leftovers():
    """Another build running on the host keeps its working containers; a killed run's (its pid
    gone) and an older version's (no pid in the name) are removed by the next build."""
    other = subprocess.Popen(["sleep", "60"])  # stands for another build's process
    ended = subprocess.Popen(["true"])
    ended.wait()
    names = {"running": f"{PREFIX}{other.pid}-keystone-final", "ended": f"{PREFIX}{ended.pid}-keystone-final",
             "unnumbered": f"{PREFIX}keystone-{uuid.uuid4().hex[:6]}-final"}
    try:
        for name in names.values():
            subprocess.run(["buildah", "from", "--name", name, "scratch"], capture_output=True, check=True)
        engine = Buildah([])
        try:
            leftovers = set(engine.leftovers())
        finally:
            engine.close()
        assert names["ended"] in leftovers and names["unnumbered"] in leftovers
        assert names["running"] not in leftovers
    finally:
        other.kill()
        other.wait()
        subprocess.run(["buildah", "rm", *names.values()], capture_output=True)
