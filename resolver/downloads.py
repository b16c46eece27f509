"""Downloads and the download cache: the one way a fetched artefact (a wheel, an sdist, an index
listing, a kept closure) reaches the cache and is read back from it.

- Every download is bounded: each read by the stall timeout (``RESOLVER_NET_TIMEOUT``), the whole
  download by ``RESOLVER_DOWNLOAD_TIMEOUT``, and its size by the caller's limit (an index body is
  megabytes). The body is read a chunk at a time as it arrives, so a server that sends a byte a
  second meets the total limit and an endless body the size limit, never memory's.
- A cached file is checked against its digest on every read: the sha256 the index gives, or for
  what has none (a listing, an sdist URL, a kept closure) the digest recorded beside it when it
  was written (``NAME.sha256``). One that does not match (changed, truncated) is fetched again,
  once; bytes that still do not match are an error naming the URL and both digests, not cached.
- Written atomically (``files.write_atomically``): a killed download leaves nothing.
"""

from __future__ import annotations

import hashlib
import http.client
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import ResolverError
from .files import read_bytes, write_atomically
from .network import open_url, seconds_from_env

#: an index body (a PEP 691 listing, a project's JSON): real ones are at most a few MiB
MAX_INDEX_BYTES = 32 * 1024 * 1024
#: a wheel or an sdist: the largest an OpenStack image installs are tens of MiB
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
_CHUNK = 64 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def download_timeout() -> int:
    """Seconds one download may take in all (RESOLVER_DOWNLOAD_TIMEOUT)."""
    return seconds_from_env("RESOLVER_DOWNLOAD_TIMEOUT", 300)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _chunks(url: str, what: str, limit: int, error: type[ResolverError], accept: str | None,
            missing: str | None) -> Iterator[bytes]:
    """The body at ``url`` as it arrives, within the total time and ``limit`` bytes."""
    timeout = download_timeout()
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    received = 0
    late = error(f"{url}: the {what} took longer than {timeout} s to download; check the index or the network, "
                 "or raise RESOLVER_DOWNLOAD_TIMEOUT")
    try:
        with _opened(request, deadline, late) as response:
            # read1: what has arrived (read(n) waits for n bytes, a byte a second at a time)
            read = getattr(response, "read1", response.read)
            while chunk := read(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise error(f"{url}: the {what} is larger than {_size(limit)}, more than any real one; "
                                "check the index (nothing was cached)")
                if time.monotonic() > deadline:
                    raise error(f"{url}: the {what} took longer than {timeout} s to download ({received} bytes); "
                                "check the index or the network, or raise RESOLVER_DOWNLOAD_TIMEOUT")
                yield chunk
    except urllib.error.HTTPError as failure:
        if failure.code == 404 and missing:
            raise error(missing) from None
        raise error(f"cannot download {url}: HTTP {failure.code} {failure.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as failure:
        raise error(f"cannot download {url}: {getattr(failure, 'reason', failure)}") from None


def _opened(request: urllib.request.Request, deadline: float, late: ResolverError) -> IO[bytes]:
    """``open_url`` (the connection, the status line and headers) within the deadline: a server
    that sends its headers a byte at a time stalls no single read. The opening runs in a daemon
    thread, left behind when the deadline passes (it ends with its connection; exit never waits)."""
    opened: list[IO[bytes]] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(open_url(request))
        except BaseException as failure:  # noqa: BLE001 (handed to the caller's thread)
            failed.append(failure)

    thread = threading.Thread(target=open_it, name="resolver-download", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise late
    if failed:
        raise failed[0]
    return opened[0]


def fetch(url: str, what: str, limit: int, error: type[ResolverError], accept: str | None = None,
          missing: str | None = None) -> bytes:
    """The body at ``url`` (``missing``: the message for a 404), bounded in time and size."""
    return b"".join(_chunks(url, what, limit, error, accept, missing))


def _record_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.sha256")


def _recorded_digest(path: Path) -> str | None:
    try:
        text = read_bytes(_record_path(path), "digest record", 128).decode("ascii", "replace").strip()
    except ResolverError:
        return None
    return text if _SHA256.match(text) else None


def file_sha256(path: Path) -> str | None:
    """The sha256 of a regular file (None when there is none to read)."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def is_intact(path: Path, sha256: str | None = None) -> bool:
    """Whether the cached ``path`` has its digest: ``sha256``, or the one recorded when it was written."""
    expected = sha256 or _recorded_digest(path)
    return expected is not None and file_sha256(path) == expected


def read_recorded(path: Path, limit: int) -> bytes | None:
    """A cached body (written by ``write_recorded``) when it is still the one written, else None."""
    expected = _recorded_digest(path)
    if expected is None:
        return None
    try:
        data = read_bytes(path, "cached file", limit)
    except ResolverError:
        return None
    return data if hashlib.sha256(data).hexdigest() == expected else None


def write_recorded(path: Path, data: bytes) -> None:
    """Cache ``data`` at ``path`` with its digest recorded beside it (the file first: a record
    without its file, or of another file, reads as not cached)."""
    write_atomically(path, data)
    write_atomically(_record_path(path), hashlib.sha256(data).hexdigest() + "\n")


def cached_file(path: Path, url: str, what: str, error: type[ResolverError], sha256: str | None = None,
                limit: int = MAX_ARCHIVE_BYTES) -> Path:
    """``path`` holding what ``url`` serves: the cached copy while it has its digest (``sha256``,
    the index's; None: the one recorded when it was downloaded), else downloaded again, once."""
    if is_intact(path, sha256):
        return path
    digest = hashlib.sha256()

    def checked() -> Iterator[bytes]:
        for chunk in _chunks(url, what, limit, error, None, None):
            digest.update(chunk)
            yield chunk
        if sha256 is not None and digest.hexdigest() != sha256:
            raise error(f"{url}: the downloaded {what} has sha256 {digest.hexdigest()}, the index gives {sha256}; "
                        "not cached (the index, a mirror or a proxy serves other bytes than it lists)")

    write_atomically(path, checked())
    if sha256 is None:
        write_atomically(_record_path(path), digest.hexdigest() + "\n")
    return path
