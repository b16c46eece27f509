"""A project's pinned release read as code (``codescan`` over its sdist, cached), and which
backend profiles each place of that code belongs to.

Scope of a use: the groups of the project's profile whose ``code`` patterns match the place it is
in (``path`` or ``path:Class.function``; ``!`` excludes); code no group claims is the project's
``default`` code. A use inside a *helper* file (``helpers``: ``nova/privsep/*.py``) counts where
the helper is called from, so ``mount`` in ``nova.privsep.fs`` is needed by the backends calling it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..files import default_cache_dir, write_atomically
from ..inputs.profiles import ProjectProfile, Release
from ..inputs.sources import release_sdist, sdist_code, sdist_console_scripts
from . import code_calls, code_uses, codescan
from .code_uses import CommandUse, DynamicUse, FileUse, ImportUse, ProjectUses

DEFAULT_SCOPE = "default"


@dataclass(frozen=True)
class ProjectCode:
    """What one release's code runs and imports."""

    project: str
    release: str
    sha256: str
    uses: ProjectUses
    console_scripts: tuple[str, ...]


def _scanner_key() -> str:
    """The scan rules' own digest: a cached scan is reused only with the rules that made it."""
    rules = b"".join(Path(str(module.__file__)).read_bytes() for module in (codescan, code_calls, code_uses))
    return hashlib.sha256(rules).hexdigest()[:16]


def project_code(project: str, release: Release, cache_dir: Path | None = None) -> ProjectCode:
    """Scan a release's sdist (downloaded once), or read the scan back from the cache."""
    cache = cache_dir or default_cache_dir()
    archive = release_sdist(release.name, release.version, cache)
    digest = archive.parent.name  # sdists/sha256/<digest>/<file>
    cached = cache / "evidence" / f"{digest}-{_scanner_key()}.json"
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        uses = ProjectUses(tuple(CommandUse(**{**c, "callers": tuple(c["callers"])}) for c in data["commands"]),
                           tuple(DynamicUse(**d) for d in data["dynamic"]),
                           tuple(ImportUse(**i) for i in data["imports"]), tuple(data["unparsed"]),
                           tuple(FileUse(**{**f, "files": tuple(f["files"]), "callers": tuple(f["callers"])})
                                 for f in data["files"]))
        return ProjectCode(project, str(release), digest, uses, tuple(data["console_scripts"]))
    uses = codescan.scan_sources(sdist_code(archive))
    scripts = sdist_console_scripts(archive)
    write_atomically(cached, json.dumps({
        "commands": [asdict(c) for c in uses.commands], "dynamic": [asdict(d) for d in uses.dynamic],
        "imports": [asdict(i) for i in uses.imports], "unparsed": list(uses.unparsed),
        "files": [asdict(f) for f in uses.files],
        "console_scripts": list(scripts)}))
    return ProjectCode(project, str(release), digest, uses, scripts)


def _specificity(pattern: str, path: str, function: str) -> int:
    """How closely a pattern names a place (its literal characters), or -1 when it does not match."""
    where, _, qualname = pattern.partition(":")
    if not fnmatch.fnmatchcase(path, where):
        return -1
    if qualname and not (fnmatch.fnmatchcase(function, qualname) or function.startswith(qualname + ".")):
        return -1
    return sum(1 for c in pattern if c not in "*?[]")


def claimed_by(profile: ProjectProfile, path: str, function: str = "") -> frozenset[str]:
    """The profiles whose code this place is: among the groups whose ``code`` matches it (and no
    ``!`` pattern of theirs excludes it), those whose pattern names it most closely
    (``imagebackend.py:Lvm`` wins over ``nova/virt/libvirt/*``); ``default`` when none claims it."""
    best, names = -1, set()
    for group in profile.groups.values():
        if any(_specificity(p[1:], path, function) >= 0 for p in group.code if p.startswith("!")):
            continue
        score = max((_specificity(p, path, function) for p in group.code if not p.startswith("!")), default=-1)
        if score > best:
            best, names = score, {group.name}
        elif score == best and score >= 0:
            names.add(group.name)
    return frozenset(names or {DEFAULT_SCOPE})


def _passes_through(profile: ProjectProfile, path: str, function: str) -> bool:
    """A helper site the search goes past to its callers: in a helper file and not named by a
    group's ``path:function`` pattern (``nova/virt/disk/api.py:extend`` stops it there)."""
    if not any(fnmatch.fnmatchcase(path, pattern) for pattern in profile.helpers):
        return False
    return not any(":" in p and _specificity(p.lstrip("!"), path, function) >= 0
                   for group in profile.groups.values() for p in group.code)


def scopes_of_command(profile: ProjectProfile, use: CommandUse) -> frozenset[str]:
    """The profiles that run a command use: those of the place it is in, or, in a helper file,
    those of its nearest callers the search does not pass through (a helper nothing calls counts
    nowhere)."""
    if not _passes_through(profile, use.path, use.function):
        return claimed_by(profile, use.path, use.function)
    found: set[str] = set()
    for chain in use.callers:
        site, *nearer = chain.split("<")  # callers' callers are written outer<inner
        path, _, function = site.split(":", 2)
        if not _passes_through(profile, path, function) and all(
                _passes_through(profile, v.partition(":")[0], v.split(":", 2)[2]) for v in nearer):
            found |= claimed_by(profile, path, function)
    return frozenset(found)

