"""Kolla's start contract in every image, as Kolla ships it: ``kolla_start``, ``kolla_set_configs``,
the ``healthcheck_*`` scripts and the sudoers rule from Kolla's release for the tree's series
(``resolver/data/kolla/SERIES/``, copied byte for byte from the sdist pinned in
``resolver/data/constraints/kolla-SERIES.txt``; each file checked against ``SHA256SUMS`` whenever it
is read), Kolla's fixed users (``kolla/common/users.py``, read as data), the venv first on ``PATH``
and ``CMD ["kolla_start"]``.

``start_contracts`` says what each image gets (plain data, pure); ``install_contract`` writes it
into a mounted root (the buildah path); the Containerfile renderer writes the same as instructions.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import BuildError, InputError
from ..inputs.image_tree import ServiceUser
from .python_target import CONSTRAINTS_DIR, DATA, VENV

KOLLA_DATA = DATA / "kolla"
#: the series whose Kolla release a tree without Python projects (no constraints series) gets
KOLLA_SERIES = "2025.1"
#: kolla-ansible mounts the service's config.json (and the files it names) here
CONFIG_DIR = "/var/lib/kolla/config_files"
#: Kolla's openstack-base: the venv's executables resolve first (keystone-manage, placement-api)
PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMMAND = ("kolla_start",)
#: Kolla's base image's group every service user joins (the sudoers rule names it)
GROUP = "kolla"
#: bump when what ``install_contract`` writes for the same contract changes (new image keys)
CONTRACT_FORMAT = 3
#: Kolla's useradd: no login shell
SHELL = "/usr/sbin/nologin"
#: where Kolla's base Dockerfile installs each file of docker/base (path in the sdist -> path, mode)
INSTALLED = {
    "docker/base/set_configs.py": ("/usr/local/bin/kolla_set_configs", 0o755),
    "docker/base/start.sh": ("/usr/local/bin/kolla_start", 0o755),
    "docker/base/copy_cacerts.sh": ("/usr/local/bin/kolla_copy_cacerts", 0o755),
    "docker/base/install_projects.sh": ("/usr/local/bin/kolla_install_projects", 0o755),
    **{f"docker/base/healthcheck_{kind}": (f"/usr/local/bin/healthcheck_{kind}", 0o755)
       for kind in ("curl", "filemod", "listen", "port", "socket")},
    "docker/base/sudoers": ("/etc/sudoers", 0o440),
}
#: Kolla touches an empty kolla_extend_start (start.sh sources it; service images replace it)
EXTEND_START = "/usr/local/bin/kolla_extend_start"
#: what Kolla's scripts run, by the line that runs it: needs the evidence report justifies
#: (``resolver evidence``): kolla_start is bash, runs sudo and cat, kolla_set_configs is python3
#: through env, kolla_copy_cacerts runs find and grep
START_COMMANDS = (("bash", "docker/base/start.sh:1"), ("sudo", "docker/base/start.sh:11"),
                  ("cat", "docker/base/start.sh:12"), ("env", "docker/base/set_configs.py:1"),
                  ("python3", "docker/base/set_configs.py:1"), ("find", "docker/base/copy_cacerts.sh:21"),
                  ("grep", "docker/base/copy_cacerts.sh:29"))
_USERS = "kolla/common/users.py"
_PIN = re.compile(r"^kolla==(?P<version>[0-9][0-9A-Za-z.]*) --hash=sha256:(?P<sha256>[0-9a-f]{64})$")


@dataclass(frozen=True)
class KollaFile:
    source: str  # its path in Kolla's sdist
    dest: str
    mode: int
    sha256: str


@dataclass(frozen=True)
class KollaUser:
    name: str
    uid: int
    gid: int
    group: str


@dataclass(frozen=True)
class KollaRelease:
    series: str
    version: str
    #: the sdist's sha256 (the pin), and where the copied files live
    sha256: str
    directory: Path
    files: tuple[KollaFile, ...]
    users: Mapping[str, KollaUser]

    @property
    def pin(self) -> str:
        return f"kolla=={self.version}"

    def content(self, file: KollaFile) -> bytes:
        """A file's bytes, checked against its recorded digest (a changed copy is refused)."""
        path = self.directory / Path(file.source).name
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise BuildError(f"{path}: not Kolla {self.version}'s {file.source} (sha256 differs from "
                             f"{self.directory / 'SHA256SUMS'}); restore it from the sdist")
        return data

    def to_json(self) -> dict[str, Any]:
        """What the lock records: the release, its sdist's digest, each file's."""
        return {"series": self.series, "release": self.pin, "sha256": self.sha256,
                "files": {f.source: f.sha256 for f in self.files}}

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


