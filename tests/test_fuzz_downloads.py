"""Mutated index responses, kept closures and archives through the code that reads them: every
case ends in a result or the project's own error naming the URL or file, within a bounded time and
memory (no real network: a listing is served on 127.0.0.1 or fed to the parser; a kept closure is
read against a local index whose files are already cached).

``RESOLVER_FUZZ_EXAMPLES`` sets the cases per test, as for tests/test_fuzz.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import resource
import tarfile
import time
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.containers.pypi import PyPI, parse_listing, read_metadata
from resolver.containers.python_target import TargetPython
from resolver.containers.wheel_closure import WheelResolver
from resolver.inputs.profiles import Release
from resolver.inputs.sources import _bindep_from_sdist, sdist_code, sdist_console_scripts

from .test_download_cache import Served, publish
from .test_fuzz import FUZZ, mutated, only_our_errors
from .test_sources import NOVA
from .test_wheel_plan import make_wheel

CP311 = TargetPython((3, 11), (2, 36))
#: what one case may take: seconds, and growth of the process's peak memory during the case (the
#: peak before it is the worker's, whatever other modules ran on it before)
CASE_SECONDS = 10
CASE_MEMORY_KIB = 512 * 1024


def bounded(action, *names: str) -> None:
    """``only_our_errors`` within the time and memory a case may take."""
    started, peak = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    only_our_errors(action, *names)
    assert time.monotonic() - started < CASE_SECONDS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < CASE_MEMORY_KIB


PAGE = "http://127.0.0.1:1/simple/alpha/"
_ENTRY = {"filename": "alpha-1.0-py3-none-any.whl", "url": "../../files/alpha-1.0-py3-none-any.whl",
          "hashes": {"sha256": "a" * 64}, "requires-python": ">=3.8", "dist-info-metadata": {"sha256": "b" * 64},
          "yanked": False}
LISTING_SEEDS = [
    json.dumps({"meta": {"api-version": "1.1"}, "name": "alpha", "versions": ["1.0", "2.0rc1"], "files": [
        _ENTRY, {**_ENTRY, "filename": "alpha-2.0rc1.tar.gz", "url": "https://files.example/alpha-2.0rc1.tar.gz",
                 "yanked": "broken build", "size": 1234, "upload-time": "2024-01-01T00:00:00Z"},
        {**_ENTRY, "filename": "alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "core-metadata": True}]},
        indent=1).encode(),
    b'{"files": [], "meta": {"api-version": "1.0"}, "name": "alpha"}',
    # the wrong types where the listing has its keys
    b'{"files": [{"filename": 5, "url": null, "hashes": [], "yanked": {}}, 1, "alpha-1.0.tar.gz"]}',
    b'{"files": {"filename": "alpha-1.0.tar.gz"}}',
    # the HTML form (PEP 503), which this tool does not read: an error naming the page
    b'<!DOCTYPE html>\n<html><body>\n<a href="../../files/alpha-1.0.tar.gz#sha256=' + b"c" * 64
    + b'" data-requires-python="&gt;=3.8">alpha-1.0.tar.gz</a>\n</body></html>\n',
]


@FUZZ
@given(data=mutated(LISTING_SEEDS))
def test_mutated_listings_fed_to_the_parser(data):
    def parse():
        for files in parse_listing(data, "alpha", PAGE).values():
            assert all(f.url.startswith(("http://", "https://")) and "/" not in f.filename for f in files)

    bounded(parse, PAGE)


@pytest.fixture(scope="module")
def listing_server():
    """One index for the module: /simple/alpha/ answers whatever the case sets."""
    import http.server
    import threading

    handler = type("Handler", (Served,), {"routes": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", handler
    httpd.shutdown()
    httpd.server_close()


@FUZZ
@given(data=mutated(LISTING_SEEDS))
def test_mutated_listings_served(tmp_path_factory, listing_server, data):
    """Through the download path: fetched, parsed, cached with its digest, read back."""
    base, handler = listing_server
    handler.routes["/simple/alpha/"] = data
    cache = tmp_path_factory.mktemp("cache")

    def list_twice():  # the second from the cache
        first = PyPI(cache, f"{base}/simple").releases("alpha")
        assert PyPI(cache, f"{base}/simple").releases("alpha") == first

    bounded(list_twice, f"{base}/simple/alpha/")


@pytest.fixture(scope="module")
def warm_index(tmp_path_factory, listing_server):
    """alpha -> beta, gamma on the module's index, every listing and wheel cached, and the kept
    closures a plan of alpha wrote."""
    base, handler = listing_server
    served = tmp_path_factory.mktemp("served")
    for name, requires in (("alpha", ["beta>=1", 'gamma; python_version >= "3"']), ("beta", []), ("gamma", [])):
        publish(base, handler, name, [make_wheel(served, name, "1.0", requires)])
    cache = tmp_path_factory.mktemp("cache")
    resolver = WheelResolver(PyPI(cache, f"{base}/simple"), CP311, {}, "fuzz")
    expected = [d.key for d in resolver.closure([Release("alpha", "1.0")])]
    resolver.save()
    memo = next((cache / "pypi" / "closures").glob("*.json"))
    return f"{base}/simple", cache, memo, memo.read_bytes(), expected


@FUZZ
@given(data=st.data())
def test_mutated_closure_caches(warm_index, data):
    """A kept closure edited by hand, its digest recorded again (so what it holds is what is
    checked): the closure, or the project's error."""
    url, cache, memo, seed, expected = warm_index
    mutated_memo = data.draw(mutated([seed]))
    memo.write_bytes(mutated_memo)
    memo.with_name(memo.name + ".sha256").write_text(hashlib.sha256(mutated_memo).hexdigest() + "\n")

    def plan():
        dists = WheelResolver(PyPI(cache, url), CP311, {}, "fuzz").closure([Release("alpha", "1.0")])
        assert all(0 <= d.installed_size < 1 << 40 for d in dists)

    bounded(plan, url, str(cache))


