"""What one solve gives, as plain data: each package (``PackageInfo``), the closure with the package
that satisfies each request (``Resolution``), the Requires graph on a set of packages, and which
requests the others already pull in (``pulled_in``: an image's request list, a layer's, a bindep
file's redundant entries). No dnf here: ``resolver.repos`` makes these.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx


@dataclass(frozen=True)
class Unresolved:
    """A name a solve could not install, with libsolv's problem text (what ``RepoSet.resolve`` reports)."""

    name: str
    problem: str


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


#: a package's requirements: (requirement text, names of the packages in the repositories providing it)
Requirements = tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True)
class Resolution:
    """The result of one solve: the full installed set, what satisfied each request, what could not be had."""

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
    #: (request, package, explanation): requests dnf answers with a package that obsoletes them
    replaced: tuple[tuple[str, str, str], ...] = ()

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Requires graph on the closure: edge a -> b labelled with the requirement b satisfies."""
        return requires_graph(self.closure, self.requirements)

    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.closure)

    def pulled_in(self, ignore: Collection[str] = (), pullers: bool = True) -> dict[str, list[str]]:
        """Requests whose package another request's closure already brings in, with those requests
        (``pullers``). Packages in ``ignore`` (a parent's set) take no part."""
        return pulled_in([(request, package) for request, package in self.satisfied_by if package not in ignore],
                         self.graph, pullers=pullers)


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


def is_conditional(requirement: str) -> bool:
    """A rich dependency that holds only where its condition does (``(a if b)``, ``(a unless b)``)."""
    return requirement.startswith("(") and any(f" {word} " in requirement for word in ("if", "unless"))


def pulled_in(requests: Sequence[tuple[str, str]], requires: Mapping[str, Iterable[str]],
              inside: Container[str] | None = None, pullers: bool = True) -> dict[str, list[str]]:
    """Requests whose package another request's package reaches by a Requires path, with those
    requests in order. ``requests``: (request, package that answers it); ``requires``: package ->
    the packages it requires (a networkx DiGraph will do); ``inside``: the packages a path may
    pass through (None: any). When requests reach each other (a cycle) or name the same package,
    the first request stays. ``pullers`` False leaves the lists empty: which requests are pulled
    in is linear in the graph (its strongly connected components), where the lists can be
    quadratic (in a chain each request is pulled in by all before it)."""
    packages = list(dict.fromkeys(package for _, package in requests))
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(packages)
    stack, seen = list(packages), set(packages)
    while stack:
        source = stack.pop()
        for target in requires[source] if source in requires else ():
            if inside is None or target in inside:
                graph.add_edge(source, target)
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
    # packages that reach each other (a cycle) are one component; between components, reaching
    # is one way
    condensed = nx.condensation(graph)
    component = condensed.graph["mapping"]
    positions: dict[int, list[int]] = {}
    for position, (_, package) in enumerate(requests):
        positions.setdefault(component[package], []).append(position)
    reached: set[int] = set()  # components a requested package of another component reaches
    for node in nx.topological_sort(condensed):
        if node in positions or node in reached:
            reached.update(condensed.successors(node))
    result: dict[str, list[str]] = {}
    for index, (request, package) in enumerate(requests):
        own = component[package]
        if own not in reached and positions[own][0] == index:
            continue
        found = [p for p in positions[own] if p < index]
        if pullers:
            found += [p for above in nx.ancestors(condensed, own) for p in positions.get(above, ())]
        result[request] = [requests[p][0] for p in sorted(found)] if pullers else []
    return result
