"""Kolla ``--template-override`` files parsed for `resolver import-kolla` (``kolla_import`` sorts
what they hold into site overrides).

A template override extends Kolla's Dockerfile templates: ``{% set <image>_<list>_append|_remove|
_override = [...] %}`` changes a list Kolla passes through its ``customizable`` filter (packages,
pip_packages, base's repository lists), and ``{% block NAME %}`` replaces a block; the empty
``<image>_header`` and ``<image>_footer`` blocks are the hooks meant for site additions.

The file is parsed with Jinja's own parser (``Environment.parse``) and never rendered. Top-level
``set``s are evaluated as literals (lists, ``+``, names set earlier); ``if`` tests are evaluated
on the target (``base_package_type`` rpm, ``base_distro``, ``base_distro_tag``, ``base_arch``,
``distro_python_version``), a branch for another target is skipped and one the import cannot
decide is not imported; blocks are read as Dockerfile instructions, where Kolla's
``macros.install_pip``/``install_packages`` of a list set in the file count as that list.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from ..errors import InputError
from ..files import read_text
from ..inputs.platforms import Platform
from .site_import import comment_above

#: stands for a template expression in a block's text (its index among the block's markers)
MARKER = re.compile("\x00([0-9]+)\x00")

#: what Docker reads as an instruction keyword (anything else in a block is not an instruction)
DOCKERFILE_INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                           "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


def kolla_variables(target: Platform) -> dict[str, str]:
    """What Kolla's templates see when building for the target (tests in override files use these)."""
    distro, _, version = target.name.rpartition("-")
    python = {"9": "3.9", "10": "3.12"}.get(version, "3")
    return {"base_package_type": "rpm", "base_distro": distro, "base_arch": "x86_64",
            "base_distro_tag": f"stream{version}" if distro == "centos" else version,
            "distro_python_version": python, "distro_package_manager": "dnf", "install_type": "source"}


class _Undecided(Exception):
    """An ``if`` test on something the import cannot know for the target."""


@dataclass(frozen=True)
class Value:
    text: str
    line: int
    #: the comment above the statement that wrote it (its author's reason)
    comment: str = ""


@dataclass(frozen=True)
class Macro:
    """``macros.install_pip(X)`` / ``macros.install_packages(X)`` in a block."""

    kind: str
    variable: str | None
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    text: str
    line: int
    macros: tuple[Macro, ...] = ()
    #: template expressions only Kolla fills in (``{{ build_date }}``)
    expressions: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockOverride:
    name: str
    line: int
    instructions: tuple[Instruction, ...]
    state: str  # "active", or why not: "skip: ..." / "undecided: ..."
    problem: str = ""


@dataclass
class KollaFile:
    """What one override file sets and replaces, evaluated for the target."""

    path: Path
    lines: list[str]
    #: each name's final value (None: not a literal list) and the line of its last ``set``
    settings: dict[str, tuple[list[Value] | None, int]] = field(default_factory=dict)
    blocks: list[BlockOverride] = field(default_factory=list)
    #: entries in branches that are not taken: (item, line, state)
    inactive: list[tuple[str, int, str]] = field(default_factory=list)
    #: statements not read: (item, line, reason)
    unread: list[tuple[str, int, str]] = field(default_factory=list)
    #: items lost to a later ``set`` of the same name: (item, line, reason)
    overwritten: list[tuple[str, int, str]] = field(default_factory=list)


def read_kolla_file(path: Path, target: Platform) -> KollaFile:
    """The override file at ``path`` (a regular file of bounded size: ``files.read_text``) read
    for the target; InputError naming file:line for what Jinja (or Kolla's build) would refuse."""
    text = read_text(path, "Kolla template override file")
    environment = jinja2.Environment()
    _check_nesting(environment, text, path)
    try:
        with warnings.catch_warnings():
            # Jinja decodes string literals with Python's escapes and warns on ones such as '\(' that
            # shell-minded authors write (TripleO's 'python3dist\(ansible\)'); the value is kept as is
            warnings.simplefilter("ignore", DeprecationWarning)
            template = environment.parse(text, filename=str(path))
    except jinja2.TemplateSyntaxError as error:
        raise InputError(f"{path}:{error.lineno}: Jinja syntax error: {error.message}") from None
    except (RecursionError, ValueError) as error:  # a unary chain (not not ...), an integer of 5,000 digits
        raise InputError(f"{path}: Jinja cannot parse the file ({type(error).__name__}: {str(error)[:200]})") \
            from None
    # Jinja's lines end at \r\n, \r or \n only (str.splitlines would also end them at \f, \x1c, U+2028...)
    found = KollaFile(path, _NEWLINE.split(text))
    reader = _Reader(found, kolla_variables(target))
    try:
        reader.statements(template.body, "active")
    except RecursionError:  # a long chain such as [] + [] + ... (Jinja parses it without recursing)
        raise InputError(f"{path}:{reader.line}: an expression nested too deeply to read") from None
    return found


