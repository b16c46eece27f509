"""The demo distribution: EL-named RPMs made from Debian's own binaries, published with createrepo_c.

No EL RPM payload can be downloaded here and no base image pulled, so `resolver build` with no
repository builds its demo tree from this repository, with real dnf, into real images that run:
memcached serves, keystone imports and compiles python-ldap against openldap-devel. Each EL
package is the files of the Debian packages ``distribution.yaml`` names (``apt-get download``,
``dpkg-deb -x``), with /bin, /sbin, /lib and /lib64 moved under /usr as on EL9, packaged by
rpmbuild, whose ELF dependency generator writes the soname Requires and Provides. Before the
repository is used every Requires of every package is checked against it.

The built repository is cached under a key over the mapping, the .deb versions apt offers and
this module's code: a new Debian point release or a mapping change builds a new one. Its RPMs are
signed with a key made for it (signing.py); builds from it check those signatures.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..errors import DemoBuildError, InputError
from ..files import default_cache_dir
from .signing import KEY_FILE, sign_packages

if TYPE_CHECKING:  # repos loads dnf: imported where a repository is opened, not with this module
    from ..metadata.repo_config import RepoSpec

#: the demo tree, its profiles and the distribution's mapping table
DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo"
MAPPING = DEMO_DATA / "distribution.yaml"
#: EL9 keeps everything under /usr: these top-level directories are symlinks into it
_MERGED = ("bin", "sbin", "lib", "lib64")
#: left out of every package, as ``tsflags=nodocs`` leaves EL documentation out
_NO_DOCS = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/lintian/*",
            "/usr/share/bug/*")
_EL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$")
_DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")
_PATH = re.compile(r"^/[A-Za-z0-9._+@/*?-]*$")
_CAPABILITY = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9._+/()-]*$")


@dataclass(frozen=True)
class ElPackage:
    """One row of the mapping table: an EL package and the Debian packages it is made of."""

    name: str
    debs: tuple[str, ...]
    source: str
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    copies: Mapping[str, str] = field(default_factory=dict)
    #: owns its directories too (EL's filesystem package: /tmp with its sticky bit, /run...)
    directories: bool = False
    #: files written with these lines (what a Debian maintainer script generates: pam-auth-update)
    texts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def load_mapping(path: Path = MAPPING) -> tuple[ElPackage, ...]:
    """The mapping table, every name and path checked (they reach rpmbuild and apt-get)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{path}: cannot read the demo mapping ({error})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the mapping must be a table of EL names")
    packages = []
    for name, row in data.items():
        where = f"{path}: {name}"
        if not isinstance(name, str) or not _EL_NAME.match(name) or not isinstance(row, dict):
            raise InputError(f"{where}: an EL package name with a table (debs, source, requires...)")
        unknown = set(row) - {"debs", "source", "requires", "provides", "exclude", "links", "copies", "directories",
                             "texts"}
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")

        def names(key: str, pattern: re.Pattern, row=row, where=where) -> tuple[str, ...]:
            values = row.get(key) or []
            if not isinstance(values, list) or not all(isinstance(v, str) and pattern.match(v) for v in values):
                raise InputError(f"{where}: '{key}' must be a list of names matching {pattern.pattern}")
            return tuple(values)

        def paths(key: str, row=row, where=where) -> dict[str, str]:
            values = row.get(key) or {}
            if not isinstance(values, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) and _PATH.match(k) and re.match(r"^[A-Za-z0-9._/-]+$", v)
                    for k, v in values.items()):
                raise InputError(f"{where}: '{key}' must map absolute paths to paths")
            return dict(values)

        def texts(row=row, where=where) -> dict[str, tuple[str, ...]]:
            values = row.get("texts") or {}
            if not isinstance(values, dict) or not all(
                    isinstance(k, str) and _PATH.match(k) and isinstance(v, list)
                    and all(isinstance(line, str) and line.isprintable() for line in v)
                    for k, v in values.items()):
                raise InputError(f"{where}: 'texts' must map absolute paths to lists of printable lines")
            return {k: tuple(v) for k, v in values.items()}

        debs = names("debs", _DEB_NAME)
        if not debs:
            raise InputError(f"{where}: 'debs' names no Debian package")
        source = row.get("source", name)
        if not isinstance(source, str) or not _EL_NAME.match(source):
            raise InputError(f"{where}: 'source' must be an EL package name")
        packages.append(ElPackage(name, debs, source, names("requires", _EL_NAME), names("provides", _CAPABILITY),
                                  names("exclude", _PATH), paths("links"), paths("copies"),
                                  bool(row.get("directories", False)), texts()))
    known = {p.name for p in packages}
    for package in packages:
        if package.source not in known:
            raise InputError(f"{path}: {package.name}: source {package.source!r} is not a package of the table")
        missing = [r for r in package.requires if r not in known]
        if missing:
            raise InputError(f"{path}: {package.name} requires {', '.join(missing)}, not in the table")
    return tuple(packages)


