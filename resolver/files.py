"""Writing output files so that a reader never sees half of one, and the cache directory."""

from __future__ import annotations

import os
import re
import stat
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
    """Temporary files of writers of ``path`` that no longer run (killed before their rename)."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.tmp$")
    for sibling in path.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and int(match[1]) != os.getpid() and not _running(int(match[1])):
            sibling.unlink(missing_ok=True)


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


def read_text(path: Path, what: str = "file", limit: int = MAX_INPUT_BYTES) -> str:
    """A user's input file as text: a regular file (not a device, FIFO or directory), at most
    ``limit`` bytes, UTF-8."""
    try:
        with path.open("rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(f"{path}: not a regular file; give a {what}")
            data = stream.read(limit + 1)
    except OSError as error:
        raise InputError(f"{path}: cannot read {what} ({error.strerror})") from None
    if len(data) > limit:
        raise InputError(f"{path}: larger than {limit // (1024 * 1024)} MiB; not a {what} this tool reads")
    return decode_text(data, str(path))


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


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it (mode from the umask, as any
    new file), fsynced, renamed over ``path``, then the directory fsynced."""
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: exists and is not a file; name a file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{path.parent}: is not a directory; name a directory to write into") from None
    _remove_leftovers(path)
    temporary = _temporary_name(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({error.strerror})") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
