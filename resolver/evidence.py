"""Evidence from the projects' own code: what each image's code runs and imports, whether the image
has it, and which of its runtime packages nothing justifies.

Joins the stages: each project's pinned release (sources: the sdist, cached by sha256), read with
``codescan`` (cached by the sdist's sha256 and the scanner's own source), the profiles' code scopes
(which code each backend profile or role runs), the resolved images (resolution) and the
repository metadata (which package provides a command). Plain frozen dataclasses out; nothing
printed.

Scope of a use: the groups of the project's profile whose ``code`` patterns match the place it is
in (``path`` or ``path:Class.function``; ``!`` excludes); code no group claims is the project's
``default`` code. A use inside a *helper* file (``helpers``: ``nova/privsep/*.py``) counts where
the helper is called from, so ``mount`` in ``nova.privsep.fs`` is needed by the backends calling it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import codescan
from .audit import Finding
from .codescan import CommandUse, DynamicUse, ImportUse, ProjectUses
from .files import default_cache_dir, write_atomically
from .profiles import Defaults, ProjectProfile, Release
from .resolution import ImagePackages, TreeResolver
from .selection import Request
from .sources import release_sdist, sdist_code, sdist_console_scripts

DEFAULT_SCOPE = "default"
#: profile name under which an image's own command (its entry point) is needed
COMMAND_SCOPE = "command"


@dataclass(frozen=True)
class ProjectCode:
    """What one release's code runs and imports."""

    project: str
    release: str
    sha256: str
    uses: ProjectUses
    console_scripts: tuple[str, ...]


def _scanner_key() -> str:
    """The scan rules' own digest: a cached scan is reused only with the rules that made it."""
    return hashlib.sha256(Path(codescan.__file__).read_bytes()).hexdigest()[:16]


def project_code(project: str, release: Release, cache_dir: Path | None = None) -> ProjectCode:
    """Scan a release's sdist (downloaded once), or read the scan back from the cache."""
    cache = cache_dir or default_cache_dir()
    archive = release_sdist(release.name, release.version, cache)
    digest = archive.parent.name  # sdists/sha256/<digest>/<file>
    cached = cache / "evidence" / f"{digest}-{_scanner_key()}.json"
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        uses = ProjectUses(tuple(CommandUse(**{**c, "callers": tuple(c["callers"])}) for c in data["commands"]),
                           tuple(DynamicUse(**d) for d in data["dynamic"]),
                           tuple(ImportUse(**i) for i in data["imports"]), tuple(data["unparsed"]))
        return ProjectCode(project, str(release), digest, uses, tuple(data["console_scripts"]))
    uses = codescan.scan_sources(sdist_code(archive))
    scripts = sdist_console_scripts(archive)
    write_atomically(cached, json.dumps({
        "commands": [asdict(c) for c in uses.commands], "dynamic": [asdict(d) for d in uses.dynamic],
        "imports": [asdict(i) for i in uses.imports], "unparsed": list(uses.unparsed),
        "console_scripts": list(scripts)}))
    return ProjectCode(project, str(release), digest, uses, scripts)


# ---- scopes -------------------------------------------------------------------------------------


def _specificity(pattern: str, path: str, function: str) -> int:
    """How closely a pattern names a place (its literal characters), or -1 when it does not match."""
    where, _, qualname = pattern.partition(":")
    if not fnmatch.fnmatchcase(path, where):
        return -1
    if qualname and not (fnmatch.fnmatchcase(function, qualname) or function.startswith(qualname + ".")):
        return -1
    return sum(1 for c in pattern if c not in "*?[]")


