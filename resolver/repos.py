"""The dnf adapter: load repository metadata, resolve requests (libsolv through dnf's Python API),
answer provides queries. Metadata only: nothing is installed, weak dependencies are off.
"""

from __future__ import annotations

import configparser
import gzip
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import dnf
import dnf.exceptions
import hawkey
import networkx as nx

from .errors import RepoError
from .files import default_cache_dir

BUNDLED_REPOS_DIR = Path(str(resources.files("resolver") / "data" / "repos"))
BUNDLED_REPOS = ("cs9-baseos-osbuild-2022", "cs9-appstream-osbuild-2025")
#: rpm packages a -devel package's runtime library is never taken from
_NOT_RUNTIME_SUFFIXES = ("-devel", "-static", "-headers")


@dataclass(frozen=True)
class RepoSpec:
    """One repository: an id and a baseurl (a local directory holding repodata/ or a URL)."""

    repo_id: str
    baseurl: str

    @property
    def local_dir(self) -> Path | None:
        if self.baseurl.startswith("file://"):
            return Path(self.baseurl.removeprefix("file://"))
        return None if "://" in self.baseurl else Path(self.baseurl)


@dataclass(frozen=True)
class PackageInfo:
    """One resolved RPM."""

    name: str
    evr: str
    arch: str
    repo: str
    installsize: int
    checksum: str
    sourcerpm: str
    #: end of the rpm header in the file: an upper estimate of what the rpmdb stores for it
    header_size: int = 0

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"

    def to_json(self) -> dict:
        return {"name": self.name, "evr": self.evr, "arch": self.arch, "repo": self.repo,
                "installsize": self.installsize}


@dataclass(frozen=True)
class Unresolved:
    name: str
    problem: str


@dataclass(frozen=True)
class Resolution:
    """The result of one solve: what was asked, the full installed set, what could not be had."""

    requested: tuple[str, ...]
    #: each satisfied request and the closure package that satisfies it (pkgconfig -> pkgconf-pkg-config)
    satisfied_by: tuple[tuple[str, str], ...]
    closure: tuple[PackageInfo, ...]
    unresolved: tuple[Unresolved, ...]
    #: requires graph on the closure: edge a -> b labelled with the requirement b satisfies
    graph: nx.DiGraph
    #: (instead_of, use) provider substitutions this solve made
    substituted: tuple[tuple[str, str], ...] = ()

    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.closure)

    def pulled_in(self, ignore: Collection[str] = ()) -> dict[str, list[str]]:
        """Requests whose package another request's closure already brings in, with those requests.

        Packages in ``ignore`` (a parent's set) take no part. When requests pull each other in (a
        cycle) or name the same package, the first request stays."""
        order = [(request, package) for request, package in self.satisfied_by if package not in ignore]
        reach = {package: nx.descendants(self.graph, package) for _, package in order}
        result: dict[str, list[str]] = {}
        for index, (request, package) in enumerate(order):
            pullers = [
                other_request for position, (other_request, other) in enumerate(order)
                if position != index and (
                    (other == package and position < index)
                    or (other != package and package in reach[other]
                        and not (other in reach[package] and index < position)))
            ]
            if pullers:
                result[request] = pullers
        return result


def repo_specs(arguments: Sequence[str]) -> tuple[RepoSpec, ...]:
    """``--repos`` values: directories holding repodata/, repodata/ dirs, or .repo files."""
    if not arguments:
        return tuple(RepoSpec(name, str(BUNDLED_REPOS_DIR / name)) for name in BUNDLED_REPOS)
    specs: list[RepoSpec] = []
    for argument in arguments:
        path = Path(argument)
        if path.suffix == ".repo":
            specs.extend(_repo_file(path))
        elif path.name == "repodata":
            specs.append(RepoSpec(path.parent.name or "repo", str(path.parent)))
        else:
            specs.append(RepoSpec(path.name or "repo", str(path)))
    return tuple(specs)


def _repo_file(path: Path) -> list[RepoSpec]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except (OSError, configparser.Error) as error:
        raise RepoError(f"{path}: cannot read repo file ({error})") from None
    specs = []
    for section in parser.sections():
        if parser.get(section, "enabled", fallback="1").strip() in ("0", "false", "False"):
            continue
        baseurl = parser.get(section, "baseurl", fallback="").split()
        if not baseurl:
            raise RepoError(f"{path}: [{section}] has no baseurl (metalink/mirrorlist are not read here)")
        specs.append(RepoSpec(section, baseurl[0]))
    if not specs:
        raise RepoError(f"{path}: no enabled repository")
    return specs