@cache
def kolla_release(series: str) -> KollaRelease:
    """Kolla's release for a series, from the bundled copy (the pin, the files, the users)."""
    pin_file = CONSTRAINTS_DIR / f"kolla-{series}.txt"
    directory = KOLLA_DATA / series
    if not pin_file.is_file() or not directory.is_dir():
        known = sorted(p.name for p in KOLLA_DATA.iterdir() if p.is_dir())
        raise InputError(f"no Kolla release bundled for series {series} ({pin_file}); bundled: {', '.join(known)}")
    pins = [line for line in pin_file.read_text().splitlines() if line.strip() and not line.startswith("#")]
    match = _PIN.match(pins[0]) if len(pins) == 1 else None
    if match is None:
        raise InputError(f"{pin_file}: one line 'kolla==VERSION --hash=sha256:DIGEST'")
    sums = {}
    for number, line in enumerate((directory / "SHA256SUMS").read_text().splitlines(), 1):
        digest, _, source = line.partition("  ")
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or not source:
            raise InputError(f"{directory / 'SHA256SUMS'}:{number}: 'SHA256  PATH'")
        sums[source] = digest
    files = tuple(KollaFile(source, dest, mode, sums[source]) for source, (dest, mode) in INSTALLED.items())
    release = KollaRelease(series, match["version"], match["sha256"], directory, files, {})
    users_file = KollaFile(_USERS, "", 0, sums[_USERS])
    return KollaRelease(series, match["version"], match["sha256"], directory, (*files, users_file),
                        _read_users(release.content(users_file).decode(), directory / "users.py"))


def tree_release(constraints: str | None) -> KollaRelease:
    """The Kolla release of a tree: its constraints series' (``KOLLA_SERIES`` without one)."""
    return kolla_release(constraints or KOLLA_SERIES)


def _read_users(text: str, path: Path) -> dict[str, KollaUser]:
    """Kolla's USERS table as data (``ast.literal_eval`` of its one assignment; nothing runs):
    ``NAME-user`` -> uid, gid and group (the user's name unless given), as kolla's config.py reads it."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["USERS"]:
            table = ast.literal_eval(node.value)
            return {key[:-len("-user")]: KollaUser(key[:-len("-user")], int(v["uid"]), int(v["gid"]),
                                                   str(v.get("group", key[:-len("-user")])))
                    for key, v in table.items()}
    raise InputError(f"{path}: no USERS table")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    group: str
    home: str


@dataclass(frozen=True)
class OwnedDirectory:
    path: str
    uid: int
    gid: int
    mode: int


@dataclass(frozen=True)
class StartContract:
    """What one image gets of Kolla's contract. The root: Kolla's files, every user and group of
    Kolla's table (Kolla makes them all in its base image, so that uids never collide) and
    /var/log/kolla; a service image: its user's home and directories, and ``USER``."""

    release: KollaRelease
    files: tuple[KollaFile, ...] = ()
    accounts: tuple[Account, ...] = ()
    #: the kolla group's members (the tree's service users: the sudoers rule lets them set configs)
    members: tuple[str, ...] = ()
    directories: tuple[OwnedDirectory, ...] = ()
    user: str | None = None

    @property
    def uid(self) -> int | None:
        """The service user's uid (None: the image sets no USER)."""
        return self.release.users[self.user].uid if self.user else None

    def to_json(self) -> dict[str, Any]:
        """Everything a build does for it (part of the image's content key)."""
        return {"format": CONTRACT_FORMAT, "kolla": self.release.digest, "files": [f.source for f in self.files],
                "accounts": [[a.name, a.uid, a.gid, a.group, a.home] for a in self.accounts],
                "members": list(self.members),
                "directories": [[d.path, d.uid, d.gid, d.mode] for d in self.directories], "user": self.user,
                "path": PATH, "command": list(COMMAND)}


