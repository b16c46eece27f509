"""Telling unresolved requests apart on the bundled metadata, and what a best-effort run warns and a
strict run says about them over several images."""

import shutil

import pytest

from resolver.errors import InputError
from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.resolving.resolution import TreeResolver
from resolver.resolving.unresolved import (
    CRB,
    UNINSTALLABLE,
    UNKNOWN,
    Diagnosis,
    UnresolvedRequest,
    diagnose,
    unresolvable_message,
    warning_lines,
)
from resolver.selection import Origin

from .conftest import ROOT


def test_a_devel_package_of_a_source_the_repositories_build_is_in_crb(bundled_repos):
    # a source package of the metadata whose -devel it does not carry (as EL keeps most in CRB)
    stem = next(s for s in sorted(bundled_repos.source_names())
                if not bundled_repos.names_providing(f"{s}-devel") and s in bundled_repos.known_names())
    diagnosis = diagnose(f"{stem}-devel", bundled_repos)
    assert diagnosis.kind == UNKNOWN and diagnosis.elsewhere == CRB and stem in diagnosis.because
    assert diagnosis.hint(short=True) == f"in {CRB} on EL, not configured"
    assert "add it with --repos" in diagnosis.hint()


def test_a_typo_gets_close_names_and_a_soname_gets_none(bundled_repos):
    assert "lsscsi" in diagnose("lsscssi", bundled_repos).did_you_mean
    assert diagnose("lsscssi", bundled_repos).hint().startswith("did you mean ")
    soname = diagnose("libnosuch.so.9()(64bit)", bundled_repos)
    assert soname == Diagnosis(UNKNOWN) and soname.hint(short=True) == "a typo?"
    assert diagnose("bash", bundled_repos).kind == UNINSTALLABLE


def request(name, kind, image_line=1):
    return UnresolvedRequest(name, f"nothing provides {name}\n  - a second line",
                             Origin("image", f"images/tree.yaml:{image_line}"), Diagnosis(kind))


def test_warning_counts_per_image_and_names_the_unknown_names_once():
    typo = request("lsscssi", UNKNOWN)
    per_image = {"a": [typo, request("x", UNINSTALLABLE, 2)], "b": [typo], "c": []}
    first, second = warning_lines(per_image)
    assert first == ("resolver: warning: 3 requests of 2 images did not resolve (best effort): a 2, b 1")
    assert second == "resolver: warning: names these repositories have never seen: lsscssi (a, b; a typo?)"
    assert warning_lines({"": [typo]})[0] == "resolver: warning: 1 request did not resolve (best effort)"
    assert warning_lines({"a": []}) == []


def test_strict_message_lists_each_name_once_under_its_kind():
    typo = request("lsscssi", UNKNOWN)
    message = unresolvable_message({"a": [typo, request("x", UNINSTALLABLE, 2)], "b": [typo]}, ["BaseOS"])
    lines = message.splitlines()
    assert lines[0].startswith("3 request(s) of 2 image(s) cannot be resolved on BaseOS")
    assert lines.count("  the repositories have never seen these:") == 1
    assert sum("lsscssi" in line for line in lines) == 1 and "(a, b)" in message
    # the strict message gives libsolv's first cause only
    assert "nothing provides x" in message and "a second line" not in message


def test_a_provider_pin_to_a_package_the_repositories_lack_is_an_input_error(tmp_path, bundled_repos):
    profiles = tmp_path / "profiles"
    shutil.copytree(ROOT / "profiles", profiles)
    with open(profiles / "defaults.yaml", "a", encoding="utf-8") as defaults:
        defaults.write("\nproviders:\n  - {instead_of: curl, use: no-such-curl, reason: a smaller curl}\n")
    with pytest.raises(InputError, match=r"defaults\.yaml.*no package 'no-such-curl' in the repositories"):
        TreeResolver(load_images(ROOT / "images"), load_profiles(profiles), platform("centos-9"), bundled_repos,
                     strict=False)
