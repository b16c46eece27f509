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


def test_wheel_needs_leave_out_the_libraries_the_wheel_bundles(tmp_path):
    """A manylinux-style wheel: an extension linking zlib, with zlib bundled in ``*.libs``."""
    import zipfile

    from resolver.containers.elf import needed_in_wheel

    source = tmp_path / "ext.c"
    source.write_text("#include <zlib.h>\n#include <math.h>\nconst char *v(void) { return zlibVersion(); }\n"
                      "double c(double x) { return cos(x); }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "_ext.so"), str(source), "-lz", "-lm"],
                   check=True)
    wheel = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(tmp_path / "_ext.so", "demo/_ext.so")
        archive.writestr("demo/__init__.py", "")
    assert {"libz.so.1", "libm.so.6"} <= {n.soname for n in needed_in_wheel(wheel)}
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.write(tmp_path / "_ext.so", "demo.libs/libz.so.1")  # bundled (any file by that name)
    needs = needed_in_wheel(wheel)
    assert "libz.so.1" not in {n.soname for n in needs} and "libm.so.6" in {n.soname for n in needs}
    assert "libm.so.6()(64bit)" in {n.capability for n in needs}
    assert any(n.path.endswith(".whl:demo/_ext.so") for n in needs)
