"""Repository metadata checked before dnf reads it: repomd.xml's records and the files they name.

dnf keeps a copy of every repository's metadata (and libsolv's solv files made from it) in its
cache and, left to itself, reads that copy again until it expires. Here a local repository is
checked on every run: its repomd.xml parsed, every file dnf reads present inside the repository,
of the size and checksum repomd.xml gives, and decompressible; so a damaged repository is an error
naming the file, never a resolve on the cached copy. A remote repository's repomd.xml is checked
the same way (its locations) before dnf fetches from it: librepo aborts the whole process on a
location that leaves the repository.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..downloads import fetch
from ..errors import RepoError
from ..files import read_bytes

_NS = "{http://linux.duke.edu/metadata/repo}"
#: metadata types dnf 4 reads (librepo's download list in libdnf); the comps file is group_gz,
#: else group; other.xml is never read
READ_BY_DNF = ("primary", "filelists", "prestodelta", "updateinfo", "modules")
#: repomd.xml of real repositories is a few KiB; anything far larger is not one
MAX_REPOMD_BYTES = 1024 * 1024
_HASHES = {"sha": "sha1", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384",
           "sha512": "sha512", "md5": "md5"}
_OPENERS: dict[str, Callable[[Path], io.BufferedIOBase]] = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
_UNSAFE_HREF = re.compile(r"[\x00-\x1f\x7f\\]|://|^/|(^|/)\.\.(/|$)")


@dataclass(frozen=True)
class Record:
    """One ``<data>`` entry of repomd.xml."""

    kind: str
    href: str
    checksum: tuple[str, str]
    size: int | None


def parse_repomd(data: bytes, where: str) -> dict[str, Record]:
    """The records of a repomd.xml, each location checked to stay inside the repository."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # createrepo_c writes neither; entities expand
        raise RepoError(f"{where}: declares a DOCTYPE or entities, which no repomd.xml has; refusing to read it")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise RepoError(f"{where}:{error.position[0]}: not a repomd.xml ({error}); "
                        "regenerate the repository with createrepo_c") from None
    if root.tag != f"{_NS}repomd":
        raise RepoError(f"{where}: not a repomd.xml (root element {root.tag!r}); "
                        "regenerate the repository with createrepo_c")
    records = {}
    for data_element in root.iter(f"{_NS}data"):
        kind = data_element.get("type", "")
        location = data_element.find(f"{_NS}location")
        checksum = data_element.find(f"{_NS}checksum")
        href = location.get("href") if location is not None else None
        if not href or checksum is None or not (checksum.text or "").strip():
            raise RepoError(f"{where}: the {kind or 'unnamed'} record has no location or checksum; "
                            "regenerate the repository with createrepo_c")
        if _UNSAFE_HREF.search(href):
            raise RepoError(f"{where}: the {kind} record's location {href!r} leaves the repository "
                            "(absolute, '..' or a control character); refusing to read it")
        records[kind] = Record(kind, href, _checksum(checksum, where, kind), _size(data_element, where, kind))
    if "primary" not in records:
        raise RepoError(f"{where}: names no primary metadata; regenerate the repository with createrepo_c")
    return records


def _checksum(element: ElementTree.Element, where: str, kind: str) -> tuple[str, str]:
    kind_of_sum = element.get("type", "")
    if kind_of_sum not in _HASHES:
        raise RepoError(f"{where}: the {kind} record's checksum type {kind_of_sum!r} is not one dnf reads")
    return _HASHES[kind_of_sum], (element.text or "").strip().lower()


def _size(data_element: ElementTree.Element, where: str, kind: str) -> int | None:
    element = data_element.find(f"{_NS}size")
    if element is None:
        return None
    try:
        return int((element.text or "").strip())
    except ValueError:
        raise RepoError(f"{where}: the {kind} record's size {element.text!r} is not a number") from None


def read_by_dnf(records: dict[str, Record]) -> list[Record]:
    """The records whose files dnf reads."""
    kinds = [*READ_BY_DNF, "group_gz" if "group_gz" in records else "group"]
    return [records[kind] for kind in kinds if kind in records]


