from importlib import resources
from pathlib import Path

import pytest

from resolver.errors import UnknownNameError
from resolver.inputs.platforms import known_platforms, platform


def test_centos_stream_9_profiles_are_what_bindep_computes_on_that_host():
    assert platform("centos-9").profiles == {
        "platform:base-py3", "platform:centos", "platform:centos-9", "platform:redhat", "platform:rpm"}


def test_rhel_rocky_fedora_targets_carry_their_own_id_and_version():
    rhel = platform("rhel-9").profiles
    assert {"platform:rhel", "platform:rhel-9", "platform:redhat", "platform:rpm"} <= rhel
    assert "platform:centos" not in rhel
    assert {"platform:rocky", "platform:rocky-9", "platform:redhat"} <= platform("rocky-9").profiles
    assert {"platform:fedora", "platform:fedora-41", "platform:rpm"} <= platform("fedora-41").profiles
    assert "platform:rhel" not in platform("centos-9").profiles


DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n' \
            'VERSION_CODENAME=bookworm\nID=debian\n'


def _host_profiles(os_release: Path, monkeypatch) -> set[str]:
    """Make bindep's host detection (the ``distro`` library's default reader of /etc/os-release)
    read ``os_release``; the profiles bindep then computes for "this host"."""
    import bindep.depends
    import distro.distro

    monkeypatch.setattr(distro.distro, "_distro", distro.LinuxDistribution(
        include_lsb=False, os_release_file=str(os_release), distro_release_file="/nonexistent",
        include_uname=False, include_oslevel=False))
    return set(bindep.depends.Depends.__new__(bindep.depends.Depends).platform_profiles())


def test_target_is_never_the_host(tmp_path, monkeypatch):
    """Each target's profiles are the same on a Debian host and on a Fedora 41 host, whatever this
    machine runs, and none carries the host's own (dpkg, fedora)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))  # computed, not read back
    (tmp_path / "debian").write_text(DEBIAN_12)
    fedora = Path(str(resources.files("resolver") / "data" / "os-release" / "fedora-41"))
    seen = []
    try:
        for host, own in ((tmp_path / "debian", {"platform:dpkg", "platform:debian"}), (fedora, {"platform:fedora"})):
            platform.cache_clear()
            assert own <= _host_profiles(host, monkeypatch)  # bindep sees the faked host
            seen.append({name: platform(name).profiles for name in known_platforms()})
            for name, profiles in seen[-1].items():
                assert name.startswith("fedora") or not own & profiles, (host, name)
    finally:
        platform.cache_clear()
    assert seen[0] == seen[1]


def test_unknown_platform_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as error:
        platform("centos9")
    assert "centos-9" in str(error.value) and "fedora-41" in str(error.value)
