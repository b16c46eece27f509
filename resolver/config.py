"""Loading and checking ``profiles/`` (per-project choices and corrections) and ``images/`` (the
image tree). Everything here is plain data; nothing touches dnf.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from .errors import InputError, UnknownNameError
from .names import CONTAINER_PATH, PROFILE_NAME, image_name, package_name, plain_text, project_name
from .sources import Source
from .yamlfile import line_of, load_yaml

DEFAULTS_FILE = "defaults.yaml"


@dataclass(frozen=True)
class Correction:
    """A package an overlay adds or drops, and why (``profile`` limits it to that profile);
    ``evidence``: where the project's code needs it (``path:line`` in the pinned release)."""

    name: str
    reason: str
    where: str
    profile: str | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupPackage:
    """A package of a backend group, with where the code needs it (``path:line``), if recorded."""

    name: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendGroup:
    """A backend profile (libvirt, ceph, iscsi...) or a role (dhcp-agent) the overlay defines:
    its runtime packages, builder-stage packages, and the code it runs (``code``: globs over the
    release's paths, ``path`` or ``path:Class.function``; ``!`` excludes). Code no group claims is
    the project's default code, run by every image of the project."""

    name: str
    packages: tuple[GroupPackage, ...]
    reason: str
    where: str
    build: tuple[GroupPackage, ...] = ()
    code: tuple[str, ...] = ()


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
    #: files of helper functions (``nova/privsep/*.py``): a command they run counts where they
    #: are called from, so a helper shared by several backends is needed by the ones calling it
    helpers: tuple[str, ...] = ()


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
class PythonModule:
    """A Python module no wheel on PyPI provides as a binary, and how an image gets it: the RPM
    binding (``rpm``), or compiled in the builder stage against ``build`` (-devel, pkgconf), the
    runtime library then following from the -devel's sonames."""

    module: str
    reason: str
    where: str
    rpm: str | None = None
    build: tuple[str, ...] = ()


@dataclass(frozen=True)
class Defaults:
    """Rules shared by every project (``profiles/defaults.yaml``)."""

    build_tool_patterns: tuple[str, ...]
    drop: tuple[Correction, ...]
    providers: tuple[ProviderPin, ...] = ()
    #: OpenStack release series whose upper-constraints pin every Python requirement
    #: (``resolver/data/constraints/upper-constraints-SERIES.txt``)
    constraints: str | None = None
    python_modules: Mapping[str, PythonModule] = field(default_factory=dict)
    #: commands the service's venv provides (console scripts of its Python requirements):
    #: command -> the distribution that installs it
    venv_commands: Mapping[str, str] = field(default_factory=dict)

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
    #: where the name is written when not in the image's own entry (a site override's file:line)
    where: str = ""
    #: the request's origin kind: "image" (images/) or "override" (a site override)
    kind: str = "image"


@dataclass(frozen=True)
class BuildStep:
    """What an image's builder stage runs (a shell command) and the directory whose content is
    copied from the builder into the final image's root."""

    run: str
    artifacts: str = "/out"


# What site overrides (resolver/overrides.py) add to an image, as plain data for the resolver
# and the builder; the shipped images/ files leave these empty.


@dataclass(frozen=True)
class PipRequirement:
    """A Python requirement the image's venv gets besides its projects (Kolla's pip_packages):
    a PEP 508 requirement without a URL, installed under the release's upper-constraints."""

    requirement: str
    reason: str
    where: str


@dataclass(frozen=True)
class ImageStep:
    """A shell command run in the image (Kolla's header/footer RUN): ``before-packages`` or
    ``after-packages`` (its layer's packages installed)."""

    run: str
    when: str
    reason: str
    where: str


@dataclass(frozen=True)
class ModuleStream:
    """A dnf module stream enabled for the image and its descendants (``mariadb:10.11``)."""

    module: str
    stream: str
    reason: str
    where: str

    def __str__(self) -> str:
        return f"{self.module}:{self.stream}"


