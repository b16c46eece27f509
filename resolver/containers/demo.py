"""The demo distribution: a few dozen RPMs modelled on EL9 names and dependency edges, built with
rpmbuild from specs written here and published with createrepo_c.

No real EL RPM can be downloaded here and no base image pulled, so `resolver build` with no
repository builds its demo tree from this real repository, with real dnf, into real images.
Payloads are small: libraries are real ELF shared objects compiled with the host's gcc (so rpm
generates ``libfoo.so.N()(64bit)`` provides and requires), the shell is Debian's static busybox,
and ``gcc`` is a stand-in compiler: a script that copies a precompiled ELF object (real NEEDED
entries) to where it is asked, enough for a builder stage to produce artifacts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResolverError
from ..files import default_cache_dir

BUSYBOX = Path("/bin/busybox")
#: the demo tree and its profiles (what `resolver build` builds when no repository is named)
DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo"
#: busybox applets the demo shell package links (what build steps and health checks use)
APPLETS = ("sh", "ls", "cat", "cp", "mkdir", "rm", "echo", "test", "find", "chmod", "ln", "sleep", "true")


class DemoBuildError(ResolverError):
    """The demo distribution could not be built (a missing tool, rpmbuild failing)."""


@dataclass(frozen=True)
class Library:
    """A shared object compiled from a one-line C file, linked against other demo libraries."""

    soname: str
    path: str
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoPackage:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    libraries: tuple[Library, ...] = ()
    files: tuple[tuple[str, int], ...] = ()  # (path, size in bytes) of filler payload
    #: packages built from the same spec (one source RPM), like libpq and libpq-devel
    source: str | None = None
    auto_deps: bool = True


def _lib(name: str, major: str, links: tuple[str, ...] = ()) -> Library:
    return Library(f"lib{name}.so.{major}", f"/usr/lib64/lib{name}.so.{major}", links)


# Modelled on EL9: names, sources and the edges between them; sizes scaled down.
PACKAGES: tuple[DemoPackage, ...] = (
    DemoPackage("setup", "2.13.7", files=(("/etc/passwd", 600), ("/etc/group", 400)), auto_deps=False),
    DemoPackage("filesystem", "3.16", requires=("setup",), files=(("/usr/share/filesystem/README", 100),),
                auto_deps=False),
    DemoPackage("basesystem", "11", requires=("filesystem", "setup"), auto_deps=False),
    DemoPackage("glibc", "2.34", requires=("basesystem",),
                provides=("libc.so.6()(64bit)", "rtld(GNU_HASH)", "ld-linux-x86-64.so.2()(64bit)"),
                files=(("/usr/lib64/libc-demo.bin", 300_000),), auto_deps=False),
    DemoPackage("bash", "5.1.8", requires=("filesystem",), provides=("/bin/sh",), auto_deps=False),
    DemoPackage("ca-certificates", "2024.2.69", requires=("bash",), files=(("/etc/pki/tls/cert.pem", 200_000),)),
    DemoPackage("tzdata", "2024a", files=(("/usr/share/zoneinfo/UTC", 120_000),)),
    DemoPackage("zlib", "1.2.11", requires=("glibc",), libraries=(_lib("z", "1"),)),
    DemoPackage("libffi", "3.4.2", requires=("glibc",), libraries=(_lib("ffi", "8"),)),
    DemoPackage("libffi-devel", "3.4.2", source="libffi", requires=("libffi",),
                files=(("/usr/include/ffi.h", 20_000),)),
    DemoPackage("openssl-libs", "3.0.7", requires=("glibc", "zlib"),
                libraries=(_lib("ssl", "3", ("z",)), _lib("crypto", "3"))),
    DemoPackage("openssl", "3.0.7", requires=("openssl-libs",), files=(("/usr/bin/openssl", 900_000),)),
    DemoPackage("openssl-devel", "3.0.7", source="openssl", requires=("openssl-libs",),
                files=(("/usr/include/openssl/ssl.h", 60_000),)),
    DemoPackage("python3-libs", "3.9.18", source="python3", requires=("glibc", "libffi", "openssl-libs"),
                provides=("python(abi) = 3.9",),
                libraries=(_lib("python3.9", "1.0", ("ffi", "ssl")),),
                files=(("/usr/lib64/python3.9/os.py", 900_000),)),
    DemoPackage("python3", "3.9.18", source="python3", requires=("python3-libs", "bash"),
                files=(("/usr/bin/python3", 20_000),)),
    DemoPackage("python3-devel", "3.9.18", source="python3", requires=("python3-libs",),
                files=(("/usr/include/python3.9/Python.h", 400_000),)),
    DemoPackage("libpq", "13.11", requires=("glibc", "openssl-libs"), libraries=(_lib("pq", "5", ("ssl",)),)),
    DemoPackage("libpq-devel", "13.11", source="libpq", requires=("libpq",),
                files=(("/usr/include/libpq-fe.h", 80_000),)),
    DemoPackage("openldap", "2.6.2", requires=("glibc", "openssl-libs"),
                libraries=(_lib("ldap", "2", ("ssl",)), _lib("lber", "2"))),
    DemoPackage("openldap-devel", "2.6.2", source="openldap", requires=("openldap",),
                files=(("/usr/include/ldap.h", 90_000),)),
    DemoPackage("binutils", "2.35.2", requires=("glibc", "zlib"), files=(("/usr/bin/ld", 1_500_000),)),
    DemoPackage("gcc", "11.4.1", requires=("binutils", "bash", "glibc"), files=(("/usr/libexec/gcc/cc1", 3_000_000),),
                auto_deps=False),
    DemoPackage("make", "4.3", requires=("glibc",), files=(("/usr/bin/make", 250_000),)),
    DemoPackage("lsscsi", "0.32", requires=("glibc",), files=(("/usr/bin/lsscsi", 60_000),)),
    DemoPackage("openssh", "8.7p1", requires=("openssl-libs", "zlib"),
                files=(("/usr/libexec/openssh/ssh-keysign", 90_000),)),
    DemoPackage("openssh-clients", "8.7p1", source="openssh", requires=("openssh",),
                files=(("/usr/bin/ssh", 800_000),)),
    DemoPackage("libevent", "2.1.12", requires=("glibc", "openssl-libs"), libraries=(_lib("event", "2.1", ("ssl",)),)),
    DemoPackage("memcached", "1.6.9", requires=("libevent", "bash"), files=(("/usr/bin/memcached", 200_000),)),
    DemoPackage("mariadb-server", "10.5.22", requires=("openssl-libs", "bash"),
                files=(("/usr/libexec/mariadbd", 5_000_000),)),
    DemoPackage("apr", "1.7.0", requires=("glibc",), libraries=(_lib("apr-1", "0"),)),
    DemoPackage("httpd-core", "2.4.57", requires=("apr", "openssl-libs"), files=(("/usr/sbin/httpd", 1_200_000),)),
    DemoPackage("httpd", "2.4.57", source="httpd-core", requires=("httpd-core",),
                files=(("/etc/httpd/conf/httpd.conf", 12_000),)),
    DemoPackage("mod_ssl", "2.4.57", source="httpd-core", requires=("httpd-core", "openssl-libs"),
                files=(("/usr/lib64/httpd/modules/mod_ssl.so", 250_000),)),
    DemoPackage("python3-mod_wsgi", "4.7.1", requires=("httpd-core", "python3-libs"),
                files=(("/usr/lib64/httpd/modules/mod_wsgi.so", 180_000),)),
    DemoPackage("qemu-img", "8.2.0", requires=("glibc", "zlib"), files=(("/usr/bin/qemu-img", 1_800_000),)),
    DemoPackage("libvirt-libs", "10.0.0", requires=("glibc", "openssl-libs"), libraries=(_lib("virt", "0", ("ssl",)),)),
    DemoPackage("libvirt-client", "10.0.0", source="libvirt-libs", requires=("libvirt-libs", "bash"),
                files=(("/usr/bin/virsh", 700_000),)),
)

#: what the stand-in gcc can "compile": object name -> the demo libraries it links against
OBJECTS = {"pq-ext": ("pq",), "ldap-ext": ("ldap", "lber"), "ffi-ext": ("ffi",), "event-ext": ("event",)}


@dataclass(frozen=True)
class DemoRepo:
    path: Path


def _fingerprint() -> str:
    """Changes when the package definitions (or this builder) change: a new cache slot."""
    data = json.dumps([repr(p) for p in PACKAGES] + [repr(OBJECTS), APPLETS], sort_keys=True)
    code = Path(__file__).read_bytes()
    return hashlib.sha256(data.encode() + code).hexdigest()[:16]


def demo_repo(cache_dir: Path | None = None) -> DemoRepo:
    """The demo repository, built once into the cache (atomically: a half-built one is never used)."""
    target = (cache_dir or default_cache_dir()) / "demo-repo" / _fingerprint()
    if (target / "repodata" / "repomd.xml").is_file():
        return DemoRepo(target)
    for tool in ("rpmbuild", "createrepo_c", "gcc"):
        if shutil.which(tool) is None:
            raise DemoBuildError(f"{tool} is not installed; run ./bootstrap (it installs rpm, createrepo-c)")
    if not BUSYBOX.is_file():
        raise DemoBuildError(f"{BUSYBOX} is missing; install busybox-static (./bootstrap does)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
    try:
        _build(work)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work / "repo", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DemoRepo(target)


def _run(command: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DemoBuildError(f"{' '.join(command[:3])} failed: {(done.stderr or done.stdout).strip()[-800:]}")


def _build(work: Path) -> None:
    sources = work / "SOURCES"
    sources.mkdir(parents=True)
    _compile_libraries(sources)
    specs = work / "SPECS"
    specs.mkdir()
    by_source: dict[str, list[DemoPackage]] = {}
    for package in PACKAGES:
        by_source.setdefault(package.source or package.name, []).append(package)
    for source, packages in by_source.items():
        spec = specs / f"{source}.spec"
        spec.write_text(_spec(source, packages))
        _run(["rpmbuild", "--quiet", "-bb", "--target", "x86_64", "--define", f"_topdir {work}",
              "--define", "debug_package %{nil}", "--define", "_build_id_links none", str(spec)])
    repo = work / "repo"
    (work / "RPMS").rename(repo)
    _run(["createrepo_c", "--quiet", str(repo)])


def _compile_libraries(sources: Path) -> None:
    """Real ELF shared objects (sonames, NEEDED) and the stand-in compiler's objects."""
    libraries = {lib.soname.split(".so")[0].removeprefix("lib"): lib for p in PACKAGES for lib in p.libraries}
    for short, library in libraries.items():
        c_file = sources / f"{short}.c"
        c_file.write_text(f"int {short.replace('-', '_').replace('.', '_')}_demo(void) {{ return 1; }}\n")
        links = [f"-l:{libraries[name].soname}" for name in library.links]
        _run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{library.soname}", "-o", str(sources / library.soname),
              str(c_file), f"-L{sources}", *links], cwd=sources)
    for obj, links in OBJECTS.items():
        c_file = sources / f"{obj}.c"
        c_file.write_text(f"int {obj.replace('-', '_')}(void) {{ return 2; }}\n")
        _run(["gcc", "-shared", "-fPIC", "-o", str(sources / f"{obj}.so"), str(c_file), f"-L{sources}",
              "-Wl,--no-as-needed", *[f"-l:{libraries[name].soname}" for name in links]], cwd=sources)
    shutil.copy(BUSYBOX, sources / "busybox")
    (sources / "gcc").write_text(
        "#!/bin/sh\n# Stand-in compiler of the demo distribution: `gcc OBJECT -o OUT` copies the\n"
        "# precompiled ELF object OBJECT (real NEEDED entries) to OUT.\n"
        'set -e\nobj="$1"; out="$3"\nmkdir -p "$(dirname "$out")"\ncp "/usr/libexec/demo-gcc/$obj.so" "$out"\n')


