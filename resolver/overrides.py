"""Site overrides: YAML files that change the shipped tree without copying ``profiles/`` or
``images/``, applied in order on top of it.

    images:
      nova-compute:
        reason: this site keeps instance disks on Ceph RBD   # default reason of the entries below
        profiles: {nova: +ceph}                               # enable (+) / disable (-) backend profiles
        packages:
          add: [{name: sg3_utils, reason: ...}]
          drop: [{name: genisoimage, reason: ...}]
        pip_packages: [{name: purestorage, reason: ...}]      # PEP 508 requirement, no URL
        steps: [{run: mkdir -p /etc/ceph, when: after-packages, reason: ...}]
        modules: [{name: "mariadb:10.11", reason: ...}]
    add_images:
      - {name: cinder-volume-pure, parent: cinder-volume, deployed: true, reason: ..., pip_packages: [...]}
    repos:
      add: [{id: site-mirror, baseurl: https://mirror.example.com/el9/, reason: ...}]
      remove: [{id: cs9-appstream-osbuild-2025, reason: ...}]
    providers:
      - {instead_of: curl, use: curl-minimal, reason: ...}

Validated like the shipped files and with file:line: an unknown image, project, profile or key
is an error listing what exists; a drop of what another override adds is an error; names pass
the same checks as in ``images/``. Every change is recorded (``AppliedOverride``) on the image it
changes, or on the site for tree-wide ones, so that every output can say what was applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from .errors import InputError, UnknownNameError
from .files import read_text
from .image_tree import (
    AppliedOverride,
    ExtraPackage,
    ImageSpec,
    ImageStep,
    ImageTree,
    ModuleStream,
    PipRequirement,
    image_spec,
    load_images,
)
from .names import MODULE_STREAM, image_name, package_name, plain_text
from .profiles import Correction, Defaults, Profiles, ProviderChoice, load_profiles
from .repos import RepoSpec
from .selection import Exclusion, Origin, Selection
from .sources import read_bindep
from .yamlfile import line_of, parse_yaml

#: the environment variable naming override files or directories (os.pathsep-separated)
OVERRIDES_ENV = "RESOLVER_OVERRIDES"
#: the directory read when neither --overrides nor the variable is given (relative to the cwd)
OVERRIDES_DIR = Path("overrides")
STEP_WHEN = ("before-packages", "after-packages")
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_IMAGE_KEYS = ("reason", "profiles", "packages", "pip_packages", "steps", "modules")
_NEW_IMAGE_KEYS = ("name", "parent", "deployed", "projects", "packages", "build", "command",
                   "reason", "pip_packages", "steps", "modules")


@dataclass(frozen=True)
class ProfileChange:
    project: str
    profile: str
    enable: bool
    reason: str
    where: str


@dataclass(frozen=True)
class ImageOverride:
    """What one override file changes in one image."""

    image: str
    where: str
    add: tuple[ExtraPackage, ...] = ()
    drop: tuple[Correction, ...] = ()
    profiles: tuple[ProfileChange, ...] = ()
    pip_packages: tuple[PipRequirement, ...] = ()
    steps: tuple[ImageStep, ...] = ()
    module_streams: tuple[ModuleStream, ...] = ()


@dataclass(frozen=True)
class NewImage:
    spec: ImageSpec
    reason: str
    extras: ImageOverride


@dataclass(frozen=True)
class RepoChange:
    add: RepoSpec | None
    remove: str | None
    reason: str
    where: str


@dataclass(frozen=True)
class OverrideFile:
    path: Path
    sha256: str

    def to_json(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256}


@dataclass(frozen=True)
class SiteOverrides:
    """Every override file's content, in the order given."""

    files: tuple[OverrideFile, ...] = ()
    images: tuple[ImageOverride, ...] = ()
    new_images: tuple[NewImage, ...] = ()
    repos: tuple[RepoChange, ...] = ()
    providers: tuple[ProviderChoice, ...] = ()


