"""dnf's Base configured for a set of repositories, their metadata checked and loaded into its sack.

Metadata is checked before dnf reads it (resolver/repodata.py): a local repository on every run
(libdnf keeps its synced copy while repomd.xml is unchanged and never reads the repository's files
again, so a file damaged since would go unnoticed), a remote one when its cached copy is older than
the metadata expiry. What the loaded metadata came from is the sha256 of dnf's synced repomd.xml:
everything kept between runs is keyed by it.
"""

from __future__ import annotations

import gc
import hashlib
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dnf
import dnf.conf
import dnf.exceptions

from ..errors import RepoError
from ..files import scratch_directory
from ..network import network_timeout
from .repo_config import RepoSpec
from .repodata import check_local, check_remote, default_expiry


@dataclass(frozen=True)
class LoadedMetadata:
    base: dnf.Base
    #: sha256 of the repomd.xml each repository's loaded metadata came from (dnf's synced copy)
    repomd_sha256: dict[str, str]
    #: dnf's installroot and logs; removed by the RepoSet's close
    workdir: tempfile.TemporaryDirectory


def load_metadata(specs: Sequence[RepoSpec], arch: str, releasever: str, cache: Path,
                  metadata_expire: int | None) -> LoadedMetadata:
    """``metadata_expire``: seconds a remote repository's cached metadata is used without
    checking its repomd.xml again (-1: never; None: ``$RESOLVER_METADATA_EXPIRE``, else 0, every
    run); local repositories are checked on every run."""
    if cache.exists() and not cache.is_dir():
        raise RepoError(f"{cache}: the cache directory is a file; give a directory (--cache-dir)")
    checked = cache / "checked"
    local = {spec.repo_id: check_local(spec.local_dir, checked) for spec in specs if spec.local_dir}
    expire = default_expiry() if metadata_expire is None else metadata_expire
    # named by pid: a run killed with SIGKILL leaves it, and the next run removes it
    workdir = scratch_directory("resolver-dnf-")
    conf = dnf.conf.Conf()
    # Substitutions before add_new_repo, or libdnf raises a SWIG TypeError. The release is set
    # before dnf.Base too: without one, dnf reads the host's rpm database for it (the host is not
    # the target; on Debian that database is ~/.rpmdb, made on first use, and two runs making it
    # at once fail with "rpmdb open failed").
    conf.substitutions["releasever"] = releasever
    conf.substitutions["basearch"] = arch
    conf.arch = arch
    # what module streams require (``platform:el9``); dnf reads it from the root's os-release,
    # and the empty root here has none
    conf.module_platform_id = f"platform:el{releasever}"
    conf.install_weak_deps = False
    # a mirror that stops answering is given up on (librepo's default waits 30 s per try, 10 tries)
    conf.timeout = network_timeout()
    conf.retries = 2
    # dnf's own cache (solv files): reloading the same metadata then takes a fraction of the time
    conf.cachedir = str(cache / "dnf")
    conf.installroot = str(Path(workdir.name) / "root")
    conf.reposdir = []
    conf.logdir = str(Path(workdir.name) / "log")
    Path(conf.logdir).mkdir()
    base = dnf.Base(conf)
    remote_checks = []
    for spec in specs:
        url = spec.baseurl if "://" in spec.baseurl else f"file://{Path(spec.baseurl).resolve()}"
        repo = base.repos.add_new_repo(spec.repo_id, conf, baseurl=[url], skip_if_unavailable=False)
        if spec.local_dir is None:
            key = hashlib.sha256(f"{spec.repo_id}\0{url}".encode()).hexdigest()
            stamp = checked / f"remote-{key}"
            if _fresh(stamp, Path(repo._repo.getCachedir()) / "repodata" / "repomd.xml", expire):
                repo.metadata_expire = -1  # the cached copy, as it is
                continue
            check_remote(url)
            remote_checks.append(stamp)
        # expired: dnf compares its copy's repomd.xml with the repository's and syncs when they
        # differ (metadata_expire=0 is not enough: a copy made in the same second counts as fresh)
        repo._repo.expire()
    # fill_sack runs the garbage collector twice over every object alive (the imported modules'):
    # those are alive to the end anyway
    gc.freeze()
    try:
        base.fill_sack(load_system_repo=False)
    except dnf.exceptions.RepoError as error:
        failed = [s for s in specs if re.search(rf"'{re.escape(s.repo_id)}'", str(error))] or specs
        where = ", ".join(f"{s.local_dir / 'repodata' if s.local_dir else s.baseurl}" for s in failed)
        raise RepoError(f"{where}: cannot load repository metadata ({error})") from None
    repomd_sha256 = {spec.repo_id: _loaded_repomd_digest(base.repos[spec.repo_id]) for spec in specs}
    for repo_id, digest in local.items():
        if repomd_sha256[repo_id] != digest:
            raise RepoError(f"repository {repo_id}: repodata/repomd.xml changed while it was being read; run again")
    for stamp in remote_checks:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    return LoadedMetadata(base, repomd_sha256, workdir)


def _fresh(stamp: Path, cached_repomd: Path, expire: int) -> bool:
    """Whether a remote repository's cached copy is used without asking the server: there is one,
    checked less than ``expire`` seconds ago (-1: never expires)."""
    if not (stamp.is_file() and cached_repomd.is_file()):
        return False
    return expire < 0 or time.time() - stamp.stat().st_mtime < expire


def _loaded_repomd_digest(repo) -> str:
    path = Path(repo._repo.getCachedir()) / "repodata" / "repomd.xml"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise RepoError(f"repository {repo.id}: dnf kept no repomd.xml in its cache ({error.strerror})") from None
