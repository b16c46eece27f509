"""Loading and checking ``profiles/``: per-project choices and corrections (how to read each
project's bindep.txt as a runtime manifest) and the rules shared by every project
(``defaults.yaml``). Plain data; nothing touches dnf.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, UnknownNameError
from ..names import package_name, plain_text, project_name
from .sources import Source
from .yaml_values import check_keys, checked_reason, entry_where, expect, profile_names
from .yamlfile import load_yaml

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
class ProviderChoice:
    """A provider installed instead of the one dnf would pick (coreutils-single for coreutils), and
    why: a pin (``profiles/defaults.yaml``, a site override) or one the tree chose (``automatic``)."""

    instead_of: str
    use: str
    reason: str
    where: str
    #: bytes the choice saves on the tree's total set (0 for a pin not measured)
    saves: int = 0

    def to_json(self) -> dict:
        return {"instead_of": self.instead_of, "use": self.use, "reason": self.reason, "where": self.where,
                "saves": self.saves}


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
    providers: tuple[ProviderChoice, ...] = ()
    #: OpenStack release series whose upper-constraints pin every Python requirement
    #: (``resolver/data/constraints/upper-constraints-SERIES.txt``)
    constraints: str | None = None
    python_modules: Mapping[str, PythonModule] = field(default_factory=dict)
    #: commands the service's venv provides (console scripts of its Python requirements):
    #: command -> the distribution that installs it
    venv_commands: Mapping[str, str] = field(default_factory=dict)
    #: packages every image whose command runs this program carries (httpd: mod_ssl, one TLS rule)
    command_packages: Mapping[str, tuple[Correction, ...]] = field(default_factory=dict)

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


def _corrections(items: Any, where: str) -> tuple[Correction, ...]:
    result = []
    for index, item in enumerate(expect(items or [], list, where, "a correction list")):
        at = f"{where}[{index}]"
        item = expect(item, dict, at, "a correction")
        check_keys(item, ("name", "reason", "profile", "evidence"), at)
        profile = item.get("profile")
        if profile is not None:
            profile = profile_names([profile], at, "'profile'")[0]
        result.append(Correction(package_name(item.get("name"), at), checked_reason(item.get("reason"), at), at,
                                 profile, _evidence(item.get("evidence"), at)))
    return tuple(result)


def _build_tool_patterns(value: Any, where: str) -> tuple[str, ...]:
    patterns = []
    for index, pattern in enumerate(expect(value or [], list, where, "'build_tool_patterns'")):
        at = entry_where(where, value, index)
        expect(pattern, str, at, "a build-tool pattern")
        try:
            re.compile(pattern)
        except re.error as error:
            raise InputError(f"{at}: {pattern!r} is not a regular expression ({error})") from None
        patterns.append(pattern)
    return tuple(patterns)


_EVIDENCE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*:[0-9]+\Z")


def _evidence(value: Any, where: str) -> tuple[str, ...]:
    """``evidence``: ``path:line`` sites in the project's release (one string or a list)."""
    items = [value] if isinstance(value, str) else expect(value or [], list, where, "'evidence'")
    for item in items:
        if not isinstance(item, str) or not _EVIDENCE.match(item):
            raise InputError(f"{where}: evidence {item!r} must be PATH:LINE in the project's release "
                             "(e.g. nova/privsep/qemu.py:219)")
    return tuple(items)


def _group_packages(items: Any, where: str) -> tuple[GroupPackage, ...]:
    """A group's package list: names, or ``{name, evidence}``."""
    result = []
    for item in expect(items or [], list, where, "a package list"):
        if isinstance(item, dict):
            check_keys(item, ("name", "evidence"), where)
            result.append(GroupPackage(package_name(item.get("name"), where), _evidence(item.get("evidence"), where)))
        else:
            result.append(GroupPackage(package_name(item, where)))
    return tuple(result)


