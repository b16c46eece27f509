"""Where a project's bindep.txt comes from: a path, a PyPI sdist at a pinned version, an sdist
file or URL, or a git repository at a ref. Downloads land in a cache and are reused offline.

Source strings (as written in ``profiles/*.yaml`` or on the command line):

- ``path:upstream/nova.txt`` or a plain path: a file, relative to the profile that names it;
- ``pypi:nova==31.0.0``: the sdist of that release, found through PyPI's JSON API and kept
  under its sha256 (``release_sdist``, which evidence also uses to read the project's code);
- ``sdist:/tmp/nova-31.0.0.tar.gz`` or ``sdist:https://.../nova-31.0.0.tar.gz``;
- ``git:https://opendev.org/openstack/nova@<ref>`` (the ref is required: builds are pinned).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..archives import Archive
from ..downloads import MAX_INDEX_BYTES, cached_file, fetch, is_intact
from ..errors import InputError, SourceError
from ..files import MAX_INPUT_BYTES, decode_text, default_cache_dir, read_text, write_atomically
from ..names import confined
from ..network import network_timeout, seconds_from_env
from .bindepfile import BindepFile, parse_bindep

PYPI_JSON_URL = os.environ.get("RESOLVER_PYPI_URL", "https://pypi.org/pypi")


_KINDS = ("path", "pypi", "sdist", "git")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)$")


@dataclass(frozen=True)
class Source:
    """A parsed source string."""

    kind: str
    target: str

    @classmethod
    def parse(cls, text: str, relative_to: Path | None = None) -> Source:
        kind, sep, target = text.partition(":")
        if not sep or kind not in _KINDS or (kind == "path" and not target):
            kind, target = "path", text
        if kind == "path" and relative_to is not None and not Path(target).is_absolute():
            target = str(relative_to / target)
        if kind == "pypi" and not _PIN.match(target):
            raise SourceError(f"source {text!r}: write a pinned release, e.g. pypi:nova==31.0.0")
        if kind == "git" and "@" not in target.rpartition("/")[2]:
            raise SourceError(f"source {text!r}: name a ref, e.g. git:https://opendev.org/openstack/nova@master")
        return cls(kind, target)

    def __str__(self) -> str:
        return self.target if self.kind == "path" else f"{self.kind}:{self.target}"


def read_bindep(source: Source, cache_dir: Path | None = None) -> BindepFile:
    """Fetch (or reuse from the cache) and parse the bindep.txt a source names."""
    cache = cache_dir or default_cache_dir()
    if source.kind == "path":
        path = Path(source.target)
        return parse_bindep(read_text(path, "bindep file"), str(path), cache / "bindep")
    if source.kind == "pypi":
        match = _PIN.match(source.target)
        assert match  # checked by Source.parse
        archive = release_sdist(match["name"], match["version"], cache)
    elif source.kind == "sdist":
        archive = _fetch_file(source.target, cache / "sdists")
    else:
        url, _, ref = source.target.rpartition("@")
        return parse_bindep(_git_show(url, ref, cache / "git"), f"{source}:bindep.txt", cache / "bindep")
    return parse_bindep(_bindep_from_sdist(archive), f"{archive.name}:bindep.txt", cache / "bindep")


def _download(url: str, into: Path, sha256: str | None = None, filename: str | None = None) -> Path:
    """The cached download of ``url`` in ``into`` (checked against ``sha256``, the index's, or
    the digest recorded when it was downloaded), fetched again when it is not that file."""
    name = filename or urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").rpartition("/")[2])
    return cached_file(confined(into, name), url, "sdist", SourceError, sha256)


def _fetch_file(location: str, into: Path) -> Path:
    if re.match(r"^[a-z]+://", location):
        return _download(location, into)
    path = Path(location)
    if not path.is_file():
        raise SourceError(f"{location}: no such sdist file")
    return path


def release_sdist(name: str, version: str, cache_dir: Path | None = None) -> Path:
    """The sdist of a pinned release, downloaded once and kept under its sha256; offline, the
    record of which sha256 the release has is read back and the file checked against it.

    Layout: ``sdists/sha256/<digest>/<file>`` and ``sdists/releases/<name>==<version>`` (the digest
    and file name), so two releases never share a stale file and a changed file is never reused."""
    root = (cache_dir or default_cache_dir()) / "sdists"
    record = root / "releases" / f"{_normal(name)}=={version}"
    try:
        digest, _, filename = read_text(record, "release record", 1024).strip().partition(" ")
    except InputError:
        digest = filename = ""
    if re.fullmatch(r"[0-9a-f]{64}", digest) and _SDIST_FILE.match(filename) \
            and is_intact(cached := root / "sha256" / digest / filename, digest):
        return cached
    index = f"{PYPI_JSON_URL}/{name}/json"  # the per-release endpoint is not served by every mirror
    try:
        body = fetch(index, "project's JSON", MAX_INDEX_BYTES, SourceError,
                     missing=f"{name}: no such project at {index}")
    except SourceError as error:
        raise SourceError(f"cannot look up {name}=={version}: {error}") from None
    try:
        project = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise SourceError(f"{index}: not PyPI's JSON for a project ({str(error)[:200]}); check RESOLVER_PYPI_URL") \
            from None
    releases = project.get("releases") if isinstance(project, dict) else None
    if not isinstance(releases, dict):
        raise SourceError(f"{index}: not PyPI's JSON for a project (no 'releases' object); check RESOLVER_PYPI_URL")
    files = releases.get(version)
    if files is None:
        raise SourceError(f"{name} has no release {version} on the index; fix 'release:' in profiles/")
    if not isinstance(files, list):
        raise SourceError(f"{index}: the files of {version} are not a list; check RESOLVER_PYPI_URL")
    sdists = [f for f in files if isinstance(f, dict) and f.get("packagetype") == "sdist"
              and isinstance(f.get("digests"), dict) and f["digests"].get("sha256")]
    if not sdists:
        raise SourceError(f"{name}=={version} has no sdist on the index; use a git: or path: source")
    chosen = sdists[0]
    sha256, sdist_name, url = chosen["digests"]["sha256"], chosen.get("filename"), chosen.get("url")
    if not (isinstance(sha256, str) and re.fullmatch(r"[0-9a-f]{64}", sha256) and isinstance(sdist_name, str)
            and _SDIST_FILE.match(sdist_name) and isinstance(url, str)):
        raise SourceError(f"{index}: unexpected sdist entry for {version}; not downloaded")
    # a mirror may answer with addresses relative to the index page
    archive = _download(urllib.parse.urljoin(index, url), root / "sha256" / sha256, sha256, sdist_name)
    write_atomically(record, f"{sha256} {sdist_name}\n")
    return archive


_SDIST_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*\.(tar\.gz|zip)$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


#: the service code of one sdist the evidence scan holds in memory at once
MAX_CODE_BYTES = 256 * 1024 * 1024
#: top-level directories of an sdist that hold no code a service runs
_NOT_SERVICE_CODE = frozenset({"doc", "docs", "releasenotes", "api-ref", "api-guide", "devstack", "playbooks",
                               "tools", "rally-jobs", "roles", "zuul.d", "contrib", "install-guide"})


def sdist_code(archive: Path) -> list[tuple[str, str]]:
    """The files of an sdist that say what the service runs: its Python modules and rootwrap
    ``*.filters``, as (path inside the project, text); tests, docs and tools are left out."""
    found = []
    with Archive(archive, SourceError, "sdist") as opened:
        chosen = []
        for name in opened.members:
            top, _, path = name.partition("/")
            parts = path.split("/")
            if (path.endswith((".py", ".filters")) and parts[0] not in _NOT_SERVICE_CODE
                    and "tests" not in parts and "test" not in parts and path != "setup.py"):
                chosen.append((name, path))
        claimed = sum(opened.members[name] for name, _ in chosen)
        if claimed > MAX_CODE_BYTES:
            raise SourceError(f"{archive}: its service code claims {claimed} bytes, more than "
                              f"{MAX_CODE_BYTES // 1024 ** 2} MiB (nova 31.3.1: 7.8 MiB); not scanned")
        for name, path in chosen:
            found.append((path, opened.read(name).decode("utf-8", errors="replace")))
    return sorted(found)


def _top_level(archive: Archive, filename: str) -> str | None:
    """``<name>-<version>/FILENAME`` of an sdist, when it has one."""
    return next((n for n in archive.members if n.count("/") == 1 and n.endswith(f"/{filename}")), None)


def sdist_console_scripts(archive: Path) -> tuple[str, ...]:
    """Console scripts the project installs (``[entry_points] console_scripts`` of setup.cfg)."""
    with Archive(archive, SourceError, "sdist") as opened:
        member = _top_level(opened, "setup.cfg")
        text = opened.read(member).decode("utf-8", errors="replace") if member else ""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return ()
    scripts = parser.get("entry_points", "console_scripts", fallback="")
    return tuple(sorted({line.partition("=")[0].strip() for line in scripts.splitlines() if "=" in line}))


def _bindep_from_sdist(archive: Path) -> str:
    """The top-level bindep.txt of an sdist (``<name>-<version>/bindep.txt``)."""
    with Archive(archive, SourceError, "sdist") as opened:
        member = _top_level(opened, "bindep.txt")
        if member is None:
            raise SourceError(f"{archive}: the sdist has no top-level bindep.txt")
        return decode_text(opened.read(member, MAX_INPUT_BYTES), f"{archive.name}:bindep.txt")


def _git_show(url: str, ref: str, into: Path) -> str:
    """bindep.txt at ``ref`` from a bare clone kept in the cache; fetches only when the ref is missing."""
    clone = into / hashlib.sha256(url.encode()).hexdigest()[:16]
    if not clone.exists():
        into.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=into, prefix=".clone-"))
        try:
            _git(["clone", "--quiet", "--bare", url, str(partial)], url)
            os.replace(partial, clone)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    show = ["-C", str(clone), "show", f"{ref}:bindep.txt"]
    try:
        return _git(show, url)
    except SourceError:
        refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        _git(["-C", str(clone), "fetch", "--quiet", "origin", *refspecs], url)
        return _git(show, url)


def _git(args: list[str], url: str) -> str:
    verb = next(a for a in args if a in ("clone", "show", "fetch"))
    # a server that stops sending is given up on instead of holding the run forever
    env = {**os.environ, "GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": str(network_timeout()),
           "GIT_TERMINAL_PROMPT": "0"}
    limit = seconds_from_env("RESOLVER_GIT_TIMEOUT", 600)  # a whole clone or fetch
    try:
        done = subprocess.run(["git", *args], capture_output=True, check=False, env=env,
                              timeout=limit)
    except FileNotFoundError:
        raise SourceError("git is not installed; install git or use a path: or pypi: source") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"git {verb} of {url} took longer than {limit} s; check the URL "
                          "or set RESOLVER_GIT_TIMEOUT") from None
    if done.returncode != 0:
        raise SourceError(f"git {verb} of {url} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return decode_text(done.stdout, f"{url}@{args[-1]}") if verb == "show" else ""
