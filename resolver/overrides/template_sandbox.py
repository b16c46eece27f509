"""Jinja's sandbox with bounds, for rendering the template values of files an import reads (TCIB
container files): a hostile value ends in ``TemplateLimit`` quickly and in bounded memory
instead of running for hours (``range(99999)`` inside ``range(99999)``) or allocating gigabytes
(``'a' * 3000000000``, ``10 ** 10 ** 9``, a string doubled in a loop).

What is bounded, per ``TemplateBudget`` (one per file read):

- steps: template lines run (each loop iteration and macro call runs at least one), counted by a
  trace function on the template's own frames, and the time they take;
- depth: nested macro calls (and the parser's and compiler's recursion: ``RecursionError`` is
  reported, not raised on);
- characters made: every operator that can make a large value (``*``, ``**``, ``+``, ``~``, a
  block's or macro's output, ``join``, the output itself) is charged before it runs;
- what can be called: Kolla/TCIB values use names, comparisons and a few filters; the filters
  and methods whose output can grow faster than their input (``center``, ``format``, ``%``,
  ``replace``, ``lipsum``...) are not available, which Jinja reports as a template error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2.runtime import Macro
from jinja2.utils import Cycler, Joiner, Namespace

#: per file: template lines run, nested template calls, characters made, seconds spent
MAX_STEPS = 1_000_000
MAX_DEPTH = 64
MAX_CREATED = 4_000_000
MAX_SECONDS = 5.0
#: the largest integer an operator may make (a 4096-bit number has 1,234 digits)
MAX_INT_BITS = 4096
#: a range's length (Jinja's sandbox allows 100,000; no real value loops more than a few times)
MAX_RANGE = 10_000

#: filters whose output is at most a small multiple of their input (``join`` is charged)
_FILTERS = ("default", "d", "lower", "upper", "capitalize", "title", "trim", "string", "length", "count", "first",
            "last", "int", "float", "abs", "round", "list", "items", "join", "unique", "sort", "reverse", "min",
            "max", "dictsort", "e", "escape")
#: methods the values call on strings and mappings (``'x'.startswith()``, ``item.items()``)
_METHODS = {str: ("startswith", "endswith", "lower", "upper", "strip", "lstrip", "rstrip", "isdigit", "count", "find"),
            dict: ("items", "keys", "values", "get")}


class TemplateLimit(Exception):
    """A template value that would run longer, nest deeper or make more than the import allows."""


class TemplateBudget:
    """What one file's template values may still spend (steps, characters, time)."""

    def __init__(self) -> None:
        self.steps = 0
        self.created = 0
        self.depth = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def charge(self, size: int) -> None:
        self.created += size
        if self.created > MAX_CREATED:
            raise TemplateLimit(f"makes more than {MAX_CREATED:,} characters")

    def trace(self, frame: Any, event: str, _arg: Any) -> Callable | None:
        """A ``sys.settrace`` function following only the template's own code."""
        if frame.f_code.co_filename != "<template>":
            return None
        if event == "call":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise TemplateLimit(f"nests calls more than {MAX_DEPTH} deep (a macro calling itself?)")
        elif event == "return":
            self.depth -= 1
        elif event == "line":
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise TemplateLimit(f"runs more than {MAX_STEPS:,} template steps (a loop inside a loop?)")
            if time.monotonic() > self.deadline:
                raise TemplateLimit(f"takes more than {MAX_SECONDS:g} s")
        return self.trace


class BoundedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (undefined names raise) charging a ``TemplateBudget``."""

    intercepted_binops = frozenset(("+", "*", "**", "%", "//", "/", "-"))

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, finalize=self._finalize)
        self.budget = TemplateBudget()
        self.filters = {name: self.filters[name] for name in _FILTERS}
        self.filters["join"] = self._join
        self.globals = {"range": self._range, "dict": dict, "namespace": Namespace, "cycler": Cycler,
                        "joiner": Joiner}

    def render(self, text: str, context: dict[str, Any]) -> str:
        """``text`` rendered with ``context`` on the current budget: ``TemplateLimit`` when it
        would spend too much, jinja2's errors for what it cannot fill in."""
        previous = sys.gettrace()
        sys.settrace(self.budget.trace)
        try:
            template = self.from_string(text)
            template.root_render_func.__globals__["str_join"] = self._str_join
            output = []
            for chunk in template.generate(context):
                self.budget.charge(len(chunk))
                output.append(chunk)
            return "".join(output)
        except RecursionError:
            raise TemplateLimit("is nested too deeply") from None
        finally:
            sys.settrace(previous)
            self.budget.depth = 0

    # ---- what the compiled template calls --------------------------------------------------------

    def concat(self, pieces: Iterable[str]) -> str:
        """A block's or macro's output (``environment.concat`` in the compiled code)."""
        pieces = list(pieces)
        self.budget.charge(sum(len(piece) for piece in pieces))
        return "".join(pieces)

    def _str_join(self, values: Iterable[Any]) -> str:
        """``a ~ b``: charged before it is made."""
        texts = [str(value) for value in values]
        self.budget.charge(sum(len(text) for text in texts))
        return "".join(texts)

    def _finalize(self, value: Any) -> Any:
        text = str(value)
        self.budget.charge(len(text))
        return text

    def _join(self, value: Iterable[Any], separator: str = "", attribute: Any = None) -> str:
        """Jinja's ``join`` filter, charged before the joined string is made."""
        items = [str(item if attribute is None else self.getitem(item, attribute)) for item in value]
        self.budget.charge(sum(len(item) for item in items) + len(str(separator)) * len(items))
        return str(separator).join(items)

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise TemplateLimit(f"makes a range of {len(numbers):,} numbers (at most {MAX_RANGE:,})")
        self.budget.charge(len(numbers))
        return numbers

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise TemplateLimit("formats a string with % (not evaluated: its width is unbounded)")
        if operator == "*" and (isinstance(left, int) and isinstance(right, (str, list, tuple))):
            left, right = right, left
        if operator == "*" and isinstance(left, (str, list, tuple)) and isinstance(right, int):
            self.budget.charge(len(left) * max(right, 0))
        elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            self.budget.charge(len(left) + len(right))
        elif isinstance(left, int) and isinstance(right, int):
            bits = _int_bits(operator, abs(left), right)
            if bits > MAX_INT_BITS:
                raise TemplateLimit(f"makes a number of more than {MAX_INT_BITS} bits")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's)
        if not _callable_here(__self, __obj):
            raise jinja2.sandbox.SecurityError(f"{getattr(__obj, '__name__', __obj)!r} is not evaluated by the import")
        return super().call(__context, __obj, *args, **kwargs)


def _int_bits(operator: str, left: int, right: int) -> int:
    """An upper bound on the bits of ``left OP right`` (``left`` its absolute value)."""
    if operator == "**":
        return right * max(left.bit_length(), 1) if right > 0 and left > 1 else 1
    if operator == "*":
        return left.bit_length() + abs(right).bit_length()
    return max(left.bit_length(), abs(right).bit_length()) + 1


def _callable_here(sandbox: BoundedSandbox, obj: Any) -> bool:
    if isinstance(obj, Macro) or any(obj is value for value in sandbox.globals.values()):
        return True
    owner = getattr(obj, "__self__", None)
    return any(isinstance(owner, kind) and getattr(obj, "__name__", "") in names for kind, names in _METHODS.items())
