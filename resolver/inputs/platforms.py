"""Target platform name -> the ``platform:`` profiles bindep would compute on that host.

bindep reads the running host through the ``distro`` library. We never want the host (this code
may run on Debian while targeting CentOS Stream 9), so bindep's own ``platform_profiles`` runs
against a ``distro.LinuxDistribution`` that reads the target's os-release file shipped in
``resolver/data/os-release``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UnknownNameError
from ..files import default_cache_dir, write_atomically
from .bindep_adapter import bindep_version, platform_profiles

DEFAULT_PLATFORM = "centos-9"

_OS_RELEASE_DIR = resources.files("resolver") / "data" / "os-release"


@dataclass(frozen=True)
class Platform:
    """A target platform and the profiles bindep derives for it."""

    name: str
    profiles: frozenset[str]


def known_platforms() -> list[str]:
    return sorted(p.name for p in _OS_RELEASE_DIR.iterdir() if "." not in p.name)


@functools.cache
def platform(name: str) -> Platform:
    """The Platform for a target name such as ``centos-9`` or ``fedora-41``."""
    if name not in known_platforms():
        raise UnknownNameError("platform", name, known_platforms())
    os_release = Path(str(_OS_RELEASE_DIR / name))
    # cached by the os-release file and bindep's version: computing them imports bindep's module
    key = hashlib.sha256(os_release.read_bytes() + bindep_version().encode()).hexdigest()
    cached = default_cache_dir() / "platforms" / f"{key}.json"
    try:
        return Platform(name=name, profiles=frozenset(json.loads(cached.read_text(encoding="utf-8"))))
    except (OSError, ValueError, TypeError):
        pass
    profiles = _bindep_profiles(os_release)
    write_atomically(cached, json.dumps(sorted(profiles)))
    return Platform(name=name, profiles=frozenset(profiles))


def _bindep_profiles(os_release: Path) -> list[str]:
    import distro

    return platform_profiles(distro.LinuxDistribution(
        include_lsb=False,
        os_release_file=str(os_release),
        distro_release_file="/nonexistent",
        include_uname=False,
        include_oslevel=False,
    ))


def platform_id(name: str) -> str | None:
    """The target's ``PLATFORM_ID`` (``platform:el9``): the platform module streams require."""
    platform(name)  # an unknown name is an error listing the known ones
    for line in Path(str(_OS_RELEASE_DIR / name)).read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "PLATFORM_ID":
            return value.strip().strip('"') or None
    return None
