"""The exceptions users see. Each carries a message written for the person at the terminal.

The CLI turns them into one line on stderr and an exit code; nothing below the CLI prints.
"""

from __future__ import annotations


class ResolverError(Exception):
    """Base of every error the tool reports to users (never shown as a traceback)."""

    #: exit code the CLI uses; 2 follows bindep's convention for input it cannot read
    exit_code = 2


class InputError(ResolverError):
    """A file the user gave (bindep, profile, image tree, repo, lock) is wrong or unreadable."""


class BindepParseError(InputError):
    """A bindep.txt line that bindep's own grammar rejects."""

    def __init__(self, filename: str, line: int, message: str):
        self.filename = filename
        self.line = line
        self.message = message
        super().__init__(f"{filename}:{line}: {message}")


class UnknownNameError(InputError):
    """A name (image, profile, platform, project) that is not defined; lists the defined ones."""

    def __init__(self, kind: str, name: str, known: list[str] | tuple[str, ...], where: str = ""):
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        at = f" in {where}" if where else ""
        choices = ", ".join(self.known) if self.known else "none"
        super().__init__(f"unknown {kind} {name!r}{at}; defined: {choices}")


class RepoError(InputError):
    """Repository metadata that cannot be found or loaded."""


class SourceError(InputError):
    """A bindep.txt source (sdist, git, path) that cannot be fetched or read."""


class UnresolvableError(ResolverError):
    """Requests that libsolv cannot satisfy on strict (user-named) repositories."""

    exit_code = 1


class LayerCheckError(ResolverError):
    """A planned layer that dnf would not install exactly on its parent (a provider split)."""

    exit_code = 1
