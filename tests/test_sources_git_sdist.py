"""What a git:, sdist: (file or URL) and pypi: source gives, and the clear errors on bad ones: a
local git repository made here, sdists built here, a loopback http.server (no internet)."""

import hashlib
import http.server
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
from functools import partial

import pytest

from resolver.errors import SourceError
from resolver.inputs.bindepfile import parse_bindep
from resolver.inputs.sources import Source, read_bindep, release_sdist, sdist_code, sdist_console_scripts

from .conftest import ROOT
from .test_sources import NOVA, make_sdist


def tar_of(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "nova"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "bindep.txt").write_text("lsscsi [platform:rpm]\n")
    git(repo, "add", "bindep.txt")
    git(repo, "commit", "-qm", "one")
    git(repo, "tag", "v1")
    return repo


@pytest.fixture
def served(tmp_path):
    """A loopback web server over tmp_path/served."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(http.server.SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}", server
    server.shutdown()


def test_a_tag_made_after_the_clone_is_fetched(tmp_path, repo):
    cache = tmp_path / "cache"
    assert [r.name for r in read_bindep(Source.parse(f"git:{repo}@v1"), cache).rules] == ["lsscsi"]
    (repo / "bindep.txt").write_text("lsscsi [platform:rpm]\nsg3_utils [platform:rpm]\n")
    git(repo, "commit", "-qam", "two")
    git(repo, "tag", "v2")
    got = read_bindep(Source.parse(f"git:{repo}@v2"), cache)  # v2 is not in the cached clone yet
    assert [r.name for r in got.rules] == ["lsscsi", "sg3_utils"]
    assert got.path == f"git:{repo}@v2:bindep.txt"


def test_a_ref_the_repository_does_not_have_is_a_clear_error(tmp_path, repo):
    with pytest.raises(SourceError, match=rf"git show of {repo} failed: .*nosuchref"):
        read_bindep(Source.parse(f"git:{repo}@nosuchref"), tmp_path / "cache")


def test_a_git_source_needs_a_ref():
    with pytest.raises(SourceError, match="name a ref"):
        Source.parse("git:https://opendev.org/openstack/nova")


def test_without_git_installed_the_error_says_so(tmp_path, repo, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SourceError, match="git is not installed"):
        read_bindep(Source.parse(f"git:{repo}@v1"), tmp_path / "cache")


def test_a_relative_path_is_read_beside_the_profile_that_names_it(tmp_path):
    (tmp_path / "upstream").mkdir()
    (tmp_path / "upstream" / "nova.txt").write_text(NOVA)
    source = Source.parse("path:upstream/nova.txt", relative_to=tmp_path)
    assert source.target == str(tmp_path / "upstream" / "nova.txt") and str(source) == source.target
    assert "lsscsi" in {r.name for r in read_bindep(source, tmp_path / "cache").rules}


def test_a_missing_sdist_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="no such sdist file"):
        read_bindep(Source.parse(f"sdist:{tmp_path / 'nova-1.tar.gz'}"), tmp_path / "cache")


def test_a_file_that_is_not_an_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / "nova-31.0.0.tar.gz"
    bad.write_text("not an archive")
    with pytest.raises(SourceError, match="not a readable sdist"):
        read_bindep(Source.parse(f"sdist:{bad}"), tmp_path / "cache")
    with pytest.raises(SourceError, match="not a readable sdist"):
        sdist_code(bad)
    with pytest.raises(SourceError, match="not a readable sdist"):
        sdist_console_scripts(bad)


def test_an_sdist_url_is_downloaded_once_then_reused_offline(tmp_path, served):
    root, base, server = served
    make_sdist(root)
    cache = tmp_path / "cache"
    first = read_bindep(Source.parse(f"sdist:{base}/nova-31.0.0.tar.gz"), cache)
    server.shutdown()  # offline from here on
    again = read_bindep(Source.parse(f"sdist:{base}/nova-31.0.0.tar.gz"), cache)
    assert first.rules == again.rules and "lsscsi" in {r.name for r in again.rules}


def test_an_sdist_url_that_is_not_there_leaves_nothing_in_the_cache(tmp_path, served):
    _, base, _ = served
    cache = tmp_path / "cache"
    with pytest.raises(SourceError, match="cannot download .*nova-9.tar.gz.*404"):
        read_bindep(Source.parse(f"sdist:{base}/nova-9.tar.gz"), cache)
    assert not list((cache / "sdists").iterdir())


def index_with(root, files):
    (root / "pypi" / "nova").mkdir(parents=True)
    (root / "pypi" / "nova" / "json").write_text(json.dumps({"releases": {"31.0.0": files}}))


@pytest.mark.parametrize(("files", "message"), [
    (None, "nova has no release 32.0.0 on the index"),
    ([], "nova==32.0.0 has no sdist on the index"),
    ([{"packagetype": "sdist", "filename": "../evil.tar.gz", "url": "x", "digests": {"sha256": "0" * 64}}],
     "unexpected sdist entry for 32.0.0; not downloaded"),
])
def test_what_the_index_lacks_is_a_clear_error(tmp_path, served, monkeypatch, files, message):
    root, base, _ = served
    (root / "pypi" / "nova").mkdir(parents=True)
    releases = {} if files is None else {"32.0.0": files}
    (root / "pypi" / "nova" / "json").write_text(json.dumps({"releases": releases}))
    monkeypatch.setattr("resolver.inputs.sources.PYPI_JSON_URL", f"{base}/pypi")
    with pytest.raises(SourceError, match=message):
        release_sdist("nova", "32.0.0", tmp_path / "cache")


def test_an_sdist_whose_sha256_differs_from_the_index_is_not_cached(tmp_path, served, monkeypatch):
    root, base, _ = served
    sdist = make_sdist(root)
    index_with(root, [{"packagetype": "sdist", "filename": sdist.name, "url": f"{base}/{sdist.name}",
                       "digests": {"sha256": hashlib.sha256(b"something else").hexdigest()}}])
    monkeypatch.setattr("resolver.inputs.sources.PYPI_JSON_URL", f"{base}/pypi")
    cache = tmp_path / "cache"
    with pytest.raises(SourceError, match=r"nova-31.0.0.tar.gz: the downloaded sdist has sha256 [0-9a-f]{64}, "
                                           r"the index gives f41f3fa6[0-9a-f]{56}; not cached"):
        release_sdist("nova", "31.0.0", cache)
    assert not [p for p in (cache / "sdists").rglob("*") if p.is_file()]


def test_sdist_code_holds_the_service_code_only(tmp_path):
    archive = tar_of(tmp_path / "nova-31.0.0.tar.gz", {
        "nova-31.0.0/setup.py": "", "nova-31.0.0/nova/api.py": "import os\n",
        "nova-31.0.0/etc/nova/rootwrap.d/compute.filters": "[Filters]\n",
        "nova-31.0.0/nova/tests/test_api.py": "", "nova-31.0.0/doc/conf.py": "",
        "nova-31.0.0/tools/x.py": "", "nova-31.0.0/README.rst": ""})
    assert sdist_code(archive) == [("etc/nova/rootwrap.d/compute.filters", "[Filters]\n"),
                                   ("nova/api.py", "import os\n")]


def test_console_scripts_come_from_setup_cfg(tmp_path):
    archive = tar_of(tmp_path / "nova-31.0.0.tar.gz", {"nova-31.0.0/setup.cfg": (
        "[entry_points]\nconsole_scripts =\n    nova-compute = nova.cmd.compute:main\n"
        "    nova-api = nova.cmd.api:main\n")})
    assert sdist_console_scripts(archive) == ("nova-api", "nova-compute")
    broken = tar_of(tmp_path / "broken-1.tar.gz", {"broken-1/setup.cfg": "no section header\n"})
    assert sdist_console_scripts(broken) == ()
    assert sdist_console_scripts(tar_of(tmp_path / "bare-1.tar.gz", {"bare-1/setup.py": ""})) == ()


def test_a_plain_path_is_a_path_source():
    assert Source.parse("upstream/nova.txt") == Source("path", "upstream/nova.txt")


def test_a_git_transfer_that_outlasts_its_limit_is_given_up(tmp_path, monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, then never answers
    monkeypatch.setenv("RESOLVER_GIT_TIMEOUT", "1")
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/nova"
        with pytest.raises(SourceError, match=f"git clone of {url} took longer than 1 s"):
            read_bindep(Source.parse(f"git:{url}@master"), tmp_path / "cache")
    finally:
        listener.close()
    assert not list((tmp_path / "cache" / "git").iterdir())


@pytest.fixture
def served_tls(tmp_path, served):
    """The loopback server of ``served`` behind TLS, with a certificate for 127.0.0.1 signed by
    itself (a site's own CA, as a company mirror has one): (root, base URL, certificate)."""
    root, _, server = served
    certificate, key = tmp_path / "site-ca.pem", tmp_path / "site-ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return root, f"https://127.0.0.1:{server.server_port}", certificate


def test_an_https_download_trusts_the_ca_of_ssl_cert_file_and_refuses_an_unknown_one(tmp_path, served_tls):
    """The one TLS context a process makes (resolver/network.py) still honours SSL_CERT_FILE, and
    still checks the server: each run is its own process, as a user's is."""
    root, base, certificate = served_tls
    make_sdist(root)
    read = ("import sys; from pathlib import Path; from resolver.errors import SourceError\n"
            "from resolver.inputs.sources import Source, read_bindep\n"
            "try: print(len(read_bindep(Source.parse(sys.argv[1]), Path(sys.argv[2])).rules))\n"
            "except SourceError as error: print(error)")

    def run(cache, **env):
        return subprocess.run([sys.executable, "-c", read, f"sdist:{base}/nova-31.0.0.tar.gz", str(tmp_path / cache)],
                              env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True,
                              timeout=60).stdout.strip()

    assert "CERTIFICATE_VERIFY_FAILED" in run("untrusted")
    assert run("trusted", SSL_CERT_FILE=str(certificate)) == str(len(parse_bindep(NOVA, "nova").rules))
