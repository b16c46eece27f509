"""The exceptions users see. Each carries a message written for the person at the terminal.

The CLI turns them into one line on stderr and an exit code; nothing below the CLI prints.
"""

from __future__ import annotations

import signal


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


class WheelPlanError(ResolverError):
    """The Python side cannot be planned (a conflict with the constraints, missing build packages)."""


class PyPIError(ResolverError):
    """The index could not be reached, or a file is not what the index says it is."""


class BuildSetupError(ResolverError):
    """This machine or user cannot build at all (a tool missing, no privileges): nothing was tried."""


class BuildError(ResolverError):
    """A stage failed: the command, its output's tail, and the image."""

    exit_code = 1


class ElfError(BuildError):
    """A file a build made or installs that starts like ELF but cannot be read as ELF (truncated,
    corrupt): the image fails, naming the file."""


class Interrupted(ResolverError):
    """The build was stopped by a signal: exit 128 + its number (130 SIGINT, 143 SIGTERM).

    Raised by the build itself once its children are stopped and its containers removed (the
    signal handlers only cancel), so it travels as an ordinary error to `main()`."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.exit_code = 128 + signum


class PruneError(ResolverError):
    """podman could not list or remove images."""

    exit_code = 1


class DemoBuildError(ResolverError):
    """The demo distribution could not be built (a missing tool, apt or rpmbuild failing)."""


class SigningError(ResolverError):
    """The demo RPMs could not be signed (gpg or rpmsign missing or failing)."""


class Terminated(BaseException):
    """SIGTERM outside a build, raised in the main thread by the CLI's handler so that cleanup
    (temporary directories, working containers) runs exactly as for Ctrl-C.

    Not a ResolverError, and not an Exception at all: like KeyboardInterrupt it must pass every
    ``except Exception`` between the handler and `main()`, which maps it to exit 143."""

    exit_code = 143
