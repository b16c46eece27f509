"""Progress of long work, reported as it happens: the CLI draws it, tests may record it, library
code never prints.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Progress of long work (the CLI draws it; tests may record it)."""

    def starting(self, image: str) -> None: ...

    def resolving_again(self, image: str) -> None:
        """The image's set is dropped: it will be solved again (one provider per requirement)."""

    def stage(self, text: str) -> None:
        """A named step of the work (computing the tree, checking layer 3/31)."""


class SilentReporter:
    def starting(self, image: str) -> None:
        pass

    def resolving_again(self, image: str) -> None:
        pass

    def stage(self, text: str) -> None:
        pass
