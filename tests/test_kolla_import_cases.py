"""`resolver import-kolla` case by case on a crafted override file (tests/data/kolla-crafted: each
line one case; the real upstream files are in tests/test_imports.py): what is imported, what is
not and why, what is skipped, each at its file:line."""

import pytest

from resolver.errors import InputError
from resolver.inputs.platforms import platform
from resolver.overrides.import_entries import rpm_name_candidates
from resolver.overrides.kolla_template import read_kolla_file

from .conftest import ROOT
from .test_imports import entry, run_import

CRAFTED = ROOT / "tests" / "data" / "kolla-crafted"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    code, data, output = run_import(tmp_path_factory.mktemp("cases"), "import-kolla", CRAFTED / "crafted-cases.j2")
    assert code == 1
    return data, output


def lines(items, **match):
    return sorted(i["line"] for i in items if all(i.get(k) == v for k, v in match.items()))


def test_lists_and_branches_taken_for_the_target_are_imported(cases):
    data, _ = cases
    got = {(i["image"], i["kind"], i["value"], i["line"]) for i in data["imported"]}
    assert got == {
        ("nova-api", "add-package", "strace", 2),  # a list a footer installs with Kolla's macro
        ("nova-api", "add-package", "lsof", 10),  # _override: its entries are added
        (None, "add-repo", "crafted", 15),  # the .repo file beside the override file
        ("nova-conductor", "add-package", "lsof", 22),  # the `if` taken for centos-9
        ("nova-scheduler", "add-package", "lsof", 29),  # and/or/not/in/is defined/comparisons
        ("nova-compute", "step", "echo x86 && true", 69),  # continued line, comment dropped, `elif` taken
        ("nova-compute", "pip", "requests", 75),
        ("nova-compute", "add-package", "lsof", 76),
        ("nova-compute", "step", "echo centos", 77),  # a target variable filled in
    }


@pytest.mark.parametrize(("item", "line", "reason"), [
    ("sudo", 6, "from its parent base"),
    ("requests", 7, "removing one is not supported"),
    ("not a requirement ???", 8, "not a Python requirement"),
    ("some-gem", 9, "plugin list"),
    ("set nova_api_packages_override", 10, "replaces Kolla's whole list"),
    ("set some_local_variable", 11, "not a list Kolla customises"),
    ("set nova_api_packages_append", 12, "not a literal list"),
    ("set nowhere_packages_append", 13, "unknown image 'nowhere'"),
    ("crb", 17, "enables a repository resolver is not given"),
    ("{% macro helper() %}{% endmacro %}", 20, "top-level {% macro %}"),
    ("set nova_scheduler_packages_append", 32, "depends on unknown_flag | bool"),
    ("set nova_scheduler_pip_packages_append", 38, "depends on site.option"),
    ("FROBNICATE something", 40, "not a Dockerfile instruction"),
    ("ENV FOO=bar", 41, "environment"),
    ("RUN echo built on {{ build_date }}", 42, "only Kolla fills in ({{ build_date }})"),
    ("block nova_conductor_footer", 45, "a {% assign %} inside the block"),
    ("block nowhere_footer", 48, "unknown image 'nowhere'"),
    ("block nova_api_packages", 52, "replaces Kolla's own block"),
    ("block nova_api_header", 55, "an `if` on unknown_flag inside the block"),
])
def test_what_is_not_imported_says_why_at_its_line(cases, item, line, reason):
    data, output = cases
    found = entry(data["not_imported"], item=item, line=line)
    assert reason in found["reason"]
    assert f"crafted-cases.j2:{line}: {item}" in output.read_text()  # listed in the written file too


def test_the_rest_of_an_undecidable_chain_is_not_imported_either(cases):
    data, _ = cases
    assert lines(data["not_imported"], item="set nova_scheduler_packages_append") == [32, 34, 36]


