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
