"""The name patterns every name from a file, the metadata or the command line passes before it can
reach a path, a Containerfile or a command line: one pattern per kind of name, no control characters."""

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
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: any control character, tab and newline included (imported entries, comment lines)
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


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
    """A free-text value (a build step, a reason) that may reach a Containerfile or a command line:
    a string without control characters (a newline would start a new Containerfile instruction)."""
    if not isinstance(value, str):
        raise InputError(f"{where}: {what} must be a string, not {type(value).__name__}")
    bad = _CONTROL.search(value)
    if bad:
        raise InputError(f"{where}: {what} holds a control character ({bad.group()!r}); write it on one line")
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
