"""Random Unicode through what resolver writes (issue 25, items 1 and 3), with the settings and the
mutations of tests/test_fuzz.py: entries, comments and RUN lines of Kolla template overrides and
TCIB container files through the import, site steps through the override file loader and the
Containerfile renderer.

Each character class that ends a line somewhere (\\n, \\r, U+0085, U+2028, U+2029, \\x0b, \\x0c,
\\x1c-\\x1e), the other controls (NUL, ESC, C1), bidi overrides, U+FEFF, lone surrogates (Jinja
decodes ``\\ud800``), shell and YAML syntax is drawn beside arbitrary text. Properties: every case
ends in a result or the project's own error naming the file, within ``CASE_SECONDS``; an import's
file reads back as exactly the entries (and reasons) its report lists, its header lines are comment
lines; a rendered Containerfile has one ``RUN STEP`` instruction per step, running what `build`
runs (``/bin/sh -c STEP``), however eagerly its lines are split.
"""

from __future__ import annotations

import io
import json
import time
from contextlib import nullcontext

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from resolver.cli.common import EscapedOutput
from resolver.cli.imports import import_text
from resolver.containers.containerfile import containerfile
from resolver.containers.stages import StagePlan
from resolver.errors import ResolverError
from resolver.inputs.image_tree import BuildStep
from resolver.inputs.platforms import platform
from resolver.metadata.repo_config import repo_specs
from resolver.names import unwritable
from resolver.overrides.builder_import import import_builder_files
from resolver.overrides.kolla_template import read_kolla_file
from resolver.overrides.override_files import load_overrides
from resolver.overrides.site import load_site
from resolver.progress import SilentReporter

from .conftest import ROOT
from .test_fuzz import FUZZ, mutated
from .test_written import written_entries

TARGET = platform("centos-9")
#: a generous bound on one case on a shared machine (a case takes 0.1-0.3 s here)
CASE_SECONDS = 30
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
SPECIALS = [*BREAKS, "\x00", "\x1b[2J", "\x1b]0;x\x07", "\x7f", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff",
            "\u00a0", "\t", "\\", "<<EOF", "<<-'X'", "--mount=type=bind,target=/h ", "[", "]", "'", '"', "{{ x }}",
            "{%", "%}", "{#", "#}", "#", ": ", "- ", "&a ", "*a", "!!python/object:os.system", "lsof", "echo hi",
            "\u2028add_images: [{name: evil, parent: nova-api, reason: x, steps: [{run: id, reason: y}]}]\u2028#",
            "\nrepos: {add: [{id: evil, baseurl: 'https://evil.example/', reason: z}]}\n",
            "\U0001f600", "\U000e0001", "\udc80"]
#: text an attacker controls: arbitrary characters (surrogates too) and the specials above
hostile = st.lists(st.one_of(st.sampled_from(SPECIALS), st.text(max_size=6)), max_size=6).map("".join)


class _Shipped(tuple):
    def __repr__(self) -> str:  # Hypothesis prints a failing case's arguments
        return "shipped"


@pytest.fixture(scope="module")
def shipped(bundled_repos):
    """The shipped tree and the bundled repositories, opened once for every case."""
    return _Shipped((load_site(ROOT / "images", ROOT / "profiles", [], repo_specs([])), bundled_repos))


def _jinja(text: str) -> str:
    """A Jinja string literal Jinja decodes back to ``text`` (it decodes Python's escapes)."""
    return json.dumps(text)


def _timed(action):
    start = time.monotonic()
    try:
        return action()
    finally:
        assert time.monotonic() - start < CASE_SECONDS


def _check_import(shipped, tmp_path_factory, name: str, data: bytes, kolla: bool) -> None:
    """One import of ``data``: the project's error naming the file, or a written file holding
    exactly the reported entries."""
    site, repos = shipped
    path = tmp_path_factory.mktemp("import") / name
    path.write_bytes(data)
    output = path.with_name("out.yaml")

    def run():
        kolla_files = [read_kolla_file(path, TARGET)] if kolla else None
        return import_builder_files([path], kolla_files, output, f"resolver import {path}", site, TARGET,
                                    lambda specs: nullcontext(repos), SilentReporter())

    try:
        report = _timed(run)
    except ResolverError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        assert not output.exists()
        return
    text = output.read_text(encoding="utf-8")
    header, _, _ = text.partition("\nimages:")
    assert all(line.startswith("#") and line.isprintable() for line in header.splitlines()), header
    assert written_entries(output) == {(i.image, i.kind.value, i.value) for i in report.imported}
    written = yaml.safe_load(text)
    reasons = {e["reason"] for body in written["images"].values() for key in ("pip_packages", "modules", "steps")
               for e in body.get(key, [])}
    reasons |= {e["reason"] for body in written["images"].values() for e in
                [*body.get("packages", {}).get("add", []), *body.get("packages", {}).get("drop", [])]}
    reasons |= {e["reason"] for entries in written.get("repos", {}).values() for e in entries}
    assert reasons == {i.reason for i in report.imported}
    shown = io.StringIO()
    EscapedOutput(shown).write(import_text(report, output))
    assert unwritable(shown.getvalue().replace("\n", "").replace("\t", "")) is None  # (both kept)


