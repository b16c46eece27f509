"""The dnf adapter: load repository metadata, resolve requests (libsolv through dnf's Python API),
answer provides queries. Metadata only: nothing is installed; weak dependencies are off unless asked.

Metadata is checked before dnf reads it (resolver/repodata.py): a local repository on every run, a
remote one when its cached copy is older than the metadata expiry. Everything kept between runs is
keyed by the repomd.xml it came from: dnf's copy and libsolv's solv files (libdnf checks them
against repomd's checksum once dnf has synced the copy), the facts cache, the decompression marks.
"""

from __future__ import annotations

import configparser
import gc
import hashlib
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import dnf
import dnf.exceptions
import dnf.module.module_base
import hawkey
import networkx as nx

from .errors import RepoError
from .files import default_cache_dir, scratch_directory, write_atomically
from .repodata import check_local, check_remote, default_expiry
from .sources import network_timeout

BUNDLED_REPOS_DIR = Path(str(resources.files("resolver") / "data" / "repos"))
BUNDLED_REPOS = ("cs9-baseos-osbuild-2022", "cs9-appstream-osbuild-2025")
#: rpm packages a -devel package's runtime library is never taken from
_NOT_RUNTIME_SUFFIXES = ("-devel", "-static", "-headers")
#: where an executed command is looked up (what a service's PATH holds on EL)
COMMAND_DIRS = ("/usr/bin", "/usr/sbin", "/bin", "/sbin")
#: where a -devel package's development links (``libfoo.so``) live
_LIBRARY_DIRS = ("/usr/lib64", "/usr/lib", "/lib64", "/lib")
#: a bare soname requirement, as rpm writes it for a development link: ``libssl.so.3()(64bit)``
_SONAME_REQUIRE = re.compile(r"^[^()\s]+\.so(\.[^()\s]+)?(\(\)\(64bit\))?$")


def _source_name(sourcerpm: str) -> str:
    """``cyrus-sasl-2.1.27-21.el9.src.rpm`` -> ``cyrus-sasl``."""
    return sourcerpm.rsplit("-", 2)[0]


@dataclass(frozen=True)
class RepoSpec:
    """One repository: an id and a baseurl (a local directory holding repodata/ or a URL), and
    whether installing from it checks package signatures (``gpgcheck``; None: on for a remote
    repository, off for a local directory) against ``gpgkey`` (URLs of public keys)."""

    repo_id: str
    baseurl: str
    gpgcheck: bool | None = None
    gpgkey: tuple[str, ...] = ()

    @property
    def local_dir(self) -> Path | None:
        if self.baseurl.startswith("file://"):
            return Path(self.baseurl.removeprefix("file://"))
        return None if "://" in self.baseurl else Path(self.baseurl)

    @property
    def checks_signatures(self) -> bool:
        return self.local_dir is None if self.gpgcheck is None else self.gpgcheck


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