#: entries a file's lists may copy from lists set earlier: a 4 MiB file holds fewer than a million
#: literal names, and doubling a list in each `set` would otherwise grow it without bound
MAX_COPIED = 2_000_000
_NEWLINE = re.compile(r"\r\n|\r|\n")
#: how deep brackets, `not`s and block statements may nest (Jinja's parser recurses a dozen frames
#: on each level, so a hundred reach Python's recursion limit; real override files nest three or four)
MAX_NESTING = 50
_NESTING_TAGS = {"if", "for", "block", "macro", "call", "filter", "with", "autoescape", "trans", "raw"}


def _check_nesting(environment: jinja2.Environment, text: str, path: Path) -> None:
    """Refuse, with the line, nesting deeper than ``MAX_NESTING`` before Jinja's parser recurses
    into it (the lexer does not recurse)."""
    depth = 0
    unary = 0  # a run of `not`, `-`, `+`: each one a level of the parser's recursion too
    after_block_begin = False
    try:
        for line, kind, value in environment.lex(text):
            if kind == "whitespace":
                continue
            tag = value if after_block_begin and kind == "name" else ""
            if kind == "operator" and value in "([{" or tag in _NESTING_TAGS:
                depth += 1
            elif kind == "operator" and value in ")]}" or tag.startswith("end"):
                depth = max(depth - 1, 0)  # an unmatched end is the parser's to report
            after_block_begin = kind == "block_begin"
            unary = unary + 1 if kind == "name" and value == "not" or kind == "operator" and value in "-+" else 0
            if depth > MAX_NESTING or unary > MAX_NESTING:
                raise InputError(f"{path}:{line}: nested more than {MAX_NESTING} levels deep (brackets, `not`s or "
                                 "{% if %}/{% for %}/{% block %}...); no override file needs that many")
    except jinja2.TemplateSyntaxError:
        return  # the parser reports it, with its line