@FUZZ
@given(entries=st.lists(hostile, min_size=1, max_size=3), comment=hostile, run=hostile, pip=hostile,
       mutate=st.booleans(), data=st.data())
def test_kolla_imports_write_exactly_what_they_report(shipped, tmp_path_factory, entries, comment, run, pip,
                                                      mutate, data):
    template = (f"{{# {comment} #}}\n"
                f"{{% set nova_api_packages_append = [{', '.join(map(_jinja, entries))}] %}}\n"
                f"{{% set nova_api_pip_packages_append = [{_jinja(pip)}] %}}\n"
                f"{{% block nova_compute_footer %}}\n# {comment}\nRUN {run}\n{{% endblock %}}\n")
    raw = template.encode("utf-8", "surrogatepass")  # a lone surrogate: a file that is not UTF-8
    if mutate:
        raw = data.draw(mutated([raw]))
    _check_import(shipped, tmp_path_factory, "site.j2", raw, kolla=True)


@FUZZ
@given(entries=st.lists(hostile, min_size=1, max_size=3), runs=st.lists(hostile, min_size=1, max_size=2),
       mutate=st.booleans(), data=st.data())
def test_tcib_imports_write_exactly_what_they_report(shipped, tmp_path_factory, entries, runs, mutate, data):
    container = {"tcib_packages": {"common": entries}, "tcib_actions": [{"run": run} for run in runs]}
    raw = yaml.safe_dump(container).encode("utf-8")  # YAML escapes what it cannot hold raw
    if mutate:
        raw = data.draw(mutated([raw]))
    _check_import(shipped, tmp_path_factory, "memcached.yaml", raw, kolla=False)


# ---- site steps in Containerfiles -------------------------------------------------------------------

def instructions(text: str) -> list[str]:
    """A Containerfile's instructions, split more eagerly than any builder does: a line ends at every
    character ``str.splitlines`` ends one at; a line ending in a backslash, or holding a heredoc
    opener, continues into the next; comment and blank lines between instructions are left out."""
    found: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        if current is None:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            current = line
        else:
            current += "\n" + line
        if not line.rstrip().endswith("\\") and "<<" not in line:
            found.append(current)
            current = None
    return found + ([current] if current is not None else [])


def _site_file(directory, data: bytes):
    path = directory / "site.yaml"
    path.write_bytes(data)
    try:
        return path, _timed(lambda: load_overrides([path]))
    except ResolverError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        return path, None


@FUZZ
@given(runs=st.lists(hostile, min_size=1, max_size=3), reason=hostile, build=hostile,
       when=st.sampled_from(["before-packages", "after-packages"]), mutate=st.booleans(), data=st.data())
def test_a_site_step_renders_as_one_instruction_running_what_build_runs(tmp_path_factory, runs, reason, build,
                                                                        when, mutate, data):
    site = {"images": {"nova-api": {"steps": [{"run": run, "when": when, "reason": reason or "r"} for run in runs]}},
            "add_images": [{"name": "x", "parent": "nova-api", "reason": reason or "r",
                            "build": {"run": build, "artifacts": "/out"}}]}
    raw = yaml.safe_dump(site).encode("utf-8")
    if mutate:
        raw = data.draw(mutated([raw]))
    path, overrides = _site_file(tmp_path_factory.mktemp("site"), raw)
    if overrides is None:
        return
    steps = tuple(step for image in overrides.images for step in image.steps)
    builds = [n.spec.build for n in overrides.new_images if n.spec.build] or [None]
    for build_step in builds:
        try:
            stage = StagePlan("nova-api", "nova-base", True, (), frozenset(), (), build_step, 0, steps=steps)
        except ResolverError as error:  # the stage's own checks: what the loader let through is fine
            raise AssertionError(f"{path}: loaded, then refused by the stage plan: {error}") from None
        text = containerfile(stage, "0" * 64)["Containerfile"]
        found = instructions(text)
        for step in steps:  # shell form: `/bin/sh -c STEP`, what build runs
            assert found.count(f"RUN {step.run}") == sum(s.run == step.run for s in steps)
            assert not step.run.startswith(("-", "[")) and step.run.strip() == step.run
        if isinstance(build_step, BuildStep):
            assert any(i.startswith("RUN mkdir -p") and i.endswith(f"&& {build_step.run}") for i in found)
        assert all("\n" not in i for i in found), found
        assert len([i for i in found if i.startswith("RUN ")]) == len(steps) + (build_step is not None)
