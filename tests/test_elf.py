"""What real ELF files require (rpm's elfdeps), checked against binutils' readelf and looked up in
the real CentOS Stream 9 metadata."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from resolver.containers.elf import needed_in_tree, needed_in_wheel, requires
from resolver.errors import ElfError, ResolverError


def readelf_requires(path):
    """NEEDED sonames and their required symbol versions as rpm names them, from readelf -d and -V."""
    dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    wanted = {f"{line.split('[', 1)[1].rstrip(']')}()(64bit)" for line in dynamic.splitlines() if "(NEEDED)" in line}
    versions = subprocess.run(["readelf", "-V", str(path)], capture_output=True, text=True, check=True).stdout
    library = None
    for line in versions.splitlines():
        if match := re.search(r"File: (\S+)", line):
            library = match[1]
        elif (match := re.search(r"Name: (\S+)\s+Flags: (\S+)", line)) and library and match[2] != "WEAK":
            wanted.add(f"{library}({match[1]})(64bit)")
    return wanted


@pytest.mark.parametrize("binary", ["/bin/ls", "/usr/bin/gzip", "/bin/busybox"])
def test_requires_agree_with_readelf_versions_included(binary):
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) is not installed")
    found = {n.capability for n in requires(Path(binary), binary)} - {"rtld(GNU_HASH)"}
    assert found == readelf_requires(binary)


def test_versioned_requirements_are_kept():
    capabilities = {n.capability for n in requires(Path("/bin/ls"), "/bin/ls")}
    assert "libc.so.6()(64bit)" in capabilities
    assert any(re.fullmatch(r"libc\.so\.6\(GLIBC_2\.[0-9.]+\)\(64bit\)", c) for c in capabilities)


def test_non_elf_files_have_no_needs(tmp_path):
    (tmp_path / "script").write_text("#!/bin/sh\necho hi\n")
    assert needed_in_tree(tmp_path) == []


@pytest.mark.parametrize("length", [30, 100, 4096])
def test_a_truncated_elf_file_is_a_clear_error_naming_it(tmp_path, length):
    """elfdeps itself prints nothing and succeeds on a cut file: that must not read as 'needs nothing'."""
    artifacts = tmp_path / "out" / "usr" / "bin"
    artifacts.mkdir(parents=True)
    (artifacts / "ls").write_bytes(Path("/bin/ls").read_bytes()[:length])
    with pytest.raises(ElfError, match=r"^/usr/bin/ls: a truncated") as raised:
        needed_in_tree(tmp_path / "out")
    assert isinstance(raised.value, ResolverError) and raised.value.exit_code == 1


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
    assert {"libselinux.so.1()(64bit)", "libc.so.6()(64bit)", "libselinux.so.1(LIBSELINUX_1.0)(64bit)",
            "libc.so.6(GLIBC_2.3.4)(64bit)"} <= by_file["/usr/lib64/ls"]
    providers = {c: bundled_repos.providers_of(c) for item in needed for c in [item.capability]}
    assert providers["libz.so.1()(64bit)"] == ["zlib"]
    assert providers["libselinux.so.1()(64bit)"] == ["libselinux"]
    assert providers["libselinux.so.1(LIBSELINUX_1.0)(64bit)"] == ["libselinux"]
    assert providers["libc.so.6()(64bit)"] == ["glibc"]
    assert providers["libc.so.6(GLIBC_2.3.4)(64bit)"] == ["glibc"]
    # a symbol version CS9's glibc (2.34) lacks maps to no package: the build says so instead of
    # installing a library too old for the artifact
    assert bundled_repos.providers_of("libc.so.6(GLIBC_2.99)(64bit)") == []


def test_wheel_needs_leave_out_the_libraries_the_wheel_bundles(tmp_path):
    """A manylinux-style wheel: an extension linking zlib, with zlib bundled in ``*.libs``."""
    import zipfile

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


def test_a_truncated_elf_member_of_a_wheel_is_a_clear_error(tmp_path):
    import zipfile

    wheel = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/_ext.so", Path("/bin/ls").read_bytes()[:2000])
    with pytest.raises(ElfError, match=r"^demo-1\.0-.*\.whl:demo/_ext\.so: a truncated ELF file"):
        needed_in_wheel(wheel)
