"""Every upstream bindep line gets a fate (runtime, build-only, excluded with a reason; resolution
adds unresolved), for every bundled upstream file; `default` is evaluated as bindep evaluates it."""

from dataclasses import replace

import pytest

from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.inputs.sources import Source, read_bindep
from resolver.selection import select_project

from .conftest import ROOT, UPSTREAM

PROFILES = load_profiles(ROOT / "profiles")
CENTOS9 = platform("centos-9")
FILES = sorted(p for p in UPSTREAM.glob("*.txt") if p.name != "SOURCES.txt")


def profile_for(path):
    """The project's profile, or a bare one (default rules) for a file profiles/ does not use."""
    if path.stem in PROFILES.projects:
        return PROFILES.projects[path.stem]
    bare = next(iter(PROFILES.projects.values()))
    return replace(bare, project=path.stem, source=Source("path", str(path)), groups={}, drop=(), add=(),
                   runtime_profiles=(), build_profiles=(), filtered_build_profiles=("test",), helpers=())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_line_of_every_upstream_file_has_one_fate(path):
    profile = profile_for(path)
    bindep = read_bindep(profile.source)
    selection = select_project(profile, bindep, CENTOS9, [], PROFILES.defaults)
    fates = {line.line: line for line in selection.lines}
    assert sorted(fates) == [rule.line for rule in bindep.rules]  # one fate per rule line, none gone
    for rule in bindep.rules:
        fate = fates[rule.line]
        assert fate.name == rule.name and fate.fate in ("runtime", "build-only", "excluded")
        assert fate.reason, (path.name, rule.line)
        if fate.fate == "runtime":
            assert rule.name in {r.name for r in selection.runtime}
        if fate.fate == "build-only":
            assert rule.name in {r.name for r in selection.build_only}


def test_default_profile_is_evaluated_when_no_profile_is_named():
    ironic = PROFILES.project("ironic")
    bindep = read_bindep(ironic.source)
    # ironic-conductor names only overlay groups: bindep evaluates `default`, so [default] lines count
    conductor = select_project(ironic, bindep, CENTOS9, ["conductor"], PROFILES.defaults)
    runtime = {r.name for r in conductor.runtime}
    assert {"ipmitool", "socat"} <= runtime
    # upstream's boot-loader names are dropped for the EL9 packages of the pxe-loaders profile,
    # which is off by default ([pxe]loader_file_paths is empty)
    assert not runtime & {"shim-x64", "grub2-efi-x64", "ipxe-bootimgs-x86", "shim", "grub2-efi"}
    loaders = select_project(ironic, bindep, CENTOS9, ["conductor", "pxe-loaders"], PROFILES.defaults)
    assert {"shim-x64", "grub2-efi-x64", "ipxe-bootimgs-x86"} <= {r.name for r in loaders.runtime}
    # the API's apache profile drops them, each with its reason
    api = select_project(ironic, bindep, CENTOS9, ["apache"], PROFILES.defaults)
    dropped = {e.name: e.reason for e in api.excluded}
    assert "ipmitool" in dropped and "ironic-api runs no ipmitool" in dropped["ipmitool"]
    # naming a profile the file defines replaces `default`, as `bindep devstack` does
    devstack = select_project(ironic, bindep, CENTOS9, ["devstack"], PROFILES.defaults)
    assert "ipmitool" not in {r.name for r in devstack.runtime}
    line = next(f for f in devstack.lines if f.name == "ipmitool")
    assert line.fate == "excluded" and "profile default is not evaluated" in line.reason


def test_unresolved_runtime_lines_say_so(tree_resolver):
    image = tree_resolver.image("nova-compute")
    fates = {(line.name, line.fate) for line in image.upstream_lines()}
    assert ("lsscsi", "runtime") in fates or ("lsscsi", "unresolved") in fates
    unresolved = [line for line in image.upstream_lines() if line.fate == "unresolved"]
    for line in unresolved:
        assert line.name in {u.name for u in image.unresolved} and line.reason
