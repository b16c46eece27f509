"""Loading and checking ``profiles/`` (per-project choices and corrections) and ``images/`` (the
image tree). Everything here is plain data; nothing touches dnf.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from .errors import InputError, UnknownNameError
from .sources import Source

# What bindep's grammar accepts as a name; anything else (spaces, ';', '$', '`'...) is refused
# before it can reach dnf or a build command line.
PACKAGE_NAME = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9.+_/-]*$")
DEFAULTS_FILE = "defaults.yaml"


@dataclass(frozen=True)
class Correction:
    """A package an overlay adds or drops, and why (``profile`` limits it to that profile)."""

    name: str
    reason: str
    where: str
    profile: str | None = None


@dataclass(frozen=True)
class BackendGroup:
    """A backend profile (libvirt, ceph, iscsi...) the overlay defines where upstream has none."""

    name: str
    packages: tuple[str, ...]
    reason: str
    where: str


@dataclass(frozen=True)
class ProjectProfile:
    """How to read one project's bindep.txt as a runtime manifest."""

    project: str
    path: Path
    source: Source
    upstream: str
    runtime_profiles: tuple[str, ...]
    build_profiles: tuple[str, ...]
    filtered_build_profiles: tuple[str, ...]
    groups: Mapping[str, BackendGroup]
    drop: tuple[Correction, ...]
    add: tuple[Correction, ...]
    #: the pinned release (PyPI ``name==version``): its sdist is the code evidence reads and the
    #: wheel the builder stage builds; None for a project without one
    release: Release | None = None


@dataclass(frozen=True)
class Release:
    """A project's pinned release on PyPI (``nova==31.3.1``; the name is the PyPI distribution),
    with the extras the service installs (``keystone[ldap]==27.1.0``)."""

    name: str
    version: str
    extras: tuple[str, ...] = ()

    def __str__(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.name}{extras}=={self.version}"


@dataclass(frozen=True)
class ProviderPin:
    """Install ``use`` where ``instead_of`` would be chosen (coreutils-single for coreutils)."""

    instead_of: str
    use: str
    reason: str
    where: str


@dataclass(frozen=True)
class Defaults:
    """Rules shared by every project (``profiles/defaults.yaml``)."""

    build_tool_patterns: tuple[str, ...]
    drop: tuple[Correction, ...]
    providers: tuple[ProviderPin, ...] = ()
    #: OpenStack release series whose upper-constraints pin every Python requirement
    #: (``resolver/data/constraints/upper-constraints-SERIES.txt``)
    constraints: str | None = None

    def is_build_tool(self, name: str) -> bool:
        return any(re.fullmatch(pattern, name) for pattern in self.build_tool_patterns)


@dataclass(frozen=True)
class Profiles:
    defaults: Defaults
    projects: Mapping[str, ProjectProfile]

    def project(self, name: str, where: str = "") -> ProjectProfile:
        if name not in self.projects:
            raise UnknownNameError("project", name, list(self.projects), where)
        return self.projects[name]


@dataclass(frozen=True)
class ExtraPackage:
    name: str
    reason: str


@dataclass(frozen=True)
class BuildStep:
    """What an image's builder stage runs (a shell command) and the directory whose content is
    copied from the builder into the final image's root."""

    run: str
    artifacts: str = "/out"


@dataclass(frozen=True)
class ImageSpec:
    """One node of the image tree."""

    name: str
    parent: str | None
    deployed: bool
    projects: Mapping[str, tuple[str, ...]]
    packages: tuple[ExtraPackage, ...]
    where: str
    build: BuildStep | None = None
    #: what the deployed image runs (exec form, the image's CMD): ``httpd -DFOREGROUND``
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageTree:
    """The tree as a networkx DiGraph (edge parent -> child); node attribute ``spec``."""

    graph: nx.DiGraph

    def spec(self, name: str) -> ImageSpec:
        if name not in self.graph:
            raise UnknownNameError("image", name, list(self.graph))
        return self.graph.nodes[name]["spec"]

    def names(self) -> list[str]:
        """Images parents-first (a topological order, ties broken by name)."""
        return list(nx.lexicographical_topological_sort(self.graph))

    def ancestors(self, name: str) -> list[str]:
        """Root first, ``name`` excluded."""
        chain = []
        parent = self.spec(name).parent
        while parent is not None:
            chain.append(parent)
            parent = self.spec(parent).parent
        return chain[::-1]

    def children(self, name: str) -> list[str]:
        return sorted(self.graph.successors(name))


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(f"{path}{line}: invalid YAML: {problem}") from None


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(f"{where}: {what} must be a {names}, not {type(value).__name__}")
    return value


