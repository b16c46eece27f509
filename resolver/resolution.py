"""Per-image package sets: each image's selection resolved on top of its parent's resolved set.

``TreeResolver`` is the one place that joins the stages: profiles and images (config), bindep
files (sources), what each image asks for (selection) and the dnf adapter (repos). Results are
plain frozen dataclasses; progress goes to a reporter, never to the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import networkx as nx

from .bindepfile import BindepFile
from .config import ImageTree, Profiles
from .errors import InputError, UnresolvableError
from .overrides import (
    check_drops,
    check_module_streams,
    credit_profiles,
    drop_requests,
    inherited_streams,
    stream_hint,
)
from .plan import TreeShape, plan_layers
from .platforms import Platform
from .repos import PackageInfo, RepoSet
from .selection import Exclusion, LineFate, Origin, Request, Selection, select_extras, select_project, unique_requests
from .sources import read_bindep


class Reporter(Protocol):
    """Progress of long work (the CLI draws it; tests may record it)."""

    def starting(self, image: str) -> None: ...

    def finished(self, image: str) -> None: ...


class SilentReporter:
    def starting(self, image: str) -> None:
        pass

    def finished(self, image: str) -> None:
        pass


@dataclass(frozen=True)
class UnresolvedRequest:
    name: str
    problem: str
    origin: Origin


@dataclass(frozen=True)
class ImagePackages:
    """What one image contains and why."""

    image: str
    platform: str
    parent: str | None
    requests: tuple[Request, ...]
    #: names of this layer's request list: no name another requested name already pulls in
    minimal_request: tuple[str, ...]
    closure: tuple[PackageInfo, ...]
    layer: tuple[PackageInfo, ...]
    build_only: tuple[Request, ...]
    excluded: tuple[Exclusion, ...]
    unresolved: tuple[UnresolvedRequest, ...]
    graph: nx.DiGraph = field(compare=False, repr=False)
    satisfied_by: tuple[tuple[str, str], ...] = ()
    #: (request, package, explanation): requests answered by a package that obsoletes them
    replaced: tuple[tuple[str, str, str], ...] = ()
    #: what became of each upstream bindep line of this image's projects
    lines: tuple[LineFate, ...] = ()

    @property
    def installsize(self) -> int:
        return sum(p.installsize for p in self.closure)

    @property
    def layer_installsize(self) -> int:
        return sum(p.installsize for p in self.layer)

    def package(self, name: str) -> PackageInfo | None:
        return next((p for p in self.closure if p.name == name), None)

    def to_json(self) -> dict:
        return {
            "image": self.image,
            "platform": self.platform,
            "parent": self.parent,
            "request": list(self.minimal_request),
            "requests": [{"name": r.name, "origin": str(r.origin)} for r in self.requests],
            "closure": [p.to_json() for p in self.closure],
            "layer": [p.name for p in self.layer],
            "installsize": self.installsize,
            "layer_installsize": self.layer_installsize,
            "build_only": [r.name for r in self.build_only],
            "excluded": [{"name": e.name, "reason": e.reason, "origin": e.origin.detail} for e in self.excluded],
            "unresolved": [{"name": u.name, "problem": u.problem, "origin": str(u.origin)} for u in self.unresolved],
            "replaced": [{"request": r, "package": p, "reason": t} for r, p, t in self.replaced],
            "lines": [line.to_json() for line in self.upstream_lines()],
        }

    def upstream_lines(self) -> tuple[LineFate, ...]:
        """Every upstream line's fate, with *unresolved* for runtime names the metadata cannot give."""
        unresolved = {u.name: u.problem for u in self.unresolved}
        return tuple(replace(line, fate="unresolved", reason=unresolved[line.name].splitlines()[0])
                     if line.fate == "runtime" and line.name in unresolved else line for line in self.lines)


@dataclass(frozen=True)
class ProviderChoice:
    """A provider installed instead of the one dnf would pick, and why."""

    instead_of: str
    use: str
    reason: str
    where: str
    #: bytes the choice saves on the tree's total set (0 for a pin not measured)
    saves: int = 0

    def to_json(self) -> dict:
        return {"instead_of": self.instead_of, "use": self.use, "reason": self.reason, "where": self.where,
                "saves": self.saves}


