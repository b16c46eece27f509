"""Evidence from the projects' own code: what each image's code runs and imports, whether the image
has it, and which of its runtime packages nothing justifies.

Joins the stages: each project's pinned release (``project_code``: the sdist read with
``codescan``, cached by the sdist's sha256 and the scanner's own source), the profiles' code scopes
(which code each backend profile or role runs), the resolved images (resolution) and the
repository metadata (which package provides a command). Plain frozen dataclasses out; nothing
printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..containers.kolla import START_COMMANDS, tree_release
from ..inputs.profiles import Defaults
from ..resolving.image_packages import ImagePackages
from ..resolving.not_bundled import command_elsewhere
from ..resolving.resolution import TreeResolver
from ..selection import Request
from .project_code import DEFAULT_SCOPE, ProjectCode, claimed_by, scopes_of_command

#: profile name under which an image's own command (its entry point) is needed
COMMAND_SCOPE = "command"


@dataclass(frozen=True)
class Need:
    """Something an image's code needs: a command it runs, a module it imports, or the image's
    own command. ``status``: ``has`` (a provider is in the image), ``venv`` (a console script of
    the service's Python packages), ``missing`` (packages provide it; none is in the image),
    ``unprovided`` (no configured repository provides it; ``providers`` names the package of a
    repository that is not configured, when ``not-bundled.yaml`` knows one) or ``unresolved`` (the
    image asks for a provider the metadata cannot install: see `resolver packages`). All but
    ``has`` and ``venv`` leave the image incomplete."""

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
        for command in code.uses.commands:
            if command.via.startswith("mount -t ") and not context.command_providers(command.command):
                continue  # mount -t ext4 runs no helper program: the kernel mounts it
            scopes = scopes_of_command(profile, command) & active
            if scopes:
                need("command", command.command, project, sorted(scopes), command.where)
        for imported in code.uses.imports:
            if imported.module in defaults.python_modules:
                scopes = claimed_by(profile, imported.path) & active
                if scopes:
                    need("module", imported.module, project, sorted(scopes), f"{imported.path}:{imported.line}")
        for computed in code.uses.dynamic:
            if claimed_by(profile, computed.path) & active:
                dynamic.append(f"{project}: {computed.path}:{computed.line} ({computed.via})")
    spec = resolver.tree.spec(image)
    if spec.command:
        need("entrypoint", Path(spec.command[0]).name, image, [COMMAND_SCOPE], spec.where)
    if spec.kolla is not None:  # a Kolla service image starts through kolla_start and kolla_set_configs
        release = tree_release(defaults.constraints)
        for started, site in START_COMMANDS:
            need("command", started, release.pin, [COMMAND_SCOPE], site)

    needs = []
    for (kind, project, name), entry in sorted(found.items(), key=lambda item: (item[0][1], item[0][2])):
        item = _status(context, defaults, kind, name, project, tuple(entry["profiles"]),
                       tuple(entry["sites"]), closure, build_only, venv)
        asked = [p for p in (*item.providers, *item.build) if p in unresolved]
        if item.status in ("missing", "unprovided") and asked:
            # the image asks for it; the metadata cannot give it (listed by `resolver packages`)
            where = f" ({item.detail})" if item.detail else ""
            item = replace(item, status="unresolved", detail=f"requested, unresolved: {', '.join(asked)}{where}")
        needs.append(item)
    return ImageEvidence(image, tuple(releases), profiles, tuple(needs),
                         tuple(_justify(context, image, chain, needs)), tuple(dynamic), tuple(unread))


def _status(context: EvidenceContext, defaults: Defaults, kind: str, name: str, project: str,
            profiles: tuple[str, ...], sites: tuple[str, ...], closure: set[str], build_only: set[str],
            venv: Mapping[str, str]) -> Need:
    if kind == "module":
        module = defaults.python_modules[name]
        if module.rpm:
            present: tuple[str, ...] = (module.rpm,) if module.rpm in closure else ()
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
    if providers:
        return Need(kind, name, project, profiles, sites, providers, "missing")
    elsewhere = command_elsewhere(name)
    if elsewhere is not None:  # a repository the configured ones lack ships it
        return Need(kind, name, project, profiles, sites, (elsewhere.name,), "unprovided",
                    detail=f"{elsewhere.name} in {elsewhere.where}, not configured")
    return Need(kind, name, project, profiles, sites, providers, "unprovided")


def _justify(context: EvidenceContext, image: str, chain: Sequence[ImagePackages],
             needs: Sequence[Need]) -> list[Justification]:
    """Each runtime request of the image and its ancestors, with what justifies it here."""
    repos = context.resolver.repos
    top = chain[-1]
    by_package: dict[str, list[str]] = {}
    for item in needs:
        if item.status != "has":
            continue
        for present in item.present:
            site = item.sites[0] if item.kind != "entrypoint" else "the image's command"
            by_package.setdefault(present, []).append(f"{item.kind} {item.name} at {site}")
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