def claimed_by(profile: ProjectProfile, path: str, function: str = "") -> frozenset[str]:
    """The profiles whose code this place is: among the groups whose ``code`` matches it (and no
    ``!`` pattern of theirs excludes it), those whose pattern names it most closely
    (``imagebackend.py:Lvm`` wins over ``nova/virt/libvirt/*``); ``default`` when none claims it."""
    best, names = -1, set()
    for group in profile.groups.values():
        if any(_specificity(p[1:], path, function) >= 0 for p in group.code if p.startswith("!")):
            continue
        score = max((_specificity(p, path, function) for p in group.code if not p.startswith("!")), default=-1)
        if score > best:
            best, names = score, {group.name}
        elif score == best and score >= 0:
            names.add(group.name)
    return frozenset(names or {DEFAULT_SCOPE})


def _passes_through(profile: ProjectProfile, path: str, function: str) -> bool:
    """A helper site the search goes past to its callers: in a helper file and not named by a
    group's ``path:function`` pattern (``nova/virt/disk/api.py:extend`` stops it there)."""
    if not any(fnmatch.fnmatchcase(path, pattern) for pattern in profile.helpers):
        return False
    return not any(":" in p and _specificity(p.lstrip("!"), path, function) >= 0
                   for group in profile.groups.values() for p in group.code)


def scopes_of_command(profile: ProjectProfile, use: CommandUse) -> frozenset[str]:
    """The profiles that run a command use: those of the place it is in, or, in a helper file,
    those of its nearest callers the search does not pass through (a helper nothing calls counts
    nowhere)."""
    if not _passes_through(profile, use.path, use.function):
        return claimed_by(profile, use.path, use.function)
    found: set[str] = set()
    for chain in use.callers:
        site, *nearer = chain.split("<")  # callers' callers are written outer<inner
        path, _, function = site.split(":", 2)
        if not _passes_through(profile, path, function) and all(
                _passes_through(profile, v.partition(":")[0], v.split(":", 2)[2]) for v in nearer):
            found |= claimed_by(profile, path, function)
    return frozenset(found)


