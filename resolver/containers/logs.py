"""Per-image build logs, as kolla-build keeps them: every command an image's build runs (builder
and final stage: buildah, dnf, pip, rpm), its output as it comes, its exit code and time.

A log goes to ``DIR/IMAGE.log`` (``--logs-dir``; a new build of the image starts it afresh, the
smoke checks are added after) and, line by line, to a callback (``--verbose`` prints it on stderr,
prefixed with the image). Library code never prints: the callback is the CLI's.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from ..names import confined


class ImageLog:
    def __init__(self, image: str, directory: Path | None = None, echo: Callable[[str, str], None] | None = None,
                 append: bool = False):
        self.image = image
        self.path = confined(directory, f"{image}.log") if directory is not None else None
        self._echo = echo
        self._lock = threading.Lock()
        self._stream: IO[str] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self.path.open("a" if append else "w", encoding="utf-8", errors="replace")
            self._write(f"# {image}: {'smoke checks' if append else 'build'} started "
                        f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}\n")

    def _write(self, text: str) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.write(text)
                self._stream.flush()  # `tail -f` follows the build
            if self._echo is not None:
                for line in text.splitlines():
                    self._echo(self.image, line)

    def note(self, text: str) -> None:
        """A line of the build's own (skipped, failed, tagged)."""
        self._write(f"# {text}\n")

    def command(self, argv: Sequence[str], what: str) -> None:
        self._write(f"\n## {what}\n$ {shlex.join(argv)}\n")

    def output(self, line: str) -> None:
        self._write(line if line.endswith("\n") else line + "\n")

    def finished(self, code: int, seconds: float) -> None:
        self._write(f"## exit {code} after {seconds:.1f} s\n")

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None

    def __enter__(self) -> ImageLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
