"""Facts of the metadata kept between runs: each package's requirements with their providers, the
smaller drop-in providers, why a name cannot be installed into an empty root. One JSON file per
set of repositories, named by the digest of their ids, base URLs and loaded repomd.xml files, so
facts are only ever read back for the metadata they came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..files import write_atomically
from .repo_config import RepoSpec

KINDS = ("requirements", "dropins", "problems")


class MetadataFacts:
    def __init__(self, cache: Path, specs: Sequence[RepoSpec], repomd_sha256: Mapping[str, str]):
        digest = hashlib.sha256()
        for spec in specs:
            digest.update(f"{spec.repo_id}\0{spec.baseurl}\0{repomd_sha256[spec.repo_id]}\0".encode())
        self.path = cache / "metadata" / f"{digest.hexdigest()}.json"
        self._facts: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._loaded = self._changed = False

    def get(self, kind: str, key: str, compute: Callable[[], Any]) -> Any:
        """A fact, from the file when a run on the same metadata saw it, else computed."""
        if not self._loaded:
            self._loaded = True
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if all(isinstance(loaded.get(k), dict) for k in self._facts):
                    self._facts = loaded
            except (OSError, ValueError, AttributeError):
                pass  # absent or unreadable: computed again
        table = self._facts[kind]
        if key not in table:
            table[key] = compute()
            self._changed = True
        return table[key]

    def save(self) -> None:
        if self._changed:
            write_atomically(self.path, json.dumps(self._facts))