@dataclass(frozen=True)
class Site:
    """The shipped tree and profiles with the overrides applied, and the repositories to use."""

    tree: ImageTree
    profiles: Profiles
    repos: tuple[RepoSpec, ...]
    files: tuple[OverrideFile, ...] = ()
    #: repository and provider changes (``image`` None)
    tree_wide: tuple[AppliedOverride, ...] = ()

    def applied(self, images: Iterable[str] | None = None) -> list[AppliedOverride]:
        """Tree-wide changes, then each image's (all images, parents first, when None)."""
        names = self.tree.names() if images is None else images
        return [*self.tree_wide, *(o for name in names for o in self.tree.spec(name).overrides)]

    def overrides_json(self, images: Iterable[str] | None = None) -> dict:
        return {"files": [f.to_json() for f in self.files],
                "applied": [o.to_json() for o in self.applied(images)]}


# ---- override paths -----------------------------------------------------------------------------

def override_paths(arguments: Sequence[str], environ: Mapping[str, str] = os.environ,
                   default_dir: Path = OVERRIDES_DIR) -> list[Path]:
    """The files to apply, in order: ``--overrides`` values when given, else the paths in
    ``$RESOLVER_OVERRIDES``, else ``./overrides/`` when it exists. A directory stands for its
    ``*.yaml`` files in name order."""
    if arguments:
        given = [Path(a) for a in arguments]
    elif environ.get(OVERRIDES_ENV):
        given = [Path(p) for p in environ[OVERRIDES_ENV].split(os.pathsep) if p]
    else:
        given = [default_dir] if default_dir.is_dir() else []
    paths: list[Path] = []
    for path in given:
        if path.is_dir():
            paths.extend(sorted(path.glob("*.yaml")))
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(f"{path}: no such override file or directory")
    return paths


# ---- reading --------------------------------------------------------------------------------------

