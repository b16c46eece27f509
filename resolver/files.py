"""Writing output files so that a reader never sees half of one (or, for a set such as a report,
half of the set), taking turns with other writers, temporary directories that a killed run does
not leave for ever, and the cache directory."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError


def default_cache_dir() -> Path:
    """Downloads, git clones, dnf's solv files and parsed bindep files (``$XDG_CACHE_HOME/resolver``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "resolver"


def _temporary_name(path: Path) -> Path:
    # the writer's pid in the name lets a later writer remove what a killed one left
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _remove_leftovers(path: Path) -> None:
    """Temporaries (files, or staged directories of a set) of writers of ``path`` that no longer
    run (killed before their rename, or between a swap and the removal of the old set)."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.tmp(?:\.old)?\Z")
    for sibling in path.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and run_ended(int(match[1])):
            _remove(sibling)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def run_ended(pid: int) -> bool:
    """Whether the run of process ``pid`` has ended: what it left (scratch directories,
    temporaries, working containers) may go. This process's has not; another user's counts."""
    return pid != os.getpid() and not _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: input files (bindep, YAML, lock, repo files) larger than this are refused: the largest real one is
#: a few hundred KiB, and parsers (parsley, PyYAML) are slow and memory hungry on adversarial input
MAX_INPUT_BYTES = 4 * 1024 * 1024


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 text, or an error naming the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"{where}:{line}: not UTF-8 text (byte {data[error.start]:#04x}); "
                         "save the file as UTF-8") from None


def read_bytes(path: Path, what: str = "file", limit: int = MAX_INPUT_BYTES,
               error: type[InputError] = InputError) -> bytes:
    """A user's input file: a regular file (not a device, FIFO or directory; opened non-blocking,
    so a FIFO is refused, not waited on), at most ``limit`` bytes; ``error`` the exception raised."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as failure:
        raise error(f"{path}: cannot read {what} ({failure.strerror})") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise error(f"{path}: not a regular file; give a {what}")
    if info.st_size > limit:  # refused unread (a file growing while read is still cut at the limit)
        os.close(descriptor)
        data = b""
    else:
        with os.fdopen(descriptor, "rb") as stream:
            try:
                data = stream.read(limit + 1)
            except OSError as failure:
                raise error(f"{path}: cannot read {what} ({failure.strerror})") from None
    if info.st_size > limit or len(data) > limit:
        size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
        raise error(f"{path}: larger than {size}; not a {what} this tool reads")
    return data


def read_text(path: Path, what: str = "file", limit: int = MAX_INPUT_BYTES) -> str:
    """A user's input file as text (``read_bytes``), UTF-8."""
    return decode_text(read_bytes(path, what, limit), str(path))