# ---- per image ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """Something an image's code needs: a command it runs, a module it imports, or the image's
    own command. ``status``: ``has`` (a provider is in the image), ``venv`` (a console script of
    the service's Python packages), ``missing`` (packages provide it; none is in the image) or
    ``unprovided`` (no package in the metadata provides it) or ``unresolved`` (the image asks for
    a provider the metadata cannot install: see `resolver packages`)."""

    kind: str  # "command", "module", "entrypoint"
    name: str
    project: str
    profiles: tuple[str, ...]
    sites: tuple[str, ...]
    providers: tuple[str, ...]
    status: str
    present: tuple[str, ...] = ()
    #: for a module compiled in the builder: the builder-stage packages it needs
    build: tuple[str, ...] = ()
    detail: str = ""

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "project": self.project, "profiles": list(self.profiles),
                "sites": list(self.sites), "providers": list(self.providers), "status": self.status,
                "present": list(self.present), "build": list(self.build), "detail": self.detail}


@dataclass(frozen=True)
class Justification:
    """Why a runtime request of an image is there: ``evidence`` (code uses it), ``reason`` (an
    overlay reason only) or ``none``."""

    name: str
    package: str
    image: str
    origin: Request
    status: str
    because: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"name": self.name, "package": self.package, "requested_in": self.image,
                "origin": str(self.origin.origin), "status": self.status, "because": list(self.because),
                "stale_evidence": list(self.stale)}


@dataclass(frozen=True)
class ImageEvidence:
    image: str
    releases: tuple[str, ...]
    #: project -> the profiles evaluated for it in this image (``default`` first)
    profiles: Mapping[str, tuple[str, ...]]
    needs: tuple[Need, ...]
    requests: tuple[Justification, ...]
    #: execution calls in scope whose command is computed at run time
    dynamic: tuple[str, ...] = ()
    #: projects without a pinned release (their code is not read)
    unread: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"image": self.image, "releases": list(self.releases),
                "profiles": {p: list(v) for p, v in self.profiles.items()},
                "needs": [n.to_json() for n in self.needs], "requests": [r.to_json() for r in self.requests],
                "dynamic": list(self.dynamic), "unread": list(self.unread)}


@dataclass
class EvidenceContext:
    """What evidence needs besides one image: the resolver (images, profiles, metadata) and the
    projects' code (loaded once each)."""

    resolver: TreeResolver
    code_of: Callable[[str], ProjectCode | None]
    _commands: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def command_providers(self, command: str) -> tuple[str, ...]:
        if command not in self._commands:
            self._commands[command] = tuple(self.resolver.repos.command_providers(command))
        return self._commands[command]


def chain_profiles(resolver: TreeResolver, image: str) -> dict[str, tuple[str, ...]]:
    """Per project of the image and its ancestors: ``default`` and the profiles chosen anywhere on
    the chain (a child adds backends to its parent's projects)."""
    chosen: dict[str, list[str]] = {}
    for name in [*resolver.tree.ancestors(image), image]:
        for project, profiles in resolver.tree.spec(name).projects.items():
            runtime = resolver.profiles.project(project).runtime_profiles
            chosen.setdefault(project, [DEFAULT_SCOPE]).extend([*runtime, *profiles])
    return {project: tuple(dict.fromkeys(names)) for project, names in chosen.items()}


def image_evidence(context: EvidenceContext, image: str) -> ImageEvidence:
    resolver = context.resolver
    defaults = resolver.profiles.defaults
    packages = resolver.image(image)
    chain = [resolver.image(name) for name in [*resolver.tree.ancestors(image), image]]
    closure = {p.name for p in packages.closure}
    build_only = {r.name for c in chain for r in c.build_only}
    # asked for, but the metadata cannot install it, or dnf installs a package obsoleting it instead
    unresolved = {u.name for c in chain for u in c.unresolved} | {r for c in chain for r, _, _ in c.replaced}
    profiles = chain_profiles(resolver, image)
    releases, unread, dynamic = [], [], []
    venv: dict[str, str] = dict(defaults.venv_commands)
    found: dict[tuple[str, str, str], dict] = {}

    def need(kind: str, name: str, project: str, scopes: Iterable[str], site: str) -> None:
        entry = found.setdefault((kind, project, name), {"profiles": [], "sites": []})
        entry["profiles"].extend(s for s in scopes if s not in entry["profiles"])
        if site not in entry["sites"]:
            entry["sites"].append(site)

    for project, chosen in profiles.items():
        profile = resolver.profiles.project(project)
        code = context.code_of(project)
        if code is None:
            unread.append(project)
            continue
        releases.append(code.release)
        venv.update({script: code.release for script in code.console_scripts})
        active = set(chosen)
        for use in code.uses.commands:
            scopes = scopes_of_command(profile, use) & active
            if scopes:
                need("command", use.command, project, sorted(scopes), use.where)
        for use in code.uses.imports:
            if use.module in defaults.python_modules:
                scopes = claimed_by(profile, use.path) & active
                if scopes:
                    need("module", use.module, project, sorted(scopes), f"{use.path}:{use.line}")
        for use in code.uses.dynamic:
            if claimed_by(profile, use.path) & active:
                dynamic.append(f"{project}: {use.path}:{use.line} ({use.via})")
    spec = resolver.tree.spec(image)
    if spec.command:
        need("entrypoint", Path(spec.command[0]).name, image, [COMMAND_SCOPE], spec.where)

    needs = []
    for (kind, project, name), entry in sorted(found.items(), key=lambda item: (item[0][1], item[0][2])):
        item = _status(context, defaults, kind, name, project, tuple(entry["profiles"]),
                       tuple(entry["sites"]), closure, build_only, venv)
        asked = [p for p in (*item.providers, *item.build) if p in unresolved]
        if item.status == "missing" and asked:
            # the image asks for it; the metadata cannot give it (listed by `resolver packages`)
            item = replace(item, status="unresolved", detail=f"requested, unresolved: {', '.join(asked)}")
        needs.append(item)
    return ImageEvidence(image, tuple(releases), profiles, tuple(needs),
                         tuple(_justify(context, image, chain, needs)), tuple(dynamic), tuple(unread))


def _status(context: EvidenceContext, defaults: Defaults, kind: str, name: str, project: str,
            profiles: tuple[str, ...], sites: tuple[str, ...], closure: set[str], build_only: set[str],
            venv: Mapping[str, str]) -> Need:
    if kind == "module":
        module = defaults.python_modules[name]
        if module.rpm:
            present = (module.rpm,) if module.rpm in closure else ()
            return Need(kind, name, project, profiles, sites, (module.rpm,), "has" if present else "missing",
                        present, detail=module.reason)
        libraries = [p for devel in module.build if devel.endswith("-devel")
                     for _, providers in context.resolver.repos.runtime_libraries_of(devel) for p in providers[:1]]
        in_builder = all(b in build_only for b in module.build)
        present = tuple(p for p in libraries if p in closure)
        ok = in_builder and len(present) == len(libraries)
        return Need(kind, name, project, profiles, sites, tuple(libraries), "has" if ok else "missing", present,
                    module.build, module.reason)
    providers = context.command_providers(name)
    present = tuple(p for p in providers if p in closure)
    if present:
        return Need(kind, name, project, profiles, sites, providers, "has", present)
    if name in venv:
        return Need(kind, name, project, profiles, sites, providers, "venv", detail=f"console script of {venv[name]}")
    return Need(kind, name, project, profiles, sites, providers, "missing" if providers else "unprovided")


def _justify(context: EvidenceContext, image: str, chain: Sequence[ImagePackages],
             needs: Sequence[Need]) -> list[Justification]:
    """Each runtime request of the image and its ancestors, with what justifies it here."""
    repos = context.resolver.repos
    top = chain[-1]
    by_package: dict[str, list[str]] = {}
    for item in needs:
        if item.status != "has":
            continue
        for package in item.present:
            site = item.sites[0] if item.kind != "entrypoint" else "the image's command"
            by_package.setdefault(package, []).append(f"{item.kind} {item.name} at {site}")
    result = []
    seen: set[tuple[str, str]] = set()
    for layer in chain:
        chosen = dict(layer.satisfied_by)
        for request in layer.requests:
            package = chosen.get(request.name)
            if package is None or (request.name, request.origin.detail) in seen:
                continue  # unresolved (listed by `resolver packages`), or asked again by a child
            seen.add((request.name, request.origin.detail))
            info = top.package(package)
            because = list(by_package.get(package, []))
            origin = request.origin
            if origin.kind == "runtime-library":
                because.append(f"library linked by what the builder compiles ({origin.reason})")
            for source, target in top.graph.in_edges(package):
                label = top.graph.edges[source, target].get("requires", "")
                if ".so" in label:
                    because.append(f"linked by {source} ({label})")
                    break
            commands = repos.commands_of(info) if info is not None else []
            stale = tuple(site for site in origin.evidence if not any(
                site in n.sites and {package, request.name} & set((*n.providers, *n.build)) for n in needs))
            if because:
                status = "evidence"
            elif origin.reason and origin.kind != "bindep":
                status = "reason"
            else:
                status = "none"
                because.append(f"runs {', '.join(commands[:6]) or 'no command'}; nothing in the image's code "
                               "runs, links or imports it")
            result.append(Justification(request.name, package, layer.image, request, status, tuple(because), stale))
    return result


# ---- findings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BindepSuggestion:
    """A bindep line the code says the project's file should carry, under the profile that needs it."""

    project: str
    profile: str
    line: str
    because: str


def suggested_lines(evidence: Iterable[ImageEvidence], resolver: TreeResolver) -> list[BindepSuggestion]:
    """Upstream lines, grouped by backend profile, for what the code needs and the project's own
    bindep.txt does not ask for (the overlay or nothing does)."""
    found: dict[tuple[str, str, str], BindepSuggestion] = {}
    for item in evidence:
        # what every host has (the tree's root image) is not worth a bindep line: coreutils, grep
        root = ([*resolver.tree.ancestors(item.image)] or [item.image])[0]
        everywhere = {p.name for p in resolver.image(root).closure}
        for need in item.needs:
            if (need.kind == "entrypoint" or need.status in ("venv", "unprovided")
                    or need.project not in resolver.profiles.projects):
                continue
            package = (need.present or need.providers or ("",))[0]
            upstream = {rule.name for rule in resolver.bindep_of(need.project).rules}
            if not package or package in everywhere or package in upstream:
                continue
            for profile in need.profiles:
                selector = "platform:rpm" if profile == DEFAULT_SCOPE else f"platform:rpm {profile}"
                key = (need.project, profile, package)
                found.setdefault(key, BindepSuggestion(need.project, profile, f"{package} [{selector}]",
                                                       f"{need.kind} {need.name} at {need.sites[0]}"))
    return [found[key] for key in sorted(found)]


def evidence_findings(evidence: Sequence[ImageEvidence]) -> list[Finding]:
    """Audit findings of deployed images: what their code needs and they lack, runtime requests
    nothing justifies (once per request, naming every image that carries it), stale evidence."""
    findings: list[Finding] = []
    for item in evidence:
        for need in item.needs:
            if need.status not in ("missing", "unprovided"):
                continue
            path, _, line = need.sites[0].rpartition(":") if need.kind != "entrypoint" else (need.sites[0], "", "0")
            profiles = ", ".join(need.profiles)
            if need.status == "unprovided":
                kind, message = "unprovided-command", (f"{item.image}: {need.project} [{profiles}] runs {need.name}, "
                                                       "which no package in the metadata provides")
                suggestion = "check the name on the target, or provide it from the service's venv"
            elif need.kind == "module":
                kind = "missing-binding"
                message = (f"{item.image}: {need.project} [{profiles}] imports {need.name}; the image lacks "
                           f"{' '.join(need.build) + ' (builder) and ' if need.build else ''}"
                           f"{', '.join(need.providers) or 'its library'}")
                suggestion = f"add {(need.providers or need.build)[0]} to the {profiles} profile"
            else:
                kind = "missing-command"
                message = (f"{item.image}: {need.project} [{profiles}] runs {need.name} "
                           f"({len(need.sites)} site(s)); no provider ({', '.join(need.providers)}) is in the image")
                suggestion = f"add {need.providers[0]} [platform:rpm {need.profiles[0]}]"
            findings.append(Finding(need.project, path, int(line or 0), need.name, kind, message, suggestion,
                                    image=item.image))
    # one finding per request, naming every deployed image that carries it without evidence (an
    # image whose code runs it does not excuse one whose code does not)
    unjustified: dict[tuple[str, str], list[Justification]] = {}
    carriers: dict[tuple[str, str], list[str]] = {}
    for item in evidence:
        for request in item.requests:
            key = (request.name, request.origin.origin.detail)
            if request.status == "none":
                unjustified.setdefault(key, []).append(request)
                carriers.setdefault(key, []).append(item.image)
            for site in request.stale:
                findings.append(Finding(request.origin.origin.project or "", site.rpartition(":")[0],
                                        int(site.rpartition(":")[2]), request.package, "stale-evidence",
                                        f"{item.image}: {request.origin.origin.detail} cites {site} for "
                                        f"{request.package}, but the code there does not run or import what it "
                                        "provides", "update the evidence from `resolver evidence`",
                                        image=item.image))
    for key, requests in unjustified.items():
        first = requests[0]
        path, _, line = first.origin.origin.detail.rpartition(":")
        images = sorted(set(carriers[key]))
        findings.append(Finding(first.origin.origin.project or "", path, int(line) if line.isdigit() else 0,
                                first.package, "no-evidence",
                                f"{first.name} (requested in {first.image}, carried by {', '.join(images)}) "
                                f"{first.because[-1]}",
                                "move it to the profile whose code runs it, or drop it (with a reason in profiles/)",
                                image=first.image))
    return list({(f.image, f.kind, f.package, f.file, f.line): f for f in findings}.values())
