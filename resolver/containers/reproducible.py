"""What makes the same lock give byte-identical layers: one time for everything a build stamps
(``SOURCE_DATE_EPOCH``, else the newest time in the repositories' repomd.xml), the rpm database's
install times and transaction ids set to it, dnf's history without the run's times and paths.
Files' times are clamped by ``buildah commit --timestamp``; ``.pyc`` files are compiled with
unchecked hashes (no source time in them).
"""

from __future__ import annotations

import glob
import os
import re
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..metadata.repo_config import RepoSpec

#: rpm header tags an install writes with the time: RPMTAG_INSTALLTIME, RPMTAG_INSTALLTID (INT32)
_INSTALL_TIME_TAGS = (1008, 1128)
_INT32 = 4


def source_date_epoch(specs: Sequence[RepoSpec]) -> int:
    """``SOURCE_DATE_EPOCH`` when set, else the newest ``<timestamp>``/``<revision>`` of the local
    repositories' repomd.xml (the same metadata, the same time), else 0."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is not None:
        if not value.strip().isdigit():
            raise InputError(f"SOURCE_DATE_EPOCH={value!r}: write a whole number of seconds since 1970")
        return int(value)
    times = [0]
    for spec in specs:
        repomd = spec.local_dir / "repodata" / "repomd.xml" if spec.local_dir else None
        if repomd is not None and repomd.is_file():
            text = repomd.read_text(encoding="utf-8", errors="replace")
            times += [int(t) for t in re.findall(r"<(?:timestamp|revision)>\s*(\d{1,12})\s*</", text)]
    return max(times)


def normalize_databases(root: Path, epoch: int) -> None:
    """The rpm database and dnf's history of ``root`` as the same install at ``epoch`` writes
    them: every header's install time and transaction id, the transaction-id index, dnf's
    transaction times and command line (which names this run's mount point and cache); each
    database vacuumed, so that its pages are laid out by its content alone."""
    rpmdb = root / "var/lib/rpm/rpmdb.sqlite"
    if rpmdb.is_file():
        with _database(rpmdb) as connection:
            for hnum, blob in list(connection.execute("SELECT hnum, blob FROM Packages")):
                connection.execute("UPDATE Packages SET blob = ? WHERE hnum = ?", (_stamped(bytes(blob), epoch), hnum))
            # the index key is the transaction id in the host's byte order (rpm's sqlite backend)
            connection.execute("UPDATE Installtid SET key = ?", (struct.pack("=I", epoch),))
    history = root / "var/lib/dnf/history.sqlite"
    if history.is_file():
        with _database(history) as connection:
            for tid, cmdline in list(connection.execute("SELECT id, cmdline FROM trans")):
                # the command's words without its options: what it installed, not where
                words = " ".join(w for w in str(cmdline or "").split() if not w.startswith("-"))
                connection.execute("UPDATE trans SET dt_begin = ?, dt_end = ?, cmdline = ? WHERE id = ?",
                                   (epoch, epoch, words, tid))


class _database:
    """An SQLite database changed in one transaction, then vacuumed (its file rewritten by content)."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN")
        return self.connection

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
            if kind is None:
                self.connection.execute("VACUUM")
        finally:
            self.connection.close()


def _stamped(blob: bytes, epoch: int) -> bytes:
    """An rpm header blob (index count, data length, 16-byte index entries, data; big-endian)
    with its install-time tags set to ``epoch``. They are outside the signed immutable region."""
    count, _ = struct.unpack_from(">ii", blob, 0)
    data = 8 + 16 * count
    stamped = bytearray(blob)
    for entry in range(count):
        tag, kind, offset, items = struct.unpack_from(">iiii", blob, 8 + 16 * entry)
        if tag in _INSTALL_TIME_TAGS and kind == _INT32 and items == 1:
            struct.pack_into(">I", stamped, data + offset, epoch)
    return bytes(stamped)


def uncompiled_sources(root: Path, venv: str) -> list[str]:
    """The venv's .py files (as the container sees them) that have no byte code yet, sorted; a
    name with a control character is left uncompiled (it would break the list)."""
    found = []
    for path in sorted((root / venv.lstrip("/")).glob("lib/python3*/site-packages/**/*.py")):
        cache = path.parent / "__pycache__"
        if path.is_file() and not any(cache.glob(f"{glob.escape(path.stem)}.*.pyc")):
            inside = "/" + path.relative_to(root).as_posix()
            if inside.isprintable():
                found.append(inside)
    return found