def _code_patterns(value: Any, where: str) -> tuple[str, ...]:
    patterns = expect(value or [], list, where, "a list of path patterns")
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
    raw_defaults = expect(raw_defaults or {}, dict, str(defaults_path), "the file")
    check_keys(raw_defaults, ("build_tool_patterns", "drop", "providers", "constraints", "python_modules",
                               "venv_commands", "command_packages"), str(defaults_path))
    pins = []
    listed = raw_defaults.get("providers") or []
    for index, pin in enumerate(expect(listed, list, str(defaults_path), "'providers'")):
        at = entry_where(defaults_path, listed, index, f"providers[{index}]")
        pin = expect(pin, dict, at, "a provider pin")
        check_keys(pin, ("instead_of", "use", "reason"), at)
        pins.append(ProviderChoice(package_name(pin.get("instead_of"), at), package_name(pin.get("use"), at),
                                checked_reason(pin.get("reason"), at), at))
    constraints = raw_defaults.get("constraints")
    if constraints is not None and (not isinstance(constraints, str) or not re.fullmatch(r"\d{4}\.\d", constraints)):
        raise InputError(f"{entry_where(defaults_path, raw_defaults, 'constraints')}: 'constraints' must name a "
                         f"release series such as \"2025.1\", not {constraints!r}")
    defaults = Defaults(
        build_tool_patterns=_build_tool_patterns(raw_defaults.get("build_tool_patterns"),
                                                 str(defaults_path)),
        drop=_corrections(raw_defaults.get("drop"), entry_where(defaults_path, raw_defaults, "drop", "drop")),
        providers=tuple(pins),
        constraints=constraints,
        python_modules=_python_modules(raw_defaults.get("python_modules"), f"{defaults_path}: python_modules"),
        venv_commands=_venv_commands(raw_defaults.get("venv_commands"), f"{defaults_path}: venv_commands"),
        command_packages=_command_packages(raw_defaults, defaults_path),
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
    for module, entry in expect(value or {}, dict, where, "a mapping").items():
        at = f"{where}.{module}"
        entry = expect(entry, dict, at, "a module entry")
        check_keys(entry, ("rpm", "build", "reason"), at)
        if not isinstance(entry.get("reason"), str) or bool(entry.get("rpm")) == bool(entry.get("build")):
            raise InputError(f"{at}: give a 'reason' and either 'rpm' (the binding) or 'build' (-devel, pkgconf)")
        result[str(module)] = PythonModule(
            str(module), entry["reason"].strip(), at,
            package_name(entry["rpm"], at) if entry.get("rpm") else None,
            tuple(package_name(n, at) for n in expect(entry.get("build") or [], list, at, "'build'")))
    return result


def _command_packages(raw: Mapping, path: Path) -> dict[str, tuple[Correction, ...]]:
    listed = expect(raw.get("command_packages") or {}, dict, str(path), "'command_packages'")
    return {package_name(program, f"{path}: command_packages"):
            _corrections(items, entry_where(path, listed, program, f"command_packages.{program}"))
            for program, items in listed.items()}


def _venv_commands(value: Any, where: str) -> dict[str, str]:
    result = {}
    for command, distribution in expect(value or {}, dict, where, "a mapping").items():
        if not isinstance(distribution, str):
            raise InputError(f"{where}.{command}: name the Python distribution that installs it")
        result[str(command)] = distribution
    return result


def _load_project(path: Path) -> ProjectProfile:
    where = str(path)
    data = expect(load_yaml(path, "project profile"), dict, where, "the file")
    check_keys(data, ("project", "source", "upstream", "release", "runtime", "build", "build_filtered",
                       "groups", "drop", "add", "helpers"), where)
    for key in ("project", "source"):
        if not isinstance(data.get(key), str):
            raise InputError(f"{where}: '{key}' is required (a string)")
    project_name(data["project"], entry_where(path, data, "project"))
    groups = {}
    listed = data.get("groups") or {}
    for name, group in expect(listed, dict, where, "'groups'").items():
        at = entry_where(path, listed, name, f"groups.{name}")
        profile_names([name], at, "a group name")
        group = expect(group, dict, at, "a group")
        check_keys(group, ("packages", "reason", "build", "code"), at)
        groups[name] = BackendGroup(name, _group_packages(group.get("packages"), at),
                                    checked_reason(group.get("reason"), at), at,
                                    _group_packages(group.get("build"), f"{at}.build"),
                                    _code_patterns(group.get("code"), f"{at}.code"))

    def profile_list(key: str) -> tuple[str, ...]:
        return profile_names(data.get(key), entry_where(path, data, key), f"'{key}'")

    upstream = data.get("upstream", "")
    return ProjectProfile(
        project=data["project"],
        path=path,
        source=Source.parse(plain_text(data["source"], entry_where(path, data, "source"), "'source'"),
                            relative_to=path.parent),
        upstream=plain_text(upstream, entry_where(path, data, "upstream"), "'upstream'"),
        runtime_profiles=profile_list("runtime"),
        build_profiles=profile_list("build"),
        filtered_build_profiles=profile_list("build_filtered"),
        groups=groups,
        drop=_corrections(data.get("drop"), entry_where(path, data, "drop", "drop")),
        add=_corrections(data.get("add"), entry_where(path, data, "add", "add")),
        release=_release(data.get("release"), entry_where(path, data, "release")),
        helpers=_code_patterns(data.get("helpers"), entry_where(path, data, "helpers", "helpers")),
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

