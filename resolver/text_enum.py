"""A closed set of names that outputs print as text (finding kinds, override kinds)."""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    """An Enum whose members are their text: JSON, f-strings and comparisons with a string see
    the value (``"redundant"``), never ``FindingKind.REDUNDANT``."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