def check_writable(path: Path, directory: bool = False) -> None:
    """Refuse, before any work starts, an output that cannot be written: a directory where a file
    is wanted (or the reverse), or a place the user may not write to."""
    if path.exists() and (path.is_dir() != directory):
        want = "a directory" if directory else "a file"
        raise InputError(f"{path}: exists and is not {want}; name {want} to write")
    existing = path if path.exists() else next(p for p in path.parents if p.exists())
    if not existing.is_dir() and existing != path:
        raise InputError(f"{existing}: is not a directory; cannot write {path} under it")
    if not os.access(existing if existing.is_dir() else existing.parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write there (permission denied); choose another path")


def write_atomically(path: Path, text: str | bytes | Iterable[bytes]) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it (mode from the umask, as any
    new file), fsynced, renamed over ``path``, then the directory fsynced. ``text`` may be chunks
    (a download streamed to disk): one that raises leaves nothing, as a failed write does.

    The temporary file is written unnamed (``O_TMPFILE``) and given its name ``.NAME.PID.tmp`` only
    just before the rename, so a writer killed while writing leaves nothing; one killed between
    the link and the rename leaves the name, which the next writer of ``path`` removes."""
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: exists and is not a file; name a file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{path.parent}: is not a directory; name a directory to write into") from None
    _remove_leftovers(path)
    temporary = _temporary_name(path)
    try:
        _write_file(temporary, [text.encode("utf-8")] if isinstance(text, str) else
                    [text] if isinstance(text, bytes) else text)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({error.strerror})") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _write_file(path: Path, chunks: Iterable[bytes]) -> None:
    """``chunks`` at ``path`` (a new name), fsynced; unnamed until written where the file system allows."""
    flags = os.O_WRONLY | os.O_CLOEXEC
    try:
        descriptor = os.open(path.parent, flags | os.O_TMPFILE, 0o666)
        unnamed = True
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666)
        unnamed = False
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(descriptor, view):]
        os.fsync(descriptor)
        if unnamed:
            # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N names the file (plain link() would try
            # to link the /proc symlink); a directory descriptor makes os.link use linkat
            parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.link(f"/proc/self/fd/{descriptor}", path.name, dst_dir_fd=parent, follow_symlinks=True)
            finally:
                os.close(parent)
    finally:
        os.close(descriptor)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# ---- a set of files that belong together (a report) ---------------------------------------------

def check_set_directory(directory: Path, owned: Callable[[Path], bool], what: str) -> None:
    """Refuse, before any work, a directory holding anything a ``what`` does not write: replacing
    the set replaces the whole directory."""
    check_writable(directory, directory=True)
    if directory.resolve() in (Path.cwd(), *Path.cwd().parents):
        raise InputError(f"{directory}: is the current directory (or holds it); a {what} replaces its directory "
                         "as a whole: name a directory of its own")
    if directory.is_dir():
        foreign = sorted(entry.name for entry in directory.iterdir() if not owned(entry))
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise InputError(f"{directory}: holds files a {what} does not write ({shown}); a {what} replaces its "
                             "directory as a whole: name a directory of its own")


def replace_directory(directory: Path, files: Mapping[str, str | bytes], owned: Callable[[Path], bool],
                      what: str) -> None:
    """Make ``directory`` hold exactly ``files`` (relative paths), all at once: every file is
    written and fsynced in a staged sibling ``.NAME.PID.tmp``, which is then exchanged with the
    directory in one step (``renameat2(RENAME_EXCHANGE)``); the old set, now at the staged name, is
    removed. A reader sees the old set or the new one, never a mix. A writer killed before the
    exchange leaves the old set and its stage; one killed after it, the new set and the old one
    at the staged name: either leftover is removed by the next writer of ``directory``."""
    directory = directory.resolve()  # a symlink to the directory keeps pointing at the new set
    check_set_directory(directory, owned, what)
    directory.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(directory)
    staged = _temporary_name(directory)
    try:
        staged.mkdir()
        for name, content in files.items():
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise InputError(f"{name!r} would be written outside {directory}")
            target = staged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_file(target, [content.encode("utf-8") if isinstance(content, str) else content])
        for sub in sorted({staged / n for name in files for n in Path(name).parents}, reverse=True):
            _fsync_directory(sub)
        if directory.is_dir():
            os.chmod(staged, stat.S_IMODE(directory.stat().st_mode))
            _exchange(staged, directory)
        else:
            os.rename(staged, directory)
        _fsync_directory(directory.parent)
    except OSError as error:
        raise InputError(f"{directory}: cannot write the {what} ({error.strerror})") from None
    finally:
        _remove(staged)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> None:
    """Swap two directory entries atomically (Linux ``renameat2``, glibc 2.28 and later). Where the
    file system cannot, the old directory is moved aside first: a reader may then find none for an
    instant, never a mix."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(second))
    aside = first.with_name(first.name + ".old")  # a leftover name the next writer removes too
    os.rename(second, aside)
    os.rename(first, second)
    os.rename(aside, first)


# ---- taking turns --------------------------------------------------------------------------------

@contextmanager
def writer_turn(directory: Path, waiting: Callable[[str], None]) -> Iterator[None]:
    """Hold the turn of writing into ``directory`` (an exclusive ``flock`` on the directory itself:
    no lock file is created or left behind). Another resolver holding it makes this one wait, after
    calling ``waiting`` once with who holds it; the turn ends with the block (or the process)."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(_holder(descriptor))
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _holder(descriptor: int) -> str:
    """Who holds the flock on an open directory, from /proc/locks: "pid N (command line)"."""
    info = os.fstat(descriptor)
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
                    pid = fields[4]
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    return f"pid {pid} ({command.strip()[:120]})"
    except OSError:
        pass
    return "another process"


# ---- temporary directories -----------------------------------------------------------------------

def scratch_directory(prefix: str) -> tempfile.TemporaryDirectory:
    """A temporary directory ``PREFIX<pid>-XXXX`` under TMPDIR, removed when the run ends (also on
    Ctrl-C and SIGTERM). SIGKILL leaves no chance to remove it: each new one first removes those
    of the same prefix whose process no longer runs (this user's only)."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)-")
    base = Path(tempfile.gettempdir())
    try:
        entries = list(base.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or not run_ended(int(match[1])):
            continue
        try:
            if entry.lstat().st_uid == os.geteuid():
                _remove(entry)
        except OSError:
            pass
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-")
