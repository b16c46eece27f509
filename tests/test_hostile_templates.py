"""`resolver import-kolla` and `import-tcib` on hostile input (issue 25, items 4-7): every case
ends quickly, in bounded memory, in the project's error naming file:line (exit 2) or in the one
entry listed as not imported; never a hang, a memory bomb or an internal error (exit 70).

All files here are crafted (one case each); the real upstream files are in tests/test_imports.py."""

from __future__ import annotations

import json
import os
import threading
import time
import tracemalloc

import pytest

from resolver.errors import InputError
from resolver.inputs.platforms import platform
from resolver.overrides.import_entries import ProvideIndex
from resolver.overrides.kolla_template import read_kolla_file
from resolver.overrides.template_sandbox import BoundedSandbox, TemplateLimit

from .conftest import run_here

TARGET = platform("centos-9")


def run_import(tmp_path, command: str, name: str, text: str, limit_seconds: float = 60):
    """The import of one crafted file (``name`` in tmp_path): (exit code, stdout, stderr), checked
    to end within ``limit_seconds``."""
    path = tmp_path / name
    path.write_text(text)
    started = time.monotonic()
    done = run_here(command, str(path), "--output", str(tmp_path / "out.yaml"), "--format", "json")
    assert time.monotonic() - started < limit_seconds
    return done


def tcib(tmp_path, text: str):
    return run_import(tmp_path, "import-tcib", "mariadb.yaml", text)


