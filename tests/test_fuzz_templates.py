"""Mutated Kolla template overrides and TCIB container files through the import the CLI runs
(`import-kolla`, `import-tcib`: read, sorted against the tree and the bundled metadata, the
override file written and checked): every case ends in a report or the project's own error
naming the file, never another exception; within a time bound and an address-space limit.

Seeds are the real override and container files of tests/data (kolla, tcib; provenance in their
SOURCES.txt), the crafted cases beside them, and a few hostile templates; on top of the bytes
``tests/test_fuzz.mutated`` flips and inserts, Jinja's own tokens are inserted (``{%``, ``{{``,
``range(``, ``*``, ``**``, macros, calls, ``elif``, deep nesting). ``RESOLVER_FUZZ_EXAMPLES``
sets the cases per test, as for tests/test_fuzz.py.
"""

from __future__ import annotations

import contextlib
import resource
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.errors import ResolverError
from resolver.inputs.platforms import platform
from resolver.metadata.repo_config import repo_specs
from resolver.overrides.builder_import import import_builder_files
from resolver.overrides.kolla_template import read_kolla_file
from resolver.overrides.site import load_site
from resolver.progress import SilentReporter

from .conftest import ROOT
from .test_fuzz import FUZZ, mutated

TARGET = platform("centos-9")
DATA = ROOT / "tests" / "data"
HOSTILE = [
    b"{% for i in range(99999) %}{% for j in range(99999) %}{{ i }}{% endfor %}{% endfor %}",
    b"{{ 'a' * 3000000000 }}", b"{{ range(10**9) }}", b"{{ 10**5000 }}",
    b"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    b"{% if tcib_release > 5 %}x{% elif nowhere %}y{% endif %}",
]
KOLLA_SEEDS = sorted((DATA / "kolla").glob("*.j2")) + sorted((DATA / "kolla-crafted").glob("*.j2")) + [
    b"{% block nova_api_footer %}\nRUN echo " + h + b"\n{% endblock %}\n" for h in HOSTILE] + [
    b"{% if base_distro > 5 %}{% set nova_api_packages_append = ['lsof'] %}{% endif %}\n",
    b"{% set x = ['a'] %}\n" + b"{% set x = x + x %}\n" * 24]
TCIB_SEEDS = sorted((DATA / "tcib").glob("*/*.yaml")) + sorted((DATA / "tcib-crafted").glob("*.yaml")) + [
    b"tcib_actions:\n- run: echo ok\n- run: \"" + h.replace(b'"', b"'") + b"\"\n" for h in HOSTILE] + [
    b"tcib_actions:\n- run: |\n    echo one\n    echo two\n", b"tcib_packages:\n  modules: [x]\n"]
JINJA_TOKENS = [b"{%", b"%}", b"{{", b"}}", b"{#", b"#}", b"range(", b"range(99999)", b"*", b"**", b" * 99999",
                b"macro", b"call", b"elif", b"endif", b"{% endif %}", b"{% else %}", b"{% elif x %}", b"{% if x %}",
                b"{% for i in range(9999) %}", b"{% endfor %}", b"{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
                b"(" * 60, b"[" * 60, b"not " * 60, b"{% if 1 %}" * 60, b"10**", b"~", b"|join", b"|center(9**9)",
                b".__class__", b"\x00", "\u2028".encode(), b"|", b"'", b'"', b"\\\n", b"\n- run: ", b"\n  - "]
#: per case: wall time, and address space beyond what the process already maps
SECONDS = 60
MEMORY = 1024 * 1024 * 1024


@st.composite
def templated(draw, seeds):
    """A mutated seed (``tests/test_fuzz.mutated``) with Jinja tokens inserted."""
    data = draw(mutated(seeds, window=24))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(data)))
        data = data[:position] + draw(st.sampled_from(JINJA_TOKENS)) + data[position:]
    return data


@pytest.fixture(scope="module")
def site():
    return load_site(ROOT / "images", ROOT / "profiles", [], repo_specs([]))


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def bounded():
    """The case under an address-space limit (a memory bomb ends in MemoryError, which fails the
    test) and a time bound."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + MEMORY
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    started = time.monotonic()
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert time.monotonic() - started < SECONDS


def import_once(site, repos, path: Path, kolla: bool) -> None:
    """The import as `resolver import-kolla|import-tcib PATH` runs it: a report, or our error
    naming the file (or the output it would write); an entry never makes the written file fail."""
    output = path.with_name("out.yaml")
    try:
        with bounded():
            found = [read_kolla_file(path, TARGET)] if kolla else None
            import_builder_files([path], found, output, f"resolver import {path}", site, TARGET,
                                 lambda specs: contextlib.nullcontext(repos), SilentReporter())
    except ResolverError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        return
    assert output.is_file()


@FUZZ
@given(data=templated(KOLLA_SEEDS))
def test_mutated_kolla_template_overrides(tmp_path_factory, site, bundled_repos, data):
    path = tmp_path_factory.mktemp("kolla") / "overrides.j2"
    path.write_bytes(data)
    import_once(site, bundled_repos, path, kolla=True)


@FUZZ
@given(data=templated(TCIB_SEEDS), name=st.sampled_from(["mariadb", "nova-compute", "base", "cinder-volume"]))
def test_mutated_tcib_container_files(tmp_path_factory, site, bundled_repos, data, name):
    path = tmp_path_factory.mktemp("tcib") / f"{name}.yaml"
    path.write_bytes(data)
    import_once(site, bundled_repos, path, kolla=False)