class _Reader:
    """Reads one override file; every error names the file and line."""

    def __init__(self, path: Path):
        self.path = path

    def at(self, line: int) -> str:
        return f"{self.path}:{line}"

    def expect(self, value: Any, kind: type, line: int, what: str) -> Any:
        if not isinstance(value, kind):
            raise InputError(f"{self.at(line)}: {what} must be a {'mapping' if kind is dict else kind.__name__}, "
                             f"not {type(value).__name__}")
        return value

    def keys(self, data: Mapping, allowed: Collection[str], line: int, what: str) -> None:
        for key in data:
            if key not in allowed:
                raise InputError(f"{self.at(line_of(data, key, line))}: unknown key {key!r} in {what}; "
                                 f"allowed: {', '.join(sorted(allowed))}")

    def reason(self, entry: Any, default: str | None, line: int) -> str:
        reason = entry.get("reason") if isinstance(entry, dict) else None
        reason = reason if reason is not None else default
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"{self.at(line)}: every entry needs a 'reason' (its own, or the image's "
                             "'reason'); it is shown wherever the change appears")
        return plain_text(" ".join(reason.split()), self.at(line), "'reason'")

    def entries(self, value: Any, line: int, what: str, keys: Collection[str] = ("name", "reason")):
        """(entry as a dict with 'name', line) for a list of names or {name, reason} mappings."""
        for index, entry in enumerate(self.expect(value if value is not None else [], list, line, what)):
            at = line_of(value, index, line)
            if isinstance(entry, dict):
                self.keys(entry, keys, at, f"an entry of {what}")
                yield entry, at
            else:
                yield {"name": entry}, at

    # ---- the file ----------------------------------------------------------------------------

    def read(self, data: Any) -> SiteOverrides:
        if data is None:
            return SiteOverrides()
        data = self.expect(data, dict, 1, "an override file")
        self.keys(data, ("images", "add_images", "repos", "providers"), 1, "an override file")
        images = []
        raw_images = self.expect(data.get("images") or {}, dict, line_of(data, "images", 1), "'images'")
        for name, body in raw_images.items():
            line = line_of(raw_images, name, 1)
            name = self.image_name(name, line)
            body = self.expect(body if body is not None else {}, dict, line, f"images.{name}")
            self.keys(body, _IMAGE_KEYS, line, f"images.{name}")
            images.append(self.image_override(name, body, line))
        new_images = []
        added = data.get("add_images") or []
        for index, item in enumerate(self.expect(added, list, line_of(data, "add_images", 1), "'add_images'")):
            new_images.append(self.new_image(item, line_of(added, index, 1)))
        return SiteOverrides(images=tuple(images), new_images=tuple(new_images),
                             repos=self.repo_changes(data.get("repos"), line_of(data, "repos", 1)),
                             providers=self.providers(data.get("providers"), line_of(data, "providers", 1)))

    def image_name(self, value: Any, line: int) -> str:
        return image_name(value, self.at(line))

    def image_override(self, image: str, body: Mapping, line: int) -> ImageOverride:
        default = body.get("reason")
        if default is not None:
            self.reason(body, None, line_of(body, "reason", line))
        packages = body.get("packages") or {}
        packages_line = line_of(body, "packages", line)
        self.expect(packages, dict, packages_line, f"images.{image}.packages (with 'add' and/or 'drop')")
        self.keys(packages, ("add", "drop"), packages_line, f"images.{image}.packages")
        add = tuple(ExtraPackage(package_name(e.get("name"), self.at(at)), self.reason(e, default, at),
                                 self.at(at), "override")
                    for e, at in self.entries(packages.get("add"), line_of(packages, "add", packages_line),
                                              "'add'"))
        drop = tuple(Correction(package_name(e.get("name"), self.at(at)), self.reason(e, default, at), self.at(at))
                     for e, at in self.entries(packages.get("drop"), line_of(packages, "drop", packages_line),
                                               "'drop'"))
        return ImageOverride(image, self.at(line), add, drop,
                             self.profile_changes(body.get("profiles"), line_of(body, "profiles", line), default),
                             self.pip(body.get("pip_packages"), line_of(body, "pip_packages", line), default),
                             self.steps(body.get("steps"), line_of(body, "steps", line), default),
                             self.modules(body.get("modules"), line_of(body, "modules", line), default))

    def profile_changes(self, value: Any, line: int, default: str | None) -> tuple[ProfileChange, ...]:
        changes = []
        for project, tokens in self.expect(value or {}, dict, line, "'profiles' (project: +profile -profile)").items():
            at = line_of(value, project, line)
            if isinstance(tokens, str):
                tokens = tokens.split()
            for token in self.expect(tokens, list, at, f"profiles.{project}"):
                token = str(token)
                if token[:1] not in "+-" or not _PROFILE.fullmatch(token[1:]):
                    raise InputError(f"{self.at(at)}: {token!r}: write +PROFILE to enable a backend profile of "
                                     f"{project}, -PROFILE to disable one")
                changes.append(ProfileChange(str(project), token[1:], token[0] == "+",
                                             " ".join(default.split()) if default else "", self.at(at)))
        return tuple(changes)

    def pip(self, value: Any, line: int, default: str | None) -> tuple[PipRequirement, ...]:
        result = []
        for entry, at in self.entries(value, line, "'pip_packages'"):
            text = plain_text(str(entry.get("name", "")), self.at(at), "a Python requirement").strip()
            try:
                requirement = Requirement(text)
            except InvalidRequirement as error:
                raise InputError(f"{self.at(at)}: {text!r} is not a Python requirement ({error})") from None
            if requirement.url:
                raise InputError(f"{self.at(at)}: {text!r} installs from a URL; the build installs from the "
                                 "package index under upper-constraints: name the distribution instead")
            result.append(PipRequirement(text, self.reason(entry, default, at), self.at(at)))
        return tuple(result)

    def steps(self, value: Any, line: int, default: str | None) -> tuple[ImageStep, ...]:
        result = []
        for entry, at in self.entries(value, line, "'steps'", ("run", "when", "reason")):
            run = entry.get("run", entry.get("name"))
            if not isinstance(run, str) or not run.strip():
                raise InputError(f"{self.at(at)}: a step needs 'run' (one shell command line)")
            when = entry.get("when", "after-packages")
            if when not in STEP_WHEN:
                raise InputError(f"{self.at(at)}: 'when' must be one of {', '.join(STEP_WHEN)}, not {when!r}")
            result.append(ImageStep(plain_text(run.strip(), self.at(at), "'run' (one line: join commands with &&)"),
                                    when, self.reason(entry, default, at), self.at(at)))
        return tuple(result)

    def modules(self, value: Any, line: int, default: str | None) -> tuple[ModuleStream, ...]:
        result = []
        for entry, at in self.entries(value, line, "'modules'"):
            match = MODULE_STREAM.match(str(entry.get("name", "")))
            if not match:
                raise InputError(f"{self.at(at)}: {entry.get('name')!r} is not a module stream (MODULE:STREAM, "
                                 "e.g. mariadb:10.11)")
            result.append(ModuleStream(match["module"], match["stream"], self.reason(entry, default, at), self.at(at)))
        return tuple(result)

    def new_image(self, item: Any, line: int) -> NewImage:
        item = self.expect(item, dict, line, "an entry of 'add_images'")
        self.keys(item, _NEW_IMAGE_KEYS, line, "an entry of 'add_images'")
        name = self.image_name(item.get("name"), line_of(item, "name", line))
        reason = self.reason(item, None, line)
        base = {k: v for k, v in item.items() if k in ("name", "parent", "deployed", "projects", "build", "command")}
        spec = image_spec(base, self.at(line))
        if not isinstance(spec.parent, str):
            raise InputError(f"{self.at(line)}: an added image needs a 'parent' (an image of the tree)")
        packages = item.get("packages")
        extras = self.image_override(name, {"reason": reason, "packages": {"add": packages} if packages else {},
                                            **{k: item[k] for k in ("pip_packages", "steps", "modules") if k in item}},
                                     line)
        return NewImage(dataclasses.replace(spec, where=self.at(line)), reason, extras)

    def repo_changes(self, value: Any, line: int) -> tuple[RepoChange, ...]:
        value = self.expect(value or {}, dict, line, "'repos' (with 'add' and/or 'remove')")
        self.keys(value, ("add", "remove"), line, "'repos'")
        changes = []
        for entry, at in self.entries(value.get("remove"), line_of(value, "remove", line), "'remove'",
                                      ("id", "reason")):
            repo_id = entry.get("id", entry.get("name"))
            changes.append(RepoChange(None, self.repo_id(repo_id, at), self.reason(entry, None, at), self.at(at)))
        for entry, at in self.entries(value.get("add"), line_of(value, "add", line), "'add'",
                                      ("id", "baseurl", "reason")):
            spec = RepoSpec(self.repo_id(entry.get("id"), at), self.baseurl(entry.get("baseurl"), at))
            changes.append(RepoChange(spec, None, self.reason(entry, None, at), self.at(at)))
        return tuple(changes)

    def repo_id(self, value: Any, line: int) -> str:
        if not isinstance(value, str) or not _REPO_ID.fullmatch(value):
            raise InputError(f"{self.at(line)}: {value!r} is not a repository id (letters, digits, . _ : -)")
        return value

    def baseurl(self, value: Any, line: int) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{self.at(line)}: a repository needs a 'baseurl' (a URL or a directory holding "
                             "repodata/)")
        url = plain_text(value.strip(), self.at(line), "'baseurl'")
        if " " in url:
            raise InputError(f"{self.at(line)}: 'baseurl' holds a space: {url!r}")
        if "://" in url:
            if not url.startswith(("http://", "https://", "file://")):
                raise InputError(f"{self.at(line)}: 'baseurl' must be http(s):// or file://, or a directory")
            return url
        directory = (self.path.parent / url).resolve()
        if not (directory / "repodata" / "repomd.xml").is_file():
            raise InputError(f"{self.at(line)}: {directory} holds no repodata/repomd.xml")
        return str(directory)

    def providers(self, value: Any, line: int) -> tuple[ProviderChoice, ...]:
        pins = []
        for entry, at in self.entries(value, line, "'providers'", ("instead_of", "use", "reason")):
            pins.append(ProviderChoice(package_name(entry.get("instead_of"), self.at(at)),
                                    package_name(entry.get("use"), self.at(at)), self.reason(entry, None, at),
                                    self.at(at)))
        return tuple(pins)


