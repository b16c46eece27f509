"""The site: the shipped tree and profiles with the site override files (``override_files``)
applied, checked against the tree, each change recorded where it applies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UnknownNameError
from ..inputs.image_tree import AppliedOverride, ImageSpec, ImageTree, ModuleStream, OverrideKind, load_images
from ..inputs.profiles import Defaults, Profiles, load_profiles
from ..inputs.sources import read_bindep
from ..metadata.repo_config import RepoSpec
from .override_files import ImageOverride, OverrideFile, SiteOverrides, load_overrides


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


def apply_repos(specs: Sequence[RepoSpec],
                overrides: SiteOverrides) -> tuple[tuple[RepoSpec, ...], list[AppliedOverride]]:
    result = list(specs)
    applied = []
    for change in overrides.repos:
        if change.remove is not None:
            if change.remove not in [s.repo_id for s in result]:
                raise UnknownNameError("repository", change.remove, [s.repo_id for s in result], change.where)
            result = [s for s in result if s.repo_id != change.remove]
            applied.append(AppliedOverride(None, OverrideKind.REMOVE_REPO, change.remove, change.where, change.reason))
        else:
            assert change.add is not None
            if change.add.repo_id in [s.repo_id for s in result]:
                raise InputError(f"{change.where}: a repository {change.add.repo_id!r} is already in use; "
                                 "remove it first or pick another id")
            result.append(change.add)
            applied.append(AppliedOverride(None, OverrideKind.ADD_REPO, f"{change.add.repo_id} {change.add.baseurl}",
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
        record = AppliedOverride(new.spec.name, OverrideKind.ADD_IMAGE, f"{new.spec.name} (parent {new.spec.parent})",
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
        applied.append(AppliedOverride(None, OverrideKind.PROVIDER, value, pin.where, pin.reason))
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
        kind = OverrideKind.ENABLE_PROFILE if profile_change.enable else OverrideKind.DISABLE_PROFILE
        records.append(AppliedOverride(image, kind, f"{profile_change.project} {sign}{profile_change.profile}",
                                       profile_change.where, profile_change.reason or "no reason given"))
    records += [AppliedOverride(image, OverrideKind.ADD_PACKAGE, p.name, p.where, p.reason) for p in change.add]
    records += [AppliedOverride(image, OverrideKind.DROP_PACKAGE, d.name, d.where, d.reason) for d in change.drop]
    records += [AppliedOverride(image, OverrideKind.PIP, p.requirement, p.where, p.reason) for p in change.pip_packages]
    records += [AppliedOverride(image, OverrideKind.STEP, f"[{s.when}] {s.run}", s.where, s.reason)
                for s in change.steps]
    records += [AppliedOverride(image, OverrideKind.MODULE, str(m), m.where, m.reason) for m in change.module_streams]
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
        if record.kind in (OverrideKind.ENABLE_PROFILE, OverrideKind.DISABLE_PROFILE):
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
        return set(read_bindep(profile.source, cache_dir).defined_profiles()) | set(profile.groups)
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

