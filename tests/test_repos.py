import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resolver.errors import RepoError
from resolver.metadata.repo_config import repo_specs
from resolver.metadata.repos import RepoSet

from .conftest import BASEOS_2022, ROOT, ZSTD_REPO


def dnf_cli_closure(names, repo_dir, tmp_path, weak_deps=False):
    """What the dnf command line would install into an empty root."""
    done = subprocess.run(
        ["dnf", f"--installroot={tmp_path / 'root'}", "--releasever=9", "--forcearch=x86_64",
         "--setopt=reposdir=/nonexistent", f"--setopt=install_weak_deps={weak_deps}",
         f"--setopt=cachedir={tmp_path / 'cache'}", f"--repofrompath=r,{repo_dir}", "--repo=r",
         "--nogpgcheck", "--assumeno", "install", *names],
        capture_output=True, text=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    table = done.stdout.split("Installing:", 1)[1].split("Transaction Summary", 1)[0]
    tokens = [t for line in table.splitlines() if not line.startswith(("Installing", "=")) for t in line.split()]
    # rows are: name arch version repo size unit (long names wrap; the token stream does not care)
    return {(tokens[i], tokens[i + 2], tokens[i + 1]) for i in range(0, len(tokens), 6)}


@pytest.mark.skipif(shutil.which("dnf") is None, reason="the dnf command line is not installed")
@pytest.mark.parametrize("names", [["bash"], ["openssh-clients", "lsscsi"], ["sudo", "procps-ng", "python3"],
                                   ["systemd"], ["device-mapper-multipath", "curl", "tar"]])
def test_closure_matches_the_dnf_command_line(names, baseos_repos, tmp_path):
    ours = {(p.name, p.evr, p.arch) for p in baseos_repos.resolve(names).closure}
    expected = dnf_cli_closure(names, BASEOS_2022, tmp_path)
    assert ours == expected


def test_requires_graph_edges_are_real_requirements(baseos_repos):
    resolution = baseos_repos.resolve(["openssh-clients"])
    graph = resolution.graph
    assert set(graph) == {p.name for p in resolution.closure}
    assert graph.has_edge("openssh-clients", "openssh")
    label = graph.edges["openssh", "glibc"]["requires"]
    assert "glibc" in baseos_repos.providers_of(label)


def test_unknown_name_is_reported_not_dropped(baseos_repos):
    resolution = baseos_repos.resolve(["bash", "no-such-package"])
    assert [u.name for u in resolution.unresolved] == ["no-such-package"]
    assert "bash" in resolution.names()


def test_unsatisfiable_request_carries_libsolvs_problem(bundled_repos):
    resolution = bundled_repos.resolve(["libvirt-client", "lsscsi"])
    (problem,) = resolution.unresolved
    assert problem.name == "libvirt-client"
    assert "nothing provides" in problem.problem or "none of the providers" in problem.problem
    assert "lsscsi" in resolution.names()


def test_pinned_parent_packages_are_kept_exactly(bundled_repos):
    """An image cannot remove what its parent holds: a request that needs a parent's package
    replaced (curl conflicts with the parent's curl-minimal) is refused with libsolv's reason,
    although it installs on an empty root, and the parent's packages stay, same versions."""
    parent = bundled_repos.resolve(["curl-minimal"]).closure
    assert "curl" in bundled_repos.resolve(["curl"]).names()
    child = bundled_repos.resolve(["curl"], pinned=parent)
    (refused,) = child.unresolved
    assert refused.name == "curl" and "curl-minimal" in refused.problem and "conflicts with curl" in refused.problem
    assert set(parent) <= set(child.closure) and "curl" not in child.names()


def test_runtime_library_of_a_devel_package(bundled_repos):
    assert bundled_repos.runtime_libraries_of("libpq-devel") == [("libpq.so.5()(64bit)", ("libpq",))]
    assert {p for _, ps in bundled_repos.runtime_libraries_of("libxslt-devel") for p in ps} == {"libxslt"}


def test_zstd_compressed_metadata_loads():
    with RepoSet(repo_specs([str(ZSTD_REPO)])) as repos:
        assert [p.name for p in repos.resolve(["pkg-with-no-deps"]).closure] == ["pkg-with-no-deps"]


def test_directory_without_repodata_is_a_clear_error(tmp_path):
    with pytest.raises(RepoError, match="no repodata/repomd.xml"):
        RepoSet(repo_specs([str(tmp_path)]))


def test_repo_file_is_read(tmp_path):
    repo_file = tmp_path / "cs9.repo"
    repo_file.write_text(f"[baseos]\nname=BaseOS\nbaseurl=file://{BASEOS_2022}\nenabled=1\n"
                         "[disabled]\nbaseurl=file:///nowhere\nenabled=0\n")
    specs = repo_specs([str(repo_file)])
    assert [s.repo_id for s in specs] == ["baseos"]
    with RepoSet(specs) as repos:
        assert "bash" in repos.resolve(["bash"]).names()


def test_runtime_library_is_what_the_development_links_point_at(bundled_repos):
    libraries = {devel: bundled_repos.runtime_libraries_of(devel) for devel in (
        "cyrus-sasl-devel", "sqlite-devel", "libffi-devel", "openssl-devel", "libxml2-devel", "python3-devel",
        "openldap-devel")}
    # the library, not the daemon or the CLI of the same source RPM
    assert libraries["cyrus-sasl-devel"] == [("libsasl2.so.3()(64bit)", ("cyrus-sasl-lib",))]
    assert libraries["sqlite-devel"] == [("libsqlite3.so.0()(64bit)", ("sqlite-libs",))]
    assert libraries["libffi-devel"] == [("libffi.so.8()(64bit)", ("libffi",))]
    assert {p for _, ps in libraries["openssl-devel"] for p in ps} == {"openssl-libs"}
    assert libraries["libxml2-devel"] == [("libxml2.so.2()(64bit)", ("libxml2",))]
    assert libraries["python3-devel"] == [("libpython3.9.so.1.0()(64bit)", ("python3-libs",))]
    # openldap 2.6's libldap.so.2 is in BaseOS 2025, which the bundled pair lacks: said, not hidden
    assert ("libldap.so.2()(64bit)", ()) in libraries["openldap-devel"]


def test_conflict_is_named_with_libsolv_text(bundled_repos):
    resolution = bundled_repos.resolve(["curl", "curl-minimal"])
    problem = next(u.problem for u in resolution.unresolved if u.name == "curl-minimal")
    assert "curl-minimal" in problem and "conflicts with curl provided by curl-" in problem


def test_obsoleted_request_is_replaced_as_dnf_does_not_a_conflict(bundled_repos):
    resolution = bundled_repos.resolve(["systemd-udev"])
    assert not resolution.unresolved
    assert dict(resolution.satisfied_by)["systemd-udev"] == "systemd-boot-unsigned"
    request, package, text = resolution.replaced[0]
    assert (request, package) == ("systemd-udev", "systemd-boot-unsigned")
    assert "is obsoleted by systemd-boot-unsigned" in text and "Obsoletes: systemd-udev < 252-8" in text


def test_metadata_facts_are_kept_under_the_repomd_digest(tmp_path):
    """Requirements looked up in one run are read back in the next on the same metadata, and
    never paired with other metadata: changed repomd.xml, other key."""
    cache = tmp_path / "cache"
    with RepoSet(repo_specs([str(BASEOS_2022)]), cache_dir=cache) as repos:
        closure = repos.resolve(["openssh-clients"]).closure
        first = {p.name: repos.requirements(p) for p in closure}
    (kept,) = (cache / "metadata").iterdir()
    with RepoSet(repo_specs([str(BASEOS_2022)]), cache_dir=cache) as repos:
        assert {p.name: repos.requirements(p) for p in closure} == first
    copy = tmp_path / "baseos"
    shutil.copytree(BASEOS_2022, copy)
    repomd = copy / "repodata" / "repomd.xml"
    repomd.chmod(0o644)
    repomd.write_text(repomd.read_text() + "<!-- regenerated -->\n")
    with RepoSet(repo_specs([str(copy)]), cache_dir=cache) as repos:
        for package in repos.resolve(["bash"]).closure:
            repos.requirements(package)
    assert len(list((cache / "metadata").iterdir())) == 2 and kept.exists()


def test_the_host_rpm_database_is_never_read(tmp_path):
    """The target's release is given, so dnf never reads the host's rpm database for one. On
    Debian that database is ~/.rpmdb, made on first use: two runs making it at once failed."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), PYTHONPATH=str(ROOT))
    dbpath = subprocess.run(["rpm", "--eval", "%_dbpath"], env=env, capture_output=True, text=True).stdout.strip()
    if not dbpath.startswith(str(home)):
        pytest.skip(f"this host's rpm database is {dbpath}, not under HOME (made by the system, not on first use)")
    done = subprocess.run([sys.executable, "-m", "resolver", "closure", "sudo"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not Path(dbpath).exists()
