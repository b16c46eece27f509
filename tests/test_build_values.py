"""Values that reach a Containerfile, a bake file or a build command line: names from repository
metadata, pins and file names from the index, option values, build steps. A newline must never
start an instruction of its own; each is refused with the value named, before anything is written."""

import gzip
import hashlib
import json
import re
import shutil
from dataclasses import replace

import pytest

from resolver.containers.containerfile import bake_file, containerfile
from resolver.containers.pypi import FileMetadata, IndexFile, parse_listing
from resolver.containers.python_target import Dist
from resolver.containers.stages import StagePlan
from resolver.containers.wheels import ImageWheels
from resolver.errors import InputError
from resolver.inputs.image_tree import BuildStep
from resolver.metadata.repo_config import BUNDLED_REPOS_DIR

from .conftest import ROOT, run_here

HOSTILE = "tzdata&#10;RUN touch /pwned"


def hostile_repository(directory):
    """The bundled BaseOS metadata with tzdata's name carrying an encoded newline (primary.xml
    rewritten, repomd.xml's checksums and sizes updated as createrepo_c would): glibc-common
    requires tzdata, which this package still provides."""
    shutil.copytree(BUNDLED_REPOS_DIR / "cs9-baseos-osbuild-2022", directory)
    repomd = directory / "repodata" / "repomd.xml"
    (primary,) = directory.glob("repodata/*-primary.xml.gz")
    xml = gzip.decompress(primary.read_bytes()).replace(b"<name>tzdata</name>", f"<name>{HOSTILE}</name>".encode())
    packed = gzip.compress(xml)
    digest = hashlib.sha256(packed).hexdigest()
    primary.unlink()
    (directory / "repodata" / f"{digest}-primary.xml.gz").write_bytes(packed)
    text = repomd.read_text()
    block = re.search(r'<data type="primary">.*?</data>', text, re.S).group()
    fixed = re.sub(r'(<checksum type="sha256">)[0-9a-f]+', rf"\g<1>{digest}", block)
    fixed = re.sub(r'(<open-checksum type="sha256">)[0-9a-f]+', rf"\g<1>{hashlib.sha256(xml).hexdigest()}", fixed)
    fixed = re.sub(r'repodata/[0-9a-f]+-primary', f"repodata/{digest}-primary", fixed)
    fixed = re.sub(r"<size>\d+</size>", f"<size>{len(packed)}</size>", fixed)
    fixed = re.sub(r"<open-size>\d+</open-size>", f"<open-size>{len(xml)}</open-size>", fixed)
    repomd.write_text(text.replace(block, fixed))
    return directory


@pytest.fixture
def site(tmp_path):
    images, profiles = tmp_path / "images", tmp_path / "profiles"
    images.mkdir()
    profiles.mkdir()
    (images / "tree.yaml").write_text("- name: base\n  deployed: true\n  packages:\n"
                                      "    - {name: bash, reason: the shell}\n")
    shutil.copy(ROOT / "resolver" / "data" / "demo" / "profiles" / "defaults.yaml", profiles)
    return ["--images", str(images), "--profiles", str(profiles)]


def test_a_package_name_with_a_newline_in_primary_xml_never_reaches_a_containerfile(tmp_path, site):
    repo = hostile_repository(tmp_path / "repo")
    output = tmp_path / "out"
    done = run_here("render", "--repos", str(repo), *site, "--output", str(output))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'tzdata\\nRUN touch /pwned-2021e-1.el9.noarch'" in done.stderr and "repository metadata" in done.stderr
    assert not output.exists()
    # the same tree on the untouched metadata renders: the refusal is the name's
    clean = run_here("render", "--repos", str(BUNDLED_REPOS_DIR / "cs9-baseos-osbuild-2022"), *site,
                    "--output", str(output))
    assert clean.returncode == 0, clean.stderr
    text = (output / "base" / "Containerfile").read_text()
    assert "tzdata-2021e-1.el9.noarch" in text and all(
        line.startswith(("#", "ARG ", "FROM ", "RUN ", "COPY ", "LABEL ", "ENV ", "CMD ", "USER "))
            for line in text.splitlines())


