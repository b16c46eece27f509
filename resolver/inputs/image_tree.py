"""Loading and checking ``images/``: the image tree (each image's parent, projects, packages and
build step) and what site overrides add to an image. Plain data; nothing touches dnf.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import InputError, UnknownNameError
from ..names import CONTAINER_PATH, image_name, package_name, plain_text, project_name, shell_line, unwritable_reason
from ..text_enum import TextEnum
from .profiles import Correction
from .yaml_values import check_keys, checked_reason, entry_where, expect, profile_names
from .yamlfile import load_yaml


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


# What site overrides (resolver/override_files.py) add to an image, as plain data for the resolver
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


class OverrideKind(TextEnum):
    """What one site override change does (an ``AppliedOverride``, an imported entry)."""

    ADD_PACKAGE = "add-package"
    DROP_PACKAGE = "drop-package"
    ENABLE_PROFILE = "enable-profile"
    DISABLE_PROFILE = "disable-profile"
    PIP = "pip"
    STEP = "step"
    MODULE = "module"
    ADD_IMAGE = "add-image"
    ADD_REPO = "add-repo"
    REMOVE_REPO = "remove-repo"
    PROVIDER = "provider"


@dataclass(frozen=True)
class AppliedOverride:
    """One change a site override made, for output: ``kind`` is add-package, drop-package,
    enable-profile, disable-profile, pip, step, module, add-image (per image) or add-repo,
    remove-repo, provider (tree-wide: ``image`` None)."""

    image: str | None
    kind: OverrideKind
    value: str
    where: str
    reason: str

    def to_json(self) -> dict:
        return {"image": self.image, "kind": self.kind, "value": self.value, "where": self.where,
                "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.value}: {self.reason}"


@dataclass(frozen=True)
class ServiceUser:
    """The Kolla service an image runs: its user (a name of Kolla's users table), home, and the
    directories Kolla's Dockerfile for it creates (owned by the user)."""

    user: str
    home: str
    directories: tuple[str, ...] = ()


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
    #: site overrides (resolver/site.py): requests this image drops, Python requirements,
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
    #: ``kolla:``: the Kolla service user the image runs as (its USER), home and directories
    kolla: ServiceUser | None = None


def parents_first(names: Iterable[str], parent_of: Callable[[str], str | None]) -> list[str]:
    """``names`` and their ancestors, each once and after its parent, in the order of ``names``
    (the one walk up a tree: an image's ancestors, what a build must build, keys that chain)."""
    order: list[str] = []
    placed: set[str] = set()
    for name in names:
        chain: list[str] = []
        step: str | None = name
        while step is not None and step not in placed and step not in chain:
            chain.append(step)
            step = parent_of(step)
        order.extend(reversed(chain))
        placed.update(chain)
    return order


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
        return parents_first([name], lambda image: self.spec(image).parent)[:-1]

    def children(self, name: str) -> list[str]:
        return sorted(self.graph.successors(name))

    def deployed(self) -> list[str]:
        return [n for n in self.names() if self.spec(n).deployed]

    def deployed_below(self, name: str) -> frozenset[str]:
        """The deployed images among ``name`` and its descendants."""
        return frozenset(n for n in [name, *nx.descendants(self.graph, name)] if self.spec(n).deployed)



def load_images(directory: Path) -> ImageTree:
    """Every ``*.yaml`` in the directory holds a list of images; together they form one tree."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no images directory (give --images DIR)")
    graph: nx.DiGraph = nx.DiGraph()
    for path in sorted(directory.glob("*.yaml")):
        items = load_yaml(path, "image tree file") or []
        for index, item in enumerate(expect(items, list, str(path), "the file")):
            spec = image_spec(item, entry_where(path, items, index, f"[{index}]"))
            if spec.name in graph:
                first = graph.nodes[spec.name]["spec"].where
                raise InputError(f"{spec.where}: image {spec.name!r} is already defined at {first}")
            graph.add_node(spec.name, spec=spec)
    for name in list(graph):
        node: ImageSpec = graph.nodes[name]["spec"]
        if node.parent is None:
            continue
        if node.parent not in graph:
            raise UnknownNameError("parent image", node.parent, list(graph), node.where)
        graph.add_edge(node.parent, name)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return ImageTree(graph)
    chain = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
    raise InputError(f"{directory}: the image tree has a cycle: {chain}")


def image_spec(item: Any, where: str) -> ImageSpec:
    item = expect(item, dict, where, "an image")
    check_keys(item, ("name", "parent", "deployed", "projects", "packages", "build", "command", "keep",
                       "weak_deps", "kolla"), where)
    name = image_name(item.get("name"), f"{where}: 'name'")
    where = f"{where} ({name})"
    projects = {}
    listed = item.get("projects") or {}
    for project, chosen in expect(listed, dict, where, "'projects'").items():
        at = f"{where}: projects.{project}"
        projects[project_name(project, at)] = profile_names(chosen, at, f"projects.{project}")
    extras = []
    for entry in expect(item.get("packages") or [], list, where, "'packages'"):
        if isinstance(entry, dict):
            check_keys(entry, ("name", "reason"), where)
            reason = entry.get("reason")
            extras.append(ExtraPackage(package_name(entry.get("name"), where),
                                       checked_reason(reason, where) if reason is not None else ""))
        else:
            extras.append(ExtraPackage(package_name(entry, where), ""))
    parent = item.get("parent")
    if parent is not None:
        image_name(parent, f"{where}: 'parent'")
    build = None
    if item.get("build") is not None:
        step = expect(item["build"], dict, where, "'build'")
        check_keys(step, ("run", "artifacts"), f"{where}: build")
        run = shell_line(step.get("run"), f"{where}: build", "'run' (a shell command)")
        artifacts = plain_text(step.get("artifacts", "/out"), f"{where}: build", "'artifacts'")
        if not artifacts.startswith("/") or ".." in artifacts.split("/") or not CONTAINER_PATH.match(artifacts):
            raise InputError(f"{where}: build 'artifacts' must be an absolute directory without '..' "
                             f"(letters, digits, / . _ -), not {artifacts!r}")
        build = BuildStep(run, artifacts.rstrip("/") or "/")
    return ImageSpec(
        name=name,
        parent=parent,
        deployed=expect(item.get("deployed", False), bool, where, "'deployed'"),
        projects=projects,
        packages=tuple(extras),
        where=where,
        build=build,
        command=_command(item.get("command"), where),
        keep=_keep(item, where),
        weak_deps=None if item.get("weak_deps") is None else expect(item["weak_deps"], bool, where, "'weak_deps'"),
        kolla=_service_user(item.get("kolla"), where),
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
        if problem := unwritable_reason(part):
            raise InputError(f"{where}: 'command' {part!r} {problem}")
    return tuple(value)


def _service_user(value: Any, where: str) -> ServiceUser | None:
    """An image's ``kolla:`` entry: ``{user: NAME, home: PATH, directories: [PATH...]}`` (home:
    Kolla's default, /var/lib/NAME); the name is checked against Kolla's table when staged."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"user", "home", "directories"} or "user" not in value:
        raise InputError(f"{where}: 'kolla' is {{user: NAME, home: PATH, directories: [PATH...]}}")
    user = value["user"]
    if not isinstance(user, str) or not re.fullmatch(r"[a-z_][a-z0-9_-]*", user):
        raise InputError(f"{where}: kolla 'user' must be a user name of Kolla's table (keystone, nova...)")
    paths = [value.get("home", f"/var/lib/{user}"), *expect(value.get("directories") or [], list, where,
                                                            "kolla 'directories'")]
    for path in paths:
        if not (isinstance(path, str) and CONTAINER_PATH.match(path) and ".." not in path.split("/")
                and path.strip("/")):
            raise InputError(f"{where}: kolla: {path!r} is not an absolute directory (letters, digits, / . _ -)")
    return ServiceUser(user, paths[0].rstrip("/"), tuple(p.rstrip("/") for p in paths[1:]))