def _check_local(spec: RepoSpec) -> None:
    """Refuse a directory without repodata or with an unreadable primary before dnf sees it."""
    directory = spec.local_dir
    if directory is None:
        return
    repomd = directory / "repodata" / "repomd.xml"
    if not repomd.is_file():
        raise RepoError(f"{directory}: no repodata/repomd.xml here; give a directory made by createrepo_c")
    text = repomd.read_text(encoding="utf-8", errors="replace")
    start = text.find('<data type="primary">')
    href_at = text.find('href="', start)
    if start < 0 or href_at < 0:
        raise RepoError(f"{repomd}: names no primary metadata")
    primary = directory / text[href_at + 6:text.index('"', href_at + 6)]
    if not primary.is_file():
        raise RepoError(f"{repomd}: its primary {primary.name} is missing")
    if primary.suffix == ".gz":
        try:
            with gzip.open(primary) as stream:
                while stream.read(1 << 20):
                    pass
        except (OSError, EOFError) as error:
            raise RepoError(f"{primary}: corrupt primary metadata ({error}); regenerate it with createrepo_c") from None


class RepoSet:
    """Loaded metadata of a set of repositories and the solves made on it."""

    def __init__(self, specs: Sequence[RepoSpec], arch: str = "x86_64", releasever: str = "9",
                 cache_dir: Path | None = None):
        self.specs = tuple(specs)
        for spec in self.specs:
            _check_local(spec)
        self._workdir = tempfile.TemporaryDirectory(prefix="resolver-dnf-")
        base = dnf.Base()
        conf = base.conf
        # Substitutions before add_new_repo, or libdnf raises a SWIG TypeError.
        conf.substitutions["releasever"] = releasever
        conf.substitutions["basearch"] = arch
        conf.arch = arch
        conf.install_weak_deps = False
        # dnf's own cache (solv files): reloading the same metadata then takes a fraction of the time
        conf.cachedir = str((cache_dir or default_cache_dir()) / "dnf")
        conf.installroot = str(Path(self._workdir.name) / "root")
        conf.reposdir = []
        conf.logdir = str(Path(self._workdir.name) / "log")
        Path(conf.logdir).mkdir()
        for spec in self.specs:
            url = spec.baseurl if "://" in spec.baseurl else f"file://{Path(spec.baseurl).resolve()}"
            base.repos.add_new_repo(spec.repo_id, conf, baseurl=[url], skip_if_unavailable=False)
        try:
            base.fill_sack(load_system_repo=False)
        except dnf.exceptions.RepoError as error:
            raise RepoError(f"cannot load repository metadata: {error}") from None
        self._base = base
        self._sack = base.sack
        self._packages: dict[str, object] = {}

    def close(self) -> None:
        self._base.close()
        self._workdir.cleanup()

    def __enter__(self) -> RepoSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- solving -------------------------------------------------------------------------------

    def resolve(self, requests: Sequence[str], pinned: Iterable[PackageInfo] = (),
                substitutions: Sequence[tuple[str, str]] = (), pinned_graph: nx.DiGraph | None = None) -> Resolution:
        """Resolve names on top of pinned packages (a parent image's set, kept exactly).

        Requests that cannot be satisfied are skipped and reported with libsolv's problem text;
        callers decide whether that is an error. ``substitutions`` (instead_of, use): where the
        solve brings in ``instead_of``, solve again asking for ``use`` too, and keep that when
        ``instead_of`` is then gone (``use`` replaced it as the provider). ``pinned_graph``, the
        requires graph of the pinned set, is extended rather than rebuilt."""
        pinned_pkgs = [self._package(p) for p in pinned]
        requests = tuple(dict.fromkeys(requests))
        missing = {name: f"no package provides {name!r} in the enabled repositories"
                   for name in requests if not self._query_spec(name)}
        wanted = [n for n in requests if n not in missing]
        installed = self._solve(pinned_pkgs, wanted, strict=False)
        substituted = []
        for instead_of, use in substitutions:
            if instead_of in {p.name for p in installed} and instead_of not in {p.name for p in pinned_pkgs}:
                trial = self._solve(pinned_pkgs, [*wanted, use], strict=False)
                names = {p.name for p in trial}
                if instead_of not in names and use in names:
                    installed, wanted = trial, [*wanted, use]
                    substituted.append((instead_of, use))
        result_query = self._sack.query().filterm(pkg=installed)
        problems = dict(missing)
        satisfied_by = []
        for name in wanted:
            matching = result_query.intersection(self._query_spec(name))
            if matching:
                satisfied_by.append((name, matching[0].name))
            else:
                problems[name] = self._problem(pinned_pkgs, name)
        closure = tuple(sorted((_info(p) for p in installed), key=lambda p: (p.name, p.arch)))
        unresolved = tuple(Unresolved(n, problems[n]) for n in requests if n in problems)
        return Resolution(requests, tuple(satisfied_by), closure, unresolved,
                          self._requires_graph(installed, pinned_graph), tuple(substituted))

    def _solve(self, pinned: Sequence, names: Sequence[str], strict: bool) -> list:
        base = self._base
        base.reset(goal=True)
        for pkg in pinned:
            # what package_install ends in; it would first query the (empty) installed set per package
            base._goal.install(pkg)
        for name in names:
            base.install(name, strict=strict)
        base.resolve(allow_erasing=False)
        return list(set(base.transaction.install_set) | set(pinned))

    def _problem(self, pinned: Sequence, name: str) -> str:
        """libsolv's explanation for one request, solved alone on top of the pins."""
        try:
            self._solve(pinned, [name], strict=True)
        except dnf.exceptions.Error as error:
            return str(error).strip()
        return f"{name!r} resolves alone but conflicts with the other requests of this image"

    def _query_spec(self, spec: str):
        return dnf.subject.Subject(spec).get_best_query(self._sack, with_provides=True,
                                                        with_filenames=True).available()

    def _package(self, info: PackageInfo):
        # a parent's packages are pinned again for every child: look each up once
        if info.nevra not in self._packages:
            found = self._sack.query().available().filter(name=info.name, evr=info.evr, arch=info.arch)
            if not found:
                raise RepoError(f"{info.nevra} is not in the enabled repositories")
            self._packages[info.nevra] = found[0]
        return self._packages[info.nevra]

    def _requires_graph(self, installed: Sequence, known: nx.DiGraph | None = None) -> nx.DiGraph:
        """Edges from each package to the packages that satisfy its requirements. Packages already
        in ``known`` keep their edges (a pinned parent's packages do not change)."""
        graph: nx.DiGraph = known.copy() if known is not None else nx.DiGraph()
        in_set = self._sack.query().filterm(pkg=list(installed))
        new = [pkg for pkg in installed if pkg.name not in graph]
        for pkg in new:
            graph.add_node(pkg.name)
        for pkg in new:
            for requirement in pkg.requires:
                text = str(requirement)
                if text.startswith("rpmlib("):
                    continue
                providers = in_set.filter(provides=requirement)
                if not providers and text.startswith("/"):
                    providers = in_set.filter(file=text)
                for provider in providers:
                    if provider.name != pkg.name and not graph.has_edge(pkg.name, provider.name):
                        graph.add_edge(pkg.name, provider.name, requires=text)
        return graph

    # ---- queries -------------------------------------------------------------------------------

    def runtime_libraries_of(self, devel: str) -> list[tuple[str, str]]:
        """Non-devel packages of the same source RPM that a -devel package requires.

        Returns (name, source rpm) pairs: libpq-devel -> libpq, openldap-devel -> openldap."""
        candidates = self._query_spec(devel).latest()
        if not candidates:
            return []
        pkg = candidates[0]
        source = pkg.sourcerpm
        found: dict[str, str] = {}
        for requirement in pkg.requires:
            for provider in self._sack.query().available().filter(provides=requirement).latest():
                if (provider.sourcerpm == source and provider.name != pkg.name
                        and not provider.name.endswith(_NOT_RUNTIME_SUFFIXES)):
                    found.setdefault(provider.name, source)
        return sorted(found.items())

    def unmet_requires(self) -> list[tuple[str, str]]:
        """(package, requirement) for every Requires no package of the repositories satisfies."""
        available = self._sack.query().available()
        unmet = []
        for pkg in available:
            for requirement in pkg.requires:
                text = str(requirement)
                if text.startswith("rpmlib(") or available.filter(provides=requirement):
                    continue
                if not (text.startswith("/") and available.filter(file=text)):
                    unmet.append((pkg.name, text))
        return sorted(set(unmet))

    def providers_of(self, capability: str) -> list[str]:
        """Names of packages that provide a capability (a soname such as ``libfoo.so.1()(64bit)``)."""
        query = self._sack.query().available().filter(provides=capability)
        return sorted({p.name for p in query})

    def installsize_of(self, name: str) -> int | None:
        """Installed size of the newest package of that name (None when there is none)."""
        found = self._sack.query().available().filter(name=name).latest()
        return int(found[0].installsize) if found else None

    def names_providing(self, spec: str) -> list[str]:
        """Names dnf would consider for ``dnf install SPEC`` (by name, provide or file)."""
        return sorted({p.name for p in self._query_spec(spec)})


def _info(pkg) -> PackageInfo:
    checksum_type, checksum = pkg.chksum if pkg.chksum else (None, b"")
    kind = hawkey.chksum_name(checksum_type) if checksum_type is not None else "none"
    digest = checksum.hex() if isinstance(checksum, bytes) else str(checksum)
    return PackageInfo(pkg.name, pkg.evr, pkg.arch, pkg.reponame, int(pkg.installsize),
                       f"{kind}:{digest}", pkg.sourcerpm or "", int(pkg.hdr_end or 0))

