"""Publishing changes into a copy of real repository metadata, as createrepo_c does: the package
records edited in the real primary.xml.gz and filelists.xml.gz, each written under its new
checksum, repomd.xml rewritten with the new checksums, sizes and locations, old files removed.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

#: metadata files holding one record per package (the checksum is the package id in both)
_PACKAGE_FILES = ("primary", "filelists")


def copy_repo(source: Path, target: Path) -> Path:
    """A writable copy of a repository directory."""
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def _records(text: str, kind: str) -> list[str]:
    if kind == "primary":
        return re.findall(r'<package type="rpm">.*?</package>\n', text, re.S)
    return re.findall(r"<package pkgid=.*?</package>\n", text, re.S)


def _name_of(record: str) -> str:
    match = re.search(r"<name>([^<]+)</name>", record) or re.search(r' name="([^"]+)"', record)
    assert match, record[:200]
    return match[1]


def _rewrite(repo: Path, change: Callable[[str, str], str | None]) -> None:
    """Apply ``change(kind, record) -> new record or None (dropped)`` to every package record of
    primary and filelists, and publish the result."""
    repomd_path = repo / "repodata" / "repomd.xml"
    repomd = repomd_path.read_text()
    for kind in _PACKAGE_FILES:
        block = re.search(rf'<data type="{kind}">.*?</data>', repomd, re.S)
        old_href = re.search(r'href="([^"]+)"', block[0])[1]
        old_file = repo / old_href
        text = gzip.decompress(old_file.read_bytes()).decode()
        kept = 0
        for record in _records(text, kind):
            new = change(kind, record)
            text = text.replace(record, new or "", 1)
            kept += new is not None
        text = re.sub(r'packages="\d+"', f'packages="{kept}"', text, count=1)
        opened = text.encode()
        packed = gzip.compress(opened, mtime=0)
        checksum = hashlib.sha256(packed).hexdigest()
        new_href = f"repodata/{checksum}-{kind}.xml.gz"
        (repo / new_href).write_bytes(packed)
        old_file.unlink()
        values = {"checksum": checksum, "open-checksum": hashlib.sha256(opened).hexdigest(),
                  "size": str(len(packed)), "open-size": str(len(opened)), "timestamp": str(int(time.time()))}
        new_block = re.sub(r'href="[^"]+"', f'href="{new_href}"', block[0])
        for tag, value in values.items():
            new_block = re.sub(rf"(<{tag}[^>]*>)[^<]*(</{tag}>)", rf"\g<1>{value}\g<2>", new_block)
        repomd = repomd.replace(block[0], new_block)
    repomd = re.sub(r"<revision>\d+</revision>", f"<revision>{int(time.time())}</revision>", repomd)
    repomd_path.write_text(repomd)


def publish_release(repo: Path, name: str, old_release: str, new_release: str) -> None:
    """A rebuilt package: the record of ``name`` gets a new release everywhere it names one (its
    version, its versioned provides, its file name) and a new package checksum."""

    def change(kind: str, record: str) -> str:
        if _name_of(record) != name:
            return record
        pkgid = re.search(r'pkgid="?([0-9a-f]{64})', record)[1] if kind == "filelists" else \
            re.search(r'<checksum type="sha256" pkgid="YES">([0-9a-f]{64})', record)[1]
        new_id = hashlib.sha256(f"{pkgid}{new_release}".encode()).hexdigest()
        return (record.replace(f'rel="{old_release}"', f'rel="{new_release}"')
                .replace(f"-{old_release}.", f"-{new_release}.").replace(pkgid, new_id))

    _rewrite(repo, change)


def drop_package(repo: Path, name: str) -> None:
    """A package removed from the repository."""
    _rewrite(repo, lambda kind, record: None if _name_of(record) == name else record)


def record_of(repo: Path, kind: str) -> tuple[str, Path]:
    """The repomd.xml block of a metadata type and the file it names."""
    repomd = (repo / "repodata" / "repomd.xml").read_text()
    block = re.search(rf'<data type="{kind}">.*?</data>', repomd, re.S)[0]
    return block, repo / re.search(r'href="([^"]+)"', block)[1]


def republish(repo: Path, kind: str, data: bytes) -> None:
    """Replace a metadata file's content and rewrite its repomd.xml record to match (a damaged
    file published consistently: the checksums agree, the content is bad)."""
    block, path = record_of(repo, kind)
    path.unlink()
    checksum = hashlib.sha256(data).hexdigest()
    href = f"repodata/{checksum}-{path.name.split('-', 1)[1]}"
    (repo / href).write_bytes(data)
    new_block = re.sub(r'href="[^"]+"', f'href="{href}"', block)
    new_block = re.sub(r"(<checksum[^>]*>)[^<]*(</checksum>)", rf"\g<1>{checksum}\g<2>", new_block)
    new_block = re.sub(r"(<size>)[^<]*(</size>)", rf"\g<1>{len(data)}\g<2>", new_block)
    repomd_path = repo / "repodata" / "repomd.xml"
    repomd_path.write_text(repomd_path.read_text().replace(block, new_block))


def keep_only(repo: Path, names: set[str]) -> None:
    """The repository with only these packages (a small real repository for many quick loads)."""
    _rewrite(repo, lambda kind, record: record if _name_of(record) in names else None)