class _Reader:
    def __init__(self, found: KollaFile, variables: dict[str, str]):
        self.found = found
        self.variables = variables
        self.scalars: dict[str, Any] = dict(variables)
        #: the line of the statement being read (for an error that has no node at hand)
        self.line = 1
        #: entries copied from lists set earlier (bounded by MAX_COPIED)
        self.copied = 0

    def source(self, line: int) -> str:
        return self.found.lines[line - 1].strip() if 0 < line <= len(self.found.lines) else ""

    # ---- statements --------------------------------------------------------------------------

    def statements(self, body: list[nodes.Node], state: str) -> None:
        for node in body:
            self.line = node.lineno
            if isinstance(node, (nodes.Extends, nodes.Output)):
                continue  # a child template's text outside blocks is never rendered
            if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
                self.assign(node.target.name, node.node, node.lineno, state)
            elif isinstance(node, nodes.If):
                self.branches(node, state)
            elif isinstance(node, nodes.Block):
                self.found.blocks.append(self.block(node, state))
            else:
                what = type(node).__name__.lower()
                self.found.unread.append((self.source(node.lineno) or what, node.lineno,
                                          f"a top-level {{% {what} %}} is not a Kolla customisation the import reads"))

    def assign(self, name: str, value: nodes.Node, line: int, state: str) -> None:
        if state != "active":
            self.found.inactive.append((f"set {name}", line, state))
            return
        try:
            values = self.literal(value, comment_above(self.found.lines, line))
        except _Undecided:
            values = None
        before = self.found.settings.get(name)
        if before and before[0]:
            kept = set(values or ())
            self.found.overwritten += [(v.text, v.line, f"overwritten by the `set {name}` at line {line}")
                                       for v in before[0] if v not in kept]
        self.found.settings[name] = (values, line)
        if isinstance(value, nodes.Const):
            self.scalars[name] = value.value

    def literal(self, node: nodes.Node | None, comment: str = "") -> list[Value]:
        if isinstance(node, (nodes.List, nodes.Tuple)):
            values = []
            for item in node.items:
                if not isinstance(item, nodes.Const) or not isinstance(item.value, str):
                    raise _Undecided("not a literal string")
                values.append(Value(item.value, item.lineno, comment))
            return values
        if isinstance(node, nodes.Add):
            return self.literal(node.left, comment) + self.literal(node.right, comment)
        if isinstance(node, nodes.Name) and node.name in self.found.settings:
            setting = self.found.settings[node.name][0]
            if setting is None:
                raise _Undecided(node.name)
            # the one way a list grows beyond the file's own text: `set x = x + x` doubles it
            self.copied += len(setting)
            if self.copied > MAX_COPIED:
                raise InputError(f"{self.found.path}:{node.lineno}: lists built from earlier lists (x + x ...) reach "
                                 f"more than {MAX_COPIED:,} entries; no override file needs that many")
            return list(setting)
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            return [Value(node.value, node.lineno, comment)]
        raise _Undecided(type(node).__name__)

    def branches(self, node: nodes.If, state: str) -> None:
        chain = [node, *node.elif_]
        taken = False
        for branch in chain:
            condition = self.source(branch.lineno)
            if state != "active" or taken:
                self.statements(branch.body, state if state != "active" else
                                f"skip: the branch `{condition}` (line {branch.lineno}) is not taken for the target")
                continue
            try:
                chosen = bool(self.test(branch.test))
            except _Undecided as unknown:
                self.statements(branch.body, f"undecided: the branch `{condition}` (line {branch.lineno}) "
                                             f"depends on {unknown}, which the import cannot know for the target")
                taken = True  # the rest of the chain is as undecided as this branch
                state = f"undecided: follows the undecidable `{condition}` (line {branch.lineno})"
                continue
            if chosen:
                taken = True
                self.statements(branch.body, "active")
            else:
                self.statements(branch.body, f"skip: `{condition}` (line {branch.lineno}) is false for the target")
        if node.else_:
            if state != "active":
                self.statements(node.else_, state)
            elif taken:
                self.statements(node.else_, f"skip: the `else` of `{self.source(node.lineno)}` (line "
                                            f"{node.lineno}) is not taken for the target")
            else:
                self.statements(node.else_, "active")

    def test(self, node: nodes.Node) -> Any:
        """An ``if`` test evaluated on the target's variables (literals, names, comparisons,
        and/or/not, str.startswith/endswith, ``is defined``)."""
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, nodes.Name):
            if node.name not in self.scalars:
                raise _Undecided(node.name)
            return self.scalars[node.name]
        if isinstance(node, (nodes.List, nodes.Tuple)):
            return [self.test(item) for item in node.items]
        if isinstance(node, nodes.Not):
            return not self.test(node.node)
        if isinstance(node, nodes.And):
            return self.test(node.left) and self.test(node.right)
        if isinstance(node, nodes.Or):
            return self.test(node.left) or self.test(node.right)
        if isinstance(node, nodes.Compare):
            left = self.test(node.expr)
            for operand in node.ops:
                right = self.test(operand.expr)
                try:
                    holds = _COMPARE[operand.op](left, right)
                except TypeError:  # 'stream9' > 5: Jinja fails on it too, so does Kolla's build
                    raise InputError(f"{self.found.path}:{node.lineno}: `{self.source(node.lineno)}` compares "
                                     f"{left!r} and {right!r}, which cannot be compared ({operand.op}); "
                                     "fix the test") from None
                if not holds:
                    return False
                left = right
            return True
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) \
                and node.node.attr in ("startswith", "endswith") and not node.kwargs:
            subject = self.test(node.node.node)
            arguments = [self.test(a) for a in node.args]
            try:
                return getattr(str(subject), node.node.attr)(*arguments)
            except TypeError as error:
                raise InputError(f"{self.found.path}:{node.lineno}: `{self.source(node.lineno)}`: {error}; fix the "
                                 "test") from None
        if isinstance(node, nodes.Test) and node.name in ("defined", "undefined") and isinstance(node.node, nodes.Name):
            defined = node.node.name in self.scalars or node.node.name in self.found.settings
            return defined if node.name == "defined" else not defined
        raise _Undecided(self.describe(node))

    def describe(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr):
            return f"{self.describe(node.node)}.{node.attr}"
        if isinstance(node, nodes.Call):
            return f"{self.describe(node.node)}(...)"
        if isinstance(node, nodes.Filter):
            return f"{self.describe(node.node)} | {node.name}" if node.node else node.name
        return type(node).__name__

    # ---- blocks ------------------------------------------------------------------------------

    def block(self, node: nodes.Block, state: str) -> BlockOverride:
        pieces: list[tuple[str, int]] = []
        markers: list[Macro | str] = []
        problem = self.block_pieces(node.body, pieces, markers)
        instructions = _instructions(pieces, markers) if not problem else []
        return BlockOverride(node.name, node.lineno, tuple(instructions), state, problem)

    def block_pieces(self, body: list[nodes.Node], pieces: list[tuple[str, int]], markers: list) -> str:
        """Flatten a block into text pieces with their first line; expressions become markers.
        Returns a problem when the block holds what cannot be read as text."""
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if isinstance(child, nodes.TemplateData):
                        if "\x00" in child.data:  # would read as one of the markers below
                            return "a NUL byte inside the block (Docker reads no such instruction)"
                        pieces.append((child.data, child.lineno))
                    else:
                        markers.append(self.expression(child))
                        pieces.append((f"\x00{len(markers) - 1}\x00", child.lineno))
            elif isinstance(node, nodes.If):
                try:
                    branch = _branch_taken(node, self)
                except _Undecided as unknown:
                    return f"an `if` on {unknown} inside the block, which the import cannot know for the target"
                problem = self.block_pieces(branch, pieces, markers)
                if problem:
                    return problem
            else:
                return f"a {{% {type(node).__name__.lower()} %}} inside the block"
        return ""

    def expression(self, node: nodes.Node) -> Macro | str:
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) \
                and isinstance(node.node.node, nodes.Name) and node.node.node.name == "macros" \
                and node.node.attr in ("install_pip", "install_packages") and len(node.args) == 1:
            argument: nodes.Node | None = node.args[0]
            while isinstance(argument, nodes.Filter) and argument.name == "customizable":
                argument = argument.node
            if isinstance(argument, nodes.Name):
                values = (self.found.settings.get(argument.name) or (None,))[0]
                return Macro(node.node.attr, argument.name, tuple(values or ()))
            try:
                return Macro(node.node.attr, None, tuple(self.literal(argument)))
            except _Undecided:
                pass
        if isinstance(node, nodes.Name) and isinstance(self.variables.get(node.name), str):
            return self.variables[node.name]
        return "{{ " + self.describe(node) + " }}"


