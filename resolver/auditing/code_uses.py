"""What a project's code uses, as ``codescan`` finds it: programs it runs (literal or computed at
run time), files and directories it reads, and modules it imports, each with where; what a program
name looks like, and which absolute paths are a package's to ship."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: what a program name looks like (a word, or an absolute path to one); SQL, format strings and
#: sentences passed to other ``execute`` methods do not
COMMAND_NAME = re.compile(r"^(/[A-Za-z0-9_.+-]+)*/?[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class CommandUse:
    """A program the code runs: ``command`` is its name (``iscsiadm``), ``path:line`` where,
    ``function`` the function it is in (``Class.method``; empty at module level), and ``callers``
    the call sites (``path:line:function``, two levels up) of that function when it is a
    module-level function other modules call by name (``nova.privsep.fs.mount``)."""

    command: str
    path: str
    line: int
    via: str
    function: str = ""
    callers: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class FileUse:
    """A file or directory the code reads: ``files`` the absolute paths it may be (one is enough:
    ``QEMU_FIRMWARE_DESCRIPTOR_PATHS`` is searched in order; a glob pattern, or a directory when
    the rest is computed), ``path:line`` where, as ``CommandUse``."""

    files: tuple[str, ...]
    path: str
    line: int
    via: str
    function: str = ""
    callers: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class DynamicUse:
    """An execution call whose command is computed at run time (listed, not guessed); ``option``
    names the configuration option it comes from (``CONF.mkisofs_cmd``), when it does."""

    path: str
    line: int
    via: str
    option: str | None = None


@dataclass(frozen=True)
class ImportUse:
    module: str
    path: str
    line: int


@dataclass(frozen=True)
class ProjectUses:
    """What a project's files use: commands, computed commands, imports, and the files Python
    could not parse (listed, so nothing is skipped silently)."""

    commands: tuple[CommandUse, ...]
    dynamic: tuple[DynamicUse, ...]
    imports: tuple[ImportUse, ...]
    unparsed: tuple[str, ...] = ()
    files: tuple[FileUse, ...] = ()


def command_name(text: str) -> str | None:
    """``iscsiadm`` stays; an absolute path stays whole (``/lib/udev/scsi_id``: it is looked up as
    that file); ``bin/x`` -> ``x``; None for what is not a program name."""
    if not COMMAND_NAME.match(text) or text.isupper() or text.endswith("/"):
        return None
    return text if text.startswith("/") else text.rpartition("/")[2]


def module_of(path: str) -> str:
    """``nova/privsep/fs.py`` -> ``nova.privsep.fs`` (a package's ``__init__.py`` is the package)."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")



#: what the kernel serves, the service writes (its state, logs, runtime files, scratch space, the
#: venv under /var/lib/kolla) or a user owns: never a package's to ship, so never a need
WRITTEN_PREFIXES = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/run", "/var/lib", "/var/log",
                    "/var/cache", "/var/lock", "/var/spool", "/home", "/root")


def read_path(text: str, source: str) -> str | None:
    """An absolute path a package would ship, as the code at ``source`` names it (``/usr/share/qemu/
    firmware``, ``/usr/share/syslinux/*.c32``), trailing ``/`` dropped; None for what is not one: a
    relative or templated path (``$state_path/x``, ``%s``, ``{}``), what ``WRITTEN_PREFIXES`` hold,
    and the service's own configuration (``/etc/nova`` for nova/..., ``/etc/os-brick``)."""
    path = text.rstrip("/")
    if not path.startswith("/") or path.count("/") < 2 or any(c in path for c in "$%{}~\n\t <>|;,:"):
        return None
    if any(path == p or path.startswith(p + "/") for p in WRITTEN_PREFIXES):
        return None
    package = source.partition("/")[0]
    own = {f"/etc/{package}", f"/etc/{package.replace('_', '-')}"}
    return None if any(path == p or path.startswith(p + "/") for p in own) else path