class TreeResolver:
    """Resolves images of a tree for one target platform on one repository set."""

    def __init__(self, tree: ImageTree, profiles: Profiles, target: Platform, repos: RepoSet,
                 strict: bool, cache_dir: Path | None = None, reporter: Reporter | None = None,
                 providers: Sequence[ProviderChoice] | None = None):
        self.tree = tree
        self.profiles = profiles
        self.target = target
        self.repos = repos
        self.strict = strict
        self.cache_dir = cache_dir
        self.reporter = reporter or SilentReporter()
        if providers is None:
            providers = [ProviderChoice(p.instead_of, p.use, p.reason, p.where) for p in profiles.defaults.providers]
            for pin in providers:
                if not repos.names_providing(pin.use):
                    raise InputError(f"{pin.where}: no package {pin.use!r} in the repositories; fix the pin")
        self.providers = tuple(providers)
        check_module_streams(tree, repos.module_streams)
        self._bindep: dict[str, BindepFile] = {}
        self._images: dict[str, ImagePackages] = {}

    def bindep_of(self, project: str, where: str = "") -> BindepFile:
        if project not in self._bindep:
            profile = self.profiles.project(project, where)
            self._bindep[project] = read_bindep(profile.source, self.cache_dir)
        return self._bindep[project]

    def selection_of(self, image: str) -> Selection:
        spec = self.tree.spec(image)
        selection = select_extras(image, spec.packages, spec.where)
        for project, chosen in spec.projects.items():
            profile = self.profiles.project(project, spec.where)
            selection = selection.merged(credit_profiles(select_project(
                profile, self.bindep_of(project, spec.where), self.target, chosen,
                self.profiles.defaults, spec.where), project, spec))
        return drop_requests(selection, spec)

    def image(self, name: str) -> ImagePackages:
        """An image's packages, resolving its ancestors first (each once per resolver)."""
        if name in self._images:
            return self._images[name]
        spec = self.tree.spec(name)
        parent = self.image(spec.parent) if spec.parent else None
        self.reporter.starting(name)
        selection = self.selection_of(name)
        libraries, no_library = self._runtime_libraries(selection.build_only)
        requests = unique_requests(list(selection.runtime) + libraries)
        resolution = self.repos.resolve([r.name for r in requests], parent.closure if parent else (),
                                        [(c.instead_of, c.use) for c in self.providers],
                                        parent.graph if parent else None,
                                        [str(s) for s in inherited_streams(self.tree, name)])
        for instead_of, use in resolution.substituted:
            choice = next(c for c in self.providers if (c.instead_of, c.use) == (instead_of, use))
            requests.append(Request(use, Origin("provider", choice.where, None, None,
                                                f"installed instead of {instead_of}: {choice.reason}")))
        origins = {r.name: r.origin for r in requests}
        unresolved = tuple(UnresolvedRequest(u.name, u.problem, origins[u.name]) for u in resolution.unresolved)
        unresolved += tuple(no_library)
        if unresolved and self.strict:
            raise UnresolvableError(_unresolved_message(name, unresolved))
        parent_names = {p.name for p in parent.closure} if parent else set()
        check_drops(spec, resolution.names(), parent_names, lambda n: sorted(resolution.graph.predecessors(n)))
        pulled_in = resolution.pulled_in(ignore=parent_names)
        result = ImagePackages(
            image=name,
            platform=self.target.name,
            parent=spec.parent,
            requests=tuple(requests),
            minimal_request=tuple(request for request, package in resolution.satisfied_by
                                  if package not in parent_names and request not in pulled_in),
            closure=resolution.closure,
            layer=tuple(p for p in resolution.closure if p.name not in parent_names),
            build_only=selection.build_only,
            excluded=selection.excluded,
            unresolved=unresolved,
            graph=resolution.graph,
            satisfied_by=resolution.satisfied_by,
            replaced=resolution.replaced,
            lines=selection.lines,
        )
        self._images[name] = result
        self.reporter.finished(name)
        return result

    def _runtime_libraries(self, build_only: Sequence[Request]) -> tuple[list[Request], list[UnresolvedRequest]]:
        """A build-only -devel leaves its runtime library behind: what is compiled against
        libpq-devel links libpq.so.5 at run time, so the package providing that soname stays.
        A soname no package provides is reported, as is a -devel the repositories lack."""
        kept: list[Request] = []
        missing: list[UnresolvedRequest] = []
        for request in build_only:
            if not request.name.endswith("-devel"):
                continue
            origin = request.origin
            libraries = self.repos.runtime_libraries_of(request.name)
            if not libraries and not self.repos.names_providing(request.name):
                missing.append(UnresolvedRequest(request.name, (
                    f"{request.name} is not in the repositories, so the runtime library a build against "
                    "it would link cannot be named"), Origin("runtime-library", origin.detail, origin.project,
                                                            origin.profile, f"build-only {request.name}")))
            for soname, providers in libraries:
                if not providers:
                    missing.append(UnresolvedRequest(soname, f"no package in the repositories provides {soname}",
                                                     Origin("runtime-library", origin.detail, origin.project,
                                                            origin.profile,
                                                            f"runtime library of build-only {request.name}")))
                for library in providers[:1]:  # dnf would pick one provider too
                    kept.append(Request(library, Origin(
                        "runtime-library", origin.detail, origin.project, origin.profile,
                        f"runtime library of build-only {request.name} (provides {soname})")))
        return kept, missing

    def why(self, image: str, package: str) -> list[str]:
        """Lines explaining how PACKAGE enters IMAGE: the request and the Requires chain."""
        result = self.image(image)
        if result.package(package) is None:
            dropped = next((e for e in result.excluded if e.name == package), None)
            if dropped is not None:
                return [f"{package} is not in {image}: excluded by {dropped.origin.detail}: {dropped.reason}"]
            unresolved = next((u for u in result.unresolved if u.name == package), None)
            if unresolved is not None:
                return [f"{package} is requested for {image} but cannot be resolved on these repositories",
                        f"requested: {package} <- {unresolved.origin}",
                        *(f"  {line}" for line in unresolved.problem.splitlines()[:6])]
            raise InputError(f"{package!r} is not in image {image}; `resolver packages {image}` lists what is")
        if result.parent and self.image(result.parent).package(package) is not None:
            return [f"{package} is inherited from the parent image {result.parent}",
                    *self.why(result.parent, package)]
        answers = {package_name: request for request, package_name in reversed(result.satisfied_by)}
        best: list[str] | None = None
        for start in answers:
            try:
                path = nx.shortest_path(result.graph, start, package)
            except nx.NetworkXNoPath:
                continue
            if best is None or len(path) < len(best):
                best = path
        if best is None:
            return [f"{package} is in {image}'s layer but no Requires chain from a request reaches it "
                    "(pulled in by a rich or file dependency the graph does not model)"]
        request = next(r for r in result.requests if r.name == answers[best[0]])
        asked = request.name if request.name == best[0] else f"{request.name} (provided by {best[0]})"
        lines = [f"{package} is in {image}'s own layer",
                 f"requested: {asked} <- {request.origin}"]
        for before, after in zip(best, best[1:]):
            lines.append(f"  {before} requires {result.graph.edges[before, after]['requires']} -> {after}")
        return lines + self._stream_lines(image, result.package(package))

    def _stream_lines(self, image: str, package: PackageInfo) -> list[str]:
        """Where a package comes from a module stream: which, and the override that enabled it."""
        stream = self.repos.module_of(package)
        if stream is None:
            return []
        enabled = next((s for s in inherited_streams(self.tree, image) if str(s) == stream), None)
        by = f", enabled by {enabled.where}: {enabled.reason}" if enabled else ""
        return [f"{package.nevra} is from module stream {stream}{by}"]