def load_overrides(paths: Sequence[Path]) -> SiteOverrides:
    """Read and check the override files (syntax, keys, names); ``apply_overrides`` checks them
    against the tree."""
    images: list[ImageOverride] = []
    new_images: list[NewImage] = []
    repos: list[RepoChange] = []
    providers: list[ProviderChoice] = []
    files = []
    for path in paths:
        text = read_text(path, "site override file")
        found = _Reader(path).read(parse_yaml(text, path, "site override file"))
        files.append(OverrideFile(path, hashlib.sha256(text.encode("utf-8")).hexdigest()))
        images += found.images
        new_images += found.new_images
        repos += found.repos
        providers += found.providers
    return SiteOverrides(tuple(files), tuple(images), tuple(new_images), tuple(repos), tuple(providers))


# ---- applying -----------------------------------------------------------------------------------

def apply_repos(specs: Sequence[RepoSpec],
                overrides: SiteOverrides) -> tuple[tuple[RepoSpec, ...], list[AppliedOverride]]:
    result = list(specs)
    applied = []
    for change in overrides.repos:
        if change.remove is not None:
            if change.remove not in [s.repo_id for s in result]:
                raise UnknownNameError("repository", change.remove, [s.repo_id for s in result], change.where)
            result = [s for s in result if s.repo_id != change.remove]
            applied.append(AppliedOverride(None, "remove-repo", change.remove, change.where, change.reason))
        else:
            assert change.add is not None
            if change.add.repo_id in [s.repo_id for s in result]:
                raise InputError(f"{change.where}: a repository {change.add.repo_id!r} is already in use; "
                                 "remove it first or pick another id")
            result.append(change.add)
            applied.append(AppliedOverride(None, "add-repo", f"{change.add.repo_id} {change.add.baseurl}",
                                           change.where, change.reason))
    if not result:
        raise InputError(f"{overrides.repos[-1].where}: the overrides leave no repository to resolve with")
    return tuple(result), applied


