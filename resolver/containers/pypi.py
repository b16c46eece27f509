"""The PyPI adapter: a project's files (the simple index's JSON form, PEP 691), downloads kept in
a cache keyed by their sha256, and the metadata read from the downloaded files themselves
(``*.dist-info/METADATA`` of a wheel; ``PKG-INFO``, ``*.egg-info/requires.txt`` and
``pyproject.toml`` of an sdist).

Nothing here decides anything: `wheel_provider.py` chooses versions and files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from urllib.parse import urljoin

from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import InvalidVersion, Version

from ..errors import PyPIError
from ..network import open_url

SIMPLE_URL = os.environ.get("RESOLVER_PYPI_SIMPLE_URL", "https://pypi.org/simple")
_ACCEPT = "application/vnd.pypi.simple.v1+json"
#: what a file name on the index may look like before it becomes a path or a pip argument
FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*\.(whl|tar\.gz|zip)\Z")


@dataclass(frozen=True)
class IndexFile:
    """One file of a project on the index."""

    filename: str
    url: str
    sha256: str
    yanked: bool = False
    #: the index's ``requires-python`` for the file (PEP 503/691), None when it gives none
    requires_python: str | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


class PyPI:
    """The index and the download cache (``CACHE/pypi``): listings per project, files by sha256."""

    def __init__(self, cache_dir: Path, simple_url: str = SIMPLE_URL):
        self.cache = cache_dir / "pypi"
        self.simple_url = simple_url.rstrip("/")
        self._listings: dict[str, dict[str, list[IndexFile]]] = {}
        self._digests: dict[str, str | None] = {}

    # ---- the index -------------------------------------------------------------------------------

    def releases(self, name: str, need_version: str | None = None) -> dict[str, list[IndexFile]]:
        """A project's files by the version their names carry. The cached listing serves while it
        holds ``need_version`` (released files never change); otherwise the index is asked again."""
        canonical = canonicalize_name(name)
        listing = self._listings.get(canonical)
        if listing is None or (need_version and need_version not in listing):
            listing = self._listing(canonical, need_version)
            self._listings[canonical] = listing
        return listing

    def listing_path(self, name: str) -> Path:
        return self.cache / "index" / f"{canonicalize_name(name)}.json"

    def listing_digest(self, name: str) -> str | None:
        """sha256 of the project's cached listing (None when there is none): what a plan made
        from the listing is checked against."""
        canonical = canonicalize_name(name)
        if canonical not in self._digests:
            try:
                self._digests[canonical] = hashlib.sha256(self.listing_path(canonical).read_bytes()).hexdigest()
            except OSError:
                self._digests[canonical] = None
        return self._digests[canonical]

    def _listing(self, canonical: str, need_version: str | None) -> dict[str, list[IndexFile]]:
        path = self.listing_path(canonical)
        if path.is_file():
            raw = path.read_bytes()
            cached = _by_version(json.loads(raw), canonical, self._page(canonical))
            if need_version is None or need_version in cached:
                self._digests[canonical] = hashlib.sha256(raw).hexdigest()
                return cached
        request = urllib.request.Request(self._page(canonical), headers={"Accept": _ACCEPT})
        try:
            with open_url(request) as response:
                data = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise PyPIError(f"{canonical}: no such project on {self.simple_url}") from None
            raise PyPIError(f"cannot list {canonical} on {self.simple_url}: {error}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PyPIError(f"cannot list {canonical} on {self.simple_url}: {error}") from None
        raw = json.dumps(data).encode()
        _write(path, raw)
        self._digests[canonical] = hashlib.sha256(raw).hexdigest()
        return _by_version(data, canonical, self._page(canonical))

    def _page(self, canonical: str) -> str:
        return f"{self.simple_url}/{canonical}/"

    # ---- downloads -------------------------------------------------------------------------------

    def download(self, file: IndexFile) -> Path:
        """The file, from the cache or the index (checked against the index's sha256)."""
        path = self.cache / "files" / file.sha256 / file.filename
        if path.is_file():
            return path
        if not file.url.startswith(("https://", "http://")):
            raise PyPIError(f"{file.filename}: the index gives {file.url!r}, not an http(s) address")
        try:
            with open_url(file.url) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PyPIError(f"cannot download {file.filename}: {error}") from None
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise PyPIError(f"{file.filename}: downloaded bytes do not match the index's sha256")
        _write(path, data)
        return path


def _by_version(data: dict, canonical: str, page: str) -> dict[str, list[IndexFile]]:
    """The listing's files whose names are safe and carry this project's name, by version (a
    file's URL may be relative to the project's page, as mirrors write them)."""
    releases: dict[str, list[IndexFile]] = {}
    for entry in data.get("files", []):
        filename, sha256 = entry.get("filename", ""), entry.get("hashes", {}).get("sha256", "")
        if FILENAME.match(filename) and re.fullmatch(r"[0-9a-f]{64}", sha256) and "/" not in filename:
            version = file_version(filename, canonical)
            url = entry.get("url")
            if version is not None and isinstance(url, str):
                # urljoin only for a relative URL: a listing holds thousands of absolute ones
                absolute = url if url.startswith(("https://", "http://")) else urljoin(page, url)
                requires_python = entry.get("requires-python")
                releases.setdefault(version, []).append(IndexFile(
                    filename, absolute, sha256, bool(entry.get("yanked")),
                    requires_python if isinstance(requires_python, str) and requires_python.strip() else None))
    return releases


def file_version(filename: str, canonical: str) -> str | None:
    """The version a wheel's or sdist's file name carries (None when it is another project's).
    A wheel's tags are not parsed here (listings hold thousands of wheels): ``wheel_rank`` does."""
    try:
        if filename.endswith(".whl"):
            parts = filename[:-4].split("-")
            if len(parts) not in (5, 6):
                return None
            name, version = canonicalize_name(parts[0]), Version(parts[1])
        else:  # NAME-VERSION.tar.gz or .zip (packaging parses only the first; both split the same way)
            name, version = parse_sdist_filename(re.sub(r"\.zip$", ".tar.gz", filename))
    except (InvalidSdistFilename, InvalidVersion, ValueError):
        return None
    return str(version) if name == canonical else None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    os.replace(temporary, path)


# ---- metadata read from the files ----------------------------------------------------------------

@dataclass(frozen=True)
class FileMetadata:
    requires_dist: tuple[str, ...]
    requires_python: str | None
    #: sdists: what building a wheel needs (pyproject's build-system.requires, or pip's default)
    build_requires: tuple[str, ...] = ()
    #: sdists: C, C++, Cython or Rust sources (a compiler is needed)
    compiles: bool = False
    #: bytes once unpacked (a wheel: its files; an sdist: an estimate of its wheel)
    unpacked: int = 0
    #: bytes of its .py files (pip compiles each to a .pyc at install)
    py_bytes: int = 0


_COMPILED_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".pyx", ".rs")
#: pip's build requirements for an sdist without a [build-system] table
_DEFAULT_BUILD = ("setuptools>=40.8.0",)


