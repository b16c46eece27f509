"""NEEDED sonames of real ELF files, looked up in the real CentOS Stream 9 metadata."""

import shutil
import subprocess

import pytest

from resolver.containers.elf import needed_in_tree, needed_sonames


def readelf_needed(path):
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


@pytest.mark.parametrize("binary", ["/bin/ls", "/usr/bin/gzip", "/bin/busybox"])
def test_needed_sonames_agree_with_readelf(binary):
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) is not installed")
    assert needed_sonames(open(binary, "rb").read())[0] == readelf_needed(binary)


def test_non_elf_files_have_no_needs(tmp_path):
    (tmp_path / "script").write_text("#!/bin/sh\necho hi\n")
    assert needed_in_tree(tmp_path) == []


def test_artifacts_map_to_the_cs9_packages_that_provide_them(tmp_path, bundled_repos):
    """A compiled artifact (built here with gcc against zlib) and a copied system binary."""
    source = tmp_path / "ext.c"
    source.write_text("#include <zlib.h>\nconst char *v(void) { return zlibVersion(); }\n")
    artifacts = tmp_path / "out" / "usr" / "lib64"
    artifacts.mkdir(parents=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(artifacts / "_ext.so"), str(source), "-lz"], check=True)
    shutil.copy("/bin/ls", artifacts / "ls")
    needed = needed_in_tree(tmp_path / "out")
    by_file = {}
    for item in needed:
        by_file.setdefault(item.path, set()).add(item.capability)
    assert "libz.so.1()(64bit)" in by_file["/usr/lib64/_ext.so"]
    assert {"libselinux.so.1()(64bit)", "libc.so.6()(64bit)"} <= by_file["/usr/lib64/ls"]
    providers = {c: bundled_repos.providers_of(c) for item in needed for c in [item.capability]}
    assert providers["libz.so.1()(64bit)"] == ["zlib"]
    assert providers["libselinux.so.1()(64bit)"] == ["libselinux"]
    assert providers["libc.so.6()(64bit)"] == ["glibc"]
