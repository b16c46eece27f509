"""Faults: `lock`, `plan --verify-lock` and `report` killed with SIGKILL at seeded random moments
(bench/kill_bench.py runs 100 trials each), the report killed while Graphviz draws, three writers
of one lock at once, temporary directories of killed runs, output directories that are not ours.

On a small tree of real images (bash, tzdata, memcached, rsync on the bundled metadata), so that
each run takes seconds."""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bench.kill_bench import Bench, concurrent_writers, run_trials, scenarios
from resolver.errors import InputError
from resolver.files import check_set_directory, scratch_directory
from resolver.reporting.report import report_file

from .conftest import run_here

SMALL_TREE = """\
- name: base
  keep: true
  packages:
    - {name: bash, reason: the shell}
    - {name: tzdata, reason: log timestamps}
- name: memcached
  parent: base
  deployed: true
  packages:
    - {name: memcached, reason: the cache server}
- name: rsync
  parent: base
  deployed: true
  packages:
    - {name: rsync, reason: copies}
"""


@pytest.fixture
def bench(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "tree.yaml").write_text(SMALL_TREE)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    work = tmp_path / "work"
    work.mkdir()
    return Bench(work, cache, ["--images", str(images)])


@pytest.mark.parametrize("command", ["lock", "plan", "report"])
def test_killed_at_random_moments_leaves_the_old_or_the_new_output_and_nothing_for_good(bench, command):
    scenario = scenarios(bench.work)[command]
    tally = run_trials(bench, scenario, trials=4, rng=random.Random(f"kill-{command}"))
    assert tally.trials == 4
    allowed = {"old", "new"} if scenario.writes else {"old"}
    assert set(tally.states) <= allowed, tally.to_json()
    # what SIGKILL left (scratch directories, dnf's lock file) is gone after the next complete run
    assert tally.after_next_run == 0 and tally.cache_after_next_run == [], tally.to_json()


def test_report_killed_while_graphviz_draws_keeps_the_whole_old_report(bench, tmp_path):
    """The case the probe found mixed (a new tree.dot beside the old svg and md)."""
    target = bench.work / "report"
    done = subprocess.run([sys.executable, "-m", "resolver", "report", "--output", str(target), "--tree", "declared",
                           *bench.extra], env=bench.env, capture_output=True, text=True, cwd=bench.work)
    assert done.returncode == 0, done.stderr
    old = {p.name: p.read_bytes() for p in target.iterdir()}
    # a `dot` that says it started, then draws only much later
    tools = tmp_path / "bin"
    tools.mkdir()
    started = tmp_path / "dot-started"
    (tools / "dot").write_text(f"#!/bin/sh\ntouch {started}\nsleep 60\nexec {shutil.which('dot')} \"$@\"\n")
    (tools / "dot").chmod(0o755)
    env = dict(bench.env, PATH=f"{tools}:{os.environ['PATH']}")
    process = subprocess.Popen([sys.executable, "-m", "resolver", "report", "--output", str(target), *bench.extra],
                               env=env, cwd=bench.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert started.exists(), "the report never called dot"
    os.killpg(process.pid, signal.SIGKILL)  # the resolver and its dot
    process.wait()
    assert {p.name: p.read_bytes() for p in target.iterdir()} == old
    assert [p.name for p in bench.work.iterdir() if p.name.startswith(".")] == []  # nothing staged yet


def test_three_writers_of_one_lock_take_turns_and_say_so(bench):
    together = concurrent_writers(bench, writers=3)
    assert together["exit_codes"] == [0, 0, 0]
    assert together["distinct_outputs"] == 3
    # those that started while another held the turn say so: two when all three start at once; one
    # when a slow start (under load, or coverage's start-up in each process) finds the first one done
    assert together["said_waiting"] >= 1
    assert together["lock_is_the_last_writers_whole_output"] and together["leftover_files"] == 0


def test_scratch_directories_of_dead_runs_are_removed_at_the_next_start(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for pid in (dead.pid, alive.pid):
            (tmp_path / f"resolver-dnf-{pid}-abcd" / "root").mkdir(parents=True)
        other = tmp_path / "resolver-dnf-not-a-pid"
        other.mkdir()
        scratch = scratch_directory("resolver-dnf-")
        try:
            names = {p.name for p in tmp_path.iterdir()}
            assert f"resolver-dnf-{dead.pid}-abcd" not in names
            assert {f"resolver-dnf-{alive.pid}-abcd", other.name, Path(scratch.name).name} <= names
            assert Path(scratch.name).name.startswith(f"resolver-dnf-{os.getpid()}-")
        finally:
            scratch.cleanup()
    finally:
        alive.kill()
        alive.wait()


def test_a_report_directory_holding_other_files_is_refused_before_any_work(tmp_path):
    (tmp_path / "report.md").write_text("old report\n")
    check_set_directory(tmp_path, report_file, "report")  # a report's own files: replaced
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match="notes.txt"):
        check_set_directory(tmp_path, report_file, "report")
    started = time.monotonic()
    done = run_here("report", "--output", str(tmp_path))
    assert done.returncode == 2 and "notes.txt" in done.stderr and "directory of its own" in done.stderr
    assert time.monotonic() - started < 10  # before resolving anything
    assert (tmp_path / "notes.txt").read_text() == "mine\n" and (tmp_path / "report.md").read_text() == "old report\n"