def _wheel(members: dict[str, bytes]) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return stream.getvalue()


def _sdist(members: dict[str, bytes]) -> bytes:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w:gz") as tar:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return stream.getvalue()


METADATA = (b"Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nRequires-Python: >=3.8\n"
            b"Requires-Dist: beta>=1\nRequires-Dist: gamma; extra == \"fast\"\n")
WHEEL_MEMBERS = {"alpha/__init__.py": b"", "alpha-1.0.dist-info/METADATA": METADATA}
SDIST_MEMBERS = {
    "alpha-1.0/PKG-INFO": METADATA, "alpha-1.0/bindep.txt": NOVA.encode()[:2000],
    "alpha-1.0/alpha/api.py": b"import os\n",
    "alpha-1.0/pyproject.toml": b'[build-system]\nrequires = ["setuptools>=61", "wheel"]\nbuild-backend = "x"\n',
    "alpha-1.0/setup.cfg": b"[entry_points]\nconsole_scripts =\n    alpha-api = alpha.api:main\n",
    "alpha-1.0/alpha.egg-info/requires.txt": b"beta>=1\n\n[fast]\ngamma\n", "alpha-1.0/alpha/speed.c": b"",
}


def _read_all(path):
    read_metadata(path)
    if path.name.endswith(".tar.gz"):
        _bindep_from_sdist(path)
        sdist_code(path)
        sdist_console_scripts(path)


@FUZZ
@given(kind=st.sampled_from(["wheel", "sdist"]), data=st.data())
def test_mutated_archive_bytes(tmp_path_factory, kind, data):
    """An archive damaged anywhere (headers, compressed data, the end)."""
    seed = _wheel(WHEEL_MEMBERS) if kind == "wheel" else _sdist(SDIST_MEMBERS)
    path = tmp_path_factory.mktemp("a") / ("alpha-1.0-py3-none-any.whl" if kind == "wheel" else "alpha-1.0.tar.gz")
    path.write_bytes(data.draw(mutated([seed])))
    bounded(lambda: _read_all(path), str(path), f"{path.name}:bindep.txt")


@FUZZ
@given(kind=st.sampled_from(["wheel", "sdist"]), data=st.data())
def test_mutated_archive_members(tmp_path_factory, kind, data):
    """A sound archive whose METADATA, PKG-INFO, pyproject.toml, requires.txt, setup.cfg or
    bindep.txt is mutated."""
    members = dict(WHEEL_MEMBERS if kind == "wheel" else SDIST_MEMBERS)
    name = data.draw(st.sampled_from(sorted(n for n in members if members[n])))
    members[name] = data.draw(mutated([members[name]]))
    path = tmp_path_factory.mktemp("m") / ("alpha-1.0-py3-none-any.whl" if kind == "wheel" else "alpha-1.0.tar.gz")
    path.write_bytes(_wheel(members) if kind == "wheel" else _sdist(members))
    # a bindep.txt's own errors name it as parsing does: ``alpha-1.0.tar.gz:bindep.txt:LINE``
    bounded(lambda: _read_all(path), str(path), f"{path.name}:bindep.txt")
