"""The demo distribution's mapping table: what it accepts and what it refuses (no apt, no rpmbuild)."""

import pytest

from resolver.demo.distribution import MAPPING, _rpm_version, load_mapping
from resolver.errors import InputError


def test_the_shipped_mapping_names_the_profiles_el_packages():
    mapping = {p.name: p for p in load_mapping()}
    for name in ("glibc", "python3", "python3-libs", "gcc", "openldap", "openldap-devel", "cyrus-sasl-lib",
                 "memcached", "bash", "filesystem"):
        assert name in mapping, name
    assert mapping["openldap-devel"].source == "openldap"  # one source RPM, as on EL
    assert "libldap-2.5-0" in mapping["openldap"].debs
    assert mapping["filesystem"].links["/lib64"] == "usr/lib64"


@pytest.mark.parametrize("text, message", [
    ("glibc: {debs: [libc6]}\nbad name: {debs: [x1]}\n", "an EL package name"),
    ("glibc: {debs: ['libc6; rm -rf /']}\n", "'debs' must be a list of names"),
    ("glibc: {debs: [libc6], requires: [nothere]}\n", "requires nothere, not in the table"),
    ("glibc: {debs: [libc6], links: {'relative/path': x}}\n", "'links' must map absolute paths"),
    ("glibc: {debs: [libc6], colour: red}\n", "unknown key"),
    ("glibc: {debs: []}\n", "names no Debian package"),
])
def test_bad_mapping_rows_are_refused_with_the_row(tmp_path, text, message):
    path = tmp_path / "distribution.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_mapping(path)


def test_debian_versions_become_rpm_version_and_release():
    assert _rpm_version("2.5.13+dfsg-5") == ("2.5.13+dfsg", "5.demo")
    assert _rpm_version("1:2.38.1-5+deb12u3") == ("2.38.1", "5+deb12u3.demo")
    assert _rpm_version("20250419~deb12u2") == ("20250419~deb12u2", "0.demo")
    assert MAPPING.name == "distribution.yaml"