def _unresolved_message(image: str, unresolved: Sequence[UnresolvedRequest]) -> str:
    lines = [f"{len(unresolved)} request(s) of image {image} cannot be resolved "
             "(use --best-effort to list them and go on):"]
    for item in unresolved:
        lines.append(f"  {item.name} <- {item.origin}")
        lines.extend(f"      {line}" for line in item.problem.splitlines()[:6])
    return "\n".join(lines)



@dataclass(frozen=True)
class PlanInputs:
    """The planner's plain inputs, taken from the resolved tree."""

    shape: TreeShape
    #: each deployed image's whole resolved closure (package names)
    needs: dict[str, frozenset[str]]
    sizes: dict[str, int]
    headers: dict[str, int]
    packages: dict[str, PackageInfo]
    #: union of the images' requires graphs (package names)
    graph: nx.DiGraph


def plan_inputs(resolver: TreeResolver) -> PlanInputs:
    tree = resolver.tree
    names = tree.names()
    shape = TreeShape({n: tree.spec(n).parent for n in names}, frozenset(n for n in names if tree.spec(n).deployed))
    needs: dict[str, frozenset[str]] = {}
    packages: dict[str, PackageInfo] = {}
    found_in: dict[str, str] = {}
    graph: nx.DiGraph = nx.DiGraph()
    for name in names:
        image = resolver.image(name)
        for package in image.closure:
            known = packages.setdefault(package.name, package)
            found_in.setdefault(package.name, name)
            if known != package:
                raise InputError(f"{package.name} resolves to {known.nevra} in {found_in[package.name]} and "
                                 f"{package.nevra} in {name}; "
                                 + (stream_hint(tree, resolver.repos.module_of, (found_in[package.name], known),
                                                (name, package))
                                    or "pin one in images/ so every image shares it"))
        graph.update(image.graph)
        if name in shape.deployed:
            needs[name] = frozenset(p.name for p in image.closure)
    return PlanInputs(shape, needs, {n: p.installsize for n, p in packages.items()},
                      {n: p.header_size for n, p in packages.items()}, packages, graph)


