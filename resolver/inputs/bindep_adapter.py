"""Every use of bindep's internals, in one place.

bindep has no library API: resolver compiles its grammar (``bindep.depends.grammar``) once
instead of once per file, evaluates already-parsed rules with ``Depends`` (setting the
``_rules`` and ``filename`` its ``__init__`` would set) and computes a target's ``platform:``
profiles by swapping the module-level ``distro`` bindep reads. These names are private, so the
bindep versions resolver was tested with are pinned (``SUPPORTED``, the same range as
pyproject.toml); another version is refused with an error saying so, and a missing internal is a
ResolverError naming the version rather than an AttributeError.
"""

from __future__ import annotations

import functools
import importlib.metadata
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ..errors import ResolverError

#: bindep releases whose internals resolver was tested with (keep in step with pyproject.toml)
SUPPORTED = ">=2.11,<2.15"
# bindep looks up the module-level name ``distro``; swapping it is not thread safe.
_SWAP_LOCK = threading.Lock()


class Evaluator(Protocol):
    """What resolver asks of bindep's ``Depends``."""

    def profiles(self) -> list[str]: ...

    def active_rules(self, profiles: list[str]) -> list[Any]: ...


def check_supported(version: str) -> str:
    """``version`` when resolver supports it, else a ResolverError saying which versions it does."""
    try:
        supported = Version(version) in SpecifierSet(SUPPORTED)
    except InvalidVersion:
        supported = False
    if not supported:
        raise ResolverError(f"bindep {version} is installed, but resolver uses bindep's internals and supports "
                            f"bindep{SUPPORTED} only; install one: pip install 'bindep{SUPPORTED}' "
                            "(./bootstrap does)")
    return version


@functools.cache
def bindep_version() -> str:
    """The installed bindep's version, once it is one resolver supports (caches of its results
    are keyed by it)."""
    try:
        version = importlib.metadata.version("bindep")
    except importlib.metadata.PackageNotFoundError:
        raise ResolverError("bindep is not installed for this Python; run ./bootstrap (it makes .venv with "
                            "bindep), then .venv/bin/resolver") from None
    return check_supported(version)


@contextmanager
def _internals() -> Iterator[Any]:
    """bindep's ``depends`` module, with a missing or changed internal turned into a ResolverError."""
    version = bindep_version()
    try:
        import bindep.depends

        yield bindep.depends
    except (AttributeError, TypeError) as error:
        raise ResolverError(f"bindep {version} lacks what resolver uses of its internals ({error}); "
                            f"install bindep{SUPPORTED}") from None


@functools.cache
def line_grammar() -> Any:
    """bindep's grammar compiled once (bindep recompiles it for every Depends); called on a text,
    ``.rules()`` gives bindep's raw rules."""
    from parsley import makeGrammar

    with _internals() as depends:
        return makeGrammar(depends.grammar, {})


@functools.cache
def _parsed_depends_type() -> type:
    with _internals() as depends:
        base: Any = depends.Depends

        class ParsedDepends(base):
            """bindep's Depends over rules already parsed with its grammar (its __init__ would parse
            the text again with a freshly compiled grammar); sets what that __init__ sets."""

            def __init__(self, rules: list, filename: str):
                self.filename = filename
                self._rules = rules

        return ParsedDepends


class _Checked:
    """A Depends whose calls turn a changed internal into a ResolverError."""

    def __init__(self, depends: Any):
        self._depends = depends

    def profiles(self) -> list[str]:
        with _internals():
            return list(self._depends.profiles())

    def active_rules(self, profiles: list[str]) -> list[Any]:
        with _internals():
            return list(self._depends.active_rules(profiles))


def evaluator(raw_rules: Iterable[Any], filename: str) -> Evaluator:
    """bindep's evaluation of rules parsed with ``line_grammar`` (the file named ``filename``)."""
    return _Checked(_parsed_depends_type()(list(raw_rules), filename))


def platform_profiles(target: Any) -> list[str]:
    """The ``platform:`` profiles bindep computes on a host that ``target`` (a
    ``distro.LinuxDistribution``) describes, instead of the running host."""
    with _internals() as depends, _SWAP_LOCK:
        saved = depends.distro
        depends.distro = target
        try:
            # platform_profiles reads no rules: skip Depends.__init__, which compiles bindep's
            # grammar (half a second) to parse the empty text
            return list(depends.Depends.__new__(depends.Depends).platform_profiles())
        finally:
            depends.distro = saved
