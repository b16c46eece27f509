from pathlib import Path

import pytest

from resolver.errors import UnknownNameError
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.inputs.sources import read_bindep
from resolver.selection import select_project

from .conftest import ROOT

PROFILES = load_profiles(ROOT / "profiles")
CENTOS9 = platform("centos-9")


def select(project, chosen=(), profiles=PROFILES):
    profile = profiles.project(project)
    return select_project(profile, read_bindep(profile.source), CENTOS9, list(chosen), profiles.defaults)


def test_nova_default_profile_drops_test_db_servers_with_reasons():
    selection = select("nova")
    excluded = {e.name: e.reason for e in selection.excluded}
    assert set(excluded) >= {"mariadb-server", "postgresql-server"}
    assert all("test" in excluded[name] for name in ("mariadb-server", "postgresql-server", "postgresql"))
    runtime = {r.name for r in selection.runtime}
    assert "openssl" in runtime
    assert not runtime & {"mariadb-server", "postgresql-server", "postgresql"}
    # upstream default lines only nova-compute's code needs are dropped; its groups take them back
    assert {"lsscsi", "openssh-clients"} <= set(excluded) and not runtime & {"lsscsi", "openssh-clients"}


def test_a_group_takes_back_a_name_dropped_from_upstream():
    selection = select("nova", ["libvirt"])
    ssh = next(r for r in selection.runtime if r.name == "openssh-clients")
    assert ssh.origin.kind == "group" and ssh.origin.profile == "libvirt" and ssh.origin.evidence


def test_build_tools_go_to_the_builder_never_to_runtime():
    selection = select("keystone")
    runtime = {r.name for r in selection.runtime}
    build = {r.name for r in selection.build_only}
    # keystone's default profile lists -devel headers: they are build-only here
    assert {"openldap-devel", "cyrus-sasl-devel", "python3-devel"} <= build
    assert not any(name.endswith("-devel") for name in runtime)
    # nova has no compile profile: its test profile is filtered by the build-tool rule
    nova = select("nova")
    nova_build = {r.name for r in nova.build_only}
    assert {"gcc", "python3-devel", "libffi-devel"} <= nova_build
    assert "python3" not in nova_build  # a test-profile entry that is not a build tool stays out


def test_backend_group_comes_with_its_reason():
    selection = select("nova", ["libvirt"])
    libvirt = {r.name: r.origin for r in selection.runtime if r.origin.kind == "group"}
    assert {"python3-libvirt", "qemu-img"} <= set(libvirt)
    assert libvirt["qemu-img"].profile == "libvirt" and libvirt["qemu-img"].reason


def test_every_origin_points_at_the_bindep_line():
    selection = select("os-brick")
    lsscsi = next(r for r in selection.runtime if r.name == "lsscsi")
    path, line = lsscsi.origin.detail.rsplit(":", 1)
    assert Path(path).read_text().splitlines()[int(line) - 1].startswith("lsscsi")


def test_octavia_default_profile_yields_nothing_on_centos(tmp_path):
    (tmp_path / "octavia.yaml").write_text(
        f"project: octavia\nsource: path:{ROOT / 'profiles/upstream/octavia.txt'}\n")
    selection = select("octavia", profiles=load_profiles(tmp_path))
    assert selection.runtime == ()


def test_unknown_profile_is_an_error_naming_the_defined_ones():
    # bindep would ignore the typo silently and ship an image without the libvirt client
    with pytest.raises(UnknownNameError) as error:
        select("nova", ["libvrit"])
    message = str(error.value)
    assert "libvrit" in message and "libvirt" in message and "test" in message


def test_a_drop_holds_for_build_only_lines_too():
    # nova's test profile (filtered: build tools only) lists mariadb-devel; nova's profile drops it
    # because nothing the builder compiles links against it: not in the builder, excluded with the reason
    selection = select("nova")
    assert "mariadb-devel" not in {r.name for r in selection.build_only}
    dropped = next(e for e in selection.excluded if e.name == "mariadb-devel")
    assert dropped.origin.kind == "drop" and "nova.yaml" in dropped.origin.detail and "compiles" in dropped.reason
    fate = next(f for f in selection.lines if f.name == "mariadb-devel")
    assert fate.fate == "excluded" and "nova.yaml" in fate.reason
    # the other build-only lines of the same profile stay
    assert {"gcc", "python3-devel", "libffi-devel"} <= {r.name for r in selection.build_only}
