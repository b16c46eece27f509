"""Members of a downloaded archive (a wheel, an sdist: .tar.gz, .tar or .zip) read with bounds.

An archive is someone else's file: a member's header may claim any size, a member may inflate to
gigabytes (METADATA of 4 GiB in a 4 MiB wheel), a .tar.gz may hold millions of members or end
early. Members are listed lazily up to ``MAX_MEMBERS``, their claimed sizes checked (none
negative, the sum at most ``MAX_UNPACKED_BYTES``), and one is read only after its size is checked,
at most ``limit`` + 1 bytes; a damaged archive is the caller's error naming it.
"""

from __future__ import annotations

import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from types import TracebackType

from .errors import ResolverError
from .files import MAX_INPUT_BYTES

#: more members than any real sdist or wheel (nova's sdist: about 5,000)
MAX_MEMBERS = 200_000
#: more than any real distribution unpacks to; a claim beyond it is not one
MAX_UNPACKED_BYTES = 16 * 1024 ** 3
#: what reading a damaged or hostile archive raises, besides OSError and ValueError
DAMAGED = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, struct.error, NotImplementedError,
           RuntimeError, OverflowError, KeyError)


class Archive:
    """An opened archive: ``members`` (regular files: name -> claimed size) and ``read``."""

    def __init__(self, path: Path, error: type[ResolverError], what: str = "archive"):
        self.path = path
        self.error = error
        self.what = what
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        self._tar_members: dict[str, tarfile.TarInfo] = {}
        self.members: dict[str, int] = {}

    def __enter__(self) -> Archive:
        try:
            if self.path.name.endswith((".zip", ".whl")):
                self._zip = zipfile.ZipFile(self.path)
                infos = self._zip.infolist()
                self._check_count(len(infos))
                self.members = {i.filename: i.file_size for i in infos if not i.is_dir()}
            else:
                self._tar = tarfile.open(self.path)
                count, total = 0, 0
                while (member := self._tar.next()) is not None:
                    count += 1
                    self._check_count(count)
                    if member.isfile():
                        self._tar_members[member.name] = member
                        self.members[member.name] = member.size
                        # before the next member: skipping this one's data inflates it
                        total += member.size
                        self._check_total(total)
            self._check_sizes()
        except (OSError, ValueError, *DAMAGED) as failure:
            self.close()
            raise self.damaged(failure) from None
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for archive in (self._zip, self._tar):
            if archive is not None:
                archive.close()

    def damaged(self, failure: BaseException) -> ResolverError:
        return self.error(f"{self.path}: not a readable {self.what} ({type(failure).__name__}: {failure}); "
                          "replace it, or pin another release when it came from an index")

    def _check_count(self, count: int) -> None:
        if count > MAX_MEMBERS:
            raise self.error(f"{self.path}: more than {MAX_MEMBERS} members, more than any real distribution; "
                             "not read")

    def _check_sizes(self) -> None:
        negative = next((name for name, size in self.members.items() if size < 0), None)
        if negative is not None:
            raise self.error(f"{self.path}: member {negative!r} claims a negative size; not a readable archive")
        self._check_total(sum(self.members.values()))

    def _check_total(self, total: int) -> None:
        if total > MAX_UNPACKED_BYTES:
            raise self.error(f"{self.path}: its members claim {total} bytes unpacked, more than "
                             f"{MAX_UNPACKED_BYTES // 1024 ** 3} GiB; not a distribution this tool reads")

    def read(self, name: str, limit: int = MAX_INPUT_BYTES) -> bytes:
        """One member, refused when it claims (or turns out to hold) more than ``limit`` bytes."""
        if self.members[name] > limit:
            raise self.error(f"{self.path}: {name} is {self.members[name]} bytes, larger than "
                             f"{limit // 1024 // 1024} MiB; not read (no real one is)")
        try:
            if self._zip is not None:
                with self._zip.open(name) as stream:
                    data = stream.read(limit + 1)
            else:
                assert self._tar is not None
                extracted = self._tar.extractfile(self._tar_members[name])
                assert extracted is not None  # a regular file
                data = extracted.read(limit + 1)
        except (OSError, ValueError, *DAMAGED) as failure:
            raise self.damaged(failure) from None
        if len(data) > limit:
            raise self.error(f"{self.path}: {name} holds more than {limit // 1024 // 1024} MiB; not read")
        return data