@pytest.mark.parametrize(("item", "line", "reason"), [
    ("lsof", 4, "overwritten by the `set nova_api_packages_append` at line 5"),
    ("strace", 5, "overwritten by the `set nova_api_packages_append` at line 12"),
    ("missing.repo", 14, "overwritten by the `set base_yum_repo_files_append` at line 15"),
    ("epel", 16, "resolver does not use a repository 'epel'"),
    ("key", 18, "changes Kolla's default repository setup"),
    ("set nova_api_ubuntu_packages_append", 19, "Debian/Ubuntu"),
    ("set nova_conductor_packages_append", 24,
     "{% elif base_distro_tag.startswith('stream') %}` (line 23) is not taken"),
    ("set nova_conductor_packages_append", 26, "the `else` of"),
    ("block base_footer", 51, "an empty block"),
])
def test_what_needs_no_counterpart_is_skipped_with_why(cases, item, line, reason):
    data, _ = cases
    assert reason in entry(data["skipped"], item=item, line=line)["reason"]


def test_the_written_file_holds_the_imported_repository(cases):
    _, output = cases
    text = output.read_text()
    assert "crafted" in text and "https://example.invalid/crafted/$basearch/" in text


def test_a_repo_file_that_is_not_beside_the_override_is_named(tmp_path):
    crafted = tmp_path / "repo-missing.j2"  # crafted: a repo file Kolla would copy from its own tree
    crafted.write_text("{% set base_yum_repo_files_append = ['missing.repo'] %}\n")
    _, data, _ = run_import(tmp_path, "import-kolla", crafted)
    found = entry(data["not_imported"], item="missing.repo", line=1)
    assert "missing.repo not found" in found["reason"] and "beside the override file" in found["reason"]


