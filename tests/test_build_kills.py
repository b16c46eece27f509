"""A stopped build stops everything it started: each command buildah and dnf run for it sits in a
process group of its own with its children, which SIGTERM and Ctrl-C end as a whole; after a
SIGKILL (no chance to stop them) the next build ends what is left. Two builds under one tag prefix
take turns. Real builds of the demo tree's branch base -> memcached, whose memcached image runs a
step that leaves a daemon behind (``memcached ... &``)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from resolver.containers.buildah import PREFIX, Buildah, stop_orphans
from resolver.containers.tree_build import build_turn

from .conftest import ROOT
from .test_build import remove_images

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/buildah").exists(),
                                reason="real builds need buildah as root (./bootstrap installs it)")

DAEMONS = "memcached -u root -l 127.0.0.1 -p {port} & memcached -u root -l 127.0.0.1 -p {other}"


def _started_build(tmp_path: Path, prefix: str) -> subprocess.Popen:
    site = tmp_path / "site.yaml"
    port = 20000 + os.getpid() % 20000
    site.write_text("images:\n  memcached:\n    reason: a step that leaves a daemon behind\n    steps:\n"
                    f"      - {{run: \"{DAEMONS.format(port=port, other=port + 1)}\", when: after-packages}}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "resolver", "build", "memcached", "--jobs", "1", "--tag-prefix",
                             prefix, "--overrides", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)


def _descendants(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below ``root``, from /proc (the start time tells a
    process from a later one given the same pid)."""
    parents, started = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)], started[int(entry.name)] = int(fields[1]), fields[19]
    below, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - {p for p, _ in below}
        below |= {(pid, started[pid]) for pid in frontier}
    return below


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    alive = set()
    for pid, start in processes:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            alive.add((pid, start))
    return alive


def _running_daemons(process: subprocess.Popen, timeout: float = 900) -> set[tuple[int, str]]:
    """The build's processes once its step's daemons run (what a stop must end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        below = _descendants(process.pid)
        commands = [_command(pid) for pid, _ in _alive(below)]
        if sum(command.startswith(b"memcached\0-u\0root") for command in commands) == 2:
            return below
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.5)
    raise AssertionError("the step's daemons did not start")


def _remove_working_containers() -> None:
    engine = Buildah([])
    try:
        for leftover in engine.leftovers():
            engine.remove(leftover)
    finally:
        engine.close()


def test_sigterm_ends_every_process_the_build_started(tmp_path):
    """buildah, its chroot runtime, the step's shell and the daemon the step left: all end with a
    SIGTERM of the build (only the command itself was signalled before: the daemons survived)."""
    prefix = f"localhost/sec-locks-{uuid.uuid4().hex[:8]}"
    process = _started_build(tmp_path, prefix)
    try:
        started = _running_daemons(process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 143 and "build stopped by SIGTERM" in err, err[-2000:]
        time.sleep(1)
        assert not _alive(started), [_command(pid) for pid, _ in _alive(started)]
    finally:
        process.kill()
        remove_images(prefix)


def test_the_next_build_ends_what_a_killed_one_left_running(tmp_path):
    """SIGKILL leaves the build's commands running (nothing can stop them then); the next build
    first ends the process groups whose commands carry the pid of a run that ended."""
    prefix = f"localhost/sec-locks-{uuid.uuid4().hex[:8]}"
    process = _started_build(tmp_path, prefix)
    try:
        started = _running_daemons(process)
        process.kill()
        process.wait()
        assert _alive(started), "a SIGKILL leaves the commands running"
        stop_orphans()  # what every build does first
        time.sleep(1)
        assert not _alive(started)
        _remove_working_containers()
        listed = subprocess.run(["buildah", "containers", "--format", "{{.ContainerName}}"], capture_output=True,
                                text=True).stdout.split()
        assert not [c for c in listed if c.startswith(f"{PREFIX}{process.pid}-")]
    finally:
        remove_images(prefix)


class _States:
    def __init__(self):
        self.lines = []

    def state(self, image, state, detail=""):
        self.lines.append(f"{image}: {state} {detail}")

    def output(self, image, line):
        pass


def test_a_second_build_under_the_same_prefix_waits_for_the_first_saying_for_whom(tmp_path):
    """This process holds the prefix's turn (as a running build does): a build under the same
    prefix says whom it waits for and builds nothing meanwhile; SIGTERM ends the wait."""
    prefix = f"localhost/sec-locks-{uuid.uuid4().hex[:8]}"
    with build_turn(prefix, _States()):
        process = _started_build(tmp_path, prefix)
        try:
            said = []
            for line in process.stderr:
                said.append(line)
                if line.startswith(f"[build] {prefix}: waiting for pid {os.getpid()} "):
                    break
            assert said and f"to finish building under {prefix}/ (the images it builds are then skipped here)" \
                in said[-1], said
            time.sleep(2)
            assert process.poll() is None  # still waiting
            process.send_signal(signal.SIGTERM)
            _, rest = process.communicate(timeout=60)
            assert process.returncode == 143, rest
            assert not any(": building" in line for line in said + rest.splitlines())
        finally:
            process.kill()
    # the turn is free again: the next holder takes it at once
    states = _States()
    with build_turn(prefix, states):
        assert states.lines == []
