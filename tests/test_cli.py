"""The command line as users and other checks call it (names and JSON keys are a contract)."""

import json
import shutil

from .conftest import BASEOS_2022, ROOT, run_here


def test_packages_json_contract():
    done = run_here("packages", "nova-compute", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"image", "platform", "request", "closure", "installsize", "build_only", "excluded",
            "unresolved"} <= set(data)
    assert data["image"] == "nova-compute" and data["platform"] == "centos-9"
    assert {"name", "evr", "arch", "repo", "installsize"} <= set(data["closure"][0])
    assert data["installsize"] == sum(p["installsize"] for p in data["closure"])
    assert {"name", "reason"} <= set(data["excluded"][0])
    assert {"name", "problem"} <= set(data["unresolved"][0])


def test_packages_text_shows_reasons_and_skipped_requests():
    done = run_here("packages", "nova-compute")
    assert done.returncode == 0, done.stderr
    assert "mariadb-server" in done.stdout and "test database server" in done.stdout
    # python3-libvirt (uninstallable) and systemd-udev (replaced through Obsoletes)
    assert "Unresolved: 2 requests (skipped, best effort" in done.stdout and "python3-libvirt" in done.stdout


def test_why():
    done = run_here("why", "nova-compute", "lsscsi")
    assert done.returncode == 0, done.stderr
    # os-brick's bindep line asks for it; nova's own line is dropped, and why says so
    assert "requested: lsscsi <- profiles/upstream/os-brick.txt:26 [default]" in done.stdout
    assert "profiles/nova.yaml:" in done.stdout


def test_images_lists_the_tree_with_parents():
    done = run_here("images", "--format", "json")
    images = {i["name"]: i for i in json.loads(done.stdout)}
    assert images["nova-compute"]["parent"] == "nova-base" and images["base"]["parent"] is None
    assert "nova-compute (deployed, parent nova-base)" in run_here("images").stdout


def test_closure_on_one_repodata_directory():
    done = run_here("closure", "bash", "--repos", str(BASEOS_2022), "--format", "json")
    assert done.returncode == 0, done.stderr
    names = {p["name"] for p in json.loads(done.stdout)["closure"]}
    assert {"bash", "glibc", "filesystem"} <= names


def test_named_repos_are_strict():
    done = run_here("closure", "bash", "no-such-package", "--repos", str(BASEOS_2022))
    assert done.returncode == 1
    assert "no-such-package" in done.stdout
    relaxed = run_here("closure", "bash", "no-such-package", "--repos", str(BASEOS_2022), "--best-effort")
    assert relaxed.returncode == 0


def _copy_config(tmp_path):
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    shutil.copytree(ROOT / "images", tmp_path / "images")
    return tmp_path


def test_malformed_bindep_line_is_file_line_exit_2(tmp_path):
    config = _copy_config(tmp_path)
    nova = config / "profiles" / "upstream" / "nova.txt"
    nova.chmod(0o644)
    lines = nova.read_text().splitlines()
    lines.insert(4, "libvirt-client [platform:rpm")
    nova.write_text("\n".join(lines) + "\n")
    done = run_here("packages", "nova-api", cwd=config)
    assert done.returncode == 2
    assert "profiles/upstream/nova.txt:5: bindep cannot parse" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_profile_lists_defined_ones(tmp_path):
    config = _copy_config(tmp_path)
    tree = config / "images" / "nova.yaml"
    tree.write_text(tree.read_text().replace("nova: [compute, libvirt, configdrive]", "nova: [libvrit]"))
    done = run_here("packages", "nova-compute", cwd=config)
    assert done.returncode == 2
    assert "unknown profile of nova 'libvrit'" in done.stderr and "libvirt" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_image_lists_images():
    done = run_here("packages", "nova-comptue")
    assert done.returncode == 2
    assert "unknown image 'nova-comptue'" in done.stderr and "nova-compute" in done.stderr


def test_repo_without_repodata(tmp_path):
    done = run_here("closure", "bash", "--repos", str(tmp_path))
    assert done.returncode == 2 and "no repodata/repomd.xml" in done.stderr


def test_metacharacters_on_the_command_line_are_refused():
    done = run_here("closure", "bash;reboot", "--repos", str(BASEOS_2022))
    assert done.returncode == 2 and "not a package name" in done.stderr