def apply_overrides(tree: ImageTree, profiles: Profiles, overrides: SiteOverrides,
                    profiles_of: Callable[[str], Collection[str]]) -> tuple[ImageTree, Profiles, list[AppliedOverride]]:
    """The tree and profiles with the overrides applied, and the tree-wide changes made.

    ``profiles_of(project)`` names the profiles a project defines (its bindep file's and its
    overlay groups), to check ``+profile``/``-profile`` here with the override's file:line."""
    graph = tree.graph.copy()
    for new in overrides.new_images:
        if new.spec.name in graph:
            first = graph.nodes[new.spec.name]["spec"].where
            raise InputError(f"{new.spec.where}: image {new.spec.name!r} is already defined at {first}; "
                             f"change it under images.{new.spec.name} instead")
        if new.spec.parent not in graph:
            raise UnknownNameError("parent image", str(new.spec.parent), list(graph), new.spec.where)
        for project in new.spec.projects:
            profiles.project(project, new.spec.where)
        record = AppliedOverride(new.spec.name, "add-image", f"{new.spec.name} (parent {new.spec.parent})",
                                 new.spec.where, new.reason)
        graph.add_node(new.spec.name, spec=dataclasses.replace(new.spec, overrides=(record,)))
        graph.add_edge(new.spec.parent, new.spec.name)
    for change in [*(n.extras for n in overrides.new_images), *overrides.images]:
        if change.image not in graph:
            raise UnknownNameError("image", change.image, list(graph), change.where)
        spec = graph.nodes[change.image]["spec"]
        graph.nodes[change.image]["spec"] = _changed(spec, change, profiles, profiles_of)
    for name in graph:
        _check_conflicts(graph.nodes[name]["spec"])
    pins = {pin.instead_of: pin for pin in profiles.defaults.providers}
    applied = []
    for pin in overrides.providers:
        replaced = pins.get(pin.instead_of)
        pins[pin.instead_of] = pin
        value = f"{pin.use} instead of {pin.instead_of}" + (f" (replaces {replaced.where})" if replaced else "")
        applied.append(AppliedOverride(None, "provider", value, pin.where, pin.reason))
    defaults: Defaults = dataclasses.replace(profiles.defaults, providers=tuple(pins.values()))
    return ImageTree(graph), dataclasses.replace(profiles, defaults=defaults), applied