def demo_spec(repo: Path) -> RepoSpec:
    """The demo repository as builds use it: signatures checked against its own key."""
    from ..metadata.repo_config import RepoSpec

    return RepoSpec("demo", str(repo), gpgcheck=True, gpgkey=(f"file://{repo / KEY_FILE}",))


# ---- apt ---------------------------------------------------------------------------------------

def _run(command: Sequence[str], cwd: Path | None = None) -> str:
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise DemoBuildError(f"{' '.join(command[:3])} failed: {(done.stderr or done.stdout).strip()[-1200:]}")
    return done.stdout


def candidate_versions(debs: Sequence[str]) -> dict[str, str]:
    """The version ``apt-get download`` fetches for each Debian package (apt's candidate)."""
    if shutil.which("apt-cache") is None:
        raise DemoBuildError("the demo distribution is made from Debian packages: apt-cache is missing "
                             "(run on Debian/Ubuntu, or give --repos with real repositories)")
    output = _run(["apt-cache", "show", "--no-all-versions", *sorted(set(debs))])
    versions: dict[str, str] = {}
    for stanza in output.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line[0].isspace())
        if "Package" in fields and "Version" in fields:
            versions.setdefault(fields["Package"], fields["Version"])
    missing = sorted(set(debs) - set(versions))
    if missing:
        raise DemoBuildError(f"{MAPPING}: apt knows no {', '.join(missing)} (run apt-get update, or fix the table)")
    return versions


def _fetch_debs(versions: Mapping[str, str], into: Path) -> dict[str, Path]:
    """Each .deb once into the cache (``NAME_VERSION.deb``: a cached file is what its name says)."""
    into.mkdir(parents=True, exist_ok=True)
    wanted = {deb: into / f"{deb}_{version.replace(':', '%3a')}.deb" for deb, version in versions.items()}
    missing = [deb for deb, path in wanted.items() if not path.is_file()]
    if missing:
        with tempfile.TemporaryDirectory(dir=into, prefix=".download-") as temporary:
            _run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
                  *[f"{deb}={versions[deb]}" for deb in missing]], cwd=Path(temporary))
            for deb in missing:
                (found,) = Path(temporary).glob(f"{deb}_*.deb")
                os.replace(found, wanted[deb])
    return wanted


# ---- the repository ----------------------------------------------------------------------------

