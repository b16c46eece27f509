"""The name patterns every name from a file, the metadata or the command line passes before it can
reach a path, a Containerfile or a command line: one pattern per kind of name; and the one rule for
the characters of everything resolver writes (``unwritable``, ``escaped``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import InputError

#: what bindep's grammar accepts as a package name, ASCII only; anything else (spaces, ';', '$',
#: '`', newlines...) is refused before it can reach dnf or a build command line
PACKAGE_NAME = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9.+_/-]*\Z")
#: image and project names: they become file names (audit pages, Containerfile directories) and
#: image references, so no '/' and no leading dot
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
#: bindep profile names (bindep's grammar: lower-case letters, digits, ':' '.' '-')
PROFILE_NAME = re.compile(r"^[a-z0-9:.-]+\Z")
#: paths inside an image that reach a Containerfile or a command line
CONTAINER_PATH = re.compile(r"^/[A-Za-z0-9._/-]*\Z")


# ---- the characters of what is written ------------------------------------------------------------
# One rule for every value and comment resolver writes into a YAML file, a Containerfile or a
# terminal: a character Python does not call printable is never written raw. That is every C0 and
# C1 control (NUL, tab, ESC, CR, U+0085), the line and paragraph separators U+2028/U+2029 (YAML ends a
# line at U+0085, U+2028 and U+2029 as well as at \n and \r), the format characters (bidi overrides
# and isolates, U+FEFF, zero-width characters), every space but ' ', surrogates, private-use and
# unassigned code points. A value is refused where it is read (file:line); a comment or a line of
# output shows the character escaped instead.

def unwritable(text: str) -> str | None:
    """The first character of ``text`` that no written file holds raw, or None."""
    if text.isprintable():
        return None
    return next(c for c in text if not c.isprintable())


def escaped(text: str, keep: str = "") -> str:
    """``text`` with each character ``unwritable`` finds shown as its Python escape (``\\x1b``,
    ``\\u2028``), except those in ``keep`` (a terminal's newlines): one comment line, one line of
    output, whatever the text holds."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def unwritable_reason(text: str) -> str | None:
    """Why ``text`` cannot be written as it is (the character, escaped), or None."""
    bad = unwritable(text)
    return None if bad is None else (f"holds {escaped(bad)} (a control character, a line break, an invisible "
                                     "format character or an unusual space)")


def package_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not PACKAGE_NAME.match(value):
        raise InputError(f"{where}: {value!r} is not a package name (letters, digits and . + _ - / only)")
    return value


def image_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not IMAGE_NAME.match(value):
        raise InputError(f"{where}: {value!r} is not an image name (lower-case letters, digits and . _ -, "
                         "starting with a letter or digit)")
    return value


def project_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not PROJECT_NAME.match(value):
        raise InputError(f"{where}: {value!r} is not a project name (letters, digits and . _ -, "
                         "starting with a letter or digit)")
    return value


def plain_text(value: Any, where: str, what: str) -> str:
    """A free-text value (a reason, a URL) that may reach a YAML file, a Containerfile or a command
    line: a string ``unwritable`` passes (a newline, or U+2028 in YAML, would start a new line)."""
    if not isinstance(value, str):
        raise InputError(f"{where}: {what} must be a string, not {type(value).__name__}")
    problem = unwritable_reason(value)
    if problem:
        raise InputError(f"{where}: {what} {problem}; write it on one line, without such characters")
    return value


def shell_problem(command: str) -> str | None:
    """Why a shell command would not be exactly one Containerfile instruction ``RUN COMMAND``
    running ``/bin/sh -c COMMAND``, as `build` runs it; None when it would be. A Containerfile joins
    a line ending in a backslash to the next instruction, reads the lines after a heredoc opener
    (``<<EOF``) into the RUN, takes ``RUN [...]`` as an exec form and ``RUN --mount=...`` (or any
    leading ``-``) as options of the instruction, not the command."""
    problem = unwritable_reason(command)
    if problem:
        return problem
    if not command.strip():
        return "is empty"
    if command.rstrip().endswith("\\"):
        return "ends in a backslash, which joins the next Containerfile instruction to it"
    if "<<" in command:
        return "holds '<<', which opens a heredoc: the lines after it would become part of the RUN"
    if command.lstrip().startswith(("-", "[")):
        return ("starts with '-' or '[', which a Containerfile reads as RUN's options or its exec form, not as "
                "the command `build` runs")
    return None


def shell_line(value: Any, where: str, what: str) -> str:
    """A shell command from a file (a site step, a build step) as one Containerfile instruction and
    the same ``sh -c`` command line in a build (``shell_problem``), or the error naming it."""
    if not isinstance(value, str):
        raise InputError(f"{where}: {what} must be a string, not {type(value).__name__}")
    problem = shell_problem(value)
    if problem:
        raise InputError(f"{where}: {what} {problem}; write one command line (join commands with &&, write a "
                         "file with printf)")
    return value


def confined(directory: Path, name: str) -> Path:
    """``directory/name`` for a name that must stay inside ``directory`` (no separators, no '..')."""
    if not name or "/" in name or "\x00" in name or name in (".", "..") or name.startswith("."):
        raise InputError(f"{name!r} cannot be used as a file name inside {directory}")
    path = directory / name
    if path.resolve().parent != directory.resolve():
        raise InputError(f"{name!r} would be written outside {directory}")
    return path


# ---- what a build puts on a Containerfile line or a command line ----------------------------------

#: an RPM as the metadata names it: NAME-[EPOCH:]VERSION-RELEASE.ARCH (rpm's characters: '~' and '^'
#: in versions); a name from primary.xml is refused here before it reaches dnf or a Containerfile
NEVRA = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]*-(?:[0-9]+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+"
                   r"\.[A-Za-z0-9_]+\Z")
#: an RPM name from the metadata (what a builder installs, what a library is provided by)
RPM_NAME = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]*\Z")
#: a Python distribution pinned as the Containerfile and pip see it: NAME==VERSION (canonical name,
#: PEP 440 version)
PIN = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?==[A-Za-z0-9.+!_-]+\Z")
#: a dnf module stream (``mariadb:10.11``)
MODULE_STREAM = re.compile(r"^(?P<module>[A-Za-z0-9][A-Za-z0-9._+-]*):(?P<stream>[A-Za-z0-9][A-Za-z0-9._+-]*)\Z")
#: a program run inside an image (`--package-manager`): a command name or an absolute path
COMMAND = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9._+/-]*\Z")
#: where images are tagged (`--tag-prefix`): a registry host (with a port) and/or repository path
#: components, in the lower case the OCI distribution grammar allows
TAG_PREFIX = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\Z")
#: an OCI tag (`--tag`)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


def build_value(pattern: re.Pattern, value: Any, where: str, what: str) -> str:
    """A value that goes into a Containerfile, a bake file or a build command line: it must match
    ``pattern`` (which admits no control character, space or shell character), or the build stops
    with an error naming it, before anything is written or run."""
    if not isinstance(value, str) or not pattern.match(value):
        raise InputError(f"{where}: {value!r} is not {what}; refusing to put it in a Containerfile or a "
                         "command line")
    return value