def _changed(spec: ImageSpec, change: ImageOverride, profiles: Profiles,
             profiles_of: Callable[[str], Collection[str]]) -> ImageSpec:
    image = spec.name
    projects = {project: list(chosen) for project, chosen in spec.projects.items()}
    records = list(spec.overrides)
    for profile_change in change.profiles:
        profile = profiles.project(profile_change.project, profile_change.where)
        defined = set(profiles_of(profile.project))
        chosen = projects.get(profile_change.project)
        sign = "+" if profile_change.enable else "-"
        if profile_change.profile not in defined:
            raise UnknownNameError(f"profile of {profile.project}", profile_change.profile, sorted(defined),
                                   profile_change.where)
        if profile_change.enable:
            if chosen is None:
                projects[profile_change.project] = chosen = []
            if profile_change.profile not in chosen:
                chosen.append(profile_change.profile)
        else:
            if chosen is None or profile_change.profile not in chosen:
                raise InputError(f"{profile_change.where}: {image} does not choose profile "
                                 f"{profile_change.profile!r} of {profile_change.project} (it chooses: "
                                 f"{', '.join(chosen or []) or 'none'}), so there is nothing to disable")
            chosen.remove(profile_change.profile)
        records.append(AppliedOverride(image, "enable-profile" if profile_change.enable else "disable-profile",
                                       f"{profile_change.project} {sign}{profile_change.profile}",
                                       profile_change.where, profile_change.reason or "no reason given"))
    records += [AppliedOverride(image, "add-package", p.name, p.where, p.reason) for p in change.add]
    records += [AppliedOverride(image, "drop-package", d.name, d.where, d.reason) for d in change.drop]
    records += [AppliedOverride(image, "pip", p.requirement, p.where, p.reason) for p in change.pip_packages]
    records += [AppliedOverride(image, "step", f"[{s.when}] {s.run}", s.where, s.reason) for s in change.steps]
    records += [AppliedOverride(image, "module", str(m), m.where, m.reason) for m in change.module_streams]
    known = {p.name for p in spec.packages}
    return dataclasses.replace(
        spec,
        projects={project: tuple(chosen) for project, chosen in projects.items()},
        packages=spec.packages + tuple(p for p in change.add if p.name not in known),
        drop=spec.drop + change.drop,
        pip_packages=spec.pip_packages + change.pip_packages,
        steps=spec.steps + change.steps,
        module_streams=spec.module_streams + change.module_streams,
        overrides=tuple(records),
    )


def _check_conflicts(spec: ImageSpec) -> None:
    """One override undoing another is a mistake either way: say where both are."""
    added = {p.name: p.where for p in spec.packages if p.kind == "override"}
    for drop in spec.drop:
        if drop.name in added:
            raise InputError(f"{drop.where}: drops {drop.name} from {spec.name}, which {added[drop.name]} adds; "
                             "keep one of them")
    toggled: dict[str, AppliedOverride] = {}
    for record in spec.overrides:
        if record.kind in ("enable-profile", "disable-profile"):
            project, profile = record.value.split(" ")
            earlier = toggled.get(f"{project} {profile[1:]}")
            if earlier is not None and earlier.kind != record.kind:
                raise InputError(f"{record.where}: {record.value} in {spec.name} undoes {earlier.value} at "
                                 f"{earlier.where}; keep one of them")
            toggled[f"{project} {profile[1:]}"] = record
    streams: dict[str, ModuleStream] = {}
    for stream in spec.module_streams:
        other = streams.setdefault(stream.module, stream)
        if other.stream != stream.stream:
            raise InputError(f"{stream.where}: {spec.name} enables {stream}, but {other.where} enables {other}; "
                             "an image has one stream of a module")


def defined_profiles(profiles: Profiles, cache_dir: Path | None = None) -> Callable[[str], set[str]]:
    """``project -> the profiles it defines``: its bindep file's and its overlay groups."""
    def profiles_of(project: str) -> set[str]:
        profile = profiles.projects[project]
        return read_bindep(profile.source, cache_dir).defined_profiles() | set(profile.groups)
    return profiles_of


def load_site(images_dir: Path, profiles_dir: Path, paths: Sequence[Path], specs: Sequence[RepoSpec],
              cache_dir: Path | None = None) -> Site:
    """The shipped tree and profiles from their directories with the override files applied."""
    tree = load_images(images_dir)
    profiles = load_profiles(profiles_dir)
    overrides = load_overrides(paths)
    repos, repo_changes = apply_repos(specs, overrides)
    if not paths:
        return Site(tree, profiles, repos)
    site_tree, site_profiles, changes = apply_overrides(tree, profiles, overrides,
                                                        defined_profiles(profiles, cache_dir))
    return Site(site_tree, site_profiles, repos, overrides.files, tuple(repo_changes + changes))


# ---- effects on resolution ----------------------------------------------------------------------