@pytest.mark.parametrize("option, value", [
    ("--package-manager", "dnf\nRUN touch /pwned"), ("--package-manager", ""), ("--package-manager", "-y"),
    ("--tag-prefix", "localhost/x\nRUN touch /pwned"), ("--tag-prefix", "Local/Upper"),
    ("--tag", "latest\nRUN"), ("--tag", "a b"),
])
def test_hostile_option_values_are_refused_at_parse_time(option, value, tmp_path):
    done = run_here("render", f"{option}={value}", "--output", str(tmp_path / "out"))
    assert done.returncode == 2 and f"argument {option}:" in done.stderr and "usage: resolver render" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("step", [
    "{run: \"make\\nRUN touch /pwned\"}", "{run: make, artifacts: \"/out\\nRUN touch /pwned\"}",
    "{run: make, artifacts: \"/out /etc\"}",
])
def test_a_build_step_with_a_newline_is_refused_when_the_tree_is_read(step, tmp_path, site):
    images = tmp_path / "images" / "tree.yaml"
    images.write_text(images.read_text() + f"  build: {step}\n")
    done = run_here("render", *site, "--output", str(tmp_path / "out"))
    assert done.returncode == 2 and "build" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def wheels(name="pbr", version="6.1.1", filename="pbr-6.1.1-py2.py3-none-any.whl"):
    dist = Dist(name, version, IndexFile(filename, "https://x/y", "ab" * 32), FileMetadata((), None), "constraints")
    return ImageWheels("keystone", (dist,), (), (), (), 1)


def stage(**changes):
    plain = StagePlan(image="keystone", parent="base", deployed=True, layer=("bash-5.1.8-2.el9.x86_64",),
                      content=frozenset({"bash"}), build_only=("gcc",), step=None, estimate=1)
    return replace(plain, **changes)


@pytest.mark.parametrize("changes", [
    {"layer": ("bash-5.1.8-2.el9.x86_64\nRUN touch /pwned",)},
    {"layer": ("--installroot=/-1-1.x86_64",)},
    {"build_only": ("gcc\nRUN touch /pwned",)},
    {"build_only": ("-y",)},
    {"step": BuildStep("make\nRUN touch /pwned", "/out")},
    {"step": BuildStep("make", "/out\nRUN touch /pwned")},
    {"wheels": wheels(version="6.1.1\nRUN touch /pwned")},
    {"wheels": wheels(name="pbr\nRUN touch /pwned")},
    {"wheels": wheels(filename="pbr-6.1.1.whl\nRUN touch /pwned.whl")},
])
def test_a_stage_plan_holds_only_checked_values(changes):
    with pytest.raises(InputError, match="refusing to put it in a Containerfile|control character"):
        stage(**changes)


def test_rendered_lines_of_a_checked_stage_are_one_instruction_each():
    assert stage(wheels=wheels()).wheels.layer[0].key == "pbr==6.1.1"  # a plain pin passes
    files = containerfile(stage(step=BuildStep("make && make install", "/out")), "0" * 64, "microdnf")
    lines = files["Containerfile"].splitlines()
    assert all(line.startswith(("#", "FROM ", "RUN ", "COPY ", "LABEL ")) for line in lines), lines
    bake = bake_file({"keystone": stage()}, {"keystone": "a" * 64}, "quay.io/example/openstack", "2025.1")
    assert bake["target"]["keystone"]["tags"] == ["quay.io/example/openstack/keystone:aaaaaaaaaaaaaaaa",
                                                  "quay.io/example/openstack/keystone:2025.1"]
    with pytest.raises(InputError):
        containerfile(stage(), "0" * 64, "dnf\nRUN touch /pwned")
    with pytest.raises(InputError):
        bake_file({"keystone": stage()}, {"keystone": "a" * 64}, "quay.io/x\nRUN", "latest")


def test_index_files_whose_names_hold_a_newline_are_not_listed():
    sha = "ab" * 32
    listing = {"files": [
        {"filename": "pbr-6.1.1-py2.py3-none-any.whl", "url": "https://x/pbr.whl", "hashes": {"sha256": sha}},
        {"filename": "pbr-6.1.0-py2.py3-none-any.whl\n", "url": "https://x/a", "hashes": {"sha256": sha}},
        {"filename": "pbr-6.1.0.tar.gz\nRUN touch /pwned.tar.gz", "url": "https://x/b", "hashes": {"sha256": sha}},
    ]}
    assert parse_listing(json.dumps(listing).encode(), "pbr", "https://x/simple/pbr/") == {
        "6.1.1": [IndexFile("pbr-6.1.1-py2.py3-none-any.whl", "https://x/pbr.whl", sha)]}
