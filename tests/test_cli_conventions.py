"""Operator conventions of the command line: --version, helpful unknown-flag errors, quiet and
verbose progress, pipes closed early, SIGTERM cleaning up like Ctrl-C."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

from resolver import __version__

from .conftest import ROOT, run_here


def test_version():
    done = run_here("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"resolver {__version__}"


def test_an_unknown_flag_gets_the_subcommands_usage_and_a_suggestion():
    done = run_here("plan", "--max-blot", "30")
    assert done.returncode == 2
    assert "usage: resolver plan" in done.stderr and "did you mean --max-bloat?" in done.stderr


def test_progress_goes_to_stderr_as_log_lines_outside_a_terminal_and_quiet_silences_it():
    loud = run_here("packages", "memcached")
    assert loud.returncode == 0, loud.stderr
    assert "resolver: resolving 2/2 memcached" in loud.stderr and "memcached" in loud.stdout
    quiet = run_here("packages", "memcached", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout


def test_plan_progress_counts_each_image_once_and_the_images_solved_again_apart(tmp_path):
    # memcached asks for a full glibc langpack, the other images take the minimal one: provider
    # settling gives memcached the tree's langpack too and solves it (only it) again
    shutil.copytree(ROOT / "images", tmp_path / "images")
    base = tmp_path / "images" / "base.yaml"
    base.write_text(base.read_text().replace(
        "    - {name: memcached, reason: the cache server this image runs}",
        "    - {name: memcached, reason: the cache server this image runs}\n"
        "    - {name: glibc-langpack-de, reason: German messages}"))
    loud = run_here("plan", "--images", str(tmp_path / "images"), "--format", "json")
    assert loud.returncode == 0, loud.stderr
    deployed = sum(image["deployed"] for image in json.loads(loud.stdout)["images"].values())
    counts = re.findall(r"resolving (\d+)/(\d+) ", loud.stderr)
    assert [int(n) for n, _ in counts] == list(range(1, deployed + 1)) and {int(t) for _, t in counts} == {deployed}
    assert re.findall(r"resolving again (\d+/\d+) (\S+)", loud.stderr) == [("1/1", "memcached")]
    assert re.search(r"checking layer (\d+)/\1 with dnf", loud.stderr)
    quiet = run_here("plan", "--images", str(tmp_path / "images"), "--format", "json", "--quiet")
    # --quiet: no progress; only the best-effort warnings (nova-libvirt's libvirt does not resolve here)
    assert quiet.returncode == 0 and quiet.stdout == loud.stdout
    assert quiet.stderr and all(line.startswith("resolver: warning: ") for line in quiet.stderr.splitlines())


def test_a_closed_pipe_ends_quietly():
    reader = subprocess.Popen([sys.executable, "-m", "resolver", "packages", "nova-compute", "--format", "json"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    reader.stdout.read(10)
    reader.stdout.close()
    stderr = reader.stderr.read().decode()
    assert reader.wait() == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-m", "resolver", "plan"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "resolving" in line:
            break
    assert list(tmp_path.glob("resolver-dnf-*")), "the run holds a temporary dnf directory while resolving"
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    assert process.wait() == 143
    assert "terminated" in rest and "Traceback" not in rest
    assert not list(tmp_path.iterdir())


def test_a_silent_mirror_is_given_up_with_one_clear_error(tmp_path):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT), RESOLVER_NET_TIMEOUT="1", TMPDIR=str(tmp_path))
        done = subprocess.run([sys.executable, "-m", "resolver", "closure", "bash", "--quiet", "--repos",
                               f"http://127.0.0.1:{listener.getsockname()[1]}/", "--cache-dir", str(tmp_path / "c")],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        listener.close()
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot load repository metadata" in done.stderr
    assert not list(tmp_path.glob("resolver-dnf-*"))
