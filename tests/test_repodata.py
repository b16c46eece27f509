"""Caches never pair new metadata with old packages, and damaged repodata is an error naming the
file, never a resolve on the cached copy (issue 13). Every scenario runs on a copy of the bundled
real BaseOS 2022 repository, changed as createrepo_c publishes (tests/repodata.py), with a cache
warmed on the repository as it was."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from resolver.errors import RepoError
from resolver.metadata.repo_config import repo_specs
from resolver.metadata.repos import RepoSet

from .conftest import BASEOS_2022, ROOT, run_cli, run_here
from .repodata import copy_repo, drop_package, publish_release, record_of, republish
from .test_repos import dnf_cli_closure

OLD, NEW = "1.9.5p2-7.el9", "1.9.5p2-7.el9.1"


def sudo_version(*args: str, run=run_here) -> str:
    done = run("closure", "sudo", "-q", *args)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("sudo ")]
    return line.split()[1]


@pytest.fixture
def baseos(tmp_path) -> Path:
    return copy_repo(BASEOS_2022, tmp_path / "baseos")


def test_an_update_published_in_place_is_seen_with_the_same_cache(baseos, tmp_path):
    cache = str(tmp_path / "cache")
    assert sudo_version("--repos", str(baseos), "--cache-dir", cache) == OLD
    publish_release(baseos, "sudo", "7.el9", "7.el9.1")
    assert sudo_version("--repos", str(baseos), "--cache-dir", cache) == NEW
    # what the dnf command line makes of the published repository (the edit is a valid repository)
    assert ("sudo", NEW, "x86_64") in dnf_cli_closure(["sudo"], baseos, tmp_path)


def test_an_update_published_right_after_a_run_is_seen(baseos, tmp_path):
    """dnf takes a copy made less than a second ago as fresh even with metadata_expire=0."""
    cache = tmp_path / "cache"
    releases = ["7.el9", "7.el9.1", "7.el9.2"]
    for previous, release in zip([None, *releases], releases):
        if previous:
            publish_release(baseos, "sudo", previous, release)
        with RepoSet(repo_specs([str(baseos)]), cache_dir=cache) as repos:
            assert {p.name: p.evr for p in repos.resolve(["sudo"]).closure}["sudo"] == f"1.9.5p2-{release}"


def _tree(tmp_path: Path) -> list[str]:
    images, profiles = tmp_path / "images", tmp_path / "profiles"
    images.mkdir()
    profiles.mkdir()
    shutil.copy(ROOT / "profiles" / "defaults.yaml", profiles)
    (images / "base.yaml").write_text("- name: base\n  parent: null\n  deployed: true\n"
                                      "  packages: [{name: sudo, reason: rootwrap runs through sudo}]\n")
    return ["--images", str(images), "--profiles", str(profiles), "--no-overrides", "-q"]


def test_lock_records_the_digest_of_the_metadata_its_packages_came_from(baseos, tmp_path):
    options = [*_tree(tmp_path), "--repos", str(baseos), "--cache-dir", str(tmp_path / "cache")]
    lock = tmp_path / "resolver.lock"

    def locked() -> tuple[str, str]:
        data = json.loads(lock.read_text())
        (sudo,) = [p for p in data["images"]["base"]["packages"] if p["name"] == "sudo"]
        return data["repos"][0]["repomd_sha256"], sudo["evr"]

    assert run_here("lock", "--lock", str(lock), *options).returncode == 0
    old_digest = hashlib.sha256((baseos / "repodata" / "repomd.xml").read_bytes()).hexdigest()
    assert locked() == (old_digest, OLD)

    publish_release(baseos, "sudo", "7.el9", "7.el9.1")
    new_digest = hashlib.sha256((baseos / "repodata" / "repomd.xml").read_bytes()).hexdigest()
    stale = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    assert stale.returncode == 2
    assert f"repository baseos: metadata changed (repomd {old_digest[:12]} -> {new_digest[:12]})" in stale.stderr
    assert f"base: sudo {OLD}.x86_64 -> {NEW}.x86_64" in stale.stderr

    assert run_here("lock", "--lock", str(lock), *options).returncode == 0
    assert locked() == (new_digest, NEW)
    fresh = run_here("plan", "--verify-lock", "--lock", str(lock), *options)
    assert fresh.returncode == 0, fresh.stderr


def test_a_package_the_repository_drops_stops_resolving_without_clearing_the_cache(baseos, tmp_path):
    cache = tmp_path / "cache"
    with RepoSet(repo_specs([str(baseos)]), cache_dir=cache) as repos:
        assert "sudo" in repos.resolve(["sudo"]).names()
    drop_package(baseos, "sudo")
    with RepoSet(repo_specs([str(baseos)]), cache_dir=cache) as repos:
        resolution = repos.resolve(["sudo", "bash"])
        assert [u.name for u in resolution.unresolved] == ["sudo"] and "bash" in resolution.names()
        assert repos.installsize_of("sudo") is None


def test_two_repositories_of_one_id_in_one_cache_each_give_their_own_packages(tmp_path):
    """dnf keeps solv files by repository id (``baseos.solv``): two directories named baseos share
    them, and libdnf rebuilds them when their repomd checksum is not the loaded one."""
    old = copy_repo(BASEOS_2022, tmp_path / "a" / "baseos")
    new = copy_repo(BASEOS_2022, tmp_path / "b" / "baseos")
    publish_release(new, "sudo", "7.el9", "7.el9.1")
    cache = str(tmp_path / "cache")
    for _ in range(2):
        assert sudo_version("--repos", str(old), "--cache-dir", cache) == OLD
        assert sudo_version("--repos", str(new), "--cache-dir", cache) == NEW


def _truncate(repo: Path, kind: str = "primary") -> Path:
    _, path = record_of(repo, kind)
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    return path


def _truncated_but_published(repo: Path) -> Path:
    """A truncated primary with repomd.xml rewritten to match: only decompressing it shows it."""
    _, path = record_of(repo, "primary")
    republish(repo, "primary", path.read_bytes()[:path.stat().st_size // 2])
    return record_of(repo, "primary")[1]


def _flip(repo: Path) -> Path:
    _, path = record_of(repo, "primary")
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _valid_but_unpublished(repo: Path) -> Path:
    """A new primary copied over the old one without repomd.xml: checksum mismatch."""
    _, path = record_of(repo, "primary")
    text = gzip.decompress(path.read_bytes()).replace(b'rel="7.el9"', b'rel="7.el9.9"')
    path.write_bytes(gzip.compress(text))
    return path


def _bad_xml_published(repo: Path) -> Path:
    """A primary cut in the middle of its XML, recompressed and published consistently: only
    libsolv's parser finds it (dnf: "Loading repository 'baseos' has failed")."""
    _, path = record_of(repo, "primary")
    text = gzip.decompress(path.read_bytes())
    republish(repo, "primary", gzip.compress(text[:len(text) // 2]))
    return record_of(repo, "primary")[1]


def _missing(kind: str):
    def damage(repo: Path) -> Path:
        _, path = record_of(repo, kind)
        path.unlink()
        return path.parent / "repomd.xml"
    damage.__name__ = f"missing_{kind}"
    return damage


def _repomd(change):
    def damage(repo: Path) -> Path:
        path = repo / "repodata" / "repomd.xml"
        change(path)
        return path
    damage.__name__ = change.__name__
    return damage


def garbage(path: Path) -> None:
    path.write_bytes(b"\xff\x00 not xml")


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1200])


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def dotdot(path: Path) -> None:
    """The href librepo aborts on (``lr_download: Assertion `dtarget->path' failed``, exit 134)."""
    path.write_text(path.read_text().replace('href="repodata/', 'href="../baseos/repodata/'))


def absolute(path: Path) -> None:
    path.write_text(path.read_text().replace('href="repodata/', 'href="/etc/', 1))


def entities(path: Path) -> None:
    path.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>' + path.read_text().split("?>", 1)[1])


DAMAGES = [_truncate, _truncated_but_published, _bad_xml_published, _flip, _valid_but_unpublished, _missing("primary"),
           _missing("filelists"), _missing("group_gz"), functools.partial(_truncate, kind="filelists"),
           *(_repomd(change) for change in (garbage, truncated, directory, fifo, dotdot, absolute, entities))]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: getattr(d, "__name__", "") or "truncate_filelists")
