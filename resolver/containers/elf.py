"""What ELF files require, as the rpm capabilities that provide it.

A builder stage compiles against -devel packages that never reach the final image; what it built
links to their runtime libraries. rpm's own dependency generator, ``/usr/lib/rpm/elfdeps
--requires`` (installed with rpm), reads each file's dynamic section and symbol versions and
names them as packages provide them: ``libpq.so.5()(64bit)`` and the versioned
``libc.so.6(GLIBC_2.34)(64bit)``, which dnf maps back to a package (a versioned one only to a
package new enough to have that version).
"""

from __future__ import annotations

import os
import struct
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildSetupError, ElfError
from ..files import scratch_directory

ELFDEPS = "/usr/lib/rpm/elfdeps"
_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class Needed:
    path: str
    #: the library (``libc.so.6``) or, for ``rtld(GNU_HASH)``, the dynamic linker feature
    soname: str
    capability: str


def requires(path: Path, shown: str) -> list[Needed]:
    """The capabilities an ELF file requires, sorted (``shown``: the file's name in messages);
    an error for a file that starts like ELF but is cut short."""
    _check_complete(path, shown)
    if not os.access(ELFDEPS, os.X_OK):
        raise BuildSetupError(f"{ELFDEPS} (rpm's ELF dependency generator) is missing; run ./bootstrap "
                              "(it installs rpm)")
    done = subprocess.run([ELFDEPS, "--requires"], input=f"{path}\n", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ElfError(f"{shown}: rpm's elfdeps cannot read it as ELF: {done.stderr.strip() or 'no reason given'}")
    return [Needed(shown, capability.split("(", 1)[0], capability) for capability in sorted(set(done.stdout.split()))]


def _check_complete(path: Path, shown: str) -> None:
    """elfdeps prints nothing, and succeeds, for a truncated file (as for one that needs nothing):
    the ELF header says where its program and section header tables end; the file must reach it."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        header = stream.read(64)
    is64 = len(header) > 4 and header[4] == 2
    if len(header) < (64 if is64 else 52) or header[5] not in (1, 2):
        raise ElfError(f"{shown}: a truncated or corrupt ELF file ({size} bytes, shorter than an ELF header)")
    order = "<" if header[5] == 1 else ">"
    # e_phoff, e_shoff, then e_phentsize, e_phnum, e_shentsize, e_shnum (ELF64 or ELF32 layout)
    phoff, shoff = struct.unpack_from(order + ("QQ" if is64 else "II"), header, 0x20 if is64 else 0x1C)
    phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHxxHH", header, 0x36 if is64 else 0x2A)
    end = max(phoff + phentsize * phnum if phnum else 0, shoff + shentsize * shnum if shnum else 0)
    if end > size:
        raise ElfError(f"{shown}: a truncated ELF file ({size} bytes; its headers say it reaches {end})")


def _is_elf(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) == _MAGIC


def needed_in_tree(root: Path, relative_to: Path | None = None) -> list[Needed]:
    """What every ELF file under ``root`` requires."""
    base = relative_to or root
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if _is_elf(path):
            found += requires(path, f"/{path.relative_to(base)}")
    return found


def needed_in_wheel(path: Path) -> list[Needed]:
    """What the ELF files inside a wheel require, less the libraries the wheel bundles
    (manylinux wheels carry theirs in ``*.libs/``, found through their RPATH)."""
    found = []
    with zipfile.ZipFile(path) as wheel:
        bundled = {name.rsplit("/", 1)[-1] for name in wheel.namelist()}
        for name, member in _elf_members(wheel):
            found += [n for n in requires(member, f"{path.name}:{name}") if n.soname not in bundled]
    return found


def _elf_members(wheel: zipfile.ZipFile) -> Iterator[tuple[str, Path]]:
    """(name, a temporary copy) of each ELF member: elfdeps reads files, not archive members."""
    with scratch_directory("resolver-elf-") as scratch:
        for info in wheel.infolist():
            if info.is_dir():
                continue
            with wheel.open(info) as stream:
                if stream.read(4) != _MAGIC:
                    continue
            copy = Path(scratch, "member")
            copy.write_bytes(wheel.read(info))
            yield info.filename, copy
