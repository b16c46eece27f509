"""The download cache and the bounds on downloads and archives, against an index on 127.0.0.1
(http.server in a thread) serving real wheels and sdists made here: a cached file is checked
against its digest on every read and fetched again when it was changed or cut short; a download
is bounded in time and size; archive members are read with bounds; a malformed listing, kept
closure or archive is the project's own error naming it (or, for what the tool made itself,
made again)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from resolver.archives import MAX_UNPACKED_BYTES
from resolver.containers.pypi import FileMetadata, IndexFile, PyPI, parse_listing, read_metadata
from resolver.containers.python_target import Dist, TargetPython
from resolver.containers.runner import install_requirements
from resolver.containers.wheel_closure import WheelResolver
from resolver.errors import PyPIError, ResolverError, SourceError
from resolver.inputs.profiles import Release
from resolver.inputs.sources import Source, read_bindep, release_sdist

from .test_sources import NOVA, make_sdist
from .test_wheel_plan import make_wheel

CP311 = TargetPython((3, 11), (2, 36))


class Served(http.server.BaseHTTPRequestHandler):
    """Paths -> bytes, or -> a callable writing the response itself (a slow or endless body)."""

    routes: dict = {}
    hits: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        route = type(self).routes.get(self.path)
        if route is None:
            self.send_error(404)
        elif callable(route):
            route(self)
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(route)))
            self.end_headers()
            self.wfile.write(route)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (Served,), {"routes": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", handler
    httpd.shutdown()
    httpd.server_close()


def publish(base, handler, project, files):
    """A PEP 691 listing of ``files`` (paths on disk) served at /simple/PROJECT/, each file at /files/."""
    entries = []
    for path in files:
        data = path.read_bytes()
        handler.routes[f"/files/{path.name}"] = data
        entries.append({"filename": path.name, "url": f"../../files/{path.name}",
                        "hashes": {"sha256": hashlib.sha256(data).hexdigest()}})
    handler.routes[f"/simple/{project}/"] = json.dumps({"files": entries}).encode()
    return f"{base}/simple"


def index_file(index, project, version="1.0"):
    return index.releases(project)[version][0]


# ---- item 2: a cached file is checked on every read -------------------------------------------

def test_a_wheel_changed_in_the_cache_is_fetched_again_not_installed(tmp_path, server):
    base, handler = server
    wheel = make_wheel(tmp_path, "alpha", "1.0", [])
    index = PyPI(tmp_path / "cache", publish(base, handler, "alpha", [wheel]))
    file = index_file(index, "alpha")
    cached = index.download(file)
    genuine = cached.read_bytes()
    cached.write_bytes(genuine.replace(b"VERSION", b"EVIL_IS"))  # same size, other bytes
    again = index.download(file)
    assert again.read_bytes() == genuine
    assert handler.hits.count("/files/alpha-1.0-py3-none-any.whl") == 2


def test_a_truncated_cached_wheel_is_fetched_again_and_read(tmp_path, server):
    base, handler = server
    wheel = make_wheel(tmp_path, "alpha", "1.0", ["beta"])
    index = PyPI(tmp_path / "cache", publish(base, handler, "alpha", [wheel]))
    file = index_file(index, "alpha")
    cached = index.download(file)
    cached.write_bytes(cached.read_bytes()[:100])
    assert read_metadata(index.download(file)).requires_dist == ("beta",)


def test_an_index_serving_other_bytes_than_it_lists_is_an_error_naming_url_and_digests(tmp_path, server):
    base, handler = server
    wheel = make_wheel(tmp_path, "alpha", "1.0", [])
    index = PyPI(tmp_path / "cache", publish(base, handler, "alpha", [wheel]))
    file = index_file(index, "alpha")
    handler.routes[f"/files/{wheel.name}"] = b"other bytes"
    with pytest.raises(PyPIError, match=rf"{base}/files/alpha-1.0-py3-none-any.whl: the downloaded "
                                        rf"alpha-1.0-py3-none-any.whl has sha256 "
                                        rf"{hashlib.sha256(b'other bytes').hexdigest()}, the index gives "
                                        rf"{file.sha256}; not cached"):
        index.download(file)
    assert not [p for p in (tmp_path / "cache").rglob("*.whl")]


def test_a_listing_changed_in_the_cache_is_fetched_again(tmp_path, server):
    base, handler = server
    wheel = make_wheel(tmp_path, "alpha", "1.0", [])
    url = publish(base, handler, "alpha", [wheel])
    PyPI(tmp_path / "cache", url).releases("alpha")
    listing = tmp_path / "cache" / "pypi" / "index" / "alpha.json"
    forged = json.loads(listing.read_bytes())
    forged["files"][0]["hashes"]["sha256"] = "0" * 64
    listing.write_text(json.dumps(forged))
    assert index_file(PyPI(tmp_path / "cache", url), "alpha").sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert handler.hits.count("/simple/alpha/") == 2


def test_an_sdist_url_changed_in_the_cache_is_fetched_again(tmp_path, server):
    base, handler = server
    sdist = make_sdist(tmp_path)
    handler.routes["/nova-31.0.0.tar.gz"] = sdist.read_bytes()
    source = Source.parse(f"sdist:{base}/nova-31.0.0.tar.gz")
    read_bindep(source, tmp_path / "cache")
    cached = tmp_path / "cache" / "sdists" / "nova-31.0.0.tar.gz"
    cached.write_bytes(make_sdist(tmp_path / "cache", bindep="evil-package\n").read_bytes())
    assert "lsscsi" in {r.name for r in read_bindep(source, tmp_path / "cache").rules}
    assert handler.hits.count("/nova-31.0.0.tar.gz") == 2


def test_a_hand_edited_release_record_is_looked_up_again(tmp_path, server, monkeypatch):
    base, handler = server
    sdist = make_sdist(tmp_path)
    handler.routes["/nova-31.0.0.tar.gz"] = sdist.read_bytes()
    handler.routes["/pypi/nova/json"] = json.dumps({"releases": {"31.0.0": [
        {"packagetype": "sdist", "filename": sdist.name, "url": "/nova-31.0.0.tar.gz",
         "digests": {"sha256": hashlib.sha256(sdist.read_bytes()).hexdigest()}}]}}).encode()
    monkeypatch.setattr("resolver.inputs.sources.PYPI_JSON_URL", f"{base}/pypi")
    cache = tmp_path / "cache"
    first = release_sdist("nova", "31.0.0", cache)
    (cache / "sdists" / "releases" / "nova==31.0.0").write_text("../../etc passwd\n")
    assert release_sdist("nova", "31.0.0", cache) == first
    assert handler.hits.count("/pypi/nova/json") == 2


def test_pip_installs_the_venv_with_the_locks_hashes(tmp_path):
    """The build's pip install reads what `install_requirements` writes with --require-hashes:
    real pip (the host's) installs the layer's genuine wheel and refuses one changed after it
    was checked (here: in the wheelhouse, as a hard link of the cache would show it)."""
    wheel = zip_with(tmp_path / "alpha-1.0-py3-none-any.whl", {
        "alpha/__init__.py": b"", "alpha-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n",
        "alpha-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "alpha-1.0.dist-info/RECORD": b""})
    locked = Dist("alpha", "1.0", IndexFile(wheel.name, "https://x/", hashlib.sha256(wheel.read_bytes()).hexdigest()),
                  FileMetadata((), None), "constraints")
    requirements = tmp_path / "install.txt"
    requirements.write_text(install_requirements([locked], {wheel.name: wheel}).replace("/wheels/", f"{tmp_path}/"))

    def pip_install(target):
        return subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                               "--require-hashes", "--no-cache-dir", "--target", str(tmp_path / target),
                               "-r", str(requirements)], capture_output=True, text=True, check=False)

    assert pip_install("good").returncode == 0 and (tmp_path / "good" / "alpha").is_dir()
    with zipfile.ZipFile(wheel, "a") as changed:
        changed.writestr("alpha/evil.py", "import os\n")
    refused = pip_install("bad")
    assert refused.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in refused.stderr


# ---- item 4: downloads bounded in time and size ------------------------------------------------

def drip(body: bytes, every: float):
    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)
    return respond


def endless(handler):
    handler.send_response(200)
    handler.end_headers()  # no length: the body ends when the connection does
    block = b'{"files": [' + b" " * (1 << 20)
    try:
        while True:
            handler.wfile.write(block)
    except OSError:
        pass


def test_an_index_that_sends_a_byte_at_a_time_meets_the_total_download_limit(tmp_path, server, monkeypatch):
    base, handler = server
    handler.routes["/simple/alpha/"] = drip(b'{"files": []}' + b" " * 100, 0.1)  # 11 s in all
    monkeypatch.setenv("RESOLVER_DOWNLOAD_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(PyPIError, match=rf"{base}/simple/alpha/: the index listing took longer than 1 s to "
                                        r"download .*RESOLVER_DOWNLOAD_TIMEOUT"):
        PyPI(tmp_path / "cache", f"{base}/simple").releases("alpha")
    assert time.monotonic() - started < 4


def drip_headers(handler):
    for byte in b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"x" * 100:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.1)


def test_an_index_that_sends_its_headers_a_byte_at_a_time_meets_the_total_limit(tmp_path, server, monkeypatch):
    base, handler = server
    handler.routes["/simple/alpha/"] = drip_headers
    monkeypatch.setenv("RESOLVER_DOWNLOAD_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(PyPIError, match=rf"{base}/simple/alpha/: the index listing took longer than 1 s"):
        PyPI(tmp_path / "cache", f"{base}/simple").releases("alpha")
    assert time.monotonic() - started < 3


def test_an_endless_index_body_stops_at_the_size_limit(tmp_path, server):
    base, handler = server
    handler.routes["/simple/alpha/"] = endless
    with pytest.raises(PyPIError, match=rf"{base}/simple/alpha/: the index listing is larger than 32 MiB"):
        PyPI(tmp_path / "cache", f"{base}/simple").releases("alpha")
    assert not (tmp_path / "cache" / "pypi" / "index").exists()


def test_the_total_download_limit_must_be_a_positive_number(tmp_path, server, monkeypatch):
    base, _ = server
    monkeypatch.setenv("RESOLVER_DOWNLOAD_TIMEOUT", "0")
    with pytest.raises(ResolverError, match="RESOLVER_DOWNLOAD_TIMEOUT='0': give a positive whole number"):
        PyPI(tmp_path / "cache", f"{base}/simple").releases("alpha")


# ---- item 5: archive members read with bounds --------------------------------------------------

def zip_with(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def tar_with(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


BOMB = b"Metadata-Version: 2.1\nName: alpha\n" + b"\0" * (64 << 20)  # 64 MiB inflating from 64 KiB


def test_a_wheel_whose_metadata_inflates_beyond_the_limit_is_refused(tmp_path):
    wheel = zip_with(tmp_path / "alpha-1.0-py3-none-any.whl", {"alpha-1.0.dist-info/METADATA": BOMB})
    assert wheel.stat().st_size < 1 << 20
    with pytest.raises(PyPIError, match=r"alpha-1.0.dist-info/METADATA is 67108898 bytes, larger than 4 MiB; not read"):
        read_metadata(wheel)


def test_an_sdist_whose_pkg_info_is_huge_is_refused(tmp_path):
    sdist = tar_with(tmp_path / "alpha-1.0.tar.gz", {"alpha-1.0/PKG-INFO": BOMB})
    with pytest.raises(PyPIError, match=r"alpha-1.0/PKG-INFO is 67108898 bytes, larger than 4 MiB"):
        read_metadata(sdist)


def test_a_huge_bindep_txt_in_an_sdist_is_refused_not_cut(tmp_path):
    sdist = tar_with(tmp_path / "nova-31.0.0.tar.gz", {"nova-31.0.0/bindep.txt": NOVA.encode() + b"#" * (5 << 20)})
    with pytest.raises(SourceError, match=r"nova-31.0.0/bindep.txt is \d+ bytes, larger than 4 MiB"):
        read_bindep(Source.parse(f"sdist:{sdist}"), tmp_path / "cache")


def test_a_wheel_claiming_astronomic_sizes_is_refused(tmp_path):
    """Central directory entries claiming 3 GiB each (the bytes are a few): the planned size of
    the venv layer would be 18 GiB of nothing."""
    members = {"alpha-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: alpha\n",
               **{f"alpha/m{i}.py": b"" for i in range(6)}}
    wheel = zip_with(tmp_path / "alpha-1.0-py3-none-any.whl", members)
    data = bytearray(wheel.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + name_length].startswith(b"alpha/m"):
            struct.pack_into("<I", data, start + 24, 3 << 30)  # uncompressed size
        start += 4
    wheel.write_bytes(bytes(data))
    with pytest.raises(PyPIError, match=rf"members claim \d+ bytes unpacked, more than {MAX_UNPACKED_BYTES >> 30} GiB"):
        read_metadata(wheel)


# ---- item 6: malformed input ends in the project's error naming it ------------------------------

PAGE = "http://127.0.0.1:1/simple/alpha/"


@pytest.mark.parametrize("body", [b'{"files": 5}', b"[" * 100_000 + b"]" * 100_000, b'{"files": [5]}', b"[]",
                                  b'<html><a href="alpha-1.0.tar.gz">alpha</a></html>', b"\xff\xfe",
                                  b'{"meta": {}}'])
def test_a_listing_that_is_not_pep_691_is_an_error_naming_its_url(body):
    with pytest.raises(PyPIError, match=rf"{PAGE}: not a PEP 691 JSON listing") as error:
        parse_listing(body, "alpha", PAGE)
    assert error.value.exit_code == 2


def test_listing_entries_of_the_wrong_types_are_never_chosen():
    good = {"filename": "alpha-1.0.tar.gz", "url": "a.tar.gz", "hashes": {"sha256": "a" * 64}}
    entries = [good, {**good, "filename": 5}, {**good, "hashes": "x"}, {**good, "url": None},
               {**good, "hashes": {"sha256": ["a" * 64]}}]
    assert [f.url for f in parse_listing(json.dumps({"files": entries}).encode(), "alpha", PAGE)["1.0"]] == \
        [f"{PAGE}a.tar.gz"]


@pytest.mark.parametrize("pyproject, message", [
    (b"[build-system]\nrequires = 5\n", "build-system.requires is '5', not a list of strings"),
    (b"build-system = 5\n", "build-system is '5', not a table"),
    (b"[build-system]\nrequires = ['setuptools', 'not a requirement!']\n",
     "build-system.requires 'not a requirement!' is not a requirement"),
    (b"[build-system\n", "Expected ']'"),
])
def test_an_sdist_with_a_broken_pyproject_is_an_error_naming_it(tmp_path, pyproject, message):
    sdist = tar_with(tmp_path / "alpha-1.0.tar.gz", {"alpha-1.0/PKG-INFO": b"Name: alpha\n",
                                                     "alpha-1.0/pyproject.toml": pyproject})
    with pytest.raises(PyPIError, match=rf"{sdist}: .*{message}") as error:
        read_metadata(sdist)
    assert error.value.exit_code == 2


def test_an_invalid_requires_dist_is_an_error_naming_the_file(tmp_path):
    wheel = make_wheel(tmp_path, "alpha", "1.0", ["beta >= >= 2"])
    with pytest.raises(PyPIError, match=rf"{wheel}: Requires-Dist 'beta >= >= 2' is not a requirement"):
        read_metadata(wheel)


@pytest.mark.parametrize("kept", [10 / 1000, 200 / 1000, 1 / 2, 9 / 10])
def test_truncated_archives_are_errors_naming_the_file(tmp_path, kept):
    wheel = make_wheel(tmp_path, "alpha", "1.0", [])
    sdist = make_sdist(tmp_path)
    for path in (wheel, sdist):
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * kept)])
    with pytest.raises(PyPIError, match=rf"{wheel}: not a readable wheel"):
        read_metadata(wheel)
    with pytest.raises(SourceError, match=rf"{sdist}: not a readable sdist"):
        read_bindep(Source.parse(f"sdist:{sdist}"), tmp_path / "cache")


def test_a_wheel_without_metadata_is_an_error_naming_it(tmp_path):
    wheel = zip_with(tmp_path / "alpha-1.0-py3-none-any.whl", {"alpha/__init__.py": b""})
    with pytest.raises(PyPIError, match=rf"{wheel}: the wheel has no .dist-info/METADATA"):
        read_metadata(wheel)


@pytest.fixture
def kept(tmp_path, server):
    """An index of alpha -> beta, a closure of alpha kept in the cache, and how to ask again."""
    base, handler = server
    url = publish(base, handler, "alpha", [make_wheel(tmp_path, "alpha", "1.0", ["beta"])])
    publish(base, handler, "beta", [make_wheel(tmp_path, "beta", "2.0", [])])
    cache = tmp_path / "cache"
    resolver = WheelResolver(PyPI(cache, url), CP311, {}, "c")
    expected = [(d.key, d.installed_size) for d in resolver.closure([Release("alpha", "1.0")])]
    resolver.save()
    memo = next((cache / "pypi" / "closures").glob("*.json"))

    def again():
        return [(d.key, d.installed_size) for d in WheelResolver(PyPI(cache, url), CP311, {}, "c")
                .closure([Release("alpha", "1.0")])]
    return memo, expected, again


def forge(memo: Path, change) -> None:
    """Edit the kept closures and record the edit's digest (the check a hand edit meets first is
    passed: what is left is the check of what the file holds)."""
    data = json.loads(memo.read_text())
    change(data)
    text = json.dumps(data).encode()
    memo.write_bytes(text)
    memo.with_name(memo.name + ".sha256").write_text(hashlib.sha256(text).hexdigest() + "\n")


def first_dist(data):
    return next(iter(data["dists"].values()))


@pytest.mark.parametrize("change", [
    lambda d: d.update(dists=5),
    lambda d: d.pop("closures"),
    lambda d: first_dist(d).pop("file"),
    lambda d: first_dist(d)["metadata"].update(unpacked=-5),
    lambda d: first_dist(d)["metadata"].update(unpacked=1 << 60),
    lambda d: first_dist(d)["metadata"].update(py_bytes="many"),
    lambda d: first_dist(d)["metadata"].update(requires_dist=["beta >= >= 1"]),
    lambda d: first_dist(d)["file"].update(filename="../../evil.whl"),
    lambda d: first_dist(d)["file"].update(sha256=5),
    lambda d: first_dist(d).update(pinned_by=None),
    lambda d: next(iter(d["closures"].values())).update(dists=["missing==1"]),
    lambda d: next(iter(d["closures"].values())).update(listings=[]),
], ids=["dists-not-object", "no-closures", "no-file", "negative-size", "astronomic-size", "size-not-int",
        "invalid-requirement", "unsafe-filename", "sha256-not-text", "pinned-by-none", "unknown-dist",
        "listings-not-object"])
def test_a_hand_edited_closure_cache_is_made_again(kept, change):
    memo, expected, again = kept
    forge(memo, change)
    assert again() == expected


def test_a_closure_cache_changed_without_its_record_is_not_used(kept):
    memo, expected, again = kept
    data = json.loads(memo.read_text())
    first_dist(data)["metadata"]["unpacked"] += 10 ** 9  # a possible size, but not the one written
    memo.write_text(json.dumps(data))
    assert again() == expected


def test_a_zip_member_with_a_bad_crc_is_an_error_naming_the_wheel(tmp_path):
    wheel = make_wheel(tmp_path, "alpha", "1.0", ["beta"])
    data = bytearray(wheel.read_bytes())
    at = data.find(b"Requires-Dist")
    data[at] ^= 1  # stored, not deflated: the byte changes and the CRC no longer fits
    wheel.write_bytes(bytes(data))
    with pytest.raises(PyPIError, match=rf"{wheel}: not a readable wheel \(BadZipFile"):
        read_metadata(wheel)