def demo_repo(cache_dir: Path | None = None) -> Path:
    """The demo repository's directory, built once per key into the cache (atomically: a
    half-built one is never used)."""
    mapping = load_mapping()
    versions = candidate_versions([deb for package in mapping for deb in package.debs])
    key = hashlib.sha256(MAPPING.read_bytes() + json.dumps(versions, sort_keys=True).encode()
                         + Path(__file__).read_bytes() + (Path(__file__).parent / "signing.py").read_bytes()
                         ).hexdigest()[:16]
    cache = cache_dir or default_cache_dir()
    target = cache / "demo-repo" / key
    if (target / "repodata" / "repomd.xml").is_file():
        return target
    for tool in ("rpmbuild", "createrepo_c", "dpkg-deb", "apt-get"):
        if shutil.which(tool) is None:
            raise DemoBuildError(f"{tool} is not installed; run ./bootstrap (it installs rpm, createrepo-c, dpkg)")
    debs = _fetch_debs(versions, cache / "debs")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
    try:
        _build(work, mapping, debs, versions)
        unmet = _unmet_requires(work / "repo", cache)
        if unmet:
            raise DemoBuildError("the demo distribution is not closed; add the Debian packages that provide these "
                                 f"to {MAPPING} (or exclude the files that need them):\n  " + "\n  ".join(unmet[:20]))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work / "repo", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _build(work: Path, mapping: Sequence[ElPackage], debs: Mapping[str, Path], versions: Mapping[str, str]) -> None:
    extracted = work / "debs"
    extracted.mkdir()
    for deb, path in debs.items():
        _run(["dpkg-deb", "-x", str(path), str(extracted / deb)])
    sources = work / "SOURCES"
    for package in mapping:
        _stage(package, extracted, sources / package.name)
    specs = work / "SPECS"
    specs.mkdir()
    by_source: dict[str, list[ElPackage]] = {}
    for package in mapping:
        by_source.setdefault(package.source, []).append(package)
    for source, packages in by_source.items():
        spec = specs / f"{source}.spec"
        spec.write_text(_spec(source, packages, versions, sources))
        _run(["rpmbuild", "--quiet", "-bb", "--target", "x86_64", "--define", f"_topdir {work}",
              "--define", "debug_package %{nil}", "--define", "_build_id_links none",
              "--define", "_binary_payload w3.zstdio", str(spec)])
    (work / "RPMS").rename(work / "repo")
    sign_packages(sorted((work / "repo").rglob("*.rpm")), work / "repo" / KEY_FILE)
    _run(["createrepo_c", "--quiet", str(work / "repo")])


def _stage(package: ElPackage, extracted: Path, root: Path) -> None:
    """The package's files as EL lays them out: Debian's trees merged, /bin, /lib... under /usr."""
    root.mkdir(parents=True)
    excluded = (*_NO_DOCS, *package.exclude)
    for deb in package.debs:
        tree = extracted / deb
        for path in sorted(tree.rglob("*")):
            relative = path.relative_to(tree).as_posix()
            if relative.split("/", 1)[0] in _MERGED:
                relative = f"usr/{relative}"
            if path.is_dir() and not path.is_symlink():
                if package.directories:
                    (root / relative).mkdir(parents=True, exist_ok=True)
                    (root / relative).chmod(path.stat().st_mode & 0o7777)
                continue
            if any(fnmatch.fnmatch(f"/{relative}", pattern) for pattern in excluded):
                continue
            destination = root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.exists() or destination.is_symlink():
                continue  # the same file from /lib and /usr/lib (a merged-/usr duplicate)
            os.rename(path, destination) if not path.is_symlink() else os.symlink(os.readlink(path), destination)
            if not destination.is_symlink():
                _as_el_ships(destination, relative)
    for where, source in package.copies.items():
        target = root / where.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / source.lstrip("/"), target)
    for where, lines in package.texts.items():
        target = root / where.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{line}\n" for line in lines))
    for where, link in package.links.items():
        target = root / where.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(link)


def _as_el_ships(path: Path, relative: str) -> None:
    """What EL's build scripts do to the same files: shared objects executable (rpm's ELF
    generator reads those), ``#!/usr/bin/env NAME`` as ``#!/usr/bin/NAME`` (brp-mangle-shebangs),
    standard library modules not executable (they are imported, not run)."""
    with path.open("rb") as stream:
        head = stream.read(128)
    if head.startswith(b"\x7fELF"):
        if ".so" in path.name:
            path.chmod(0o755)
    elif re.match(r"usr/lib/python3[.0-9]*/", relative) and relative.endswith(".py"):
        path.chmod(path.stat().st_mode & 0o644)
    elif re.match(rb"#! ?/usr/bin/env ", head) and path.stat().st_mode & 0o111:
        text = path.read_bytes()
        path.write_bytes(re.sub(rb"^#! ?/usr/bin/env ([A-Za-z0-9._-]+)", rb"#!/usr/bin/\1", text, count=1))