def provider_candidates(inputs: PlanInputs, repos: RepoSet) -> list[tuple[str, str, str]]:
    """(instead_of, use, capability): where a required capability has a smaller provider than
    the one the solve chose (coreutils-single for coreutils, curl-minimal for curl)."""
    found: dict[tuple[str, str], str] = {}
    for _, chosen, data in inputs.graph.edges(data=True):
        for other in repos.providers_of(data["requires"]):
            if other != chosen and other not in inputs.sizes and (chosen, other) not in found:
                size = repos.installsize_of(other)
                if size is not None and size < inputs.sizes[chosen]:
                    found[(chosen, other)] = data["requires"]
    return [(a, b, c) for (a, b), c in sorted(found.items())]


def resolve_tree(make: Callable[[Sequence[ProviderChoice] | None], TreeResolver], mode: str = "strict",
                 hoist: float = 0.5, choose: bool = True) -> tuple[TreeResolver, PlanInputs, list[ProviderChoice]]:
    """Resolve the tree with the pinned providers, then try each smaller alternative provider and
    keep it when the planned total set shrinks (greedy). ``make(providers)`` builds a resolver."""
    resolver = make(None)
    inputs = plan_inputs(resolver)
    choices = list(resolver.providers)
    if not choose:
        return resolver, inputs, choices
    best = plan_layers(inputs.shape, inputs.needs, inputs.sizes, mode, hoist, inputs.headers).total_set_size
    for instead_of, use, capability in provider_candidates(inputs, resolver.repos):
        trial_choice = ProviderChoice(instead_of, use, f"smaller provider of {capability}", "automatic")
        trial = make([*choices, trial_choice])
        trial_inputs = plan_inputs(trial)
        total = plan_layers(trial_inputs.shape, trial_inputs.needs, trial_inputs.sizes, mode, hoist,
                            trial_inputs.headers).total_set_size
        if total < best:
            choices.append(ProviderChoice(instead_of, use, trial_choice.reason, "automatic", best - total))
            resolver, inputs, best = trial, trial_inputs, total
    return resolver, inputs, choices
