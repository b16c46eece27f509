"""libsolv's own explanation of why a request cannot be installed: the problems dnf's strict install
reports, narrowed to the blocks that name the request (``package curl-minimal conflicts with curl
provided by curl-7.76.1``), led by the root cause.

libsolv names the last link only: ``python3-libvirt requires libvirt.so.0, but none of the
providers can be installed``. Why the providers cannot be installed is a problem of its own, one
level down; ``root_cause`` follows those links (each provider installed alone) to the first one that
is not "none of the providers can be installed": ``nothing provides libnuma.so.1(libnuma_1.6)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import dnf
import dnf.exceptions

#: a link that only says the next level down failed
_LINK = re.compile(r"package (?P<package>\S+) requires (?P<capability>.+?), but none of the providers can be installed")
#: how deep the walk goes (the longest chain on the bundled pair is 3)
_DEPTH = 8


def problem_text(base: dnf.Base, pinned: Sequence, name: str, wanted: Sequence[str]) -> str:
    """The problems of a strict install of every request that name ``name``, else those of
    ``name`` installed alone on top of the pins (packages kept exactly); the root cause first when
    libsolv names only the last link."""
    for names in (wanted, [name]):
        text = _strict_problems(base, pinned, names)
        if text is None:
            continue
        blocks = re.split(r"\n(?=\s*Problem( \d+)?:)", "\n" + text)
        naming = [b.strip() for b in blocks if b and b.strip() and re.search(rf"\b{re.escape(name)}\b", b)]
        if naming or len(names) == 1:
            found = "\n".join(naming) or text
            cause = root_cause(base, pinned, found)
            return f"{cause}\n{found}" if cause else found
    return f"{name!r} cannot be installed with the other requests, and libsolv names no problem for it"


def root_cause(base: dnf.Base, pinned: Sequence, text: str) -> str:
    """``root cause: <first real problem> (through: A requires X -> B requires Y)``, or "" when the
    text already names it (no link of the kind "none of the providers can be installed")."""
    through: list[str] = []
    seen: set[str] = set()
    for _ in range(_DEPTH):
        link = _LINK.search(text)
        if link is None or link["capability"] in seen:
            break
        seen.add(link["capability"])
        providers = base.sack.query().available().filterm(provides=link["capability"]).latest()
        if not providers:
            break
        provider = str(sorted(providers, key=str)[0])
        through.append(f"{link['package']} requires {link['capability']} -> {provider}")
        deeper = _strict_problems(base, pinned, [provider])
        if deeper is None:
            break
        text = deeper
    if not through:
        return ""
    causes = [line.strip(" -") for line in text.splitlines() if line.strip(" -")]
    first = next((c for c in causes if not _LINK.search(c) and not c.startswith("Problem")), None)
    if first is None:
        return ""
    return f"root cause: {first} (through: {'; '.join(through)})"


def _strict_problems(base: dnf.Base, pinned: Sequence, names: Sequence[str]) -> str | None:
    """dnf's error text for a strict install of these names on top of the pins; None when it works."""
    base.reset(goal=True)
    for pkg in pinned:
        base._goal.install(pkg)
    try:
        for name in names:
            base.install(name, strict=True)
        base.resolve(allow_erasing=False)
    except dnf.exceptions.Error as error:
        return str(error).strip()
    return None
