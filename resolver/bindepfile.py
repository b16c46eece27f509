"""A bindep.txt parsed with bindep's own grammar, each rule knowing its line.

bindep's ``Depends`` decides which rules are active for a set of profiles but forgets where each
rule came from, and compiles its grammar anew for every file (most of the time a run spends).
We compile bindep's grammar once, parse the file with it, give each rule the line it was written
on (rules come in file order, one per non-blank, non-comment line), and let bindep's ``Depends``
evaluate them. Parses and evaluations are cached by the sha256 of the file's text, so a run on
files seen before does not even import bindep's module (its import compiles a grammar too).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BindepParseError
from .files import write_atomically

# bindep's grammar: a comment or blank line is spaces then '#' or nothing.
_NOT_A_RULE = re.compile(r"^ *(#.*)?$")
_PARSLEY_WHERE = re.compile(r"Parse error at line \d+, column \d+: ")


@functools.cache
def _line_grammar():
    """bindep's grammar compiled once (bindep recompiles it for every Depends)."""
    import bindep.depends
    from parsley import makeGrammar

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


@functools.cache
def _parsed_depends_type():
    import bindep.depends

    class ParsedDepends(bindep.depends.Depends):
        """bindep's Depends over rules already parsed with its grammar (its __init__ would parse
        the text again with a freshly compiled grammar); sets what that __init__ sets."""

        def __init__(self, rules: list, filename: str):
            self.filename = filename
            self._rules = rules

    return ParsedDepends


@dataclass(frozen=True)
class BindepFile:
    """A parsed bindep.txt. ``path`` is how messages name it."""

    path: str
    text: str
    rules: tuple[Rule, ...]
    #: where evaluations are kept (by the text's sha256), None for no cache
    cache: Path | None = field(default=None, compare=False, repr=False)
    _evaluations: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def depends(self):
        """bindep's Depends over these rules (bindep evaluates them)."""
        return _parsed_depends_type()([r.raw for r in self.rules], self.path)

    def defined_profiles(self) -> frozenset[str]:
        """User profiles the file mentions (bindep's ``Depends.profiles``)."""
        if "profiles" not in self._evaluations:
            self._remember("profiles", sorted(self.depends.profiles()))
        return frozenset(self._evaluations["profiles"])

    def active(self, profiles: Iterable[str]) -> tuple[Rule, ...]:
        """Rules bindep selects for these profiles (platform and user profiles together)."""
        profiles = list(profiles)
        key = "active:" + "\0".join(sorted(set(profiles)))
        if key not in self._evaluations:
            chosen = self.depends.active_rules(profiles)
            indices = []
            lines = iter(enumerate(self.rules))
            for raw in chosen:
                for index, rule in lines:
                    if list(rule.raw) == list(raw):
                        indices.append(index)
                        break
            self._remember(key, indices)
        return tuple(self.rules[i] for i in self._evaluations[key])

    def _remember(self, key: str, value: list) -> None:
        self._evaluations[key] = value
        if self.cache is not None:
            write_atomically(self.cache, json.dumps(self._evaluations, sort_keys=True))


def parse_bindep(text: str, path: str, cache_dir: Path | None = None) -> BindepFile:
    """Parse bindep.txt content. A line bindep rejects raises BindepParseError(path, line).

    With ``cache_dir``, the rules of a text parsed before are read back instead of parsed again
    (keyed by the text's sha256; parsley takes about half a second per file)."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    cached = cache_dir / f"{digest}.json" if cache_dir else None
    if cached and cached.is_file():
        raws = [_raw_from_json(raw) for raw in json.loads(cached.read_text(encoding="utf-8"))]
    else:
        whole = text if text.endswith("\n") else text + "\n"  # as bindep does
        try:
            raws = _line_grammar()(whole).rules()
        except Exception as whole_file_error:  # parsley raises its own ParseError type
            raise _locate_error(text, path, whole_file_error) from None
        if cached:
            write_atomically(cached, json.dumps(raws))
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if not _NOT_A_RULE.match(line)]
    assert len(numbers) == len(raws), "one rule per rule line"
    lines = text.splitlines()
    rules = tuple(Rule(name=raw[0], line=number, text=lines[number - 1], selector=_flat_selector(raw[1]), raw=raw)
                  for number, raw in zip(numbers, raws))
    evaluations = cache_dir / f"{digest}.evaluated.json" if cache_dir else None
    try:
        known = json.loads(evaluations.read_text(encoding="utf-8")) if evaluations and evaluations.is_file() else {}
    except (OSError, ValueError):
        known = {}  # an unreadable cache is evaluated again
    return BindepFile(path=path, text=text, rules=rules, cache=evaluations,
                      _evaluations=known if isinstance(known, dict) else {})


def _raw_from_json(raw: list) -> tuple:
    """Back to the grammar's shapes: bindep tells an AND-group (list) from an atom (tuple) by type."""
    name, selector, version = raw
    groups = [tuple(g) if isinstance(g[0], bool) else [tuple(a) for a in g] for g in selector]
    return (name, groups, [tuple(v) for v in version])


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
