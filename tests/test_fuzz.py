"""Mutated real input through the loaders the CLI uses: every case ends in a result or the
project's own error naming the file, never another exception.

Seeds are the bundled upstream bindep files, the shipped images/ and profiles/ YAML and the
repodata of a small repository cut from the bundled BaseOS; mutations flip and insert bytes
(invalid UTF-8, NUL, form feeds, brackets, YAML syntax, ``../``), cut and repeat lines.
``RESOLVER_FUZZ_EXAMPLES`` sets the cases per test (``tox -e fuzz`` runs 7,000 each, 28,000 in all;
the normal run 100 each, 400 in all: under coverage 700 each took a quarter of the suite's time).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolver.errors import ResolverError
from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.inputs.sources import Source, read_bindep
from resolver.metadata.repo_config import repo_specs
from resolver.metadata.repos import RepoSet

from .conftest import BASEOS_2022, ROOT, UPSTREAM
from .repodata import copy_repo, keep_only, record_of, republish

EXAMPLES = int(os.environ.get("RESOLVER_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

TOKENS = [b"[", b"]", b"(", b")", b"!", b"\x00", b"\x0c", b"\n", b"\r", b"#", b"platform:", b"\xff", b"\xc3",
          "é".encode(), b" ", b"<=", b">=1.0", b":", b"&a", b"*a", b"{", b"}", b"- ", b"null", b"~", b"1",
          b'"', b"'", b"\t", b"../", b"&#10;", b"---", b"? ", b"!!python/object:os.system", b"\\"]


@st.composite
def mutated(draw, seeds: list[Path] | list[bytes], window: int | None = None) -> bytes:
    """A real file (or a window of its lines) with a few mutations applied."""
    seed = draw(st.sampled_from(seeds))
    data = seed if isinstance(seed, bytes) else seed.read_bytes()
    if window:
        lines = data.split(b"\n")
        start = draw(st.integers(0, max(0, len(lines) - 1)))
        data = b"\n".join(lines[start:start + draw(st.integers(1, window))]) + b"\n"
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["insert", "flip", "delete", "truncate", "repeat"]))
        if operation == "insert":
            data = data[:position] + draw(st.sampled_from(TOKENS)) + data[position:]
        elif operation == "flip" and position < len(data):
            data = data[:position] + bytes([data[position] ^ draw(st.integers(1, 255))]) + data[position + 1:]
        elif operation == "delete":
            data = data[:position] + data[position + draw(st.integers(1, 16)):]
        elif operation == "truncate":
            data = data[:position]
        elif operation == "repeat":
            line_end = data.find(b"\n", position)
            line_start = data.rfind(b"\n", 0, position) + 1
            line = data[line_start:line_end + 1 if line_end >= 0 else len(data)]
            data = data[:line_start] + line * draw(st.integers(2, 5)) + data[line_start:]
    return data


def only_our_errors(action, *names: str) -> None:
    """``action()`` succeeds or raises a ResolverError whose message names one of ``names``."""
    try:
        action()
    except ResolverError as error:
        assert any(name in str(error) for name in names), f"the error does not name the file: {error}"


BINDEP_SEEDS = sorted(UPSTREAM.glob("*.txt"))
TARGET = platform("centos-9")


@FUZZ
@given(data=mutated(BINDEP_SEEDS, window=8))
def test_mutated_bindep_files(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("bindep")
    path = directory / "bindep.txt"
    path.write_bytes(data)

    def load_twice():  # the second read comes from the parse cache
        for _ in range(2):
            bindep = read_bindep(Source("path", str(path)), directory / "cache")
            for profiles in ([], ["test"], ["compile"], sorted(bindep.defined_profiles())):
                bindep.active([*TARGET.profiles, *profiles])

    only_our_errors(load_twice, str(path))


def _tree_with(tmp_path: Path, kind: str, name: str, data: bytes) -> Path:
    directory = tmp_path / kind
    shutil.copytree(ROOT / kind, directory, ignore=shutil.ignore_patterns("upstream"))
    (directory / name).write_bytes(data)
    return directory


IMAGE_SEEDS = sorted((ROOT / "images").glob("*.yaml"))
PROFILE_SEEDS = sorted((ROOT / "profiles").glob("*.yaml"))


@FUZZ
@given(data=mutated(IMAGE_SEEDS), name=st.sampled_from([p.name for p in IMAGE_SEEDS]))
def test_mutated_image_trees(tmp_path_factory, data, name):
    directory = _tree_with(tmp_path_factory.mktemp("t"), "images", name, data)
    only_our_errors(lambda: load_images(directory), str(directory))


@FUZZ
@given(data=mutated(PROFILE_SEEDS), name=st.sampled_from([p.name for p in PROFILE_SEEDS]))
def test_mutated_profiles(tmp_path_factory, data, name):
    directory = _tree_with(tmp_path_factory.mktemp("t"), "profiles", name, data)
    only_our_errors(lambda: load_profiles(directory), str(directory))


#: the bash closure of BaseOS 2022: a real repository small enough to load thousands of times
SMALL_REPO = {"bash", "filesystem", "glibc", "glibc-common", "glibc-minimal-langpack", "ncurses-base",
              "ncurses-libs", "setup", "basesystem", "libgcc", "tzdata", "centos-stream-release",
              "centos-gpg-keys", "centos-stream-repos", "libselinux", "pcre2", "libsepol", "pcre2-syntax"}


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory):
    """A pristine small repository, and a cache warmed on it at the place the mutated copies take."""
    pristine = copy_repo(BASEOS_2022, tmp_path_factory.mktemp("small") / "baseos")
    keep_only(pristine, SMALL_REPO)
    work = tmp_path_factory.mktemp("fuzzed") / "baseos"
    cache = work.parent / "cache"
    shutil.copytree(pristine, work)
    with RepoSet(repo_specs([str(work)]), cache_dir=cache) as repos:
        assert "bash" in repos.resolve(["bash"]).names()
    return pristine, work, cache


def _primary_text(pristine: Path) -> bytes:
    return gzip.decompress(record_of(pristine, "primary")[1].read_bytes())


@FUZZ
@given(target=st.sampled_from(["repomd", "primary", "filelists", "primary-published", "filelists-published"]),
       data=st.data())
def test_mutated_repodata_with_a_warm_cache(small_repo, target, data):
    """A mutated repomd.xml, metadata file, or metadata file published consistently (repomd.xml
    rewritten to its checksum): a resolve on exactly what is on disk, or our error naming the
    repository's file; never a resolve on the cached copy."""
    pristine, work, cache = small_repo
    shutil.rmtree(work)
    shutil.copytree(pristine, work)
    kind = target.split("-")[0]
    if kind == "repomd":
        path = work / "repodata" / "repomd.xml"
        path.write_bytes(data.draw(mutated([path.read_bytes()])))
    elif target.endswith("published"):
        opened = gzip.decompress(record_of(work, kind)[1].read_bytes())
        republish(work, kind, gzip.compress(data.draw(mutated([opened])), mtime=0))
    else:
        path = record_of(work, kind)[1]
        path.write_bytes(data.draw(mutated([path.read_bytes()])))

    def load():
        with RepoSet(repo_specs([str(work)]), cache_dir=cache) as repos:
            on_disk = hashlib.sha256((work / "repodata" / "repomd.xml").read_bytes()).hexdigest()
            assert [d["repomd_sha256"] for d in repos.digests()] == [on_disk]
            repos.resolve(["bash"])

    only_our_errors(load, str(work))