def check_local(directory: Path, checked: Path) -> str:
    """Check a local repository as dnf will read it; the sha256 of its repomd.xml. ``checked``:
    where the decompression check of each file is remembered, by the file's checksum."""
    repomd = directory / "repodata" / "repomd.xml"
    if not repomd.exists():
        raise RepoError(f"{directory}: no repodata/repomd.xml here; give a directory made by createrepo_c")
    data = _read_repomd(repomd)
    for record in read_by_dnf(parse_repomd(data, str(repomd))):
        _check_file(directory, repomd, record, checked)
    return hashlib.sha256(data).hexdigest()


def _read_repomd(path: Path) -> bytes:
    return read_bytes(path, "repomd.xml of a repository made by createrepo_c", MAX_REPOMD_BYTES, RepoError)


def _check_file(directory: Path, repomd: Path, record: Record, checked: Path) -> None:
    path = directory / record.href
    if directory.resolve() not in path.resolve().parents:
        raise RepoError(f"{repomd}: the {record.kind} record's location {record.href!r} leaves the repository")
    if not path.is_file():
        raise RepoError(f"{repomd}: its {record.kind} metadata {path.name} is missing; "
                        "regenerate the repository with createrepo_c")
    algorithm, expected = record.checksum
    digest = hashlib.new(algorithm)
    size = 0
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError as error:
        raise RepoError(f"{path}: cannot read repository metadata ({error.strerror})") from None
    if record.size is not None and size != record.size:
        raise RepoError(f"{path}: {size} bytes, repomd.xml says {record.size}: the file changed after "
                        f"{repomd} was written (or is damaged); regenerate the repository with createrepo_c")
    if digest.hexdigest() != expected:
        raise RepoError(f"{path}: its {algorithm} is not the one {repomd} gives: the file changed after "
                        "repomd.xml was written (or is damaged); regenerate the repository with createrepo_c")
    _check_decompresses(path, record.kind, checked / f"{algorithm}-{expected}")


def _check_decompresses(path: Path, kind: str, marker: Path) -> None:
    """Decompress a file once per content (a tenth of a second for BaseOS's primary). The open
    checksum is not compared: librepo does not either, and real repositories (the bundled
    AppStream's stub filelists) carry a stale one. zstd files are left to dnf (no stdlib decoder)."""
    opener = _OPENERS.get(path.suffix)
    if opener is None or marker.exists():
        return
    try:
        with opener(path) as stream:
            while stream.read(1 << 20):
                pass
    except (OSError, EOFError, lzma.LZMAError, ValueError) as error:
        raise RepoError(f"{path}: corrupt {kind} metadata ({error}); "
                        "regenerate the repository with createrepo_c") from None
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def check_remote(baseurl: str) -> None:
    """Fetch a remote repository's repomd.xml and check its locations before dnf fetches it."""
    url = f"{baseurl.rstrip('/')}/repodata/repomd.xml"
    try:
        data = fetch(url, "repomd.xml", MAX_REPOMD_BYTES, RepoError)
    except RepoError as error:
        raise RepoError(f"{url}: cannot load repository metadata ({error}); check the URL and the network "
                        "(with a copy in the cache, --metadata-expire never works offline)") from None
    parse_repomd(data, url)


def parse_expiry(text: str) -> int:
    """``--metadata-expire``: seconds, or a number with s/m/h/d, or ``never`` (-1), as dnf.conf writes it."""
    value = text.strip().lower()
    if value == "never":
        return -1
    match = re.fullmatch(r"(\d+)([smhd]?)", value)
    if not match:
        raise ValueError(f"{text!r} is not a metadata expiry: give seconds, a number with s/m/h/d, or 'never'")
    return int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def default_expiry() -> int:
    """The expiry when none is given: ``$RESOLVER_METADATA_EXPIRE``, else 0 (checked on every run)."""
    text = os.environ.get("RESOLVER_METADATA_EXPIRE", "0")
    try:
        return parse_expiry(text)
    except ValueError as error:
        raise RepoError(f"RESOLVER_METADATA_EXPIRE: {error}") from None
