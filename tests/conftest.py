"""Shared fixtures. Everything here is real: the bundled CentOS Stream 9 metadata (copied from
../shared/data/repos with its SOURCES.txt), the upstream bindep files in profiles/upstream
(with their SOURCES.txt), dnf's Python API, bindep's parser."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

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
    """The real command line, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "resolver", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


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