def read_metadata(path: Path) -> FileMetadata:
    try:
        return _wheel_metadata(path) if path.name.endswith(".whl") else _sdist_metadata(path)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, KeyError, ValueError) as error:
        raise PyPIError(f"{path.name}: cannot read its metadata ({error})") from None


def _wheel_metadata(path: Path) -> FileMetadata:
    with zipfile.ZipFile(path) as wheel:
        name = next(n for n in wheel.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        headers = HeaderParser().parsestr(wheel.read(name).decode("utf-8", "replace"))
        unpacked = sum(info.file_size for info in wheel.infolist())
        py_bytes = sum(info.file_size for info in wheel.infolist() if info.filename.endswith(".py"))
    return FileMetadata(tuple(headers.get_all("Requires-Dist") or ()), headers.get("Requires-Python"),
                        unpacked=unpacked, py_bytes=py_bytes)


def _sdist_metadata(path: Path) -> FileMetadata:
    members: dict[str, bytes] = {}
    compiles, unpacked, py_bytes = False, 0, 0
    with _SdistArchive(path) as (names, read):
        for name, size in names:
            parts = name.split("/")
            unpacked += size
            py_bytes += size if name.endswith(".py") else 0
            compiles = compiles or (name.endswith(_COMPILED_SUFFIXES) and "test" not in name.lower())
            if len(parts) == 2 and parts[1] in ("PKG-INFO", "pyproject.toml"):
                members[parts[1]] = read(name)
            elif len(parts) >= 3 and parts[-2].endswith(".egg-info") and parts[-1] == "requires.txt":
                members.setdefault("requires.txt", read(name))
    headers = HeaderParser().parsestr(members.get("PKG-INFO", b"").decode("utf-8", "replace"))
    requires = tuple(headers.get_all("Requires-Dist") or ())
    if not requires and "requires.txt" in members:
        requires = _egg_requires(members["requires.txt"].decode("utf-8", "replace"))
    build = _DEFAULT_BUILD
    if "pyproject.toml" in members:
        import tomllib

        table = tomllib.loads(members["pyproject.toml"].decode("utf-8", "replace")).get("build-system") or {}
        build = tuple(table.get("requires", _DEFAULT_BUILD))
    return FileMetadata(requires, headers.get("Requires-Python"), build, compiles, unpacked, py_bytes)


class _SdistArchive:
    """(member names with sizes, reader) of a .tar.gz or .zip sdist."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        if self.path.name.endswith(".zip"):
            self._archive = zipfile.ZipFile(self.path)
            return ([(i.filename, i.file_size) for i in self._archive.infolist()], self._archive.read)
        self._archive = tarfile.open(self.path)
        members = {m.name: m for m in self._archive.getmembers() if m.isfile()}
        return ([(n, m.size) for n, m in members.items()], lambda n: self._archive.extractfile(members[n]).read())

    def __exit__(self, *exc) -> None:
        self._archive.close()


def _egg_requires(text: str) -> tuple[str, ...]:
    """setuptools' requires.txt (``[extra]`` and ``[:marker]`` sections) as Requires-Dist lines."""
    result, marker = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            extra, _, condition = line.strip("[]").partition(":")
            parts = ([f'extra == "{extra}"'] if extra else []) + ([f"({condition})"] if condition else [])
            marker = " and ".join(parts)
            continue
        result.append(f"{line}; {marker}" if marker else line)
    return tuple(result)
