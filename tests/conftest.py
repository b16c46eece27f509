"""Shared fixtures. Everything here is real: the bundled CentOS Stream 9 metadata (copied from
../shared/data/repos with its SOURCES.txt), the upstream bindep files in profiles/upstream
(with their SOURCES.txt), dnf's Python API, bindep's parser."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Optional

import pytest

from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.metadata.repo_config import BUNDLED_REPOS_DIR, repo_specs
from resolver.metadata.repos import RepoSet
from resolver.resolving.resolution import TreeResolver

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "profiles" / "upstream"
BASEOS_2022 = BUNDLED_REPOS_DIR / "cs9-baseos-osbuild-2022"
ZSTD_REPO = ROOT / "tests" / "data" / "repos" / "osbuild-custom-pkg-with-no-deps-2024"


@pytest.hookimpl(trylast=True)  # after pytest's tmpdir plugin made its factory
def pytest_configure(config):
    """From the start (collection imports modules that compute platforms), the cache
    (``XDG_CACHE_HOME``) is the session's, in pytest's temporary directory, never the user's."""
    cache = config._tmp_path_factory.getbasetemp() / "session-cache"
    cache.mkdir(exist_ok=True)
    config.stash[_USER_CACHE] = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)


def pytest_sessionstart(session):
    """Debian's rpm keeps its database in ~/.rpmdb and makes it on first use; rpmbuild and rpm
    run in test modules that two xdist workers may run at once, and two makers at once fail
    ("rpmdb open failed"). Made once here, before any worker starts (resolver itself never reads
    the host's database: tests/test_repos.py)."""
    if not hasattr(session.config, "workerinput") and shutil.which("rpm"):
        # not checked: where the database is the system's (/var/lib/rpm) a user may not write it
        subprocess.run(["rpm", "--initdb"], check=False, capture_output=True)


def pytest_unconfigure(config):
    user = config.stash.get(_USER_CACHE, None)
    if user is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = user


_USER_CACHE = pytest.StashKey[Optional[str]]()


@pytest.fixture(scope="session", autouse=True)
def session_cache():
    """The session's cache: what session and module fixtures write (dnf's solv files of the
    bundled metadata, PyPI downloads). Made warm first, as a user's cache is after one run: dnf's
    solv files and the shipped tree planned once (its bindep files parsed, the metadata's facts,
    the computed tree), so that a test pays for what it tests. A test about a cold cache names its
    own ``--cache-dir``."""
    for specs in (repo_specs([]), repo_specs([str(BASEOS_2022)])):
        RepoSet(specs).close()
    code, _, err = run_main("plan", "--quiet")
    assert code == 0, err
    return Path(os.environ["XDG_CACHE_HOME"])


@pytest.fixture(autouse=True)
def own_cache(session_cache, tmp_path_factory, monkeypatch):
    """Each test's own ``XDG_CACHE_HOME``: a hard-linked copy of the session's cache as it is now
    (every cache file is replaced by rename, never written in place, so the copy shares no
    writes); a test never sees another test's writes nor writes the user's cache."""
    cache = tmp_path_factory.mktemp("cache") / "xdg"  # beside tmp_path: tests list what they wrote there
    shutil.copytree(session_cache, cache, copy_function=os.link)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(scope="session")
def bundled_repos():
    with RepoSet(repo_specs([])) as repos:
        yield repos


@pytest.fixture(scope="session")
def baseos_repos():
    with RepoSet(repo_specs([str(BASEOS_2022)])) as repos:
        yield repos


@pytest.fixture(scope="session")
def tree_resolver(bundled_repos):
    """The shipped tree on the bundled metadata, best effort, as `resolver packages` runs it."""
    return TreeResolver(load_images(ROOT / "images"), load_profiles(ROOT / "profiles"),
                        platform("centos-9"), bundled_repos, strict=False)


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command line in its own process, with the test's environment (its cache): for
    what happens at the process boundary (signals, pipes, the entry point)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "resolver", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_here(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The command line in this process, run in ``cwd`` (no interpreter start and dnf import per call)."""
    before = os.getcwd()
    os.chdir(cwd)  # (contextlib.chdir is Python 3.11; CentOS Stream 9 has 3.9)
    try:
        code, out, err = run_main(*args)
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["resolver", *args], code, out, err)


def run_main(*argv: str) -> tuple[int, str, str]:
    """The command line in this process: exit code, stdout, stderr."""
    from resolver.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse refuses a value before any work
            code = int(exit_.code)
    return code, out.getvalue(), err.getvalue()


#: a two-image tree on BaseOS 2022, and the same with a request no repository can give
TINY_TREE = """\
- name: base
  packages:
    - {name: bash, reason: a shell}
- name: shell
  parent: base
  deployed: true
  packages:
    - {name: sudo, reason: privileges}
"""
TINY_TREE_MISSING = TINY_TREE + "    - {name: no-such-package, reason: a name no repository has}\n"
