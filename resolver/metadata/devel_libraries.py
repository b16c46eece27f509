"""What a program compiled against a -devel package links at run time, read from the package's
metadata: a build-only -devel leaves its runtime library behind (what is compiled against
libpq-devel links libpq.so.5, so the package providing that soname stays in the image).
"""

from __future__ import annotations

import re

#: rpm packages a -devel package's runtime library is never taken from
_NOT_RUNTIME_SUFFIXES = ("-devel", "-static", "-headers")
#: where a -devel package's development links (``libfoo.so``) live
_LIBRARY_DIRS = ("/usr/lib64", "/usr/lib", "/lib64", "/lib")
#: a bare soname requirement, as rpm writes it for a development link: ``libssl.so.3()(64bit)``
_SONAME_REQUIRE = re.compile(r"^[^()\s]+\.so(\.[^()\s]+)?(\(\)\(64bit\))?$")


def source_name(sourcerpm: str) -> str:
    """``cyrus-sasl-2.1.27-21.el9.src.rpm`` -> ``cyrus-sasl``."""
    return sourcerpm.rsplit("-", 2)[0]


def runtime_libraries(pkg, sack, arch: str) -> list[tuple[str, tuple[str, ...]]]:
    """What a program compiled against a -devel package links at run time: the sonames its
    development links (``/usr/lib64/libsasl2.so``) point at, read from the package's soname
    Requires (``libsasl2.so.3()(64bit)``: rpm generates one per link), with the packages
    providing each (``cyrus-sasl-lib``, not the ``cyrus-sasl`` daemon of the same source RPM).

    Where the metadata lists the package's library files, a soname counts when a link of that
    name is there. Where it does not (AppStream's filelists are an empty stub here), a soname
    counts when a package of the -devel's own source RPM provides it (a soname from elsewhere,
    ``libkrb5.so.3``, is what a tool shipped in the -devel links), or when no package provides
    it at all. Returns (soname, providers); empty providers: the metadata has no package for
    it. [] when it links no library (headers only)."""
    library_files = [path for path in pkg.files if path.rpartition("/")[0] in _LIBRARY_DIRS]
    links = {path.rpartition("/")[2] for path in library_files if path.endswith(".so")}
    source = source_name(pkg.sourcerpm or "")
    found: list[tuple[str, tuple[str, ...]]] = []
    for requirement in pkg.requires:
        text = str(requirement)
        if not _SONAME_REQUIRE.match(text):  # versioned symbols (GLIBC_2.34) come from ELF files
            continue
        if library_files and text.partition(".so")[0] + ".so" not in links:
            continue
        providers = [p for p in sack.query().available().filter(provides=requirement, arch=[arch, "noarch"])
                     if not p.name.endswith(_NOT_RUNTIME_SUFFIXES)]
        if not library_files and providers:
            providers = [p for p in providers if source_name(p.sourcerpm or "") == source]
            if not providers:
                continue
        found.append((text, tuple(sorted({p.name for p in providers}))))
    return sorted(found)
