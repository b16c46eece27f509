"""The README's exit codes ("Exit codes"), checked for every command where each applies, with
the cheapest real case: a two-image tree on a copy-free BaseOS 2022, in-process (resolver.cli.main)
since the process boundary does not matter for a return value.

0 done; 1 requests that cannot be resolved on strict repositories (named repositories are strict),
error-level findings (audit), something not imported (import-*); 2 bad input, refused before any
work. Not here: `build` 0 and its failed-image 1 need buildah (tests/test_build.py); 70 is for bugs
and no input provokes it; 130, 141 and 143 (signals, a closed pipe) are in test_cli_conventions.py.
"""

from __future__ import annotations

import pytest

from .conftest import BASEOS_2022, ROOT, TINY_TREE, TINY_TREE_MISSING, run_main

KOLLA = ROOT / "tests" / "data" / "kolla"


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A directory with the tree (complete on BaseOS 2022), the same tree with a name no repository
    has, bindep files with and without error-level findings, and TCIB files."""
    root = tmp_path_factory.mktemp("exit-codes")
    for name, text in (("complete", TINY_TREE), ("missing", TINY_TREE_MISSING)):
        (root / name).mkdir()
        (root / name / "tree.yaml").write_text(text)
    (root / "clean.txt").write_text("bash [platform:rpm]\n")
    (root / "findings.txt").write_text("gcc [platform:rpm]\n")
    (root / "broken.txt").write_text("bash [platform:rpm\n")
    (root / "tcib").mkdir()
    (root / "tcib" / "nova-compute.yaml").write_text("tcib_packages:\n  common:\n  - lsof\n")
    (root / "tcib" / "cinder-volume.yaml").write_text("tcib_packages:\n  common:\n  - openstack-cinder\n")
    (root / "a-file").write_text("not a directory\n")
    return root


def tree(place, name="complete", overrides=False) -> list[str]:
    return ["--images", str(place / name), "--profiles", str(ROOT / "profiles"), "--repos", str(BASEOS_2022),
            "--quiet", *([] if overrides else ["--no-overrides"])]


# (command, code, arguments): every command of `resolver --help`, each code that applies to it
CASES = [
    ("images", 0, lambda p: ["images", *tree(p)]),
    ("images", 2, lambda p: ["images", *tree(p, "no-such-dir")]),
    ("packages", 0, lambda p: ["packages", "shell", *tree(p)]),
    ("packages", 1, lambda p: ["packages", "shell", *tree(p, "missing")]),
    ("packages", 2, lambda p: ["packages", "shel", *tree(p)]),
    ("why", 0, lambda p: ["why", "shell", "sudo", *tree(p)]),
    ("why", 1, lambda p: ["why", "shell", "sudo", *tree(p, "missing")]),
    ("why", 2, lambda p: ["why", "shell", "no-such-package", *tree(p)]),
    ("closure", 0, lambda p: ["closure", "bash", "--repos", str(BASEOS_2022), "--quiet"]),
    ("closure", 1, lambda p: ["closure", "bash", "no-such-package", "--repos", str(BASEOS_2022), "--quiet"]),
    ("closure", 2, lambda p: ["closure", "bash;reboot", "--repos", str(BASEOS_2022), "--quiet"]),
    ("evidence", 0, lambda p: ["evidence", "shell", *tree(p)]),
    ("evidence", 1, lambda p: ["evidence", "shell", *tree(p, "missing")]),
    ("evidence", 2, lambda p: ["evidence", "shel", *tree(p)]),
    ("audit", 0, lambda p: ["audit", str(p / "clean.txt"), "--repos", str(BASEOS_2022), "--quiet"]),
    ("audit", 1, lambda p: ["audit", str(p / "findings.txt"), "--repos", str(BASEOS_2022), "--quiet"]),
    ("audit", 2, lambda p: ["audit", str(p / "broken.txt"), "--repos", str(BASEOS_2022), "--quiet"]),
    ("plan", 0, lambda p: ["plan", *tree(p)]),
    ("plan", 1, lambda p: ["plan", *tree(p, "missing")]),
    ("plan", 2, lambda p: ["plan", "--max-bloat", "nan", *tree(p)]),
    ("plan", 2, lambda p: ["plan", "--max-bloat", "-1", *tree(p)]),
    ("plan", 2, lambda p: ["plan", "--max-image-bloat", "inf", *tree(p)]),
    ("plan", 2, lambda p: ["plan", "--exact-limit", "23", *tree(p)]),
    ("plan", 2, lambda p: ["plan", "--verify-lock", "--lock", str(p / "a-file"), *tree(p)]),
    ("lock", 0, lambda p: ["lock", "--lock", str(p / "resolver.lock"), *tree(p)]),
    ("lock", 1, lambda p: ["lock", "--lock", str(p / "missing.lock"), *tree(p, "missing")]),
    ("lock", 2, lambda p: ["lock", "--lock", str(p / "a-file" / "resolver.lock"), *tree(p)]),
    # (the lock the ("lock", 0) case above writes)
    ("update", 0, lambda p: ["update", "--lock", str(p / "resolver.lock"), *tree(p)]),
    ("update", 1, lambda p: ["update", "--lock", str(p / "resolver.lock"), *tree(p, "missing")]),
    ("update", 2, lambda p: ["update", "--lock", str(p / "a-file"), *tree(p)]),
    ("sbom", 0, lambda p: ["sbom", "--output", str(p / "sbom"), *tree(p)]),
    ("sbom", 1, lambda p: ["sbom", "--output", str(p / "sbom-missing"), *tree(p, "missing")]),
    ("sbom", 2, lambda p: ["sbom", "--output", str(p / "a-file"), *tree(p)]),
    ("report", 0, lambda p: ["report", "--output", str(p / "report"), *tree(p)]),
    ("report", 1, lambda p: ["report", "--output", str(p / "report-missing"), *tree(p, "missing")]),
    ("report", 2, lambda p: ["report", "--output", str(p / "a-file"), *tree(p)]),
    ("build", 1, lambda p: ["build", *tree(p, "missing")]),
    ("build", 2, lambda p: ["build", "--jobs", "0", *tree(p)]),
    ("build", 2, lambda p: ["build", "glance-api", "--quiet"]),
    ("render", 0, lambda p: ["render", "--output", str(p / "containerfiles"), *tree(p)]),
    ("render", 1, lambda p: ["render", "--output", str(p / "containerfiles-missing"), *tree(p, "missing")]),
    ("render", 2, lambda p: ["render", "--package-manager", "", "--output", str(p / "cf"), *tree(p)]),
    ("prune", 0, lambda p: ["prune", "--dry-run", "--tag-prefix", "localhost/resolver-exit-codes", "--quiet"]),
    ("prune", 2, lambda p: ["prune", "--keep", "-1", "--quiet"]),
    ("diff", 0, lambda p: ["diff", *tree(p)]),
    ("diff", 1, lambda p: ["diff", *tree(p, "missing")]),
    ("diff", 2, lambda p: ["diff", "--overrides", str(p / "no-such.yaml"), *tree(p, overrides=True)]),
    ("import-kolla", 0, lambda p: ["import-kolla", str(KOLLA / "kolla-doc-packages-append.j2"),
                                   "--output", str(p / "kolla.yaml"), "--quiet"]),
    ("import-kolla", 1, lambda p: ["import-kolla", str(KOLLA / "kolla-doc-generic-customisation.j2"),
                                   "--output", str(p / "kolla-1.yaml"), "--quiet"]),
    ("import-kolla", 2, lambda p: ["import-kolla", str(p / "missing.j2"), "--output", str(p / "k.yaml"), "--quiet"]),
    ("import-tcib", 0, lambda p: ["import-tcib", str(p / "tcib" / "nova-compute.yaml"),
                                  "--output", str(p / "tcib.yaml"), "--quiet"]),
    ("import-tcib", 1, lambda p: ["import-tcib", str(p / "tcib" / "cinder-volume.yaml"),
                                  "--output", str(p / "tcib-1.yaml"), "--quiet"]),
    ("import-tcib", 2, lambda p: ["import-tcib", str(p / "missing.yaml"), "--output", str(p / "t.yaml"), "--quiet"]),
]


def test_every_command_is_covered():
    from resolver.cli import build_parser

    assert {command for command, _, _ in CASES} == set(build_parser()[1])


@pytest.mark.parametrize(("command", "code", "arguments"), CASES,
                         ids=[f"{command}-{code}-{index}" for index, (command, code, _) in enumerate(CASES)])
def test_exit_code(place, command, code, arguments):
    got, stdout, stderr = run_main(*arguments(place))
    assert got == code, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    if code == 2:  # a clear line saying what is wrong (audit: the parse-error finding, on stdout)
        assert "error" in (stdout if command == "audit" else stderr)