def _check_keys(data: Mapping, allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def package_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not PACKAGE_NAME.match(value):
        raise InputError(f"{where}: {value!r} is not a package name (letters, digits and . + _ - / only)")
    return value


def _corrections(items: Any, where: str, default_reason: str | None = None) -> tuple[Correction, ...]:
    result = []
    for index, item in enumerate(_expect(items or [], list, where, "a correction list")):
        at = f"{where}[{index}]"
        item = _expect(item, dict, at, "a correction")
        _check_keys(item, ("name", "reason", "profile"), at)
        reason = item.get("reason") or default_reason
        if not reason or not isinstance(reason, str):
            raise InputError(f"{at}: every correction needs a 'reason' (it is shown in the output)")
        result.append(Correction(package_name(item.get("name"), at), reason.strip(), at, item.get("profile")))
    return tuple(result)


def load_profiles(directory: Path) -> Profiles:
    """Every ``*.yaml`` in the directory is a project profile, except ``defaults.yaml``."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no profiles directory (give --profiles DIR)")
    defaults_path = directory / DEFAULTS_FILE
    raw_defaults = _load_yaml(defaults_path) if defaults_path.exists() else {}
    raw_defaults = _expect(raw_defaults or {}, dict, str(defaults_path), "the file")
    _check_keys(raw_defaults, ("build_tool_patterns", "drop", "providers", "constraints"), str(defaults_path))
    pins = []
    for index, pin in enumerate(_expect(raw_defaults.get("providers") or [], list, str(defaults_path), "'providers'")):
        at = f"{defaults_path}: providers[{index}]"
        pin = _expect(pin, dict, at, "a provider pin")
        _check_keys(pin, ("instead_of", "use", "reason"), at)
        if not isinstance(pin.get("reason"), str):
            raise InputError(f"{at}: a provider pin needs a 'reason'")
        pins.append(ProviderPin(package_name(pin.get("instead_of"), at), package_name(pin.get("use"), at),
                                pin["reason"], at))
    defaults = Defaults(
        build_tool_patterns=tuple(raw_defaults.get("build_tool_patterns") or ()),
        drop=_corrections(raw_defaults.get("drop"), f"{defaults_path}: drop"),
        providers=tuple(pins),
        constraints=str(raw_defaults["constraints"]) if raw_defaults.get("constraints") else None,
    )
    projects = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name != DEFAULTS_FILE:
            profile = _load_project(path)
            projects[profile.project] = profile
    return Profiles(defaults=defaults, projects=projects)


def _load_project(path: Path) -> ProjectProfile:
    where = str(path)
    data = _expect(_load_yaml(path), dict, where, "the file")
    _check_keys(data, ("project", "source", "upstream", "release", "runtime", "build", "build_filtered",
                       "groups", "drop", "add"), where)
    for key in ("project", "source"):
        if not isinstance(data.get(key), str):
            raise InputError(f"{where}: '{key}' is required (a string)")
    groups = {}
    for name, group in _expect(data.get("groups") or {}, dict, where, "'groups'").items():
        at = f"{where}: groups.{name}"
        group = _expect(group, dict, at, "a group")
        _check_keys(group, ("packages", "reason"), at)
        if not isinstance(group.get("reason"), str):
            raise InputError(f"{at}: a backend group needs a 'reason'")
        names = tuple(package_name(n, at) for n in _expect(group.get("packages") or [], list, at, "'packages'"))
        groups[name] = BackendGroup(name, names, group["reason"].strip(), at)

    def profile_list(key: str) -> tuple[str, ...]:
        return tuple(str(p) for p in _expect(data.get(key) or [], list, where, f"'{key}'"))

    return ProjectProfile(
        project=data["project"],
        path=path,
        source=Source.parse(data["source"], relative_to=path.parent),
        upstream=str(data.get("upstream", "")),
        runtime_profiles=profile_list("runtime"),
        build_profiles=profile_list("build"),
        filtered_build_profiles=profile_list("build_filtered"),
        groups=groups,
        drop=_corrections(data.get("drop"), f"{where}: drop"),
        add=_corrections(data.get("add"), f"{where}: add"),
        release=_release(data.get("release"), where),
    )


_RELEASE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[A-Za-z0-9._-]+(?:,[A-Za-z0-9._-]+)*)\])?"
                      r"==(?P<version>[0-9][A-Za-z0-9.+!_-]*)$")


def _release(value: Any, where: str) -> Release | None:
    if value is None:
        return None
    match = _RELEASE.match(value) if isinstance(value, str) else None
    if not match:
        raise InputError(f"{where}: 'release' must be a PyPI pin such as nova==31.3.1 or keystone[ldap]==27.1.0, "
                         f"got {value!r}")
    return Release(match["name"], match["version"], tuple(match["extras"].split(",")) if match["extras"] else ())


def load_images(directory: Path) -> ImageTree:
    """Every ``*.yaml`` in the directory holds a list of images; together they form one tree."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no images directory (give --images DIR)")
    graph: nx.DiGraph = nx.DiGraph()
    for path in sorted(directory.glob("*.yaml")):
        for index, item in enumerate(_expect(_load_yaml(path) or [], list, str(path), "the file")):
            spec = _image_spec(item, f"{path}[{index}]")
            if spec.name in graph:
                first = graph.nodes[spec.name]["spec"].where
                raise InputError(f"{spec.where}: image {spec.name!r} is already defined at {first}")
            graph.add_node(spec.name, spec=spec)
    for name in list(graph):
        spec: ImageSpec = graph.nodes[name]["spec"]
        if spec.parent is None:
            continue
        if spec.parent not in graph:
            raise UnknownNameError("parent image", spec.parent, list(graph), spec.where)
        graph.add_edge(spec.parent, name)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return ImageTree(graph)
    chain = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
    raise InputError(f"{directory}: the image tree has a cycle: {chain}")


