"""Output files: whole or absent, with the permissions any new file gets, nothing left behind."""

import ctypes
import errno
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from resolver.errors import InputError
from resolver.files import check_writable, read_text, replace_directory, write_atomically
from resolver.reporting.report import report_file


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


def _without_o_tmpfile(monkeypatch):
    """A file system that cannot make unnamed files (O_TMPFILE: EOPNOTSUPP, as on some network
    and overlay file systems): the writer names its temporary file from the start."""
    real_open = os.open

    def open_(path, flags, *args, **kwargs):
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)


def test_without_unnamed_files_the_named_temporary_is_removed_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "resolver.lock"
    target.write_text("old\n")
    _without_o_tmpfile(monkeypatch)
    real_write = os.write
    seen = []

    def write(descriptor, data):
        seen.extend(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        real_write(descriptor, bytes(data[:3]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write)
        with pytest.raises(InputError, match=r"resolver.lock: cannot write \(No space left on device\)"):
            write_atomically(target, "new\n" * 1000)
    assert seen == [f".resolver.lock.{os.getpid()}.tmp"]  # the named temporary existed, half written
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["resolver.lock"]
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["resolver.lock"]


def test_a_directory_or_a_file_in_the_way_is_an_error_not_a_write(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="exists and is not a file"):
        write_atomically(tmp_path / "taken", "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a directory"):
        write_atomically(tmp_path / "file" / "resolver.lock", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "taken"]


class _LibcWithoutRenameat2:
    """A C library older than glibc 2.28: no renameat2."""


def test_a_set_is_replaced_whole_where_directories_cannot_be_exchanged(tmp_path, monkeypatch):
    report = tmp_path / "report"
    replace_directory(report, {"report.md": "old\n", "tree.svg": "<svg/>"}, report_file, "report")
    monkeypatch.setattr(ctypes, "CDLL", lambda *args, **kwargs: _LibcWithoutRenameat2())
    replace_directory(report, {"report.md": "new\n"}, report_file, "report")
    assert {p.name: p.read_text() for p in report.iterdir()} == {"report.md": "new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # neither the old set nor the stage left