def _branch_taken(node: nodes.If, reader: _Reader) -> list[nodes.Node]:
    """The body an ``if``/``elif``/``else`` chain takes for the target (_Undecided when a test
    on the way cannot be decided)."""
    for branch in (node, *node.elif_):
        if reader.test(branch.test):
            return branch.body
    return node.else_


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b, "gt": lambda a, b: a > b, "gteq": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lteq": lambda a, b: a <= b,
}


def _instructions(pieces: list[tuple[str, int]], markers: list) -> list[Instruction]:
    """Dockerfile instructions of a block's text: continuation lines joined, comment lines left out
    (as Docker does), each with the line it starts on."""
    lines: list[list] = [["", pieces[0][1] if pieces else 0]]
    for text, first in pieces:
        parts = text.split("\n")
        lines[-1][0] += parts[0]
        lines += [[part, first + offset] for offset, part in enumerate(parts[1:], 1)]
    result: list[Instruction] = []
    current: list[str] = []
    start = 0
    for raw, line in lines:
        text = raw.strip()
        if not current:
            if not text or text.startswith("#"):
                continue
            start = line
        elif text.startswith("#"):
            continue
        if text.endswith("\\"):
            current.append(text[:-1].strip())
            continue
        current.append(text)
        result.append(_instruction(" ".join(c for c in current if c), start, markers))
        current = []
    if current:
        result.append(_instruction(" ".join(c for c in current if c), start, markers))
    return result


def _instruction(text: str, line: int, markers: list) -> Instruction:
    used = [markers[int(m)] for m in MARKER.findall(text)]
    plain = MARKER.sub(lambda m: m.group(0) if isinstance(markers[int(m.group(1))], Macro)
                        else markers[int(m.group(1))], text)
    keyword, _, rest = plain.partition(" ")
    return Instruction(keyword.upper() if keyword.upper() in DOCKERFILE_INSTRUCTIONS else keyword, rest.strip(), line,
                       tuple(m for m in used if isinstance(m, Macro)),
                       tuple(m for m in used if isinstance(m, str) and m.startswith("{{")))