def test_a_macro_beside_text_is_listed_not_imported(tmp_path):
    _, data, _ = run_import(tmp_path, "import-kolla", CRAFTED / "macro-beside-text.j2")
    found = entry(data["not_imported"], line=4)
    assert "Kolla macros" in found["reason"] and "\x00" not in found["item"]


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.j2"
    path.write_bytes("{# caf\xe9 #}\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_kolla_file(path, platform("centos-9"))


def test_a_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "broken.j2"
    path.write_text("{% block base_footer %}\nRUN true\n")
    with pytest.raises(InputError, match=r"broken.j2:[0-9]+: Jinja syntax error: .*'endblock'"):
        read_kolla_file(path, platform("centos-9"))


@pytest.fixture(scope="module")
def entries(tmp_path_factory):
    _, data, _ = run_import(tmp_path_factory.mktemp("entries"), "import-kolla", CRAFTED / "entries.j2")
    return data


@pytest.mark.parametrize(("item", "line", "reason", "suggestion"), [
    ("'lsof", 4, "installed by a RUN: not a package name the tree accepts", None),  # unbalanced quote
    ("lsof >= 4", 7, "version-pinned or a glob", "lsof"),
    ("https://example.invalid/x.rpm", 8, "a URL or package file", None),
    ("lsof!", 9, "not a package name the tree accepts", None),
    ("lsof-4.94", 10, "version-pinned: resolver picks versions", "lsof"),
    ("requests==2.0", 14, "version-pinned: the build pins every Python requirement", "requests"),
    ("/tmp/x", 15, "a URL or path", None),
])
def test_package_and_python_entries_that_are_refused_say_why(entries, item, line, reason, suggestion):
    found = entry(entries["not_imported"], item=item, line=line)
    assert reason in found["reason"] and found.get("suggestion") == suggestion


def test_an_entry_imported_twice_is_kept_once_and_a_drop_of_what_is_absent_is_skipped(entries):
    assert [(i["kind"], i["value"], i["line"]) for i in entries["imported"]] == [("add-package", "strace", 3)]
    assert "already imported from entries.j2:3" in entry(entries["skipped"], item="strace", line=11)["reason"]
    assert "does not have strace here" in entry(entries["skipped"], item="strace", line=17)["reason"]


@pytest.fixture(scope="module")
def template():
    return read_kolla_file(CRAFTED / "template-cases.j2", platform("centos-9"))


def test_sets_are_read_as_literals_or_marked_unreadable(template):
    settings = {name: (None if values is None else [(v.text, v.line) for v in values], line)
                for name, (values, line) in template.settings.items()}
    assert settings["nova_scheduler_packages_append"] == ([("lsof", 6)], 6)  # a lone string is a one-item list
    assert settings["nova_api_packages_append"] == (None, 3)  # a number in the list
    assert settings["nova_conductor_packages_append"] == (None, 5)  # a name set to what cannot be known
    assert settings["nova_compute_packages_append"] == ([("strace", 10)], 10)  # the `else` taken


def test_an_if_on_a_scalar_set_in_the_file_is_decided(template):
    assert ("set nova_compute_packages_append", 8, "skip: `{% if flavour == 'large' %}` (line 7) is false for "
            "the target") in template.inactive


@pytest.mark.parametrize(("item", "depends_on"), [
    ("set glance_api_packages_append", "site.enabled(...)"),
    ("set cinder_api_packages_append", "Add"),
])
def test_an_if_the_import_cannot_evaluate_names_what_it_depends_on(template, item, depends_on):
    states = [state for name, _, state in template.inactive if name == item]
    assert states and f"depends on {depends_on}, which the import cannot know" in states[0]


def test_blocks_follow_the_branch_taken_and_name_what_they_cannot_read(template):
    blocks = {b.name: b for b in template.blocks}
    assert blocks["nova_api_footer"].problem == "a {% for %} inside the block"  # inside the `if` taken
    conductor = blocks["nova_conductor_footer"]
    assert [(i.text, i.line) for i in conductor.instructions] == [
        ("echo centos-elif", 21), ("{{ macros.install_pip(...) }}", 23)]
    assert conductor.instructions[1].expressions == ("{{ macros.install_pip(...) }}",)  # not a literal list
    # the `else` of a chain inside a block; a continued line that ends the block
    assert [(i.text, i.line) for i in blocks["nova_scheduler_footer"].instructions] == [("echo else && true", 27)]


def test_disabling_a_repository_resolver_uses_is_imported_as_its_removal(tmp_path):
    crafted = tmp_path / "disable.j2"  # crafted: base disables one of the bundled repositories
    crafted.write_text("{% set base_yum_repos_to_disable_append = ['cs9-appstream-osbuild-2025'] %}\n")
    code, data, output = run_import(tmp_path, "import-kolla", crafted)
    assert code == 0
    assert [(i["kind"], i["value"], i["line"]) for i in data["imported"]] == [
        ("remove-repo", "cs9-appstream-osbuild-2025", 1)]
    assert "id: cs9-appstream-osbuild-2025" in output.read_text()


def test_an_entry_with_a_control_character_is_listed_not_imported(tmp_path):
    crafted = tmp_path / "control.j2"  # crafted: Jinja decodes '\x01' in a string literal
    crafted.write_text("{% set nova_api_packages_append = ['a\\x01b'] %}\n"
                       "{% set nova_api_pip_packages_append = ['a\\x01b'] %}\n")
    _, data, _ = run_import(tmp_path, "import-kolla", crafted)
    assert [i["reason"].split(" (")[0] for i in data["not_imported"]] == [
        "nova_api_packages_append: holds \\x01", "nova_api_pip_packages_append: holds \\x01"]
    assert all("a control character" in i["reason"] for i in data["not_imported"])


def test_a_debian_python_name_suggests_the_python3_package():
    assert "python3-six" in rpm_name_candidates("python-six")


@pytest.mark.parametrize(("name", "bucket", "reason"), [
    ("nvme-cli", "imported", None),  # nova-compute's own request
    ("iscsi-initiator-utils", "not_imported", "iscsi-initiator-utils-iscsiuio of nova-compute require(s) it"),
    ("mariadb-server", "skipped", "already excluded from nova-compute"),
    ("dbus-broker", "not_imported", "a dependency another package of nova-compute needs, not a request"),
])
def test_a_removal_carries_over_only_where_a_drop_takes_the_package_out(tmp_path, name, bucket, reason):
    crafted = tmp_path / "remove.j2"  # crafted: one removal, on the shipped tree's nova-compute
    crafted.write_text(f"{{% set nova_compute_packages_remove = ['{name}'] %}}\n")
    _, data, _ = run_import(tmp_path, "import-kolla", crafted)
    if bucket == "imported":
        assert [(i["kind"], i["value"]) for i in data["imported"]] == [("drop-package", name)]
    else:
        assert reason in entry(data[bucket], item=name, line=1)["reason"]
