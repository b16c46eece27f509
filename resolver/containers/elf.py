"""NEEDED sonames of ELF files, as the rpm capabilities that provide them.

A builder stage compiles against -devel packages that never reach the final image; what it built
links to their runtime libraries. Reading each produced ELF file's dynamic section gives the
sonames it needs (``libpq.so.5``); rpm names the capability ``libpq.so.5()(64bit)`` on 64-bit
objects, which dnf maps back to a package.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_DT_NEEDED, _DT_STRTAB, _PT_DYNAMIC, _PT_LOAD = 1, 5, 2, 1


@dataclass(frozen=True)
class Needed:
    path: str
    soname: str
    capability: str


def needed_sonames(data: bytes) -> tuple[list[str], bool]:
    """(NEEDED sonames, is 64-bit) of an ELF image; ([], False) for anything that is not ELF."""
    if len(data) < 64 or data[:4] != b"\x7fELF":
        return [], False
    is64 = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    # e_phoff, then e_phentsize and e_phnum, at their ELF64 or ELF32 offsets
    (phoff,) = struct.unpack_from(order + ("Q" if is64 else "I"), data, 0x20 if is64 else 0x1C)
    phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36 if is64 else 0x2A)
    loads, dynamic = [], None
    for index in range(phnum):
        at = phoff + index * phentsize
        if is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(order + "IIQQQQ", data, at)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(order + "IIIII", data, at)
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return [], is64
    entry = struct.Struct(order + ("qQ" if is64 else "iI"))
    needed_offsets, strtab_vaddr = [], None
    for at in range(dynamic[0], dynamic[0] + dynamic[1], entry.size):
        tag, value = entry.unpack_from(data, at)
        if tag == 0:
            break
        if tag == _DT_NEEDED:
            needed_offsets.append(value)
        elif tag == _DT_STRTAB:
            strtab_vaddr = value
    if strtab_vaddr is None:
        return [], is64
    # DT_STRTAB is an address: find the file offset through the segment that maps it
    strtab = next((offset + strtab_vaddr - vaddr for vaddr, offset, size in loads
                   if vaddr <= strtab_vaddr < vaddr + size), None)
    if strtab is None:
        return [], is64
    names = [data[strtab + o:data.index(b"\0", strtab + o)].decode("ascii", "replace") for o in needed_offsets]
    return names, is64


def capability(soname: str, is64: bool) -> str:
    """The rpm capability a soname is provided as (rpm's elfdeps naming)."""
    return f"{soname}()(64bit)" if is64 else soname


def needed_in_tree(root: Path, relative_to: Path | None = None) -> list[Needed]:
    """Every NEEDED entry of every ELF file under ``root``."""
    found = []
    base = relative_to or root
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        with path.open("rb") as stream:
            if stream.read(4) != b"\x7fELF":
                continue
        sonames, is64 = needed_sonames(path.read_bytes())
        found.extend(Needed(f"/{path.relative_to(base)}", s, capability(s, is64)) for s in sonames)
    return found



def needed_in_wheel(path: Path) -> list[Needed]:
    """NEEDED entries of the ELF files inside a wheel, less the libraries the wheel bundles
    (manylinux wheels carry theirs in ``*.libs/``, found through their RPATH)."""
    import zipfile

    found = []
    with zipfile.ZipFile(path) as wheel:
        bundled = {name.rsplit("/", 1)[-1] for name in wheel.namelist()}
        for info in wheel.infolist():
            if info.is_dir() or info.file_size < 64:
                continue
            with wheel.open(info) as stream:
                if stream.read(4) != b"\x7fELF":
                    continue
            sonames, is64 = needed_sonames(wheel.read(info))
            found.extend(Needed(f"{path.name}:{info.filename}", s, capability(s, is64))
                         for s in sonames if s not in bundled)
    return found