def _image_spec(item: Any, where: str) -> ImageSpec:
    item = _expect(item, dict, where, "an image")
    _check_keys(item, ("name", "parent", "deployed", "projects", "packages", "build", "command"), where)
    name = item.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise InputError(f"{where}: 'name' must be a lower-case image name, got {name!r}")
    where = f"{where} ({name})"
    projects = {}
    for project, chosen in _expect(item.get("projects") or {}, dict, where, "'projects'").items():
        projects[str(project)] = tuple(str(p) for p in _expect(chosen or [], list, where, f"projects.{project}"))
    extras = []
    for entry in _expect(item.get("packages") or [], list, where, "'packages'"):
        if isinstance(entry, dict):
            _check_keys(entry, ("name", "reason"), where)
            extras.append(ExtraPackage(package_name(entry.get("name"), where), str(entry.get("reason", ""))))
        else:
            extras.append(ExtraPackage(package_name(entry, where), ""))
    parent = item.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise InputError(f"{where}: 'parent' must be an image name")
    build = None
    if item.get("build") is not None:
        step = _expect(item["build"], dict, where, "'build'")
        _check_keys(step, ("run", "artifacts"), f"{where}: build")
        if not isinstance(step.get("run"), str) or not str(step.get("artifacts", "/out")).startswith("/"):
            raise InputError(f"{where}: build needs 'run' (a shell command) and an absolute 'artifacts' directory")
        build = BuildStep(step["run"], str(step.get("artifacts", "/out")).rstrip("/") or "/")
    return ImageSpec(
        name=name,
        parent=parent,
        deployed=bool(item.get("deployed", False)),
        projects=projects,
        packages=tuple(extras),
        where=where,
        build=build,
        command=_command(item.get("command"), where),
    )


def _command(value: Any, where: str) -> tuple[str, ...]:
    """An image's command: a list of arguments, or a string split as a shell would (no shell runs it)."""
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as error:
            raise InputError(f"{where}: 'command' cannot be split into arguments ({error})") from None
    if not isinstance(value, list) or not value or not all(isinstance(part, str) for part in value):
        raise InputError(f"{where}: 'command' must be a non-empty list of strings or a string")
    for part in value:
        if any(ord(c) < 32 or ord(c) == 127 for c in part):
            raise InputError(f"{where}: 'command' holds a control character in {part!r}")
    return tuple(value)
