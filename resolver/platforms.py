"""Target platform name -> the ``platform:`` profiles bindep would compute on that host.

bindep reads the running host through the ``distro`` library. We never want the host (this code
may run on Debian while targeting CentOS Stream 9), so bindep's own ``platform_profiles`` runs
against a ``distro.LinuxDistribution`` that reads the target's os-release file shipped in
``resolver/data/os-release``.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import bindep.depends
import distro

from .errors import UnknownNameError

DEFAULT_PLATFORM = "centos-9"

_OS_RELEASE_DIR = resources.files("resolver") / "data" / "os-release"
# bindep looks up the module-level name ``distro``; swapping it is not thread safe.
_SWAP_LOCK = threading.Lock()


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
    target = distro.LinuxDistribution(
        include_lsb=False,
        os_release_file=str(os_release),
        distro_release_file="/nonexistent",
        include_uname=False,
        include_oslevel=False,
    )
    with _SWAP_LOCK:
        saved = bindep.depends.distro
        bindep.depends.distro = target
        try:
            # platform_profiles reads no rules: skip Depends.__init__, which compiles bindep's
            # grammar (half a second) to parse the empty text
            profiles = bindep.depends.Depends.__new__(bindep.depends.Depends).platform_profiles()
        finally:
            bindep.depends.distro = saved
    return Platform(name=name, profiles=frozenset(profiles))

