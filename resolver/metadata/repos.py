"""The dnf adapter: resolve requests (libsolv through dnf's Python API) and answer provides queries on
the loaded metadata (resolver/metadata_loading.py loads it). Metadata only: nothing is installed;
weak dependencies are off unless asked.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import dnf
import dnf.exceptions
import dnf.module.module_base
import hawkey

from ..errors import RepoError
from ..files import default_cache_dir
from .closure import PackageInfo, Requirements, Resolution, Unresolved
from .devel_libraries import runtime_libraries, source_name
from .metadata_facts import MetadataFacts
from .metadata_loading import load_metadata
from .repo_config import RepoSpec
from .solve_problems import problem_text

#: where an executed command is looked up (what a service's PATH holds on EL)
COMMAND_DIRS = ("/usr/bin", "/usr/sbin", "/bin", "/sbin")


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
        loaded = load_metadata(self.specs, arch, releasever, cache, metadata_expire)
        #: sha256 of the repomd.xml each repository's loaded metadata came from (dnf's synced copy)
        self.repomd_sha256 = loaded.repomd_sha256
        self._workdir = loaded.workdir
        self._base = loaded.base
        self._sack = loaded.base.sack
        self._arch = arch
        self._packages: dict[str, object] = {}
        self._modules: tuple[str, ...] = ()
        # memos: what a request name selects, each package's info and requirements, problem texts
        self._specs: dict[str, tuple[frozenset[str], list]] = {}
        self._infos: dict[object, PackageInfo] = {}
        self._requirements: dict[str, Requirements] = {}
        self._facts = MetadataFacts(cache, self.specs, self.repomd_sha256)
        # what a name the repositories lack is diagnosed against (resolver/unresolved.py), when asked
        self._known_names: frozenset[str] | None = None
        self._source_names: frozenset[str] | None = None

    def digests(self) -> tuple[dict, ...]:
        """Each repository with the sha256 of the repomd.xml its loaded metadata came from (what a
        lock records: the packages locked and the digest are from the same metadata)."""
        return tuple({"id": spec.repo_id, "baseurl": spec.baseurl, "repomd_sha256": self.repomd_sha256[spec.repo_id]}
                     for spec in self.specs)

    def close(self) -> None:
        self._facts.save()
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
        return Resolution(tuple(satisfied_by), closure, unresolved, tuple(substituted), tuple(saved),
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
            needed: set[str] = set()
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
            return problem_text(self._base, pinned, name, wanted)
        # "root-cause": texts kept before the root cause led them are not reused
        key = hashlib.sha256("\0".join(["root-cause", name, *sorted(wanted), "|", *self._modules]).encode()).hexdigest()
        return self._facts.get("problems", key, lambda: problem_text(self._base, pinned, name, wanted))

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
            found = self._facts.get("requirements", info.nevra, lambda: self._lookup_requirements(info))
            self._requirements[info.nevra] = tuple((text, frozenset(providers)) for text, providers in found)
        return self._requirements[info.nevra]

    def _with_recommends(self, info: PackageInfo) -> Requirements:
        """Requirements and, for a solve with weak dependencies, Recommends (``Recommends: kpartx``)."""
        key = f"{info.nevra} recommends"
        if key not in self._requirements:
            found = self._facts.get("requirements", key, lambda: self._lookup_requirements(info, "recommends"))
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

        return self._facts.get("dropins", name, lookup)

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
        """What a program compiled against a -devel package links at run time: (soname, packages
        providing it), as ``resolver.metadata.devel_libraries.runtime_libraries`` reads them."""
        candidates = self._query_spec(devel).filter(arch=[self._arch, "noarch"]).latest()
        return runtime_libraries(candidates[0], self._sack, self._arch) if candidates else []

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
            self._source_names = frozenset(source_name(pkg.sourcerpm or "") for pkg in self._sack.query(
                flags=hawkey.IGNORE_MODULAR_EXCLUDES).available())
        return self._source_names


def _info(pkg) -> PackageInfo:
    checksum_type, checksum = pkg.chksum if pkg.chksum else (None, b"")
    kind = hawkey.chksum_name(checksum_type) if checksum_type is not None else "none"
    digest = checksum.hex() if isinstance(checksum, bytes) else str(checksum)
    return PackageInfo(pkg.name, pkg.evr, pkg.arch, pkg.reponame, int(pkg.installsize),
                       f"{kind}:{digest}", pkg.sourcerpm or "", int(pkg.hdr_end or 0))

