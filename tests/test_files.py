"""Output files: whole or absent, with the permissions any new file gets, nothing left behind."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from resolver.errors import InputError
from resolver.files import check_writable, read_text, write_atomically


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "resolver.lock", "{}\n")
        os.umask(0o077)
        write_atomically(tmp_path / "private.lock", "{}\n")
    finally:
        os.umask(old)
    assert (tmp_path / "resolver.lock").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.lock").stat().st_mode & 0o777 == 0o600


def test_a_killed_writer_leaves_the_old_file_and_the_next_writer_removes_its_temporary(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old\n")
    # a writer killed between creating its temporary file and the rename
    writer = subprocess.Popen([sys.executable, "-c", "import time, pathlib, os;"
                               f"p = pathlib.Path({str(target)!r});"
                               "p.with_name(f'.{p.name}.{os.getpid()}.tmp').write_text('half');"
                               "time.sleep(60)"])
    while not list(tmp_path.glob(".report.md.*.tmp")):
        time.sleep(0.05)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert target.read_text() == "old\n"
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_a_directory_where_a_file_is_wanted_is_refused_before_work(tmp_path):
    with pytest.raises(InputError, match="not a file"):
        check_writable(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        check_writable(tmp_path / "file", directory=True)
    with pytest.raises(InputError, match="not a directory"):
        check_writable(tmp_path / "file" / "report")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_place_is_refused_before_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(InputError, match="permission denied"):
        check_writable(locked / "resolver.lock")


def test_a_fifo_as_input_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "bindep.txt"
    os.mkfifo(fifo)
    outcome = []

    def read() -> None:
        try:
            read_text(fifo, "bindep file")
        except InputError as error:
            outcome.append(str(error))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive() and outcome == [f"{fifo}: not a regular file; give a bindep file"]
