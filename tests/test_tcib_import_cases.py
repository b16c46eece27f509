"""`resolver import-tcib` case by case on crafted container files (tests/data/tcib-crafted: each
line one case; the real upstream files are in tests/test_imports.py)."""

import pytest

from .conftest import ROOT, run_here
from .test_imports import entry, run_import

CRAFTED = ROOT / "tests" / "data" / "tcib-crafted"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    code, data, output = run_import(tmp_path_factory.mktemp("cases"), "import-tcib",
                                    CRAFTED / "mariadb.yaml", CRAFTED / "nowhere.yaml")
    assert code == 1
    return data, output


def test_a_known_module_stream_and_a_rendered_run_step_are_imported(cases):
    data, output = cases
    assert {(i["image"], i["kind"], i["value"], i["line"]) for i in data["imported"]} == {
        ("mariadb", "module", "mariadb:10.11", 8), ("mariadb", "step", "echo centos", 15)}
    assert "mariadb:10.11" in output.read_text()


@pytest.mark.parametrize(("item", "line", "reason"), [
    ("{{ tcib_not_set }}", 5, "only TCIB fills in ('tcib_not_set' is undefined)"),
    ("enable {{ tcib_not_set }}:1", 9, "only TCIB fills in"),
    ("mariadb:10.11", 10, "a module entry is {enable: MODULE:STREAM}"),
    ("{'run': 'echo one', 'user': 'root'}", 12, "an action is {run: COMMAND}"),
    ("copy: /usr/share/x /etc/x", 14, "needs TCIB's build context"),
    ("tcib_frobnicate", 16, "not a TCIB key the import knows"),
])
def test_what_is_not_imported_says_why_at_its_line(cases, item, line, reason):
    data, _ = cases
    assert reason in entry(data["not_imported"], item=item, line=line)["reason"]


def test_a_container_the_tree_does_not_have_imports_nothing_of_its_file(cases):
    data, _ = cases
    found = entry(data["not_imported"], item="nowhere", line=1)
    assert "unknown image 'nowhere'" in found["reason"] and "nothing of this file is imported" in found["reason"]
    assert not [i for i in data["imported"] if i["file"].endswith("nowhere.yaml")]


@pytest.mark.parametrize(("text", "message"), [
    ("- rsync\n", "mariadb.yaml:1: not a TCIB container file"),
    ("tcib_packages: rsync\n", "mariadb.yaml:1: tcib_packages must be a mapping or a list"),
])
def test_a_file_of_the_wrong_shape_is_exit_2_and_nothing_is_written(tmp_path, text, message):
    path = tmp_path / "mariadb.yaml"  # crafted: a container file of the wrong shape
    path.write_text(text)
    output = tmp_path / "out.yaml"
    done = run_here("import-tcib", str(path), "--output", str(output))
    assert done.returncode == 2 and message in done.stderr
    assert not output.exists()
