"""Building the tree: each image in topological order, independent branches concurrently, each in
a builder stage (build-only packages + build step) and a final stage (parent + the planned layer +
the builder's artifacts + the runtime libraries those artifacts need). Progress goes to a reporter.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from ..repos import PackageInfo, RepoSet
from .buildah import PREFIX, Buildah, BuildError, Interrupted
from .elf import needed_in_tree
from .stages import DEFAULT_TAG_PREFIX, StagePlan, reference


class BuildReporter(Protocol):
    def state(self, image: str, state: str, detail: str = "") -> None: ...


@dataclass(frozen=True)
class ElfAddition:
    package: str
    capability: str
    file: str


@dataclass(frozen=True)
class BuiltImage:
    name: str
    status: str  # built, skipped, failed, not built
    reference: str
    key: str
    packages: tuple[str, ...] = ()
    build_only: tuple[str, ...] = ()
    elf_added: tuple[ElfAddition, ...] = ()
    size: int | None = None
    layer_size: int | None = None
    estimate: int = 0
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "reference": self.reference, "status": self.status, "key": self.key,
                "packages": list(self.packages), "build_only": list(self.build_only),
                "elf_added": [{"package": a.package, "capability": a.capability, "file": a.file}
                              for a in self.elf_added],
                "size": self.size, "layer_size": self.layer_size, "estimate": self.estimate,
                "seconds": round(self.seconds, 2), "error": self.error}


_LABEL_BUILD_ONLY = "io.resolver.build-only"
_LABEL_ELF = "io.resolver.elf-added"


class TreeBuilder:
    def __init__(self, stages: Mapping[str, StagePlan], keys: Mapping[str, str], engine: Buildah, repos: RepoSet,
                 packages: Mapping[str, PackageInfo], reporter: BuildReporter, jobs: int = 2,
                 rebuild: bool = False, tag_prefix: str = DEFAULT_TAG_PREFIX):
        self.stages = stages
        self.keys = keys
        self.engine = engine
        self.repos = repos
        self.packages = packages
        self.reporter = reporter
        self.jobs = max(1, jobs)
        self.rebuild = rebuild
        self.tag_prefix = tag_prefix

    def _top_down(self, names: Sequence[str]) -> list[str]:
        order: list[str] = []

        def visit(name: str) -> None:
            parent = self.stages[name].parent
            if parent and parent not in order:
                visit(parent)
            if name not in order:
                order.append(name)

        for name in sorted(names):
            visit(name)
        return order

    def build(self, wanted: Sequence[str] = ()) -> list[BuiltImage]:
        """Build ``wanted`` images (default all) and their ancestors."""
        order = self._top_down(wanted or list(self.stages))
        for leftover in self.engine.leftovers():  # a killed run's working containers
            self.engine.remove(leftover)
        for name in order:
            self.reporter.state(name, "waiting")
        done: dict[str, BuiltImage] = {}
        pending = list(order)
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(self.jobs) as pool:
            while pending or running:
                for name in list(pending):
                    parent = self.stages[name].parent
                    if parent and parent not in done:
                        continue
                    pending.remove(name)
                    if parent and done[parent].status not in ("built", "skipped"):
                        done[name] = BuiltImage(name, "not built", "", self.keys[name],
                                                error=f"parent {parent} was not built")
                        self.reporter.state(name, "failed", f"parent {parent} was not built")
                        continue
                    running[pool.submit(self._one, name, done.get(parent) if parent else None)] = name
                if not running:
                    break
                finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    done[name] = future.result()
        if self.engine.cancelled.is_set():
            raise Interrupted("build interrupted: nothing was tagged for the unfinished images; "
                              "run the same command again to go on")
        return [done[name] for name in order]

    def _one(self, name: str, parent: BuiltImage | None) -> BuiltImage:
        stage, key = self.stages[name], self.keys[name]
        ref = reference(name, key, self.tag_prefix)
        start = time.perf_counter()
        try:
            if not self.rebuild and self.engine.image_exists(ref):
                result = self._skipped(stage, key, ref, parent)
                self.reporter.state(name, "skipped", ref)
                return result
            self.reporter.state(name, "building")
            result = self._build(stage, key, ref, parent)
        except Interrupted:
            self.reporter.state(name, "failed", "interrupted")
            return BuiltImage(name, "failed", ref, key, error="interrupted", estimate=stage.estimate)
        except BuildError as error:
            self.reporter.state(name, "failed", str(error).splitlines()[0])
            return BuiltImage(name, "failed", ref, key, error=str(error), estimate=stage.estimate)
        result = _with_seconds(result, time.perf_counter() - start)
        self.reporter.state(name, "done", ref)
        return result

    def _build(self, stage: StagePlan, key: str, ref: str, parent: BuiltImage | None) -> BuiltImage:
        name, engine = stage.image, self.engine
        base = parent.reference if parent else None
        containers = []
        try:
            build_only: list[str] = []
            needed = []
            if stage.has_builder:
                builder = engine.new_container(f"{PREFIX}{name}-{key[:12]}-builder", base)
                containers.append(builder)
                root = engine.mount(builder)
                before = engine.installed(root) if base else set()
                engine.install(root, stage.build_only, f"{name}: installing the builder stage")
                build_only = sorted(engine.installed(root) - before)
                if stage.step:
                    artifacts = stage.step.artifacts
                    engine.run(builder, f"mkdir -p {artifacts} && {stage.step.run}", f"{name}: build step")
                    needed = needed_in_tree(root / artifacts.lstrip("/"))
            final = engine.new_container(f"{PREFIX}{name}-{key[:12]}-final", base)
            containers.append(final)
            root = engine.mount(final)
            additions = self._runtime_libraries(stage, needed)
            engine.install(root, [*stage.layer, *sorted({a.package for a in additions})],
                           f"{name}: installing the final stage")
            if stage.step:
                engine.copy_from(containers[0], stage.step.artifacts, final, f"{name}: copying artifacts")
            installed = engine.installed(root)
            self._check(stage, installed, additions, build_only)
            engine.label(final, {_LABEL_BUILD_ONLY: ",".join(build_only),
                                 _LABEL_ELF: ",".join(sorted({a.package for a in additions}))})
            engine.commit(final, ref)
        finally:
            for container in containers:
                engine.remove(container)
        return self._measured(BuiltImage(name, "built", ref, key, tuple(sorted(installed)), tuple(build_only),
                                         tuple(additions), estimate=stage.estimate), parent)

    def _runtime_libraries(self, stage: StagePlan, needed) -> list[ElfAddition]:
        """Packages providing the sonames the builder's artifacts need, unless the image has them."""
        additions = []
        for item in needed:
            providers = self.repos.providers_of(item.capability)
            if not providers:
                raise BuildError(f"{stage.image}: {item.path} needs {item.soname} ({item.capability}), "
                                 "which no package in the repositories provides")
            if not set(providers) & (stage.content | {a.package for a in additions}):
                additions.append(ElfAddition(providers[0], item.capability, item.path))
        return additions

    def _check(self, stage: StagePlan, installed: set[str], additions: Sequence[ElfAddition],
               build_only: Sequence[str]) -> None:
        """The final rpm database holds the planned content, plus only what the ELF additions pull in."""
        missing = stage.content - installed
        extra = installed - stage.content
        allowed: set[str] = set()
        if additions:
            pinned = [self.packages[n] for n in stage.content]
            allowed = set(self.repos.resolve([a.package for a in additions], pinned=pinned).names()) - stage.content
        unexpected = extra - allowed
        leaked = (set(build_only) - stage.content) & installed
        if missing or unexpected or leaked:
            raise BuildError(f"{stage.image}: the final image does not hold its plan: missing {sorted(missing)}, "
                             f"unplanned {sorted(unexpected)}, build-only {sorted(leaked)}")

    def _skipped(self, stage: StagePlan, key: str, ref: str, parent: BuiltImage | None) -> BuiltImage:
        labels = self.engine.labels(ref)
        additions = tuple(ElfAddition(p, "", "") for p in _label_names(labels, _LABEL_ELF))
        packages = tuple(sorted(self.engine.image_packages(ref)))
        return self._measured(BuiltImage(stage.image, "skipped", ref, key, packages,
                                         _label_names(labels, _LABEL_BUILD_ONLY), additions,
                                         estimate=stage.estimate), parent)

    def _measured(self, result: BuiltImage, parent: BuiltImage | None) -> BuiltImage:
        size = self.engine.size(result.reference)
        layer = size - (parent.size or 0) if parent else size
        return BuiltImage(**{**result.__dict__, "size": size, "layer_size": layer})


def _label_names(labels: Mapping[str, str], label: str) -> tuple[str, ...]:
    return tuple(name for name in labels.get(label, "").split(",") if name)


def _with_seconds(result: BuiltImage, seconds: float) -> BuiltImage:
    return BuiltImage(**{**result.__dict__, "seconds": seconds})
