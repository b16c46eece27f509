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

    def pulled_in(self, ignore: Collection[str] = ()) -> dict[str, list[str]]:
        """Requests whose package another request's closure already brings in, with those requests.
        Packages in ``ignore`` (a parent's set) take no part."""
        return pulled_in([(request, package) for request, package in self.satisfied_by if package not in ignore],
                         self.graph)


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
              inside: Container[str] | None = None) -> dict[str, list[str]]:
    """Requests whose package another request's package reaches by a Requires path, with those
    requests in order. ``requests``: (request, package that answers it); ``requires``: package ->
    the packages it requires (a networkx DiGraph will do); ``inside``: the packages a path may
    pass through (None: any). When requests reach each other (a cycle) or name the same package,
    the first request stays."""
    packages = list(dict.fromkeys(package for _, package in requests))
    bit = {package: 1 << index for index, package in enumerate(packages)}
    # reached[p]: bitset of the requested packages that reach p by a path of length >= 1
    reached: dict[str, int] = {}
    frontier = dict(bit)
    while frontier:
        grown: dict[str, int] = {}
        for source, bits in frontier.items():
            for target in requires[source] if source in requires else ():
                if inside is not None and target not in inside:
                    continue
                new = bits & ~reached.get(target, 0)
                if new:
                    reached[target] = reached.get(target, 0) | new
                    grown[target] = grown.get(target, 0) | new
        frontier = grown
    positions: dict[str, list[int]] = {}
    for position, (_, package) in enumerate(requests):
        positions.setdefault(package, []).append(position)
    result: dict[str, list[str]] = {}
    for index, (request, package) in enumerate(requests):
        pullers = [position for position in positions[package] if position < index]
        for other in _members(reached.get(package, 0) & ~bit[package], packages):
            # in a cycle, a request this one reaches back and that comes later does not count
            back = reached.get(other, 0) & bit[package]
            pullers += [position for position in positions[other] if not (back and index < position)]
        if pullers:
            result[request] = [requests[position][0] for position in sorted(pullers)]
    return result


def _members(mask: int, packages: Sequence[str]) -> Iterable[str]:
    while mask:
        low = mask & -mask
        yield packages[low.bit_length() - 1]
        mask ^= low
