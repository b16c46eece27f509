"""Per-image package sets: each image's requests resolved once, as one dnf install into an empty root.

An image's requests are its own selection joined with its declared ancestors' (root first: the
first origin of a name wins), so a deployed image's set does not depend on where the planner puts
its layers: it is what ``dnf --installroot ROOT install <its requests>`` installs. The layer
planner then shares what the sets have in common.

``TreeResolver`` is the one place that joins the stages: profiles and images (config), bindep
files (sources), what each image asks for (selection) and the dnf adapter (repos). Results are
plain frozen dataclasses; progress goes to a reporter, never to the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InputError, UnresolvableError
from ..inputs.bindepfile import BindepFile
from ..inputs.image_tree import ImageTree
from ..inputs.platforms import Platform
from ..inputs.profiles import Profiles, ProviderChoice
from ..inputs.sources import read_bindep
from ..metadata.closure import PackageInfo, Requirements, Resolution, is_conditional
from ..metadata.repos import RepoSet
from ..overrides.override_effects import (
    check_drops,
    check_module_streams,
    credit_profiles,
    drop_requests,
    inherited_streams,
)
from ..progress import Reporter, SilentReporter
from ..selection import Origin, Request, Selection, select_extras, select_project, unique_requests
from .image_packages import ImagePackages
from .unresolved import REPLACED, UNINSTALLABLE, Diagnosis, UnresolvedRequest, diagnose, unresolvable_message


class TreeResolver:
    """Resolves images of a tree for one target platform on one repository set.

    With ``choose_providers`` (the whole-tree commands), a smaller drop-in provider (one that
    provides the package's own name: coreutils-single for coreutils) replaces a package wherever
    the solve would bring it in; a choice some image cannot take (it asks for the package itself)
    is withdrawn everywhere (``settle_providers``), so one capability has one provider in the tree.
    """

    def __init__(self, tree: ImageTree, profiles: Profiles, target: Platform, repos: RepoSet,
                 strict: bool, cache_dir: Path | None = None, reporter: Reporter | None = None,
                 choose_providers: bool = False):
        self.tree = tree
        self.profiles = profiles
        self.target = target
        self.repos = repos
        self.strict = strict
        self.cache_dir = cache_dir
        self.reporter = reporter or SilentReporter()
        self.pins = profiles.defaults.providers
        for pin in self.pins:
            if not repos.names_providing(pin.use):
                raise InputError(f"{pin.where}: no package {pin.use!r} in the repositories; fix the pin")
        self.choose_providers = choose_providers
        check_module_streams(tree, repos.module_streams)
        #: automatic choices found so far, and those withdrawn (with the reason)
        self._automatic: dict[tuple[str, str], ProviderChoice] = {}
        self.withdrawn: dict[tuple[str, str], str] = {}
        self._bindep: dict[str, BindepFile] = {}
        self._selections: dict[str, Selection] = {}
        self._libraries: dict[tuple[str, str], tuple[list[Request], list[UnresolvedRequest]]] = {}
        #: runtime libraries an image's build-only -devel packages would link that cannot be named
        self._no_library: dict[str, tuple[UnresolvedRequest, ...]] = {}
        self._resolved: dict[str, tuple[list[Request], Selection, Resolution]] = {}
        self._asked: dict[str, set[str]] | None = None
        self._several: dict[str, Requirements] = {}
        #: substitutions some image took, with the bytes they took off the first one (measured)
        self._taken: dict[tuple[str, str], int] = {}
        #: providers an image installs so that the tree has one provider per requirement
        self._unified: dict[str, list[Request]] = {}
        self.unified: dict[tuple[str, str], str] = {}
        self._images: dict[str, ImagePackages] = {}
        self._diagnoses: dict[str, Diagnosis] = {}

    def bindep_of(self, project: str, where: str = "") -> BindepFile:
        if project not in self._bindep:
            profile = self.profiles.project(project, where)
            self._bindep[project] = read_bindep(profile.source, self.cache_dir)
        return self._bindep[project]

    def selection_of(self, image: str) -> Selection:
        """What the image's own entry asks for (its projects and profiles, its packages)."""
        if image not in self._selections:
            spec = self.tree.spec(image)
            selection = select_extras(image, spec.packages, spec.where)
            program = Path(spec.command[0]).name if spec.command else ""
            selection = selection.merged(Selection(tuple(
                Request(c.name, Origin("add", c.where, None, None, c.reason))
                for c in self.profiles.defaults.command_packages.get(program, ())), (), ()))
            for project, chosen in spec.projects.items():
                profile = self.profiles.project(project, spec.where)
                selection = selection.merged(credit_profiles(select_project(
                    profile, self.bindep_of(project, spec.where), self.target, chosen,
                    self.profiles.defaults, spec.where), project, spec))
            self._selections[image] = drop_requests(selection, spec)
        return self._selections[image]

    def chain_selection(self, image: str) -> Selection:
        """The image's selection joined with its declared ancestors' (root first)."""
        selection = Selection((), (), ())
        for name in [*self.tree.ancestors(image), image]:
            selection = selection.merged(self.selection_of(name))
        return selection

    @property
    def providers(self) -> tuple[ProviderChoice, ...]:
        """Pins, then the automatic choices in force."""
        return self.pins + tuple(c for key, c in self._automatic.items() if key not in self.withdrawn)

    def _resolve(self, name: str) -> tuple[list[Request], Selection, Resolution]:
        """One image's requests and their solve (each image once per resolver)."""
        if name in self._resolved:
            return self._resolved[name]
        self.reporter.starting(name)
        selection = self.chain_selection(name)
        libraries, no_library = self._runtime_libraries(selection.build_only)
        self._no_library[name] = tuple(no_library)
        asked = unique_requests(list(selection.runtime) + libraries + self._unified.get(name, []))
        streams = [str(s) for s in inherited_streams(self.tree, name)]
        while True:
            choices = self.providers
            keys = [(c.instead_of, c.use) for c in choices]
            resolution = self.repos.resolve([r.name for r in asked], (), [k for k in keys if k not in self._taken],
                                            [k for k in keys if k in self._taken], streams, self.weak_deps(name))
            if not (self.choose_providers and self._found_dropins(resolution, asked)):
                break
        for key, saved in zip(resolution.substituted, resolution.saved):
            if saved:
                self._taken.setdefault(key, saved)
        requests = list(asked)
        for instead_of, use in resolution.substituted:
            choice = next(c for c in choices if (c.instead_of, c.use) == (instead_of, use))
            requests.append(Request(use, Origin("provider", choice.where, None, None,
                                                f"installed instead of {instead_of}: {choice.reason}")))
        self._resolved[name] = (requests, selection, resolution)
        return self._resolved[name]

    def weak_deps(self, image: str) -> bool | None:
        """The image's ``weak_deps`` setting, else its nearest declared ancestor's; None: neither
        says (the repositories' default, --weak-deps)."""
        for name in [image, *reversed(self.tree.ancestors(image))]:
            if self.tree.spec(name).weak_deps is not None:
                return self.tree.spec(name).weak_deps
        return None

    def _found_dropins(self, resolution: Resolution, asked: Sequence[Request]) -> bool:
        """Record smaller drop-ins for packages of this set that nothing asked for by name; True
        when there are new ones (the image is solved again with them)."""
        asked_names = {r.name for r in asked} | {package for _, package in resolution.satisfied_by}
        known = {instead_of for instead_of, _ in self._automatic} | {p.instead_of for p in self.pins}
        found = False
        for package in resolution.closure:
            if package.name in asked_names or package.name in known:
                continue
            use = self.repos.smaller_dropin(package.name)
            if use is None:
                continue
            key = (package.name, use)
            self._automatic[key] = ProviderChoice(package.name, use, f"smaller provider of {package.name}", "automatic")
            asker = next((n for n, names in self._asked_anywhere().items() if package.name in names), None)
            if asker is not None:  # an image asks for it by name: it keeps it, so nobody takes the other
                self.withdrawn[key] = f"{asker} asks for {package.name}"
            else:
                found = True
        return found

    def _asked_anywhere(self) -> dict[str, set[str]]:
        """What each deployed image asks for by name (before any solve)."""
        if self._asked is None:
            self._asked = {n: {r.name for r in self.chain_selection(n).runtime} for n in self.tree.deployed()}
        return self._asked

    def settle_providers(self, names: Iterable[str]) -> None:
        """One provider per requirement across these images. Automatic choices that some image
        cannot take (it keeps the larger package) are withdrawn; where images satisfy a requirement
        with different packages (glibc's langpack: the minimal one, or one an image asks for), the
        images lacking the most used one install it too. Only the images concerned are solved again."""
        names = list(names)
        while self._withdraw_split_choices(names) or self._unify(names):
            pass

    def _withdraw_split_choices(self, names: list[str]) -> bool:
        for key in [k for k in self._automatic if k not in self.withdrawn]:
            took = [n for n in names if key in self._resolve(n)[2].substituted]
            kept = [n for n in names if key[0] in self._resolve(n)[2].names()]
            if took and kept:
                self.withdrawn[key] = f"{kept[0]} needs {key[0]} itself"
                for name in took:
                    del self._resolved[name]
                    self.reporter.resolving_again(name)
                return True
        return False

    def _unify(self, names: list[str]) -> bool:
        """Add the most used provider of every split requirement to the images lacking it; True
        when an image was solved again."""
        users: dict[tuple[str, str], dict[str, list[str]]] = {}
        for name in names:
            resolution = self._resolve(name)[2]
            held = resolution.names()
            for member in resolution.closure:
                for text, providers in self._alternatives(member):
                    for provider in providers & held:
                        users.setdefault((member.name, text), {}).setdefault(provider, []).append(name)
        changed = False
        for (package, text), by_provider in sorted(users.items()):
            if len(by_provider) < 2 or (package, text) in self.unified:
                continue
            chosen = max(sorted(by_provider), key=lambda p: len(by_provider[p]))
            self.unified[(package, text)] = chosen
            for name in names:
                resolution = self._resolve(name)[2]
                if package in resolution.names() and chosen not in resolution.names():
                    self._unified.setdefault(name, []).append(Request(chosen, Origin(
                        "provider", "tree", None, None,
                        f"one provider of {text} (needed by {package}) in the whole tree")))
                    del self._resolved[name]
                    self.reporter.resolving_again(name)
                    changed = True
        return changed

    def _alternatives(self, package: PackageInfo) -> Requirements:
        """The package's requirements that several packages can meet (unconditional ones)."""
        if package.nevra not in self._several:
            self._several[package.nevra] = tuple(
                (text, providers) for text, providers in self.repos.requirements(package)
                if len(providers) > 1 and not is_conditional(text))
        return self._several[package.nevra]

    def provider_choices(self, names: Iterable[str]) -> list[ProviderChoice]:
        """The choices these images use, each with the bytes it takes off their sets (summed; an
        image solved with a choice at once counts what the choice took off the first image)."""
        saves: dict[tuple[str, str], int] = {}
        for name in names:
            resolution = self._resolve(name)[2]
            for key, saved in zip(resolution.substituted, resolution.saved):
                saves[key] = saves.get(key, 0) + (saved or self._taken.get(key, 0))
        return [ProviderChoice(c.instead_of, c.use, c.reason, c.where, saves.get((c.instead_of, c.use), 0))
                for c in self.providers if (c.instead_of, c.use) in saves or c.where != "automatic"]

    def unresolved_of(self, name: str) -> tuple[UnresolvedRequest, ...]:
        """The image's requests the repositories could not give (its solve's, the requests dnf
        replaces with a package obsoleting them, and the runtime libraries of its build-only -devel
        packages that cannot be named), each diagnosed."""
        requests, _, resolution = self._resolve(name)
        origins = {r.name: r.origin for r in requests}
        return (tuple(UnresolvedRequest(u.name, u.problem, origins[u.name], self.diagnosis(u.name))
                      for u in resolution.unresolved)
                + tuple(UnresolvedRequest(request, text, origins[request], Diagnosis(REPLACED))
                        for request, _, text in resolution.replaced)
                + self._no_library[name])

    def diagnosis(self, name: str) -> Diagnosis:
        if name not in self._diagnoses:
            self._diagnoses[name] = diagnose(name, self.repos)
        return self._diagnoses[name]

    def check_strict(self, names: Sequence[str]) -> None:
        """On strict repositories, every unresolved request of every one of these images is an error
        (all listed at once); best effort lets them through, listed."""
        if not self.strict:
            return
        per_image = {name: self.unresolved_of(name) for name in names}
        if any(per_image.values()):
            raise UnresolvableError(unresolvable_message(per_image, [s.repo_id for s in self.repos.specs]))

    def closure_of(self, name: str) -> tuple[PackageInfo, ...]:
        """The image's resolved set (no ancestor is solved for it)."""
        return self._resolve(name)[2].closure

    def image(self, name: str) -> ImagePackages:
        """An image's packages, what it adds to its declared parent's set, and why."""
        if name in self._images:
            return self._images[name]
        spec = self.tree.spec(name)
        self.check_strict([*self.tree.ancestors(name), name])
        parent_names = self._resolve(spec.parent)[2].names() if spec.parent else frozenset()
        requests, selection, resolution = self._resolve(name)
        check_drops(spec, resolution.names(), parent_names, lambda n: sorted(resolution.graph.predecessors(n)))
        result = ImagePackages(
            image=name,
            platform=self.target.name,
            parent=spec.parent,
            requests=tuple(requests),
            closure=resolution.closure,
            layer=tuple(p for p in resolution.closure if p.name not in parent_names),
            build_only=selection.build_only,
            excluded=tuple(e for e in selection.excluded if e.name not in {r.name for r in requests}),
            unresolved=self.unresolved_of(name),
            resolution=resolution,
            inherited=parent_names,
            lines=selection.lines,
            overruled=tuple(e for e in selection.excluded if e.name in {r.name for r in requests}),
        )
        self._images[name] = result
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
            # keyed by the origin too: each image's library names its own -devel line
            key = (request.name, str(request.origin))
            if key not in self._libraries:
                self._libraries[key] = self._libraries_of(request)
            libraries, unnamed = self._libraries[key]
            kept.extend(libraries)
            missing.extend(unnamed)
        return kept, missing

    def _libraries_of(self, request: Request) -> tuple[list[Request], list[UnresolvedRequest]]:
        origin = request.origin
        kept: list[Request] = []
        missing: list[UnresolvedRequest] = []
        libraries = self.repos.runtime_libraries_of(request.name)
        if not libraries and not self.repos.names_providing(request.name):
            missing.append(UnresolvedRequest(request.name, (
                f"{request.name} is not in the repositories, so the runtime library a build against "
                "it would link cannot be named"), Origin("runtime-library", origin.detail, origin.project,
                                                        origin.profile, f"build-only {request.name}"),
                self.diagnosis(request.name)))
        for soname, providers in libraries:
            if not providers:
                missing.append(UnresolvedRequest(soname, f"no package in the repositories provides {soname}",
                                                 Origin("runtime-library", origin.detail, origin.project,
                                                        origin.profile,
                                                        f"runtime library of build-only {request.name}"),
                                                 Diagnosis(UNINSTALLABLE)))
            for library in providers[:1]:  # dnf would pick one provider too
                kept.append(Request(library, Origin(
                    "runtime-library", origin.detail, origin.project, origin.profile,
                    f"runtime library of build-only {request.name} (provides {soname})")))
        return kept, missing

    def why(self, image: str, package: str) -> list[str]:
        """Lines explaining how PACKAGE enters IMAGE (the request and the Requires chain), or which
        rule keeps it out; ``resolver.why.explain`` gives the same as fields."""
        from .why import explain

        return list(explain(self, image, package).text)