def credit_profiles(selection: Selection, project: str, spec: ImageSpec) -> Selection:
    """Requests that count only because an override enabled their profile name that override."""
    enabled = {record.value.split(" +", 1)[1]: record for record in spec.overrides
               if record.kind == "enable-profile" and record.value.startswith(f"{project} +")}
    if not enabled:
        return selection

    def credited(origin: Origin) -> Origin:
        for profile in (origin.profile or "").split(","):
            record = enabled.get(profile)
            if record is not None:
                return dataclasses.replace(origin, via=f"profile {profile} enabled by {record.where}: {record.reason}")
        return origin

    return Selection(tuple(dataclasses.replace(r, origin=credited(r.origin)) for r in selection.runtime),
                     tuple(dataclasses.replace(r, origin=credited(r.origin)) for r in selection.build_only),
                     selection.excluded)


def drop_requests(selection: Selection, spec: ImageSpec) -> Selection:
    """The image's selection without the names its overrides drop (kept as exclusions, with the
    override's reason); a drop that matches none of the image's requests is an error."""
    if not spec.drop:
        return selection
    runtime, build_only, excluded = list(selection.runtime), list(selection.build_only), list(selection.excluded)
    for drop in spec.drop:
        matched = [r for r in runtime + build_only if r.name == drop.name]
        if not matched:
            requested = sorted({r.name for r in runtime + build_only})
            raise InputError(f"{drop.where}: {spec.name} does not request {drop.name!r}, so there is nothing to "
                             f"drop (a drop removes this image's own requests; a parent's are in the parent's "
                             f"layer); its requests: {', '.join(requested) or 'none'}")
        runtime = [r for r in runtime if r.name != drop.name]
        build_only = [r for r in build_only if r.name != drop.name]
        excluded.append(Exclusion(drop.name, drop.reason, Origin("override", drop.where, None, None, drop.reason)))
    return Selection(tuple(runtime), tuple(build_only), tuple(excluded))


def check_drops(spec: ImageSpec, closure: Collection[str], parent_closure: Collection[str],
                required_by: Callable[[str], list[str]]) -> None:
    """A drop must take the package out of the image: not when the parent image has it (drop it
    there) or another package of the image requires it."""
    for drop in spec.drop:
        if drop.name not in closure:
            continue
        if drop.name in parent_closure:
            raise InputError(f"{drop.where}: {drop.name} stays in {spec.name}: its parent {spec.parent} has it "
                             f"(`resolver why {spec.parent} {drop.name}`); drop it there")
        raise InputError(f"{drop.where}: {drop.name} stays in {spec.name}: {', '.join(required_by(drop.name))} "
                         f"require(s) it (`resolver why {spec.name} {drop.name}` after removing the drop)")


def inherited_streams(tree: ImageTree, image: str) -> tuple[ModuleStream, ...]:
    """The module streams in force for an image: its ancestors' and its own (parents first)."""
    streams: dict[str, ModuleStream] = {}
    for name in [*tree.ancestors(image), image]:
        for stream in tree.spec(name).module_streams:
            streams[stream.module] = stream
    return tuple(streams.values())


def check_module_streams(tree: ImageTree, available: Callable[[], Mapping[str, Sequence[str]]]) -> None:
    """Every stream an image enables exists in the repositories' modules.yaml."""
    known: Mapping[str, Sequence[str]] | None = None
    for name in tree.names():
        for stream in tree.spec(name).module_streams:
            known = known if known is not None else available()
            if stream.stream not in known.get(stream.module, ()):
                listed = ", ".join(f"{m}:{s}" for m, streams in known.items() for s in streams) or "none"
                raise InputError(f"{stream.where}: no module stream {stream} in the repositories; they have: {listed}")


def stream_hint(tree: ImageTree, module_of: Callable[[Any], str | None], *found: tuple[str, Any]) -> str:
    """Why one package name has two versions in the tree when a module stream an override enables
    for part of the tree is the cause, and what to do; "" otherwise. ``found``: (image, package)."""
    for image, package in found:
        stream = module_of(package)
        enabled = next((s for s in inherited_streams(tree, image) if str(s) == stream), None)
        if enabled is not None:
            chains = [[*tree.ancestors(i), i] for i, _ in found]
            common = [a for a, b in zip(*chains) if a == b]
            where = f"on {common[-1]}, an ancestor of both," if common else "on every image that has it"
            return (f"module stream {stream} is enabled for {image} by {enabled.where}, so one package name has "
                    f"two versions; a layer plan needs one: enable the stream {where} or drop the package "
                    f"from the other image")
    return ""