def _spec(source: str, packages: list[DemoPackage]) -> str:
    """One spec per source RPM; its other packages are subpackages (same source RPM)."""
    main = next(p for p in packages if p.name == source)

    def tags(package: DemoPackage) -> list[str]:
        return ([f"Requires: {r}" for r in package.requires] + [f"Provides: {p}" for p in package.provides]
                + ([] if package.auto_deps else ["AutoReqProv: no"]))

    lines = [f"Name: {source}", f"Version: {main.version}", "Release: 1.el9",
             "Summary: demo package modelled on EL9", "License: MIT", *tags(main),
             "%description", "Demo package.", ""]
    for package in packages:
        if package is not main:
            lines += [f"%package -n {package.name}", f"Summary: demo {package.name}", *tags(package),
                      f"%description -n {package.name}", "Demo package.", ""]
    lines += ["%install", *(line for package in packages for line in _install_lines(package)), ""]
    for package in packages:
        lines += [f"%files{'' if package is main else ' -n ' + package.name}", *_file_list(package), ""]
    return "\n".join(lines) + "\n"


def _install_lines(package: DemoPackage) -> list[str]:
    root = "%{buildroot}"
    lines = [f"mkdir -p {root}/usr/share/doc/{package.name}",
             f"echo '{package.name} {package.version} (demo)' > {root}/usr/share/doc/{package.name}/README"]
    for library in package.libraries:
        lines.append(f"install -D -m 0755 %{{_sourcedir}}/{library.soname} {root}{library.path}")
    for path, size in package.files:
        lines.append(f"mkdir -p $(dirname {root}{path}) && head -c {size} /dev/zero > {root}{path}")
    if package.name == "bash":
        lines.append(f"install -D -m 0755 %{{_sourcedir}}/busybox {root}/usr/bin/busybox")
        lines.append(f"mkdir -p {root}/bin")
        lines += [f"ln -s /usr/bin/busybox {root}/bin/{applet}" for applet in APPLETS]
    if package.name == "gcc":
        lines.append(f"install -D -m 0755 %{{_sourcedir}}/gcc {root}/usr/bin/gcc")
        lines += [f"install -D -m 0644 %{{_sourcedir}}/{obj}.so {root}/usr/libexec/demo-gcc/{obj}.so"
                  for obj in OBJECTS]
    return lines


def _file_list(package: DemoPackage) -> list[str]:
    files = [f"/usr/share/doc/{package.name}"] + [lib.path for lib in package.libraries] + [p for p, _ in package.files]
    if package.name == "bash":
        files += ["/usr/bin/busybox"] + [f"/bin/{applet}" for applet in APPLETS]
    if package.name == "gcc":
        files += ["/usr/bin/gcc", "/usr/libexec/demo-gcc"]
    return files
