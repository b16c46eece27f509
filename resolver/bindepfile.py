"""A bindep.txt parsed with bindep's own grammar, each rule knowing its line.

bindep's ``Depends`` decides which rules are active for a set of profiles but forgets where each
rule came from. We keep bindep as the judge: ``Depends.active_rules`` picks the rules, and the
same grammar applied line by line gives each rule its line number (active rules come back in file
order, so they are matched to lines in order).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import bindep.depends
from parsley import makeGrammar

from .errors import BindepParseError

# bindep's grammar: a comment or blank line is spaces then '#' or nothing.
_NOT_A_RULE = re.compile(r"^ *(#.*)?$")
_PARSLEY_WHERE = re.compile(r"Parse error at line \d+, column \d+: ")


@functools.cache
def _line_grammar():
    """bindep's grammar compiled once (bindep recompiles it for every Depends)."""
    return makeGrammar(bindep.depends.grammar, {})


def _flat_selector(selector: list) -> tuple[tuple[bool, str], ...]:
    """Selector atoms as (sense, profile); AND-groups ``(a b)`` are flattened."""
    atoms: list[tuple[bool, str]] = []
    for group in selector:
        atoms.extend(group if isinstance(group, list) else [group])
    return tuple(atoms)


@dataclass(frozen=True)
class Rule:
    """One bindep line: a package name and its selector, with where it was written."""

    name: str
    line: int
    text: str
    selector: tuple[tuple[bool, str], ...]
    raw: tuple = field(compare=False, repr=False)

    @property
    def user_profiles(self) -> frozenset[str]:
        """Positive non-platform profiles (``test``, ``compile``...) this rule names."""
        return frozenset(p for sense, p in self.selector if sense and not p.startswith("platform:"))

    @property
    def platform_atoms(self) -> tuple[tuple[bool, str], ...]:
        return tuple((sense, p) for sense, p in self.selector if p.startswith("platform:"))


@dataclass(frozen=True)
class BindepFile:
    """A parsed bindep.txt. ``path`` is how messages name it."""

    path: str
    text: str
    rules: tuple[Rule, ...]
    depends: bindep.depends.Depends = field(compare=False, repr=False)

    def defined_profiles(self) -> frozenset[str]:
        """User profiles the file mentions (bindep's ``Depends.profiles``)."""
        return frozenset(self.depends.profiles())

    def active(self, profiles: Iterable[str]) -> tuple[Rule, ...]:
        """Rules bindep selects for these profiles (platform and user profiles together)."""
        chosen = self.depends.active_rules(list(profiles))
        result: list[Rule] = []
        lines = iter(self.rules)
        for raw in chosen:
            for rule in lines:
                if list(rule.raw) == list(raw):
                    result.append(rule)
                    break
        return tuple(result)


def parse_bindep(text: str, path: str) -> BindepFile:
    """Parse bindep.txt content. A line bindep rejects raises BindepParseError(path, line)."""
    try:
        depends = bindep.depends.Depends(text, path)
    except bindep.depends.DependsException as whole_file_error:
        raise _locate_error(text, path, whole_file_error) from None
    grammar = _line_grammar()
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _NOT_A_RULE.match(line):
            continue
        (raw,) = grammar(line + "\n").rules()
        name, selector, _version = raw
        rules.append(Rule(name=name, line=number, text=line, selector=_flat_selector(selector), raw=raw))
    return BindepFile(path=path, text=text, rules=tuple(rules), depends=depends)


def _locate_error(text: str, path: str, whole_file_error: Exception) -> BindepParseError:
    """The first line bindep's grammar rejects on its own, with parsley's reason."""
    grammar = _line_grammar()
    for number, line in enumerate(text.splitlines(), start=1):
        if _NOT_A_RULE.match(line):
            continue
        try:
            grammar(line + "\n").rules()
        except Exception as error:  # parsley raises its own ParseError type
            reason = _PARSLEY_WHERE.split(str(error).strip().splitlines()[-1])[-1]
            return BindepParseError(path, number, f"bindep cannot parse {line.strip()!r}: {reason}")
    return BindepParseError(path, 1, str(whole_file_error).strip().splitlines()[-1])