#: a package's requirements: (requirement text, names of the packages in the repositories providing it)
Requirements = tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True)
class Resolution:
    """The result of one solve: what was asked, the full installed set, what could not be had."""

    requested: tuple[str, ...]
    #: each satisfied request and the closure package that satisfies it (pkgconfig -> pkgconf-pkg-config)
    satisfied_by: tuple[tuple[str, str], ...]
    closure: tuple[PackageInfo, ...]
    unresolved: tuple[Unresolved, ...]
    #: (instead_of, use) provider substitutions this solve made
    substituted: tuple[tuple[str, str], ...] = ()
    #: installed bytes each substitution took off the set (parallel to ``substituted``; 0 where a
    #: proven substitution was asked for at once and the set without it was never solved)
    saved: tuple[int, ...] = ()
    #: a package's requirements (shared by every solve on one RepoSet: no per-image copies)
    requirements: Callable[[PackageInfo], Requirements] = field(default=lambda _: (), compare=False, repr=False)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Requires graph on the closure: edge a -> b labelled with the requirement b satisfies."""
        return requires_graph(self.closure, self.requirements)
    #: (request, package, explanation): requests dnf answers with a package that obsoletes them
    replaced: tuple[tuple[str, str, str], ...] = ()

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


def requires_graph(packages: Iterable[PackageInfo], requirements: Callable[[PackageInfo], Requirements]) -> nx.DiGraph:
    """Edges from each package to the packages of the same set that satisfy its requirements."""
    packages = list(packages)
    names = {p.name for p in packages}
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(names)
    for package in packages:
        for text, providers in requirements(package):
            for provider in sorted(providers & names):
                if provider != package.name and not graph.has_edge(package.name, provider):
                    graph.add_edge(package.name, provider, requires=text)
    return graph


def repo_specs(arguments: Sequence[str]) -> tuple[RepoSpec, ...]:
    """``--repos`` values: directories holding repodata/, repodata/ dirs, or .repo files."""
    if not arguments:
        return tuple(RepoSpec(name, str(BUNDLED_REPOS_DIR / name)) for name in BUNDLED_REPOS)
    specs: list[RepoSpec] = []
    for argument in arguments:
        path = Path(argument)
        if re.match(r"^[a-z][a-z0-9+.-]*://", argument):
            if not argument.startswith(("http://", "https://", "file://")):
                raise RepoError(f"{argument}: only http://, https:// and file:// repositories are read")
            specs.append(RepoSpec(_repo_id(argument), argument))
        elif path.suffix == ".repo":
            specs.extend(_repo_file(path))
        elif path.name == "repodata":
            specs.append(RepoSpec(path.parent.name or "repo", str(path.parent)))
        else:
            specs.append(RepoSpec(path.name or "repo", str(path)))
    return tuple(specs)


def _repo_id(url: str) -> str:
    """A repository id for a URL given on the command line (host and path, as dnf ids allow)."""
    parts = urllib.parse.urlsplit(url)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.netloc}{parts.path}".strip("/")) or "repo"


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
        gpgcheck = parser.get(section, "gpgcheck", fallback="").strip().lower()
        if gpgcheck not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
            raise RepoError(f"{path}: [{section}] gpgcheck={gpgcheck!r}; write gpgcheck=1 or gpgcheck=0")
        keys = tuple(parser.get(section, "gpgkey", fallback="").replace(",", " ").split())
        for key in keys:
            if not re.match(r"^(file|https?)://[^\s\x00-\x1f\x7f]+$", key):
                raise RepoError(f"{path}: [{section}] gpgkey {key!r} is not a file://, http:// or https:// URL")
        specs.append(RepoSpec(section, baseurl[0], gpgcheck in ("1", "true", "yes", "on") if gpgcheck else None,
                              keys))
    if not specs:
        raise RepoError(f"{path}: no enabled repository")
    return specs


class RepoSet:
    """Loaded metadata of a set of repositories and the solves made on it."""

    def __init__(self, specs: Sequence[RepoSpec], arch: str = "x86_64", releasever: str = "9",
                 cache_dir: Path | None = None, metadata_expire: int | None = None, weak_deps: bool = False):
        """``metadata_expire``: seconds a remote repository's cached metadata is used without
        checking its repomd.xml again (-1: never; None: ``$RESOLVER_METADATA_EXPIRE``, else 0, every
        run); local repositories are checked on every run. ``weak_deps``: the default of every
        solve (``dnf install`` with install_weak_deps=True)."""
        self.specs = tuple(specs)
        self.weak_deps = self._weak = weak_deps
        cache = cache_dir or default_cache_dir()
        if cache.exists() and not cache.is_dir():
            raise RepoError(f"{cache}: the cache directory is a file; give a directory (--cache-dir)")
        checked = cache / "checked"
        local = {spec.repo_id: check_local(spec.local_dir, checked) for spec in self.specs if spec.local_dir}
        expire = default_expiry() if metadata_expire is None else metadata_expire
        # named by pid: a run killed with SIGKILL leaves it, and the next run removes it
        self._workdir = scratch_directory("resolver-dnf-")
        base = dnf.Base()
        conf = base.conf
        # Substitutions before add_new_repo, or libdnf raises a SWIG TypeError.
        conf.substitutions["releasever"] = releasever
        conf.substitutions["basearch"] = arch
        conf.arch = arch
        # what module streams require (``platform:el9``); dnf reads it from the root's os-release,
        # and the empty root here has none
        conf.module_platform_id = f"platform:el{releasever}"
        conf.install_weak_deps = False
        # a mirror that stops answering is given up on (librepo's default waits 30 s per try, 10 tries)
        conf.timeout = network_timeout()
        conf.retries = 2
        # dnf's own cache (solv files): reloading the same metadata then takes a fraction of the time
        conf.cachedir = str(cache / "dnf")
        conf.installroot = str(Path(self._workdir.name) / "root")
        conf.reposdir = []
        conf.logdir = str(Path(self._workdir.name) / "log")
        Path(conf.logdir).mkdir()
        remote_checks = []
        for spec in self.specs:
            url = spec.baseurl if "://" in spec.baseurl else f"file://{Path(spec.baseurl).resolve()}"
            repo = base.repos.add_new_repo(spec.repo_id, conf, baseurl=[url], skip_if_unavailable=False)
            if spec.local_dir is None:
                key = hashlib.sha256(f"{spec.repo_id}\0{url}".encode()).hexdigest()
                stamp = checked / f"remote-{key}"
                if _fresh(stamp, Path(repo._repo.getCachedir()) / "repodata" / "repomd.xml", expire):
                    repo.metadata_expire = -1  # the cached copy, as it is
                    continue
                check_remote(url)
                remote_checks.append(stamp)
            # expired: dnf compares its copy's repomd.xml with the repository's and syncs when they
            # differ (metadata_expire=0 is not enough: a copy made in the same second counts as fresh)
            repo._repo.expire()
        # fill_sack runs the garbage collector twice over every object alive (the imported modules'):
        # those are alive to the end anyway
        gc.freeze()
        try:
            base.fill_sack(load_system_repo=False)
        except dnf.exceptions.RepoError as error:
            failed = [s for s in self.specs if re.search(rf"'{re.escape(s.repo_id)}'", str(error))] or self.specs
            where = ", ".join(f"{s.local_dir / 'repodata' if s.local_dir else s.baseurl}" for s in failed)
            raise RepoError(f"{where}: cannot load repository metadata ({error})") from None
        #: sha256 of the repomd.xml each repository's loaded metadata came from (dnf's synced copy)
        self.repomd_sha256 = {spec.repo_id: _loaded_repomd_digest(base.repos[spec.repo_id]) for spec in self.specs}
        for repo_id, digest in local.items():
            if self.repomd_sha256[repo_id] != digest:
                raise RepoError(f"repository {repo_id}: repodata/repomd.xml changed while it was being read; run again")
        for stamp in remote_checks:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()
        self._base = base
        self._sack = base.sack
        self._arch = arch
        self._packages: dict[str, object] = {}
        self._modules: tuple[str, ...] = ()
        # memos: what a request name selects, each package's info and requirements, problem texts
        self._specs: dict[str, tuple[frozenset[str], list]] = {}
        self._infos: dict[object, PackageInfo] = {}
        self._requirements: dict[str, Requirements] = {}
        # facts of the metadata (each package's requirements with their providers, drop-ins, why a
        # name cannot be installed into an empty root), kept
        # between runs under the digest of the repositories' repomd.xml files
        self._facts_path = cache / "metadata" / f"{self._metadata_digest()}.json"
        self._facts: dict[str, dict] = {"requirements": {}, "dropins": {}, "problems": {}}
        self._facts_loaded = self._facts_changed = False
        # what a name the repositories lack is diagnosed against (resolver/unresolved.py), when asked
        self._known_names: frozenset[str] | None = None
        self._source_names: frozenset[str] | None = None

    def _metadata_digest(self) -> str:
        """sha256 over the repositories' ids, base URLs and loaded repomd.xml digests."""
        digest = hashlib.sha256()
        for spec in self.specs:
            digest.update(f"{spec.repo_id}\0{spec.baseurl}\0{self.repomd_sha256[spec.repo_id]}\0".encode())
        return digest.hexdigest()

    def digests(self) -> tuple[dict, ...]:
        """Each repository with the sha256 of the repomd.xml its loaded metadata came from (what a
        lock records: the packages locked and the digest are from the same metadata)."""
        return tuple({"id": spec.repo_id, "baseurl": spec.baseurl, "repomd_sha256": self.repomd_sha256[spec.repo_id]}
                     for spec in self.specs)

    def _fact(self, kind: str, key: str, compute: Callable[[], object]):
        """A fact of the metadata, from the cache file when a run on the same metadata saw it."""
        if not self._facts_loaded:
            self._facts_loaded = True
            try:
                loaded = json.loads(self._facts_path.read_text(encoding="utf-8"))
                if all(isinstance(loaded.get(k), dict) for k in self._facts):
                    self._facts = loaded
            except (OSError, ValueError, AttributeError):
                pass  # absent or unreadable: computed again
        table = self._facts[kind]
        if key not in table:
            table[key] = compute()
            self._facts_changed = True
        return table[key]

    def close(self) -> None:
        if self._facts_changed:
            write_atomically(self._facts_path, json.dumps(self._facts))
        # dnf's close runs the garbage collector over every object alive (a tenth of a second
        # on a thousand images); what is alive now stays alive to the end anyway
        gc.freeze()
        self._base.close()
        self._workdir.cleanup()

    def __enter__(self) -> RepoSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- solving -------------------------------------------------------------------------------

    def resolve(self, requests: Sequence[str], pinned: Iterable[PackageInfo] = (),
                substitutions: Sequence[tuple[str, str]] = (),
                proven: Sequence[tuple[str, str]] = (), modules: Sequence[str] = (),
                weak_deps: bool | None = None) -> Resolution:
        """Resolve names on top of pinned packages (a parent image's set, kept exactly), with
        exactly the module streams ``modules`` enabled (``mariadb:10.11``; none: dnf's default).

        What ``dnf --installroot ROOT install NAMES`` would install into a root holding the pinned
        packages, with install_weak_deps set to ``weak_deps`` (None: the RepoSet's). Requests that
        cannot be satisfied are skipped and reported with libsolv's problem text; callers decide
        whether that is an error. ``substitutions`` (instead_of, use): where the solve brings in
        ``instead_of``, solve again asking for ``use`` too, and keep that when ``instead_of`` is
        then gone (``use`` replaced it as the provider).
        ``proven`` substitutions (ones that worked on other sets) are asked for in the first solve,
        and kept where the set needs what ``use`` provides: one solve instead of two."""
        self._use_modules(tuple(modules))
        self._weak = self.weak_deps if weak_deps is None else weak_deps
        try:
            return self._resolve(requests, pinned, substitutions, proven)
        finally:
            # every other query sees dnf's default module state
            self._use_modules(())

    def _resolve(self, requests: Sequence[str], pinned: Iterable[PackageInfo],
                 substitutions: Sequence[tuple[str, str]], proven: Sequence[tuple[str, str]]) -> Resolution:
        pinned_pkgs = [self._package(p) for p in pinned]
        requests = tuple(dict.fromkeys(requests))
        missing = {name: f"no package provides {name!r} in the enabled repositories"
                   for name in requests if not self._spec(name)[0]}
        wanted = [n for n in requests if n not in missing]
        installed, substituted, saved = self._solve_proven(pinned_pkgs, wanted, proven)
        if installed is not None:
            wanted = [*wanted, *(use for _, use in substituted)]
        else:
            installed = self._solve(pinned_pkgs, wanted)
        names = {p.name for p in installed}
        pinned_names = {p.name for p in pinned_pkgs}
        for instead_of, use in [*substitutions, *proven]:
            if instead_of in names and instead_of not in pinned_names and (instead_of, use) not in substituted:
                trial = self._solve(pinned_pkgs, [*wanted, use])
                trial_names = {p.name for p in trial}
                if instead_of not in trial_names and use in trial_names:
                    saved.append(sum(int(p.installsize) for p in installed) - sum(int(p.installsize) for p in trial))
                    installed, names, wanted = trial, trial_names, [*wanted, use]
                    substituted.append((instead_of, use))
        problems = dict(missing)
        satisfied_by = []
        replaced = []
        for name in wanted:
            matching = sorted(self._spec(name)[0] & names)
            obsoleting = [] if matching else self._sack.query().filterm(pkg=installed).filter(
                obsoletes=self._query_spec(name))
            if matching:
                satisfied_by.append((name, matching[0]))
            elif obsoleting:
                # what `dnf install NAME` does too: "Package X is obsoleted by Y, trying to install Y instead"
                satisfied_by.append((name, obsoleting[0].name))
                obsoleted = self._query_spec(name).latest()
                rule = next((str(o) for o in obsoleting[0].obsoletes if str(o).split()[0] == obsoleted[0].name), "")
                replaced.append((name, obsoleting[0].name,
                                 f"{obsoleted[0]} is obsoleted by {obsoleting[0]} (Obsoletes: {rule}); dnf installs "
                                 f"{obsoleting[0].name} instead, as `dnf install {name}` does"))
            else:
                problems[name] = self._problem(pinned_pkgs, name, wanted)
        closure = tuple(sorted((self._info(p) for p in installed), key=lambda p: (p.name, p.arch)))
        unresolved = tuple(Unresolved(n, problems[n]) for n in requests if n in problems)
        return Resolution(requests, tuple(satisfied_by), closure, unresolved, tuple(substituted), tuple(saved),
                          self._with_recommends if self._weak else self.requirements, tuple(replaced))

    def _solve_proven(self, pinned: Sequence, wanted: list[str],
                      proven: Sequence[tuple[str, str]]) -> tuple[list | None, list, list]:
        """The first solve with the proven replacements asked for; those the set does not need are
        dropped (one more solve). (None, [], []) when it does not hold: a request lost, or a
        replaced package still in."""
        uses = [(a, u) for a, u in proven if a not in wanted and u not in wanted]
        if not uses:
            return None, [], []
        for _ in range(2):
            installed = self._solve(pinned, [*wanted, *(u for _, u in uses)])
            names = {p.name for p in installed}
            if any(a in names for a, _ in uses) or any(not self._spec(n)[0] & names for n in wanted):
                return None, [], []
            needed = set()
            for package in installed:
                for _, providers in self.requirements(self._info(package)):
                    needed |= providers - {package.name}
            kept = [(a, u) for a, u in uses if u in needed]
            if kept == uses:
                return installed, list(kept), [0] * len(kept)
            uses = kept
            if not uses:
                return None, [], []
        return None, [], []

    def _spec(self, name: str) -> tuple[frozenset[str], list]:
        """Names of the packages a request name matches (by name, provide or file), and the
        selectors ``dnf install NAME`` hands the solver; both looked up once per name."""
        if name not in self._specs:
            subject = dnf.subject.Subject(name)
            solution = subject.get_best_solution(self._sack, with_src=False)
            query = solution["query"].available()
            selectors = subject._get_best_selectors(self._base, obsoletes=self._base.conf.obsoletes,
                                                    solution=solution) if query else []
            self._specs[name] = (frozenset(p.name for p in query), selectors)
        return self._specs[name]

    def _solve(self, pinned: Sequence, names: Sequence[str]) -> list:
        """One libsolv run, as ``Base.install(name, strict=False)`` and ``Base.resolve`` make it,
        without the transaction dnf builds on top (a third of its time)."""
        goal = hawkey.Goal(self._sack)
        for pkg in pinned:
            goal.install(pkg)
        for name in names:
            for selector in self._spec(name)[1]:
                goal.install(select=selector, optional=True)
        if not goal.run(allow_uninstall=False, force_best=self._base.conf.best, ignore_weak_deps=not self._weak):
            problems = "; ".join(str(p) for p in goal.problem_rules()[:3])
            raise RepoError(f"libsolv found no solution for {', '.join(names)}: {problems}")
        return list(set(goal.list_installs()) | set(pinned))

    def _problem(self, pinned: Sequence, name: str, wanted: Sequence[str]) -> str:
        """libsolv's own explanation: the problems of a strict solve of every request that name the
        request (``package curl-minimal conflicts with curl provided by curl-7.76.1``), else those of
        the request solved alone on top of the pins. From an empty root it is a fact of the metadata
        (and the streams enabled), kept between runs."""
        if pinned:
            return self._solve_problem(pinned, name, wanted)
        key = hashlib.sha256("\0".join([name, *sorted(wanted), "|", *self._modules]).encode()).hexdigest()
        return self._fact("problems", key, lambda: self._solve_problem(pinned, name, wanted))

    def _solve_problem(self, pinned: Sequence, name: str, wanted: Sequence[str]) -> str:
        for names in (wanted, [name]):
            text = self._strict_problems(pinned, names)
            if text is None:
                continue
            blocks = re.split(r"\n(?=\s*Problem( \d+)?:)", "\n" + text)
            naming = [b.strip() for b in blocks if b and b.strip() and re.search(rf"\b{re.escape(name)}\b", b)]
            if naming or len(names) == 1:
                return "\n".join(naming) or text
        return f"{name!r} cannot be installed with the other requests, and libsolv names no problem for it"

    def _strict_problems(self, pinned: Sequence, names: Sequence[str]) -> str | None:
        """dnf's error text for a strict install of these names on top of the pins; None when it works."""
        base = self._base
        base.reset(goal=True)
        for pkg in pinned:
            base._goal.install(pkg)
        try:
            for name in names:
                base.install(name, strict=True)
            base.resolve(allow_erasing=False)
        except dnf.exceptions.Error as error:
            return str(error).strip()
        return None

    def _use_modules(self, streams: tuple[str, ...]) -> None:
        """Enable exactly these module streams, through dnf's module API on the repositories'
        modules.yaml: modular packages outside an enabled stream are filtered out, as dnf does."""
        if streams == self._modules:
            return
        module_base = dnf.module.module_base.ModuleBase(self._base)
        # Back to the state dnf starts with (the empty installroot): ModuleBase.reset would be the
        # public call, but libdnf refuses it here ("Cannot enable multiple streams").
        self._base._moduleContainer.rollback()
        self._modules = ()
        try:
            if streams:
                module_base.enable(list(streams))
            else:
                module_base._update_sack()
        except dnf.exceptions.Error as error:
            self._base._moduleContainer.rollback()
            module_base._update_sack()
            known = ", ".join(f"{name}:{stream}" for name, streams_of in self.module_streams().items()
                              for stream in streams_of) or "none"
            raise RepoError(f"cannot enable module stream(s) {', '.join(streams)}: {str(error).strip()}; "
                            f"the repositories have: {known}") from None
        self._modules = streams
        self._specs.clear()  # what a name selects depends on the streams enabled

    def module_streams(self) -> dict[str, list[str]]:
        """Module name -> its streams in the repositories' modules.yaml."""
        found: dict[str, set[str]] = {}
        for module in self._base._moduleContainer.getModulePackages():
            found.setdefault(module.getName(), set()).add(module.getStream())
        return {name: sorted(streams) for name, streams in sorted(found.items())}

    def module_of(self, package: PackageInfo) -> str | None:
        """The module stream (``mariadb:10.11``) whose artifacts hold this package, or None."""
        nevra = f"{package.name}-{package.evr if ':' in package.evr else '0:' + package.evr}.{package.arch}"
        for module in self._base._moduleContainer.getModulePackages():
            if nevra in module.getArtifacts():
                return f"{module.getName()}:{module.getStream()}"
        return None

    def _info(self, pkg) -> PackageInfo:
        if pkg not in self._infos:
            self._infos[pkg] = _info(pkg)
        return self._infos[pkg]

    def requirements(self, info: PackageInfo) -> Requirements:
        """A package's requirements with the names of every package providing each (rpmlib()
        requirements left out); looked up once per package for every image and run."""
        if info.nevra not in self._requirements:
            found = self._fact("requirements", info.nevra, lambda: self._lookup_requirements(info))
            self._requirements[info.nevra] = tuple((text, frozenset(providers)) for text, providers in found)
        return self._requirements[info.nevra]

    def _with_recommends(self, info: PackageInfo) -> Requirements:
        """Requirements and, for a solve with weak dependencies, Recommends (``Recommends: kpartx``)."""
        key = f"{info.nevra} recommends"
        if key not in self._requirements:
            found = self._fact("requirements", key, lambda: self._lookup_requirements(info, "recommends"))
            self._requirements[key] = self.requirements(info) + tuple(
                (f"Recommends: {text}", frozenset(providers)) for text, providers in found)
        return self._requirements[key]

    def _lookup_requirements(self, info: PackageInfo, kind: str = "requires") -> list:
        found = []
        for requirement in getattr(self._package(info), kind):
            text = str(requirement)
            if text.startswith("rpmlib("):
                continue
            everything = self._sack.query(flags=hawkey.IGNORE_MODULAR_EXCLUDES)
            providers = everything.filter(provides=requirement)
            if not providers and text.startswith("/"):
                providers = everything.filter(file=text)
            found.append((text, sorted({p.name for p in providers})))
        return found

    def smaller_dropin(self, name: str) -> str | None:
        """A smaller package that provides ``name`` itself (coreutils-single for coreutils,
        curl-minimal for curl): a drop-in the solve could use instead. None when there is none."""
        def lookup() -> str | None:
            own = self.installsize_of(name)
            others = self._sack.query().available().filterm(provides=name).latest()
            smaller = sorted((int(p.installsize), p.name) for p in others
                             if p.name != name and own is not None and int(p.installsize) < own)
            return smaller[0][1] if smaller else None

        return self._fact("dropins", name, lookup)

    def _query_spec(self, spec: str):
        return dnf.subject.Subject(spec).get_best_query(self._sack, with_provides=True,
                                                        with_filenames=True).available()

    def _package(self, info: PackageInfo):
        # a parent's packages are pinned again for every child: look each up once
        if info.nevra not in self._packages:
            # a package a module stream gave stays findable when the default streams are back on
            found = self._sack.query(flags=hawkey.IGNORE_MODULAR_EXCLUDES).available().filter(
                name=info.name, evr=info.evr, arch=info.arch)
            if not found:
                raise RepoError(f"{info.nevra} is not in the enabled repositories")
            self._packages[info.nevra] = found[0]
        return self._packages[info.nevra]

    # ---- queries -------------------------------------------------------------------------------

    def runtime_libraries_of(self, devel: str) -> list[tuple[str, tuple[str, ...]]]:
        """What a program compiled against a -devel package links at run time: the sonames its
        development links (``/usr/lib64/libsasl2.so``) point at, read from the package's soname
        Requires (``libsasl2.so.3()(64bit)``: rpm generates one per link), with the packages
        providing each (``cyrus-sasl-lib``, not the ``cyrus-sasl`` daemon of the same source RPM).

        Where the metadata lists the package's library files, a soname counts when a link of that
        name is there. Where it does not (AppStream's filelists are an empty stub here), a soname
        counts when a package of the -devel's own source RPM provides it (a soname from elsewhere,
        ``libkrb5.so.3``, is what a tool shipped in the -devel links), or when no package provides
        it at all. Returns (soname, providers); empty providers: the metadata has no package for
        it. [] when the -devel is not in the repositories or links no library (headers only)."""
        candidates = self._query_spec(devel).filter(arch=[self._arch, "noarch"]).latest()
        if not candidates:
            return []
        pkg = candidates[0]
        library_files = [path for path in pkg.files if path.rpartition("/")[0] in _LIBRARY_DIRS]
        links = {path.rpartition("/")[2] for path in library_files if path.endswith(".so")}
        source = _source_name(pkg.sourcerpm or "")
        found: list[tuple[str, tuple[str, ...]]] = []
        for requirement in pkg.requires:
            text = str(requirement)
            if not _SONAME_REQUIRE.match(text):  # versioned symbols (GLIBC_2.34) come from ELF files
                continue
            if library_files and text.partition(".so")[0] + ".so" not in links:
                continue
            providers = [p for p in self._sack.query().available().filter(provides=requirement,
                                                                           arch=[self._arch, "noarch"])
                         if not p.name.endswith(_NOT_RUNTIME_SUFFIXES)]
            if not library_files and providers:
                providers = [p for p in providers if _source_name(p.sourcerpm or "") == source]
                if not providers:
                    continue
            found.append((text, tuple(sorted({p.name for p in providers}))))
        return sorted(found)

    def command_providers(self, command: str) -> list[str]:
        """Packages that install a program of that name in /usr/bin, /usr/sbin, /bin or /sbin
        (file provides: primary metadata carries these paths), or the file an absolute path names."""
        if command.startswith("/"):  # run by its path: that file (or its /usr-merged twin)
            paths = [command] if command.startswith("/usr/") else [command, f"/usr{command}"]
        else:
            paths = [f"{directory}/{command}" for directory in COMMAND_DIRS]
        return sorted({p.name for p in self._sack.query().available().filter(file=paths)})

    def commands_of(self, info: PackageInfo) -> list[str]:
        """Programs a package installs in the command directories."""
        pkg = self._package(info)
        return sorted({path.rpartition("/")[2] for path in pkg.files if path.rpartition("/")[0] in COMMAND_DIRS})

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

    def known_names(self) -> frozenset[str]:
        """Every package name and provide name of the repositories (module streams aside, no
        sonames or files): what a "did you mean" for a name they lack chooses from."""
        if self._known_names is None:
            names: set[str] = set()
            for pkg in self._sack.query(flags=hawkey.IGNORE_MODULAR_EXCLUDES).available():
                names.add(pkg.name)
                names.update(str(provide).partition(" ")[0] for provide in pkg.provides)
            self._known_names = frozenset(n for n in names if "(" not in n and "/" not in n)
        return self._known_names

    def source_names(self) -> frozenset[str]:
        """The source package names of the repositories' binary packages."""
        if self._source_names is None:
            self._source_names = frozenset(_source_name(pkg.sourcerpm or "") for pkg in self._sack.query(
                flags=hawkey.IGNORE_MODULAR_EXCLUDES).available())
        return self._source_names


def _info(pkg) -> PackageInfo:
    checksum_type, checksum = pkg.chksum if pkg.chksum else (None, b"")
    kind = hawkey.chksum_name(checksum_type) if checksum_type is not None else "none"
    digest = checksum.hex() if isinstance(checksum, bytes) else str(checksum)
    return PackageInfo(pkg.name, pkg.evr, pkg.arch, pkg.reponame, int(pkg.installsize),
                       f"{kind}:{digest}", pkg.sourcerpm or "", int(pkg.hdr_end or 0))


def _fresh(stamp: Path, cached_repomd: Path, expire: int) -> bool:
    """Whether a remote repository's cached copy is used without asking the server: there is one,
    checked less than ``expire`` seconds ago (-1: never expires)."""
    if not (stamp.is_file() and cached_repomd.is_file()):
        return False
    return expire < 0 or time.time() - stamp.stat().st_mtime < expire


def _loaded_repomd_digest(repo) -> str:
    path = Path(repo._repo.getCachedir()) / "repodata" / "repomd.xml"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise RepoError(f"repository {repo.id}: dnf kept no repomd.xml in its cache ({error.strerror})") from None
