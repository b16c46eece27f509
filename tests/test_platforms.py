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


def test_target_is_never_the_host():
    # This machine runs Debian: its profiles (dpkg) must not leak into an rpm target.
    for name in known_platforms():
        assert "platform:dpkg" not in platform(name).profiles
        assert "platform:debian" not in platform(name).profiles


def test_unknown_platform_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as error:
        platform("centos9")
    assert "centos-9" in str(error.value) and "fedora-41" in str(error.value)
