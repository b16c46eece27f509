"""Fetching bindep.txt from sdists, PyPI (a local index on loopback) and git, with the cache."""

import hashlib
import http.server
import io
import json
import subprocess
import tarfile
import threading
from functools import partial

import pytest

from resolver.errors import InputError, SourceError
from resolver.inputs.sources import Source, read_bindep

from .conftest import UPSTREAM

NOVA = (UPSTREAM / "nova.txt").read_text()


def make_sdist(directory, name="nova", version="31.0.0", bindep=NOVA):
    path = directory / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, text in ((f"{name}-{version}/bindep.txt", bindep), (f"{name}-{version}/setup.py", "")):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_sdist_file(tmp_path):
    bindep = read_bindep(Source.parse(f"sdist:{make_sdist(tmp_path)}"), tmp_path / "cache")
    assert "lsscsi" in {r.name for r in bindep.rules}
    assert bindep.path == "nova-31.0.0.tar.gz:bindep.txt"


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """A PyPI-shaped JSON API on 127.0.0.1 serving one real sdist archive."""
    served = tmp_path / "served"
    (served / "pypi" / "nova").mkdir(parents=True)
    (served / "packages").mkdir()
    sdist = make_sdist(served / "packages")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(http.server.SimpleHTTPRequestHandler, directory=str(served)))
    base = f"http://127.0.0.1:{server.server_port}"
    # the project page, with a file address relative to it as some mirrors write them
    (served / "pypi" / "nova" / "json").write_text(json.dumps({"releases": {"31.0.0": [
        {"packagetype": "bdist_wheel", "filename": "nova-31.0.0-py3-none-any.whl", "url": "../../nowhere.whl",
         "digests": {"sha256": "0" * 64}},
        {"packagetype": "sdist", "filename": sdist.name, "url": f"../../packages/{sdist.name}",
         "digests": {"sha256": hashlib.sha256(sdist.read_bytes()).hexdigest()}}]}}))
    monkeypatch.setattr("resolver.inputs.sources.PYPI_JSON_URL", f"{base}/pypi")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_pypi_release_is_downloaded_once_then_reused_offline(tmp_path, local_index):
    cache = tmp_path / "cache"
    first = read_bindep(Source.parse("pypi:nova==31.0.0"), cache)
    local_index.shutdown()  # offline from here on
    again = read_bindep(Source.parse("pypi:nova==31.0.0"), cache)
    assert first.rules == again.rules and "lsscsi" in {r.name for r in again.rules}


def test_pypi_unreachable_without_cache_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("resolver.inputs.sources.PYPI_JSON_URL", "http://127.0.0.1:9/pypi")
    with pytest.raises(SourceError, match="cannot look up nova==31.0.0"):
        read_bindep(Source.parse("pypi:nova==31.0.0"), tmp_path / "cache")


def test_unpinned_pypi_source_is_refused():
    with pytest.raises(SourceError, match="pinned"):
        Source.parse("pypi:nova")


def test_git_checkout_at_a_ref(tmp_path):
    repo = tmp_path / "nova"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "bindep.txt").write_text("lsscsi\n")
    subprocess.run([*git, "add", "bindep.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "tag", "v1"], check=True)
    (repo / "bindep.txt").write_text("lsscsi\nsysfsutils\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    cache = tmp_path / "cache"
    assert [r.name for r in read_bindep(Source.parse(f"git:{repo}@v1"), cache).rules] == ["lsscsi"]
    head = read_bindep(Source.parse(f"git:{repo}@HEAD"), cache)
    assert [r.name for r in head.rules] == ["lsscsi", "sysfsutils"]


def test_sdist_without_bindep_is_a_clear_error(tmp_path):
    path = tmp_path / "x-1.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    with pytest.raises(SourceError, match="no top-level bindep.txt"):
        read_bindep(Source.parse(f"sdist:{path}"), tmp_path / "cache")


def test_a_bindep_file_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "bindep.txt"
    path.write_bytes(b"lsscsi\n# caf\xe9\n")
    with pytest.raises(InputError, match=r"bindep.txt:2: not UTF-8"):
        read_bindep(Source("path", str(path)), tmp_path / "cache")


def test_a_device_is_not_read_as_a_bindep_file(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        read_bindep(Source("path", "/dev/zero"), tmp_path / "cache")


@pytest.fixture
def silent_server():
    """A server on loopback that accepts connections and never answers."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_silent_index_is_given_up_after_the_timeout_leaving_nothing(tmp_path, monkeypatch, silent_server):
    monkeypatch.setenv("RESOLVER_NET_TIMEOUT", "1")
    cache = tmp_path / "cache"
    with pytest.raises(SourceError, match="cannot download"):
        read_bindep(Source.parse(f"sdist:{silent_server}/nova-31.0.0.tar.gz"), cache)
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_a_silent_git_server_is_given_up_leaving_no_clone(tmp_path, monkeypatch, silent_server):
    monkeypatch.setenv("RESOLVER_NET_TIMEOUT", "1")
    monkeypatch.setenv("RESOLVER_GIT_TIMEOUT", "5")
    cache = tmp_path / "cache"
    with pytest.raises(SourceError, match="git clone"):
        read_bindep(Source.parse(f"git:{silent_server}/nova@master"), cache)
    assert not list((cache / "git").iterdir())


def test_a_timeout_that_is_not_a_number_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RESOLVER_NET_TIMEOUT", "soon")
    with pytest.raises(SourceError, match="RESOLVER_NET_TIMEOUT='soon'"):
        read_bindep(Source.parse("sdist:http://127.0.0.1:9/nova-31.0.0.tar.gz"), tmp_path)
