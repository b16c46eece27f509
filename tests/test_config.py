import re

import pytest

from resolver.errors import InputError, UnknownNameError
from resolver.inputs.image_tree import load_images
from resolver.inputs.profiles import load_profiles

from .conftest import ROOT

REQUIRED = {"base", "openstack-base", "nova-base", "nova-api", "nova-conductor", "nova-scheduler",
            "nova-compute", "nova-libvirt", "keystone-base", "keystone", "glance-api", "cinder-base",
            "cinder-api", "cinder-scheduler", "cinder-volume", "neutron-server", "placement-api",
            "heat-api", "heat-engine", "horizon", "memcached", "mariadb"}


def test_shipped_tree_has_the_required_images_parents_first():
    tree = load_images(ROOT / "images")
    names = tree.names()
    assert REQUIRED <= set(names)
    for name in names:
        parent = tree.spec(name).parent
        assert parent is None or names.index(parent) < names.index(name)
    assert tree.ancestors("nova-compute") == ["base", "openstack-base", "nova-base"]
    assert not tree.spec("nova-base").deployed and tree.spec("nova-compute").deployed


def test_every_project_used_by_an_image_has_a_profile():
    tree = load_images(ROOT / "images")
    profiles = load_profiles(ROOT / "profiles")
    used = {p for name in tree.names() for p in tree.spec(name).projects}
    assert used <= set(profiles.projects)


def _tree(tmp_path, text):
    (tmp_path / "tree.yaml").write_text(text)
    return load_images(tmp_path)


def test_cycle_is_an_error(tmp_path):
    with pytest.raises(InputError, match="cycle"):
        _tree(tmp_path, "- {name: root}\n- {name: a, parent: b}\n- {name: b, parent: a}\n")


def test_missing_parent_is_an_error_listing_images(tmp_path):
    with pytest.raises(UnknownNameError, match="nova-bsae.*defined: base"):
        _tree(tmp_path, "- {name: base}\n- {name: nova-api, parent: nova-bsae}\n")


def test_duplicate_name_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("- {name: base}\n")
    with pytest.raises(InputError, match="already defined"):
        _tree(tmp_path, "- {name: base}\n")


def test_package_name_with_shell_metacharacters_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a package name"):
        _tree(tmp_path, "- {name: base, packages: ['bash; rm -rf /']}\n")


def test_correction_without_reason_is_refused(tmp_path):
    (tmp_path / "nova.yaml").write_text("project: nova\nsource: nova.txt\ndrop:\n  - name: gcc\n")
    with pytest.raises(InputError, match="reason"):
        load_profiles(tmp_path)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    with pytest.raises(InputError, match=r"tree.yaml:2: invalid YAML"):
        _tree(tmp_path, "- name: base\n  parent: a: b\n- name: other\n")


@pytest.mark.parametrize("text, words", [
    ("a0: &a0 [x, x]\na1: &a1 [*a0, *a0]\n", "anchors"),
    ("- {name: base}\n- *base\n", "aliases (*name) are not accepted"),
    ("- " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels deep"),
    ("- {name: base, deployed: 'false'}\n", "'deployed' must be a bool"),
    ("- {name: base, packages: [{name: tzdata, reason: [1]}]}\n", "needs a 'reason'"),
    ("- {name: base, projects: {nova: [{profile: []}]}}\n", "not a bindep profile name"),
    ("- {name: base}\n- {1: x}\n", "a key must be a string"),
    ("- {name: base, build: {run: \"true\\nRUN touch /x\"}}\n", "control character"),
    ("- {name: base, build: {run: 'true', artifacts: /out/../etc}}\n", "without '..'"),
    ("- {name: ../base}\n", "not an image name"),
])
def test_wrong_or_hostile_image_files_are_refused_with_file_and_line(tmp_path, text, words):
    (tmp_path / "tree.yaml").write_text(text)
    with pytest.raises(InputError, match=re.escape(words)) as error:
        load_images(tmp_path)
    assert "tree.yaml:" in str(error.value)


@pytest.mark.parametrize("text, words", [
    ("build_tool_patterns: gcc\n", "must be a list"),
    ("build_tool_patterns: ['(']\n", "not a regular expression"),
    ("drop: [{name: gcc, reason: x, profile: []}]\n", "not a bindep profile name"),
])
def test_wrong_defaults_are_refused(tmp_path, text, words):
    (tmp_path / "defaults.yaml").write_text(text)
    with pytest.raises(InputError, match=re.escape(words)):
        load_profiles(tmp_path)


def test_a_second_profile_for_one_project_is_an_error(tmp_path):
    for name in ("nova.yaml", "nova-copy.yaml"):
        (tmp_path / name).write_text("project: nova\nsource: nova.txt\n")
    with pytest.raises(InputError, match="already defined"):
        load_profiles(tmp_path)


def test_a_project_name_that_would_become_a_path_is_refused(tmp_path):
    (tmp_path / "x.yaml").write_text("project: ../../x\nsource: x.txt\n")
    with pytest.raises(InputError, match="not a project name"):
        load_profiles(tmp_path)
