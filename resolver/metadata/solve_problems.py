"""libsolv's own explanation of why a request cannot be installed: the problems dnf's strict install
reports, narrowed to the blocks that name the request (``package curl-minimal conflicts with curl
provided by curl-7.76.1``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import dnf
import dnf.exceptions


def problem_text(base: dnf.Base, pinned: Sequence, name: str, wanted: Sequence[str]) -> str:
    """The problems of a strict install of every request that name ``name``, else those of
    ``name`` installed alone on top of the pins (packages kept exactly)."""
    for names in (wanted, [name]):
        text = _strict_problems(base, pinned, names)
        if text is None:
            continue
        blocks = re.split(r"\n(?=\s*Problem( \d+)?:)", "\n" + text)
        naming = [b.strip() for b in blocks if b and b.strip() and re.search(rf"\b{re.escape(name)}\b", b)]
        if naming or len(names) == 1:
            return "\n".join(naming) or text
    return f"{name!r} cannot be installed with the other requests, and libsolv names no problem for it"


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
