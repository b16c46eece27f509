"""The audit on real upstream bindep files (profiles/upstream, provenance in its SOURCES.txt)."""

import json
import shutil
import subprocess

import pytest

from resolver.auditing.audit import audit_file, patched_text, unified_patch
from resolver.inputs.bindepfile import parse_bindep
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles

from .conftest import ROOT, UPSTREAM, run_here

DEFAULTS = load_profiles(ROOT / "profiles").defaults
CENTOS9 = platform("centos-9")
FIXED_KINDS = {"build-only-in-runtime", "test-server-in-runtime", "unknown-platform", "no-rpm-variant"}
PROJECTS = [line.split("|")[0].strip() for line in (UPSTREAM / "SOURCES.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def audit(project, repos, text=None, used=()):
    path = UPSTREAM / f"{project}.txt"
    bindep = parse_bindep(text if text is not None else path.read_text(), str(path))
    return bindep, audit_file(project, bindep, CENTOS9, DEFAULTS, repos, used)


def by_kind(findings, kind):
    return {f.package: f for f in findings if f.kind == kind}


def test_nova_db_servers_are_test_servers_with_a_test_suggestion(bundled_repos):
    _, findings = audit("nova", bundled_repos)
    servers = by_kind(findings, "test-server-in-runtime")
    assert set(servers) == {"mariadb-server", "postgresql-server"}
    assert servers["postgresql-server"].suggestion == "postgresql-server [platform:rpm test]"
    assert servers["mariadb-server"].severity == "error"


def test_keystone_devel_headers_are_build_only_in_runtime(bundled_repos):
    _, findings = audit("keystone", bundled_repos)
    build = by_kind(findings, "build-only-in-runtime")
    assert {"openldap-devel", "cyrus-sasl-devel", "python3-devel", "postgresql-devel"} <= set(build)
    assert build["openldap-devel"].suggestion == "openldap-devel [platform:redhat test]"


def test_heat_has_a_selector_no_distribution_produces(bundled_repos):
    _, findings = audit("heat", bundled_repos)
    (finding, *_) = by_kind(findings, "unknown-platform").values()
    assert "platform:opensuse423" in finding.message and "platform:opensuse-423" in finding.suggestion


def test_dpkg_only_header_without_rpm_counterpart(bundled_repos):
    # oslo.db lists libpq-dev for dpkg and nothing on rpm that brings libpq-devel
    _, findings = audit("oslo.db", bundled_repos)
    variant = by_kind(findings, "no-rpm-variant")["libpq-dev"]
    # the dpkg line has no profile; a header on rpm goes to the build profile (test: no compile here)
    assert variant.suggestion == "add: libpq-devel [platform:rpm test]"


def test_unresolvable_names_on_the_target(bundled_repos):
    _, findings = audit("nova", bundled_repos)
    assert "texlive-latex-recommended" in by_kind(findings, "unresolvable")


def test_redundant_entry(bundled_repos):
    _, findings = audit("nova", bundled_repos)
    assert "openssh-clients" in by_kind(findings, "redundant")["openssl"].message


def test_profile_drift(bundled_repos):
    _, findings = audit("nova", bundled_repos, used=["test", "libvirt"])
    assert set(by_kind(findings, "profile-drift")) == {"libvirt"}


def test_parse_error_is_exit_2_with_file_and_line(tmp_path):
    broken = tmp_path / "bindep.txt"
    broken.write_text("gcc [platform:rpm]\nlibffi-devel [platform:rpm\n")
    done = run_here("audit", str(broken), "--format", "json")
    assert done.returncode == 2, done.stderr
    assert '"kind": "parse-error"' in done.stdout and '"line": 2' in done.stdout


def test_exit_1_on_error_findings_0_when_clean(tmp_path):
    assert run_here("audit", "nova").returncode == 1
    clean = tmp_path / "bindep.txt"
    clean.write_text("lsscsi\ngcc [platform:rpm compile]\n")
    done = run_here("audit", str(clean))
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("project", PROJECTS)
def test_patch_round_trip(project, bundled_repos, tmp_path):
    bindep, findings = audit(project, bundled_repos)
    patch = unified_patch(bindep, findings)
    work = tmp_path / "a"
    work.mkdir()
    (work / "bindep.txt").write_text(bindep.text)
    if patch:
        subprocess.run(["patch", "-s", "-p1", "-d", str(work)], input=patch, text=True, check=True)
    patched = (work / "bindep.txt").read_text()
    assert patched == patched_text(bindep, findings)
    _, again = audit(project, bundled_repos, text=patched)  # still parses with bindep
    assert not [f for f in again if f.kind in FIXED_KINDS]
    dpkg_lines = [r.text for r in bindep.rules
                  if any(s and p in ("platform:dpkg", "platform:debian", "platform:ubuntu") for s, p in r.selector)
                  and not any(s and p in ("platform:rpm", "platform:redhat") for s, p in r.selector)]
    for line in dpkg_lines:
        assert line in patched.splitlines()


def test_report_pages_and_patches_say_what_the_findings_say(tmp_path):
    """`audit --report DIR --patch DIR`: index.md counts each project's findings by kind (a clean
    project too, with an empty row), each project's page lists its findings and its patch, which
    is the .patch file written beside, and the patch applies to upstream's file."""
    clean = tmp_path / "clean.txt"
    clean.write_text("lsscsi\ngcc [platform:rpm compile]\n")
    report, patches = tmp_path / "report", tmp_path / "patches"
    done = run_here("audit", "nova", str(clean), "--report", str(report), "--patch", str(patches), "--format", "json",
                   "--quiet")
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    nova = [f for f in findings if f["project"] == "nova"]
    assert nova and not [f for f in findings if f["project"] == "clean"]
    assert sorted(p.name for p in report.iterdir()) == ["clean.md", "index.md", "nova.md"]
    assert [p.name for p in patches.iterdir()] == ["nova.patch"]  # nothing to change in the clean file

    index = (report / "index.md").read_text().splitlines()
    assert index[0] == "# bindep audit (centos-9)"
    header = [cell.strip() for cell in next(line for line in index if line.startswith("| project |")).split("|")[1:-1]]
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in index if line.startswith("| [")}
    assert set(rows) == {"[nova](nova.md)", "[clean](clean.md)"}
    kinds = header[1:]
    assert rows["[nova](nova.md)"] == [str(sum(f["kind"] == k for f in nova) or "") for k in kinds]
    assert rows["[clean](clean.md)"] == [""] * len(kinds)

    page = (report / "nova.md").read_text()
    table = [line for line in page.splitlines() if line.startswith("| ") and not line.startswith("| file |")]
    assert len(table) == len(nova)
    for finding, row in zip(nova, table):
        assert f"| {finding['package']} | {finding['kind']} | {finding['severity']} |" in row
    patch = (patches / "nova.patch").read_text()
    assert "## Suggested patch" in page and patch.rstrip("\n") in page
    work = tmp_path / "a"
    work.mkdir()
    shutil.copy(UPSTREAM / "nova.txt", work / "bindep.txt")
    subprocess.run(["patch", "-s", "-p1", "-d", str(work)], input=patch, text=True, check=True)
    assert (work / "bindep.txt").read_text() != (UPSTREAM / "nova.txt").read_text()
    assert (report / "clean.md").read_text().splitlines()[:3] == ["# clean", "", "0 finding(s)"]
    assert "## Suggested patch" not in (report / "clean.md").read_text()
