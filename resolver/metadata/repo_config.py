"""Which repositories to read: ``--repos`` arguments (directories holding repodata/, repodata/
directories, URLs, .repo files) as ``RepoSpec``s, and the bundled CentOS Stream 9 pair by default.
"""

from __future__ import annotations

import configparser
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import RepoError

BUNDLED_REPOS_DIR = Path(str(resources.files("resolver") / "data" / "repos"))
BUNDLED_REPOS = ("cs9-baseos-osbuild-2022", "cs9-appstream-osbuild-2025")


@dataclass(frozen=True)
class RepoSpec:
    """One repository: an id and a baseurl (a local directory holding repodata/ or a URL), and
    whether installing from it checks package signatures (``gpgcheck``; None: on for a remote
    repository, off for a local directory) against ``gpgkey`` (URLs of public keys)."""

    repo_id: str
    baseurl: str
    gpgcheck: bool | None = None
    gpgkey: tuple[str, ...] = ()

    @property
    def local_dir(self) -> Path | None:
        if self.baseurl.startswith("file://"):
            return Path(self.baseurl.removeprefix("file://"))
        return None if "://" in self.baseurl else Path(self.baseurl)

    @property
    def checks_signatures(self) -> bool:
        return self.local_dir is None if self.gpgcheck is None else self.gpgcheck


def locked_location(baseurl: str, base: Path) -> dict[str, str]:
    """How a lock names where a repository is, without a path of this machine: ``path``, a local
    directory under the lock's directory ``base``, relative to it; ``name``, any other local
    directory (a bundled repository, the demo distribution in the cache, a mirror elsewhere) by
    its directory name; ``url``, a remote repository. The repomd digest beside it says which
    metadata, wherever the directory is found."""
    local = RepoSpec("", baseurl).local_dir
    if local is None:
        return {"url": baseurl}
    try:
        return {"path": local.resolve().relative_to(base.resolve()).as_posix()}
    except ValueError:
        return {"name": local.resolve().name}


def repo_specs(arguments: Sequence[str]) -> tuple[RepoSpec, ...]:
    """``--repos`` values: directories holding repodata/, repodata/ dirs, or .repo files."""
    if not arguments:
        return tuple(RepoSpec(name, str(BUNDLED_REPOS_DIR / name)) for name in BUNDLED_REPOS)
    specs: list[RepoSpec] = []
    for argument in arguments:
        path = Path(argument)
        if re.match(r"^[a-z][a-z0-9+.-]*://", argument):
            if not argument.startswith(("http://", "https://", "file://")):
                raise RepoError(f"{argument}: only http://, https:// and file:// repositories are read")
            specs.append(RepoSpec(_repo_id(argument), argument))
        elif path.suffix == ".repo":
            specs.extend(_repo_file(path))
        elif path.name == "repodata":
            specs.append(RepoSpec(path.parent.name or "repo", str(path.parent)))
        else:
            specs.append(RepoSpec(path.name or "repo", str(path)))
    return tuple(specs)


def _repo_id(url: str) -> str:
    """A repository id for a URL given on the command line (host and path, as dnf ids allow)."""
    parts = urllib.parse.urlsplit(url)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.netloc}{parts.path}".strip("/")) or "repo"


def _repo_file(path: Path) -> list[RepoSpec]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except (OSError, configparser.Error) as error:
        raise RepoError(f"{path}: cannot read repo file ({error})") from None
    specs = []
    for section in parser.sections():
        if parser.get(section, "enabled", fallback="1").strip() in ("0", "false", "False"):
            continue
        baseurl = parser.get(section, "baseurl", fallback="").split()
        if not baseurl:
            raise RepoError(f"{path}: [{section}] has no baseurl (metalink/mirrorlist are not read here)")
        gpgcheck = parser.get(section, "gpgcheck", fallback="").strip().lower()
        if gpgcheck not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
            raise RepoError(f"{path}: [{section}] gpgcheck={gpgcheck!r}; write gpgcheck=1 or gpgcheck=0")
        keys = tuple(parser.get(section, "gpgkey", fallback="").replace(",", " ").split())
        for key in keys:
            if not re.match(r"^(file|https?)://[^\s\x00-\x1f\x7f]+$", key):
                raise RepoError(f"{path}: [{section}] gpgkey {key!r} is not a file://, http:// or https:// URL")
        specs.append(RepoSpec(section, baseurl[0], gpgcheck in ("1", "true", "yes", "on") if gpgcheck else None,
                              keys))
    if not specs:
        raise RepoError(f"{path}: no enabled repository")
    return specs


def locked_specs(repos: Sequence[dict], lock_dir: Path, lock: Path) -> tuple[RepoSpec, ...]:
    """The repositories a lock names (``locked_location``), found again: a ``path`` under the
    lock's directory, a ``url``, a ``name`` of a bundled repository; any other name needs
    ``--repos`` (the lock says which metadata, not where another machine keeps it)."""
    specs = []
    for repo in repos:
        if "path" in repo:
            specs.append(RepoSpec(str(repo["id"]), str(lock_dir / str(repo["path"]))))
        elif "url" in repo:
            specs.append(RepoSpec(str(repo["id"]), str(repo["url"])))
        elif repo.get("name") in BUNDLED_REPOS:
            specs.append(RepoSpec(str(repo["id"]), str(BUNDLED_REPOS_DIR / str(repo["name"]))))
        else:
            raise RepoError(f"{lock}: repository {repo.get('id')} is named {repo.get('name')!r}, a directory of the "
                            "machine the lock was made on: name it with --repos DIR (each repository of the lock)")
    return tuple(specs)
