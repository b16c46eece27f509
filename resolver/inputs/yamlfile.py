"""YAML input files (images/, profiles/, site overrides), read safely and with line numbers.

Safe means: a regular UTF-8 file of bounded size (``files.read_text``), no anchors or aliases (a
415-byte file of nested aliases expands to gigabytes), string keys only, bounded nesting. Mappings
and lists come back as ``YamlMap``/``YamlList``: a dict/list that also knows the line of each entry,
so errors can say ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, overload

import yaml

from ..errors import InputError
from ..files import read_text

MAX_DEPTH = 32


class YamlMap(dict):
    """A mapping with the line (1-based) it starts on and the line of each key."""

    line: int = 0
    lines: dict

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class YamlList(list):
    """A list with the line it starts on and the line of each item."""

    line: int = 0
    lines: list

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(event.start_mark, "aliases (*name) are not accepted; write the value out")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "anchors (&name) are not accepted; write the value out")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        result = YamlMap()
        result.line, result.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise _Refused(key_node.start_mark, f"a key must be a string, not {key!r}")
            if key in result:
                raise _Refused(key_node.start_mark, f"key {key!r} appears twice")
            result[key] = self.construct_object(value_node, deep=True)
            result.lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(self, node, deep=False):  # noqa: ANN001
        result = YamlList(self.construct_object(child, deep=True) for child in node.value)
        result.line, result.lines = node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


class _Refused(yaml.YAMLError):
    def __init__(self, mark, problem: str):  # noqa: ANN001
        super().__init__(problem)
        self.problem_mark = mark
        self.problem = problem


def load_yaml(path: Path, what: str = "YAML file") -> Any:
    """The document in ``path``; InputError with file:line for anything unsafe or malformed."""
    return parse_yaml(read_text(path, what), path, what)


def parse_yaml(text: str, path: Path | str, what: str = "YAML file") -> Any:
    """The document in ``text`` (read from ``path``, which errors name)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (our loader is a SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(f"{path}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a {what}") from None
    except ValueError as error:  # PyYAML's scanner on an escape past U+10FFFF ("\U10010000")
        raise InputError(f"{path}: invalid YAML: {error}") from None


@overload
def line_of(container: Any, key: Any, default: int) -> int: ...
@overload
def line_of(container: Any, key: Any, default: None = None) -> int | None: ...
def line_of(container: Any, key: Any, default: int | None = None) -> int | None:
    """The line of ``container[key]`` when the container came from ``load_yaml``, else ``default``."""
    if isinstance(container, (YamlMap, YamlList)):
        return container.line_of(key)
    return default
