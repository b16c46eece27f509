"""What a project's code uses, as ``codescan`` finds it: programs it runs (literal or computed at
run time) and modules it imports, each with where; and what a program name looks like."""

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


def command_name(text: str) -> str | None:
    """``iscsiadm`` stays; an absolute path stays whole (``/lib/udev/scsi_id``: it is looked up as
    that file); ``bin/x`` -> ``x``; None for what is not a program name."""
    if not COMMAND_NAME.match(text) or text.isupper() or text.endswith("/"):
        return None
    return text if text.startswith("/") else text.rpartition("/")[2]


def module_of(path: str) -> str:
    """``nova/privsep/fs.py`` -> ``nova.privsep.fs`` (a package's ``__init__.py`` is the package)."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")

