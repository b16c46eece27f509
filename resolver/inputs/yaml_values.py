"""Checks of values read from the YAML input files (images/, profiles/): each error names the
file and line of the entry (``yamlfile`` keeps the lines)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..names import PROFILE_NAME, plain_text
from .yamlfile import line_of


def entry_where(path: Path | str, container: Any, key: Any, label: str = "") -> str:
    """``file:line: label`` for an entry of a loaded file (the line when the loader kept it)."""
    line = line_of(container, key)
    return f"{path}{f':{line}' if line else ''}{f': {label}' if label else ''}"


def expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(f"{where}: {what} must be a {names}, not {type(value).__name__}")
    return value


def check_keys(data: Mapping, allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def checked_reason(value: Any, where: str, what: str = "a 'reason'") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: needs {what} (it is shown in the output)")
    return plain_text(" ".join(value.split()), where, "the reason")


def profile_names(value: Any, where: str, what: str) -> tuple[str, ...]:
    names = []
    for index, name in enumerate(expect(value or [], list, where, what)):
        if not isinstance(name, str) or not PROFILE_NAME.match(name):
            raise InputError(f"{entry_where(where, value, index)}: {name!r} is not a bindep profile name "
                             "(lower-case letters, digits and : . -)")
        names.append(name)
    return tuple(names)

