"""A bindep.txt parsed with bindep's own grammar, each rule knowing its line.

bindep's ``Depends`` decides which rules are active for a set of profiles but forgets where each
rule came from, and compiles its grammar anew for every file (most of the time a run spends).
We compile bindep's grammar once, parse the file with it, give each rule the line it was written
on (rules come in file order, one per non-blank, non-comment line), and let bindep's ``Depends``
evaluate them (``bindep_adapter`` holds every use of bindep's internals). Parses and evaluations
are cached by the sha256 of the file's text, so a run on files seen before does not even import
bindep's module (its import compiles a grammar too).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BindepParseError
from ..files import write_atomically
from ..names import PACKAGE_NAME
from .bindep_adapter import Evaluator, bindep_version, evaluator, line_grammar

# bindep's grammar: a comment or blank line is spaces then '#' or nothing.
_NOT_A_RULE = re.compile(r"^ *(#.*)?$")
_PARSLEY_WHERE = re.compile(r"Parse error at line \d+, column \d+: ")


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
    #: where evaluations are kept (by the text's sha256), None for no cache
    cache: Path | None = field(default=None, compare=False, repr=False)
    _evaluations: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def depends(self) -> Evaluator:
        """bindep's Depends over these rules (bindep evaluates them)."""
        return evaluator([r.raw for r in self.rules], self.path)

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


#: bindep files longer than this are refused: parsley takes 5-8 ms a rule line (a 10,000-line file
#: took 40 s), and the longest real file has about a hundred
MAX_RULE_LINES = 2000
#: bump when the cached form of parsed rules changes (it is part of the cache key)
_CACHE_FORMAT = 2


def _lines(text: str) -> list[str]:
    """Lines as bindep's grammar sees them: split on newline only (not form feeds or other
    separators ``str.splitlines`` knows)."""
    return text.split("\n")


def parse_bindep(text: str, path: str, cache_dir: Path | None = None) -> BindepFile:
    """Parse bindep.txt content. A line bindep rejects raises BindepParseError(path, line).

    With ``cache_dir``, the rules of a text parsed before are read back instead of parsed again
    (keyed by the text's sha256, bindep's version and the cache format; parsley takes about half a
    second per file)."""
    lines = _lines(text)
    numbers = [n for n, line in enumerate(lines, start=1) if not _NOT_A_RULE.match(line)]
    if len(numbers) > MAX_RULE_LINES:
        raise BindepParseError(path, numbers[MAX_RULE_LINES], f"more than {MAX_RULE_LINES} rule lines; "
                               "not a bindep file this tool reads")
    for number in numbers:
        if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in lines[number - 1]):
            raise BindepParseError(path, number, "a control character in a rule line; remove it")
    key = hashlib.sha256(f"{_CACHE_FORMAT}:{bindep_version()}:".encode() + text.encode()).hexdigest()
    cached = cache_dir / f"{key}.json" if cache_dir else None
    raws = _read_cached(cached) if cached else None
    if raws is None:
        whole = text if text.endswith("\n") else text + "\n"  # as bindep does
        try:
            raws = line_grammar()(whole).rules()
        except Exception as whole_file_error:  # parsley raises its own ParseError type
            raise _locate_error(text, path, whole_file_error) from None
        if len(raws) != len(numbers):  # our idea of a rule line must be bindep's
            raise BindepParseError(path, numbers[0] if numbers else 1,
                                   f"bindep found {len(raws)} rules on {len(numbers)} rule lines")
        for number, raw in zip(numbers, raws):
            if not PACKAGE_NAME.match(raw[0]):
                raise BindepParseError(path, number, f"{raw[0]!r} is not a package name "
                                       "(ASCII letters, digits and . + _ - / only)")
        if cached:
            write_atomically(cached, json.dumps(raws))
    rules = tuple(Rule(name=raw[0], line=number, text=lines[number - 1], selector=_flat_selector(raw[1]), raw=raw)
                  for number, raw in zip(numbers, raws))
    evaluations = cache_dir / f"{key}.evaluated.json" if cache_dir else None
    try:
        known = json.loads(evaluations.read_text(encoding="utf-8")) if evaluations and evaluations.is_file() else {}
    except (OSError, ValueError):
        known = {}  # an unreadable cache is evaluated again
    return BindepFile(path=path, text=text, rules=rules, cache=evaluations,
                      _evaluations=_valid_evaluations(known, len(rules)))


def _valid_evaluations(known: object, count: int) -> dict:
    """The cached evaluations that are what we write (rule indices, profile names); others are dropped."""
    if not isinstance(known, dict):
        return {}
    return {key: value for key, value in known.items() if isinstance(value, list) and (
        (key == "profiles" and all(isinstance(v, str) for v in value))
        or (key.startswith("active:") and all(isinstance(v, int) and 0 <= v < count for v in value)))}


def _read_cached(cached: Path) -> list | None:
    """Rules parsed before, or None when there are none (or the cached file is not what we wrote)."""
    try:
        return [_raw_from_json(raw) for raw in json.loads(cached.read_text(encoding="utf-8"))]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, IndexError):
        cached.unlink(missing_ok=True)  # damaged: parse again
        return None


def _raw_from_json(raw: list) -> tuple:
    """Back to the grammar's shapes: bindep tells an AND-group (list) from an atom (tuple) by type.
    An atom is ``[sense, profile]``; anything else (an empty group ``()`` included) is a group."""
    name, selector, version = raw

    def is_atom(item: list) -> bool:
        return len(item) == 2 and isinstance(item[0], bool)

    groups = [tuple(g) if is_atom(g) else [tuple(a) for a in g] for g in selector]
    return (name, groups, [tuple(v) for v in version])


def _locate_error(text: str, path: str, whole_file_error: Exception) -> BindepParseError:
    """The first line bindep's grammar rejects on its own, with parsley's reason."""
    grammar = line_grammar()
    for number, line in enumerate(_lines(text), start=1):
        if _NOT_A_RULE.match(line):
            continue
        try:
            grammar(line + "\n").rules()
        except Exception as error:  # parsley raises its own ParseError type
            reason = _PARSLEY_WHERE.split(str(error).strip().splitlines()[-1])[-1]
            return BindepParseError(path, number, f"bindep cannot parse {line.strip()!r}: {reason}")
    return BindepParseError(path, 1, str(whole_file_error).strip().splitlines()[-1])