def start_contracts(parents: Mapping[str, str | None], services: Mapping[str, ServiceUser],
                    release: KollaRelease) -> dict[str, StartContract]:
    """Each image's part of the contract (``parents``: every image's parent; ``services``: the
    images that run a Kolla service)."""
    for image, wanted in services.items():
        if wanted.user not in release.users:
            raise InputError(f"image {image}: user {wanted.user!r} is not one of Kolla {release.version}'s users "
                             f"(kolla/common/users.py: {', '.join(sorted(release.users)[:8])}...)")
    homes = {s.user: s.home for s in services.values()}
    accounts = tuple(Account(u.name, u.uid, u.gid, u.group, homes.get(u.name, f"/var/lib/{u.name}"))
                     for u in sorted(release.users.values(), key=lambda u: u.uid))
    kolla = release.users[GROUP]
    contracts = {}
    for image, parent in parents.items():
        service = services.get(image)
        directories = []
        if parent is None:
            directories.append(OwnedDirectory("/var/log/kolla", 0, kolla.gid, 0o2775))
        if service is not None:
            user = release.users[service.user]
            # the home (Kolla's configure_user), the service's log directory (its extend_start
            # makes it: the service logs there from kolla-ansible's config), what its Dockerfile makes
            directories += [OwnedDirectory(service.home, user.uid, user.gid, 0o755),
                            OwnedDirectory(f"/var/log/kolla/{service.user}", user.uid, kolla.gid, 0o755),
                            *(OwnedDirectory(path, user.uid, user.gid, 0o755) for path in service.directories)]
        contracts[image] = StartContract(
            release, release.files[:len(INSTALLED)] if parent is None else (),
            accounts if parent is None else (),
            tuple(sorted(homes)) if parent is None else (), tuple(directories),
            service.user if service else None)
    return contracts


# ---- the buildah path: written into a mounted root ------------------------------------------------

def install_contract(root: Path, contract: StartContract) -> None:
    """Kolla's files, users and directories written into a mounted image root (needs no tool in
    the image: no useradd, no coreutils)."""
    for file in contract.files:
        _write(root, file.dest, contract.release.content(file), file.mode)
    if contract.files:
        _write(root, EXTEND_START, b"", 0o644)
    if contract.accounts:
        _merge_accounts(root, contract.accounts, contract.members)
    for directory in contract.directories:
        target = _inside(root, directory.path)
        target.mkdir(parents=True, exist_ok=True)
        os.chown(target, directory.uid, directory.gid)
        target.chmod(directory.mode)


def _merge_accounts(root: Path, accounts: Sequence[Account], members: Sequence[str]) -> None:
    """Kolla's users and groups in /etc/passwd, /etc/shadow and /etc/group, as useradd writes them
    (a locked password; PAM's account check, which sudo runs, needs the shadow entry), replacing
    entries of the same name (Kolla's ``groupadd --force``), other entries kept in order."""
    names = {a.name for a in accounts}
    groups = {a.group: a.gid for a in accounts}
    passwd = [line for line in _lines(root, "/etc/passwd") if line.split(":", 1)[0] not in names]
    passwd += [f"{a.name}:x:{a.uid}:{a.gid}::{a.home}:{SHELL}" for a in accounts]
    shadow = [line for line in _lines(root, "/etc/shadow") if line.split(":", 1)[0] not in names]
    shadow += [f"{a.name}:!!:::::::" for a in accounts]
    group = [line for line in _lines(root, "/etc/group") if line.split(":", 1)[0] not in groups]
    group += [f"{name}:x:{gid}:{','.join(members) if name == GROUP else ''}" for name, gid in groups.items()]
    _write(root, "/etc/passwd", "".join(f"{line}\n" for line in passwd).encode(), 0o644)
    _write(root, "/etc/group", "".join(f"{line}\n" for line in group).encode(), 0o644)
    _write(root, "/etc/shadow", "".join(f"{line}\n" for line in shadow).encode(), 0o000)


def _lines(root: Path, path: str) -> list[str]:
    target = _inside(root, path)
    return [line for line in target.read_text().splitlines() if line.strip()] if target.is_file() else []


def _inside(root: Path, path: str) -> Path:
    target = root / path.lstrip("/")
    # a symlink in the image (/etc -> elsewhere) must not lead the write out of the root
    if not target.parent.resolve().is_relative_to(root.resolve()) and target.parent.exists():
        raise BuildError(f"{path} leads outside the image root {root}")
    return target


def _write(root: Path, path: str, data: bytes, mode: int) -> None:
    target = _inside(root, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_bytes(data)
    os.chown(target, 0, 0)
    target.chmod(mode)