def test_damaged_repodata_with_a_warm_cache_is_an_error_naming_the_file(baseos, tmp_path, damage):
    cache = str(tmp_path / "cache")
    assert sudo_version("--repos", str(baseos), "--cache-dir", cache) == OLD
    named = damage(baseos)
    # in its own process: a damage that crashed or hung dnf must fail this test, not the whole run
    done = run_cli("closure", "sudo", "--repos", str(baseos), "--cache-dir", cache, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.splitlines()[-1].startswith("resolver: error: ") and "Traceback" not in done.stderr
    assert str(named) in done.stderr or str(named.parent) in done.stderr, done.stderr
    assert "sudo " not in done.stdout


def test_cache_dir_naming_a_file_is_refused_before_any_work(tmp_path):
    cache = tmp_path / "cache"
    cache.write_text("")
    done = run_here("closure", "sudo", "--cache-dir", str(cache))
    assert done.returncode == 2 and f"{cache} is not a directory" in done.stderr and not done.stdout


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """The copy of BaseOS served over HTTP on the loopback interface (a remote repository)."""
    root = copy_repo(BASEOS_2022, tmp_path / "www" / "baseos")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_remote_metadata_is_checked_again_when_the_expiry_says(served, tmp_path, monkeypatch):
    root, url = served
    cache = str(tmp_path / "cache")
    # in processes of their own: librepo, in this process, would hold the interpreter the server answers from
    version = functools.partial(sudo_version, run=run_cli)
    assert version("--repos", url, "--cache-dir", cache) == OLD
    publish_release(root, "sudo", "7.el9", "7.el9.1")
    # within the expiry: the cached copy, and a lock of it records the digest of that copy
    assert version("--repos", url, "--cache-dir", cache, "--metadata-expire", "1h") == OLD
    monkeypatch.setenv("RESOLVER_METADATA_EXPIRE", "2d")
    assert version("--repos", url, "--cache-dir", cache) == OLD
    monkeypatch.delenv("RESOLVER_METADATA_EXPIRE")
    # the default (0): repomd.xml is checked on every run, the update is seen
    assert version("--repos", url, "--cache-dir", cache) == NEW
    assert version("--repos", url, "--cache-dir", cache, "--metadata-expire", "never") == NEW


def test_remote_repository_digest_is_the_loaded_copys(served, tmp_path):
    root, url = served
    cache = tmp_path / "cache"
    first = hashlib.sha256((root / "repodata" / "repomd.xml").read_bytes()).hexdigest()
    with RepoSet(repo_specs([url]), cache_dir=cache) as repos:
        assert [d["repomd_sha256"] for d in repos.digests()] == [first]
    publish_release(root, "sudo", "7.el9", "7.el9.1")
    with RepoSet(repo_specs([url]), cache_dir=cache, metadata_expire=3600) as repos:
        assert [d["repomd_sha256"] for d in repos.digests()] == [first]
        (sudo,) = [p for p in repos.resolve(["sudo"]).closure if p.name == "sudo"]
        assert sudo.evr == OLD


def test_remote_href_leaving_the_repository_is_an_error_not_an_abort(served, tmp_path):
    root, url = served
    dotdot(root / "repodata" / "repomd.xml")
    done = run_cli("closure", "sudo", "--repos", url, "--cache-dir", str(tmp_path / "cache"), timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"{url}repodata/repomd.xml" in done.stderr and "leaves the repository" in done.stderr


def test_metadata_expire_values(tmp_path, monkeypatch):
    done = run_here("closure", "sudo", "--metadata-expire", "soon")
    assert done.returncode == 2 and "'soon' is not a metadata expiry" in done.stderr
    monkeypatch.setenv("RESOLVER_METADATA_EXPIRE", "-5")
    with pytest.raises(RepoError, match="RESOLVER_METADATA_EXPIRE"):
        RepoSet(repo_specs([str(BASEOS_2022)]), cache_dir=tmp_path)
