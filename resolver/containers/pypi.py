"""The PyPI adapter: a project's files (the simple index's JSON form, PEP 691), downloads kept in
a cache keyed by their sha256, and the metadata read from the downloaded files themselves
(``*.dist-info/METADATA`` of a wheel; ``PKG-INFO``, ``*.egg-info/requires.txt`` and
``pyproject.toml`` of an sdist).

Nothing here decides anything: `wheel_provider.py` chooses versions and files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from urllib.parse import urljoin

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import InvalidVersion, Version

from ..archives import MAX_UNPACKED_BYTES, Archive
from ..downloads import MAX_INDEX_BYTES, cached_file, fetch, is_intact, read_recorded, write_recorded
from ..errors import PyPIError

SIMPLE_URL = os.environ.get("RESOLVER_PYPI_SIMPLE_URL", "https://pypi.org/simple")
_ACCEPT = "application/vnd.pypi.simple.v1+json"
#: what a file name on the index may look like before it becomes a path or a pip argument
FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*\.(whl|tar\.gz|zip)\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


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
        """sha256 of the project's cached listing (None when there is none, or it is not the one
        written): what a plan made from the listing is checked against."""
        canonical = canonicalize_name(name)
        if canonical not in self._digests:
            raw = read_recorded(self.listing_path(canonical), MAX_INDEX_BYTES)
            self._digests[canonical] = None if raw is None else hashlib.sha256(raw).hexdigest()
        return self._digests[canonical]

    def _listing(self, canonical: str, need_version: str | None) -> dict[str, list[IndexFile]]:
        path, page = self.listing_path(canonical), self._page(canonical)
        raw = read_recorded(path, MAX_INDEX_BYTES)
        if raw is not None:
            try:
                cached = parse_listing(raw, canonical, page)
            except PyPIError:  # written by another version of this tool: fetched again
                cached = None
            if cached is not None and (need_version is None or need_version in cached):
                self._digests[canonical] = hashlib.sha256(raw).hexdigest()
                return cached
        raw = fetch(page, "index listing", MAX_INDEX_BYTES, PyPIError, accept=_ACCEPT,
                    missing=f"{canonical}: no such project on {self.simple_url}")
        releases = parse_listing(raw, canonical, page)
        write_recorded(path, raw)
        self._digests[canonical] = hashlib.sha256(raw).hexdigest()
        return releases

    def _page(self, canonical: str) -> str:
        return f"{self.simple_url}/{canonical}/"

    # ---- downloads -------------------------------------------------------------------------------

    def download(self, file: IndexFile) -> Path:
        """The file, from the cache while it has the index's sha256 (checked on every call), else
        from the index (once; bytes that do not match are an error)."""
        path = self.cache / "files" / file.sha256 / file.filename
        if not file.url.startswith(("https://", "http://")) and not is_intact(path, file.sha256):
            raise PyPIError(f"{file.filename}: the index gives {file.url!r}, not an http(s) address")
        return cached_file(path, file.url, file.filename, PyPIError, file.sha256)


def parse_listing(raw: bytes, canonical: str, page: str) -> dict[str, list[IndexFile]]:
    """A PEP 691 listing's files whose names are safe and carry this project's name, by version
    (a file's URL may be relative to the project's page, as mirrors write them); a body that is
    not one is an error naming ``page``."""
    try:
        data = json.loads(raw)
        files = data["files"] if isinstance(data, dict) else None
    except (ValueError, RecursionError, KeyError) as error:
        files, data = None, error
    if not isinstance(files, list) or not all(isinstance(entry, dict) for entry in files):
        problem = data if isinstance(data, Exception) else "no list of file objects under 'files'"
        raise PyPIError(f"{page}: not a PEP 691 JSON listing ({str(problem)[:200]}); check the index "
                        "(RESOLVER_PYPI_SIMPLE_URL; an index that serves only HTML is not read)")
    releases: dict[str, list[IndexFile]] = {}
    for entry in files:
        filename, url, hashes = entry.get("filename"), entry.get("url"), entry.get("hashes")
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        if not (isinstance(filename, str) and isinstance(url, str) and isinstance(sha256, str)):
            continue  # a file whose name, address or sha256 is missing or not text is never chosen
        if FILENAME.match(filename) and _SHA256.match(sha256):
            version = file_version(filename, canonical)
            if version is not None:
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


def index_file_from_json(data: object) -> IndexFile:
    """An IndexFile as a kept closure holds it; ValueError when it is not one."""
    if not isinstance(data, dict) or set(data) != {"filename", "url", "sha256", "yanked", "requires_python"}:
        raise ValueError("a file needs exactly filename, url, sha256, yanked and requires_python")
    file = IndexFile(**data)
    if not (isinstance(file.filename, str) and FILENAME.match(file.filename) and isinstance(file.url, str)
            and file.url.startswith(("https://", "http://")) and isinstance(file.sha256, str)
            and _SHA256.match(file.sha256) and isinstance(file.yanked, bool)
            and isinstance(file.requires_python, (str, type(None)))):
        raise ValueError(f"not a file of the index: {str(data)[:200]}")
    return file


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
    """A downloaded file's metadata; a file that is damaged or declares what is not a requirement
    is an error naming it."""
    with Archive(path, PyPIError, "wheel" if path.name.endswith(".whl") else "sdist") as archive:
        try:
            metadata = _wheel_metadata(archive) if path.name.endswith(".whl") else _sdist_metadata(archive)
        except (ValueError, RecursionError) as error:
            raise PyPIError(f"{path}: {error}; pin another release of it (the file is the index's)") from None
    return metadata


def _wheel_metadata(archive: Archive) -> FileMetadata:
    name = next((n for n in archive.members if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)), None)
    if name is None:
        raise ValueError("the wheel has no .dist-info/METADATA")
    headers = HeaderParser().parsestr(archive.read(name).decode("utf-8", "replace"))
    py_bytes = sum(size for member, size in archive.members.items() if member.endswith(".py"))
    return _checked(FileMetadata(_requirements(headers.get_all("Requires-Dist") or (), "Requires-Dist"),
                                 _text(headers.get("Requires-Python")), unpacked=sum(archive.members.values()),
                                 py_bytes=py_bytes))


def _sdist_metadata(archive: Archive) -> FileMetadata:
    members: dict[str, bytes] = {}
    compiles, py_bytes = False, 0
    for name, size in archive.members.items():
        parts = name.split("/")
        py_bytes += size if name.endswith(".py") else 0
        compiles = compiles or (name.endswith(_COMPILED_SUFFIXES) and "test" not in name.lower())
        if len(parts) == 2 and parts[1] in ("PKG-INFO", "pyproject.toml"):
            members[parts[1]] = archive.read(name)
        elif len(parts) >= 3 and parts[-2].endswith(".egg-info") and parts[-1] == "requires.txt":
            members.setdefault("requires.txt", archive.read(name))
    headers = HeaderParser().parsestr(members.get("PKG-INFO", b"").decode("utf-8", "replace"))
    requires = tuple(headers.get_all("Requires-Dist") or ())
    if not requires and "requires.txt" in members:
        requires = _egg_requires(members["requires.txt"].decode("utf-8", "replace"))
    build: tuple[str, ...] = _DEFAULT_BUILD
    if "pyproject.toml" in members:
        import tomllib

        table = tomllib.loads(members["pyproject.toml"].decode("utf-8", "replace")).get("build-system", {})
        if not isinstance(table, dict):
            raise ValueError(f"pyproject.toml: build-system is {str(table)[:100]!r}, not a table")
        listed = table.get("requires", _DEFAULT_BUILD)
        if not isinstance(listed, (list, tuple)) or not all(isinstance(r, str) for r in listed):
            raise ValueError(f"pyproject.toml: build-system.requires is {str(listed)[:100]!r}, not a list of strings")
        build = tuple(listed)
    return _checked(FileMetadata(_requirements(requires, "Requires-Dist"), _text(headers.get("Requires-Python")),
                                 _requirements(build, "build-system.requires"), compiles,
                                 sum(archive.members.values()), py_bytes))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _requirements(lines: Iterable[str], field: str) -> tuple[str, ...]:
    """``lines`` as they are, each checked to be a requirement (PEP 508), as pip will parse it."""
    for line in lines:
        try:
            Requirement(line)
        except InvalidRequirement as error:
            raise ValueError(f"{field} {line[:200]!r} is not a requirement ({str(error)[:200]})") from None
    return tuple(lines)


def _checked(metadata: FileMetadata) -> FileMetadata:
    """``metadata`` when its sizes are possible (from an archive, or a kept closure that someone may
    have edited): none negative, none beyond what any distribution unpacks to."""
    if not (0 <= metadata.py_bytes <= metadata.unpacked <= MAX_UNPACKED_BYTES):
        raise ValueError(f"sizes {metadata.unpacked} (unpacked) and {metadata.py_bytes} (.py) are not possible")
    return metadata


def file_metadata_from_json(data: object) -> FileMetadata:
    """FileMetadata as a kept closure holds it; ValueError when it is not one."""
    fields = {f.name: f.type for f in dataclasses.fields(FileMetadata)}
    if not isinstance(data, dict) or set(data) != set(fields):
        raise ValueError(f"metadata needs exactly {', '.join(fields)}")
    lists = ("requires_dist", "build_requires")
    if not (all(isinstance(data[k], list) and all(isinstance(v, str) for v in data[k]) for k in lists)
            and isinstance(data["requires_python"], (str, type(None))) and isinstance(data["compiles"], bool)
            and all(type(data[k]) is int for k in ("unpacked", "py_bytes"))):
        raise ValueError(f"metadata of the wrong types: {str(data)[:200]}")
    return _checked(FileMetadata(_requirements(data["requires_dist"], "Requires-Dist"), data["requires_python"],
                                 _requirements(data["build_requires"], "build requirement"), data["compiles"],
                                 data["unpacked"], data["py_bytes"]))


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