def _rpm_version(deb_version: str) -> tuple[str, str]:
    """Debian ``[epoch:]upstream-revision`` as rpm's Version and Release."""
    upstream = deb_version.split(":", 1)[-1]
    version, _, revision = upstream.rpartition("-") if "-" in upstream else (upstream, "", "0")
    clean = re.sub(r"[^A-Za-z0-9._+~^]", "_", version)
    return clean, re.sub(r"[^A-Za-z0-9._+~^]", "_", revision) + ".demo"


def _spec(source: str, packages: Sequence[ElPackage], versions: Mapping[str, str], sources: Path) -> str:
    """One spec per source RPM; its other packages are subpackages (same source RPM)."""
    main = next(p for p in packages if p.name == source)
    version, release = _rpm_version(versions[main.debs[0]])

    roots = [sources / p.name for p in packages]

    def tags(package: ElPackage) -> list[str]:
        return ([f"Requires: {r}" for r in (*package.requires, *_link_requires(sources / package.name, roots))]
                + [f"Provides: {p}" for p in package.provides]
                + [f"Summary: {package.name} from Debian {', '.join(package.debs)} (demo)"])

    lines = [f"Name: {source}", f"Version: {version}", f"Release: {release}", "License: Debian",
             *tags(main), "%description", "Demo package made from Debian binaries.", ""]
    for package in packages:
        if package is not main:
            lines += [f"%package -n {package.name}", *tags(package), f"%description -n {package.name}",
                      "Demo package made from Debian binaries.", ""]
    lines += ["%install", *(f"cp -a {sources / p.name}/. %{{buildroot}}/" for p in packages), ""]
    for package in packages:
        listing = sources / f"{package.name}.files"
        listing.write_text("".join(f'{"%dir " if is_dir else ""}"{_file_entry(path)}"\n'
                                   for path, is_dir in _payload(sources / package.name, package.directories)))
        lines += [f"%files{'' if package is main else ' -n ' + package.name} -f {listing}", ""]
    return "\n".join(lines) + "\n"


def _link_requires(root: Path, roots: Sequence[Path]) -> list[str]:
    """What EL's rpm generates for a ``libfoo.so`` development link and Debian's does not: a
    Requires on the soname the link points at (``libldap-2.5.so.0()(64bit)``), read from the target
    library with rpm's own elfdeps."""
    found = []
    for link in sorted(root.rglob("*.so")):
        if not link.is_symlink():
            continue
        inside = (link.parent / os.readlink(link)).relative_to(root) if not os.readlink(link).startswith("/") \
            else Path(os.readlink(link).lstrip("/"))
        target = next((r / inside for r in roots if (r / inside).is_file()), None)
        if target is None:
            continue
        done = subprocess.run(["/usr/lib/rpm/elfdeps", "--provides", "--soname-only"], input=f"{target}\n",
                              capture_output=True, text=True, check=False)
        found += [line for line in done.stdout.split() if line]
    return sorted(set(found))


def _payload(root: Path, directories: bool) -> list[tuple[str, bool]]:
    """(path, is a directory) of what the package owns: its files and links, and its directories
    when it owns them."""
    return sorted((f"/{p.relative_to(root).as_posix()}", p.is_dir() and not p.is_symlink()) for p in root.rglob("*")
                  if directories or p.is_symlink() or not p.is_dir())


def _file_entry(path: str) -> str:
    if re.search(r'[\x00-\x1f"\\*?\[\]{}]', path):
        raise DemoBuildError(f"{path}: a file name rpm's file list cannot hold; exclude it in {MAPPING}")
    return path.replace("%", "%%")


def _unmet_requires(repo: Path, cache: Path) -> list[str]:
    from ..metadata.repo_config import RepoSpec
    from ..metadata.repos import RepoSet

    with RepoSet([RepoSpec("demo", str(repo))], cache_dir=cache) as repos:
        return [f"{package} requires {requirement}" for package, requirement in repos.unmet_requires()]