@dataclass(frozen=True)
class AppliedOverride:
    """One change a site override made, for output: ``kind`` is add-package, drop-package,
    enable-profile, disable-profile, pip, step, module, add-image (per image) or add-repo,
    remove-repo, provider (tree-wide: ``image`` None)."""

    image: str | None
    kind: str
    value: str
    where: str
    reason: str

    def to_json(self) -> dict:
        return {"image": self.image, "kind": self.kind, "value": self.value, "where": self.where,
                "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.value}: {self.reason}"


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
    #: site overrides (resolver/overrides.py): requests this image drops, Python requirements,
    #: steps and module streams it adds, and the record of every change made to it
    drop: tuple[Correction, ...] = ()
    pip_packages: tuple[PipRequirement, ...] = ()
    steps: tuple[ImageStep, ...] = ()
    module_streams: tuple[ModuleStream, ...] = ()
    overrides: tuple[AppliedOverride, ...] = ()
    #: an intermediate the computed tree keeps (a pinned grouping of its deployed descendants)
    keep: bool = False
    #: ``weak_deps: true``: this image and those below it install weak dependencies (Recommends), as
    #: plain ``dnf install`` does; None: not said here (the parent's setting, else --weak-deps)
    weak_deps: bool | None = None


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

    def deployed(self) -> list[str]:
        return [n for n in self.names() if self.spec(n).deployed]

    def deployed_below(self, name: str) -> frozenset[str]:
        """The deployed images among ``name`` and its descendants."""
        return frozenset(n for n in [name, *nx.descendants(self.graph, name)] if self.spec(n).deployed)


def _at(path: Path | str, container: Any, key: Any, label: str = "") -> str:
    """``file:line: label`` for an entry of a loaded file (the line when the loader kept it)."""
    line = line_of(container, key)
    return f"{path}{f':{line}' if line else ''}{f': {label}' if label else ''}"


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(f"{where}: {what} must be a {names}, not {type(value).__name__}")
    return value


def _check_keys(data: Mapping, allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _reason(value: Any, where: str, what: str = "a 'reason'") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: needs {what} (it is shown in the output)")
    return plain_text(" ".join(value.split()), where, "the reason")


def _profile_names(value: Any, where: str, what: str) -> tuple[str, ...]:
    names = []
    for index, name in enumerate(_expect(value or [], list, where, what)):
        if not isinstance(name, str) or not PROFILE_NAME.match(name):
            raise InputError(f"{_at(where, value, index)}: {name!r} is not a bindep profile name "
                             "(lower-case letters, digits and : . -)")
        names.append(name)
    return tuple(names)


def _corrections(items: Any, where: str) -> tuple[Correction, ...]:
    result = []
    for index, item in enumerate(_expect(items or [], list, where, "a correction list")):
        at = f"{where}[{index}]"
        item = _expect(item, dict, at, "a correction")
        _check_keys(item, ("name", "reason", "profile", "evidence"), at)
        profile = item.get("profile")
        if profile is not None:
            profile = _profile_names([profile], at, "'profile'")[0]
        result.append(Correction(package_name(item.get("name"), at), _reason(item.get("reason"), at), at, profile,
                                 _evidence(item.get("evidence"), at)))
    return tuple(result)


def _build_tool_patterns(value: Any, where: str) -> tuple[str, ...]:
    patterns = []
    for index, pattern in enumerate(_expect(value or [], list, where, "'build_tool_patterns'")):
        at = _at(where, value, index)
        _expect(pattern, str, at, "a build-tool pattern")
        try:
            re.compile(pattern)
        except re.error as error:
            raise InputError(f"{at}: {pattern!r} is not a regular expression ({error})") from None
        patterns.append(pattern)
    return tuple(patterns)


_EVIDENCE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*:[0-9]+\Z")


def _evidence(value: Any, where: str) -> tuple[str, ...]:
    """``evidence``: ``path:line`` sites in the project's release (one string or a list)."""
    items = [value] if isinstance(value, str) else _expect(value or [], list, where, "'evidence'")
    for item in items:
        if not isinstance(item, str) or not _EVIDENCE.match(item):
            raise InputError(f"{where}: evidence {item!r} must be PATH:LINE in the project's release "
                             "(e.g. nova/privsep/qemu.py:219)")
    return tuple(items)


def _group_packages(items: Any, where: str) -> tuple[GroupPackage, ...]:
    """A group's package list: names, or ``{name, evidence}``."""
    result = []
    for item in _expect(items or [], list, where, "a package list"):
        if isinstance(item, dict):
            _check_keys(item, ("name", "evidence"), where)
            result.append(GroupPackage(package_name(item.get("name"), where), _evidence(item.get("evidence"), where)))
        else:
            result.append(GroupPackage(package_name(item, where)))
    return tuple(result)


def _code_patterns(value: Any, where: str) -> tuple[str, ...]:
    patterns = _expect(value or [], list, where, "a list of path patterns")
    for pattern in patterns:
        if not isinstance(pattern, str) or not re.fullmatch(r"!?[A-Za-z0-9_.*?/\[\]-]+(:[A-Za-z0-9_.*?]+)?", pattern):
            raise InputError(f"{where}: {pattern!r} is not a code pattern (PATH or PATH:Class.function, "
                             "globs allowed, ! to exclude)")
    return tuple(patterns)


def load_profiles(directory: Path) -> Profiles:
    """Every ``*.yaml`` in the directory is a project profile, except ``defaults.yaml``."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no profiles directory (give --profiles DIR)")
    defaults_path = directory / DEFAULTS_FILE
    raw_defaults = load_yaml(defaults_path, "profile defaults file") if defaults_path.exists() else {}
    raw_defaults = _expect(raw_defaults or {}, dict, str(defaults_path), "the file")
    _check_keys(raw_defaults, ("build_tool_patterns", "drop", "providers", "constraints", "python_modules",
                               "venv_commands"), str(defaults_path))
    pins = []
    listed = raw_defaults.get("providers") or []
    for index, pin in enumerate(_expect(listed, list, str(defaults_path), "'providers'")):
        at = _at(defaults_path, listed, index, f"providers[{index}]")
        pin = _expect(pin, dict, at, "a provider pin")
        _check_keys(pin, ("instead_of", "use", "reason"), at)
        pins.append(ProviderPin(package_name(pin.get("instead_of"), at), package_name(pin.get("use"), at),
                                _reason(pin.get("reason"), at), at))
    constraints = raw_defaults.get("constraints")
    if constraints is not None and (not isinstance(constraints, str) or not re.fullmatch(r"\d{4}\.\d", constraints)):
        raise InputError(f"{_at(defaults_path, raw_defaults, 'constraints')}: 'constraints' must name a release "
                         f"series such as \"2025.1\", not {constraints!r}")
    defaults = Defaults(
        build_tool_patterns=_build_tool_patterns(raw_defaults.get("build_tool_patterns"),
                                                 str(defaults_path)),
        drop=_corrections(raw_defaults.get("drop"), _at(defaults_path, raw_defaults, "drop", "drop")),
        providers=tuple(pins),
        constraints=constraints,
        python_modules=_python_modules(raw_defaults.get("python_modules"), f"{defaults_path}: python_modules"),
        venv_commands=_venv_commands(raw_defaults.get("venv_commands"), f"{defaults_path}: venv_commands"),
    )
    projects: dict[str, ProjectProfile] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name != DEFAULTS_FILE:
            profile = _load_project(path)
            if profile.project in projects:
                raise InputError(f"{path}: project {profile.project!r} is already defined by "
                                 f"{projects[profile.project].path}; one profile per project")
            projects[profile.project] = profile
    return Profiles(defaults=defaults, projects=projects)


def _python_modules(value: Any, where: str) -> dict[str, PythonModule]:
    result = {}
    for module, entry in _expect(value or {}, dict, where, "a mapping").items():
        at = f"{where}.{module}"
        entry = _expect(entry, dict, at, "a module entry")
        _check_keys(entry, ("rpm", "build", "reason"), at)
        if not isinstance(entry.get("reason"), str) or bool(entry.get("rpm")) == bool(entry.get("build")):
            raise InputError(f"{at}: give a 'reason' and either 'rpm' (the binding) or 'build' (-devel, pkgconf)")
        result[str(module)] = PythonModule(
            str(module), entry["reason"].strip(), at,
            package_name(entry["rpm"], at) if entry.get("rpm") else None,
            tuple(package_name(n, at) for n in _expect(entry.get("build") or [], list, at, "'build'")))
    return result


def _venv_commands(value: Any, where: str) -> dict[str, str]:
    result = {}
    for command, distribution in _expect(value or {}, dict, where, "a mapping").items():
        if not isinstance(distribution, str):
            raise InputError(f"{where}.{command}: name the Python distribution that installs it")
        result[str(command)] = distribution
    return result


def _load_project(path: Path) -> ProjectProfile:
    where = str(path)
    data = _expect(load_yaml(path, "project profile"), dict, where, "the file")
    _check_keys(data, ("project", "source", "upstream", "release", "runtime", "build", "build_filtered",
                       "groups", "drop", "add", "helpers"), where)
    for key in ("project", "source"):
        if not isinstance(data.get(key), str):
            raise InputError(f"{where}: '{key}' is required (a string)")
    project_name(data["project"], _at(path, data, "project"))
    groups = {}
    listed = data.get("groups") or {}
    for name, group in _expect(listed, dict, where, "'groups'").items():
        at = _at(path, listed, name, f"groups.{name}")
        _profile_names([name], at, "a group name")
        group = _expect(group, dict, at, "a group")
        _check_keys(group, ("packages", "reason", "build", "code"), at)
        groups[name] = BackendGroup(name, _group_packages(group.get("packages"), at), _reason(group.get("reason"), at),
                                    at, _group_packages(group.get("build"), f"{at}.build"),
                                    _code_patterns(group.get("code"), f"{at}.code"))

    def profile_list(key: str) -> tuple[str, ...]:
        return _profile_names(data.get(key), _at(path, data, key), f"'{key}'")

    upstream = data.get("upstream", "")
    return ProjectProfile(
        project=data["project"],
        path=path,
        source=Source.parse(plain_text(data["source"], _at(path, data, "source"), "'source'"),
                            relative_to=path.parent),
        upstream=plain_text(upstream, _at(path, data, "upstream"), "'upstream'"),
        runtime_profiles=profile_list("runtime"),
        build_profiles=profile_list("build"),
        filtered_build_profiles=profile_list("build_filtered"),
        groups=groups,
        drop=_corrections(data.get("drop"), _at(path, data, "drop", "drop")),
        add=_corrections(data.get("add"), _at(path, data, "add", "add")),
        release=_release(data.get("release"), _at(path, data, "release")),
        helpers=_code_patterns(data.get("helpers"), _at(path, data, "helpers", "helpers")),
    )


_RELEASE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[A-Za-z0-9._-]+(?:,[A-Za-z0-9._-]+)*)\])?"
                      r"==(?P<version>[0-9][A-Za-z0-9.+!_-]*)\Z")


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
        items = load_yaml(path, "image tree file") or []
        for index, item in enumerate(_expect(items, list, str(path), "the file")):
            spec = _image_spec(item, _at(path, items, index, f"[{index}]"))
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
    _check_keys(item, ("name", "parent", "deployed", "projects", "packages", "build", "command", "keep",
                       "weak_deps"), where)
    name = image_name(item.get("name"), f"{where}: 'name'")
    where = f"{where} ({name})"
    projects = {}
    listed = item.get("projects") or {}
    for project, chosen in _expect(listed, dict, where, "'projects'").items():
        at = f"{where}: projects.{project}"
        projects[project_name(project, at)] = _profile_names(chosen, at, f"projects.{project}")
    extras = []
    for entry in _expect(item.get("packages") or [], list, where, "'packages'"):
        if isinstance(entry, dict):
            _check_keys(entry, ("name", "reason"), where)
            reason = entry.get("reason")
            extras.append(ExtraPackage(package_name(entry.get("name"), where),
                                       _reason(reason, where) if reason is not None else ""))
        else:
            extras.append(ExtraPackage(package_name(entry, where), ""))
    parent = item.get("parent")
    if parent is not None:
        image_name(parent, f"{where}: 'parent'")
    build = None
    if item.get("build") is not None:
        step = _expect(item["build"], dict, where, "'build'")
        _check_keys(step, ("run", "artifacts"), f"{where}: build")
        run = plain_text(step.get("run"), f"{where}: build", "'run' (a shell command)")
        artifacts = plain_text(step.get("artifacts", "/out"), f"{where}: build", "'artifacts'")
        if not artifacts.startswith("/") or ".." in artifacts.split("/") or not CONTAINER_PATH.match(artifacts):
            raise InputError(f"{where}: build 'artifacts' must be an absolute directory without '..' "
                             f"(letters, digits, / . _ -), not {artifacts!r}")
        build = BuildStep(run, artifacts.rstrip("/") or "/")
    return ImageSpec(
        name=name,
        parent=parent,
        deployed=_expect(item.get("deployed", False), bool, where, "'deployed'"),
        projects=projects,
        packages=tuple(extras),
        where=where,
        build=build,
        command=_command(item.get("command"), where),
        keep=_keep(item, where),
        weak_deps=None if item.get("weak_deps") is None else _expect(item["weak_deps"], bool, where, "'weak_deps'"),
    )


def _keep(item: Mapping, where: str) -> bool:
    keep = item.get("keep", False)
    if not isinstance(keep, bool):
        raise InputError(f"{where}: 'keep' must be true or false")
    if keep and item.get("deployed"):
        raise InputError(f"{where}: 'keep' is for intermediates (the computed tree keeps every deployed image)")
    return keep


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