def assert_refused_at(done, where: str, message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert where in done.stderr and message in done.stderr, done.stderr


# ---- TCIB template values: hangs and memory bombs ----------------------------------------------

@pytest.mark.parametrize(("value", "message"), [
    ("{% for i in range(9999) %}{% for j in range(9999) %}x{% endfor %}{% endfor %}", "template steps"),
    ("{{ range(10**9) }}", "makes a range of 1,000,000,000 numbers"),
    ("{{ 10**5000 }}", "makes a number of more than 4096 bits"),
    ("{{ (10**100)**100 }}", "makes a number of more than 4096 bits"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "nests calls more than 64 deep"),
    ("{% set ns = namespace(x='ab') %}{% for i in range(64) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}",
     "makes more than 4,000,000 characters"),
    ("{% set x %}ab{% endset %}" + "{% set x %}{{ x }}{{ x }}{% endset %}" * 40 + "{{ x }}",
     "makes more than 4,000,000 characters"),
    ("{{ '%999999999s' % 'a' }}", "formats a string with %"),
])
def test_a_template_value_that_would_hang_or_grow_is_exit_2_naming_its_line(tmp_path, value, message):
    done = tcib(tmp_path, f"tcib_actions:\n- run: echo ok\n- run: {json.dumps(value)}\n")
    assert_refused_at(done, "mariadb.yaml:3: the template value", message)
    assert not (tmp_path / "out.yaml").exists()


def test_a_string_multiplied_past_the_bound_is_refused_before_it_is_made(tmp_path):
    tracemalloc.start()
    try:
        done = tcib(tmp_path, "tcib_packages:\n  common:\n  - \"{{ 'a' * 300000000 }}\"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused_at(done, "mariadb.yaml:3:", "makes more than 4,000,000 characters")
    assert peak < 100 * 1024 * 1024


@pytest.mark.parametrize("value", ["{% if tcib_release > 5 %}x{% endif %}", "{{ 1 / 0 }}", "{{ 'a' - 1 }}"])
def test_a_template_value_that_fails_to_render_is_exit_2_naming_its_line(tmp_path, value):
    done = tcib(tmp_path, f"tcib_actions:\n- run: {json.dumps(value)}\n")
    assert_refused_at(done, "mariadb.yaml:2: the template value fails to render", "fix the expression")


def test_the_sandbox_keeps_what_real_tcib_values_use():
    sandbox = BoundedSandbox()
    context = {"tcib_release": "9", "tcib_packages": {"common": ["a", "b"], "modules": {"el9": [{"enable": "x:1"}]}}}
    assert sandbox.render("{{ tcib_packages['common'] | join(' ') }}", context) == "a b"
    assert sandbox.render('{% for item in tcib_packages.modules["el" ~ tcib_release] %}{% set key, value = '
                          '(item.items() | list).0 %}{{ key }} {{ value }};{% endfor %}', context) == "enable x:1;"
    with pytest.raises(TemplateLimit):  # the bounds hold across a file's values
        for _ in range(100):
            sandbox.render("{% for i in range(9999) %}x{% endfor %}", context)


# ---- TCIB values of the wrong type; per-entry handling --------------------------------------------

@pytest.mark.parametrize(("text", "where", "message"), [
    ("tcib_actions: 5\n", "mariadb.yaml:1:", "tcib_actions must be a list"),
    ("tcib_packages:\n  modules: [x]\n", "mariadb.yaml:2:", "tcib_packages.modules must be a mapping"),
    ("tcib_packages:\n  modules:\n    el9: 5\n", "mariadb.yaml:3:", "tcib_packages.modules.el9 must be a list"),
])
def test_tcib_values_of_the_wrong_type_are_exit_2_naming_the_line(tmp_path, text, where, message):
    assert_refused_at(tcib(tmp_path, text), where, message)


def test_a_multi_line_run_is_listed_not_merged_into_another_command(tmp_path):
    done = tcib(tmp_path, "tcib_actions:\n- run: |\n    echo one\n    echo two\n- run: |\n    echo \\\n      three\n")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    left = [n for n in data["not_imported"] if n["line"] == 2]
    assert left and "a script of 2 command lines" in left[0]["reason"]
    assert left[0]["item"] == "run: echo one\necho two\n"  # reported as the file has it
    # a backslash-newline continues the line: one command, as the shell reads it
    assert [(i["value"], i["line"]) for i in data["imported"]] == [("echo   three", 5)]


def test_one_entry_with_a_control_character_is_listed_and_the_rest_imported(tmp_path):
    done = tcib(tmp_path, 'tcib_actions:\n- run: "echo \\x01 bad"\n- run: echo good\n')
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert [(n["line"], n["reason"].split(" (")[0]) for n in data["not_imported"]] == [(2, "holds \\x01")]
    assert "a control character" in data["not_imported"][0]["reason"]
    assert [i["value"] for i in data["imported"]] == ["echo good"]


# ---- Kolla template overrides ------------------------------------------------------------------

def test_a_fifo_given_as_a_template_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "overrides.j2"
    os.mkfifo(fifo)

    def unblock():  # were the FIFO opened for reading, it would wait for this writer (then read nothing)
        time.sleep(5)
        with open(fifo, "w"):
            pass

    writer = threading.Thread(target=unblock, daemon=True)
    writer.start()
    with pytest.raises(InputError, match="overrides.j2: not a regular file"):
        read_kolla_file(fifo, TARGET)


def test_dev_zero_given_as_a_template_is_refused():
    with pytest.raises(InputError, match="/dev/zero: not a regular file"):
        read_kolla_file(__import__("pathlib").Path("/dev/zero"), TARGET)


@pytest.mark.parametrize(("text", "where", "message"), [
    ("{% if " + "(" * 500 + "1" + ")" * 500 + " %}{% endif %}\n", ":1:", "nested more than 50 levels deep"),
    ("\n{% if " + "not " * 2000 + "1 %}{% endif %}\n", ":2:", "nested more than 50 levels deep"),
    ("{% if true %}" * 60 + "{% endif %}" * 60, ":1:", "nested more than 50 levels deep"),
    ("{% set nova_api_packages_append = " + " + ".join(["[]"] * 5000) + " %}\n", ":1:", "nested too deeply"),
    ("{% if base_distro > 5 %}{% endif %}\n", ":1:", "compares 'centos' and 5, which cannot be compared"),
    ("{% if base_distro.startswith(5) %}{% endif %}\n", ":1:", "startswith"),
    ("{% set x = 1" + "0" * 5000 + " %}\n", "", "Jinja cannot parse the file"),
    ("{% set x = ['a'] %}\n" + "{% set x = x + x %}\n" * 30, ":21:", "more than 2,000,000 entries"),
])
def test_a_kolla_file_jinja_or_the_import_cannot_read_is_exit_2_naming_the_line(tmp_path, text, where, message):
    done = run_import(tmp_path, "import-kolla", "overrides.j2", text)
    assert_refused_at(done, f"overrides.j2{where}", message)


@pytest.mark.parametrize(("block", "reason"), [
    ("{% if base_distro == 'x' %}RUN a\n{% elif unknown_flag %}RUN b\n{% endif %}",
     "an `if` on unknown_flag inside the block"),
    ("RUN echo \x000\x00 and \x007\x00", "a NUL byte inside the block"),
])
def test_a_block_the_import_cannot_read_is_listed_not_an_internal_error(tmp_path, block, reason):
    done = run_import(tmp_path, "import-kolla", "overrides.j2",
                      f"{{% block nova_api_footer %}}\n{block}\n{{% endblock %}}\n")
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)["not_imported"]
    assert [(n["item"], n["line"]) for n in found] == [("block nova_api_footer", 1)] and reason in found[0]["reason"]


# ---- look-ups ------------------------------------------------------------------------------------

def test_unknown_names_are_answered_without_a_dnf_query_and_the_rest_as_dnf_does(bundled_repos):
    asked = []

    def ask(spec):
        asked.append(spec)
        return bool(bundled_repos.names_providing(spec))

    index = ProvideIndex(bundled_repos.known_names(), ask)
    unknown = [f"zzunknown{i}" for i in range(2000)] + ["lsof2", "xlsof", "LSOF"]
    assert not any(index(name) for name in unknown) and asked == []
    specs = ["lsof", "lsof-4.94", "lsof.x86_64", "lsof-4.94.0-3.el9.x86_64", "/usr/bin/lsof", "/usr/bin/nope",
             "python3dist(six)", "libc.so.6()(64bit)", "glibc-common", "bash-5.1.8", "bash-0", "bash.noarch"]
    assert [index(s) for s in specs] == [bool(bundled_repos.names_providing(s)) for s in specs]
    assert [index(s) for s in specs] == [bool(bundled_repos.names_providing(s)) for s in specs]
    assert len(asked) == len(specs)  # each distinct spec once
