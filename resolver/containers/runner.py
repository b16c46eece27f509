"""Building the tree: each image in topological order, independent branches concurrently, each in
a builder stage (build-only packages, then ``pip wheel`` of the sdists its venv layer needs, or a
build step) and a final stage (parent + the planned layer + the runtime libraries the wheels link
+ ``pip install --no-index`` of exactly the layer's wheels into the venv). Progress goes to a reporter,
each command's output to the image's log (``logs.py``).

An image is tagged by its content key when its final commit is done, then the readable tag
(``IMAGE:latest`` by default) is moved to it; a skipped image (its key exists) gets the readable
tag too, so ``IMAGE:TAG`` always names the image the last build of the tree made or found.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..downloads import file_sha256
from ..errors import BuildError, Interrupted
from ..files import scratch_directory, write_atomically
from ..inputs.image_tree import parents_first
from ..metadata.closure import PackageInfo
from ..metadata.repos import RepoSet
from ..names import RPM_NAME, TAG, TAG_PREFIX, build_value
from .buildah import Buildah, stop_orphans
from .elf import Needed, needed_in_tree, needed_in_wheel
from .kolla import COMMAND, PATH, install_contract
from .labels import created_now, image_labels
from .logs import ImageLog
from .pypi import PyPI, file_version
from .python_target import VENV, Dist, hashed_requirements
from .reproducible import uncompiled_sources
from .stages import DEFAULT_TAG_PREFIX, StagePlan, reference
from .tags import DEFAULT_TAG, readable_reference


class BuildReporter(Protocol):
    def state(self, image: str, state: str, detail: str = "") -> None: ...

    def output(self, image: str, line: str) -> None:
        """A line a build command printed (shown with --verbose)."""


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
    #: installed bytes of this layer's RPMs (metadata) and of its venv files (measured)
    rpm_bytes: int = 0
    python_bytes: int | None = None
    #: the whole venv of the image (parents' layers included)
    python_total: int | None = None
    #: name==version of the wheels this layer installs, and of the sdists its builder compiled
    wheels: tuple[str, ...] = ()
    compiled: tuple[str, ...] = ()
    #: bindep build-only packages nothing the builder compiles needs (a finding, not installed)
    unused_build_only: tuple[str, ...] = ()
    #: the readable reference moved to this image (PREFIX/IMAGE:TAG), and the image's log file
    tag: str | None = None
    log: str | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "reference": self.reference, "status": self.status, "key": self.key,
                "packages": list(self.packages), "build_only": list(self.build_only),
                "elf_added": [{"package": a.package, "capability": a.capability, "file": a.file}
                              for a in self.elf_added],
                "size": self.size, "layer_size": self.layer_size, "estimate": self.estimate,
                "seconds": round(self.seconds, 2), "error": self.error,
                "rpm_bytes": self.rpm_bytes, "python_bytes": self.python_bytes, "python_total": self.python_total,
                "wheels": list(self.wheels), "compiled": list(self.compiled),
                "unused_build_only": list(self.unused_build_only), "tag": self.tag, "log": self.log}


#: what a build measured, kept on the image so that a skipped image reports the same
_LABEL = "io.resolver.build"
#: the list of files compileall compiles, beside the wheels (mounted at /wheels)
_COMPILE_LIST = ".compile-list"
_WHEEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*\.whl$")


class TreeBuilder:
    def __init__(self, stages: Mapping[str, StagePlan], keys: Mapping[str, str], engine: Buildah, repos: RepoSet,
                 packages: Mapping[str, PackageInfo], reporter: BuildReporter, jobs: int = 2,
                 rebuild: bool = False, tag_prefix: str = DEFAULT_TAG_PREFIX, index: PyPI | None = None,
                 pip: Dist | None = None, tag: str = DEFAULT_TAG, logs_dir: Path | None = None,
                 lock_digest: str = "0" * 64):
        self.stages = stages
        self.keys = keys
        self.engine = engine
        self.repos = repos
        self.packages = packages
        self.reporter = reporter
        self.jobs = max(1, jobs)
        self.rebuild = rebuild
        self.index = index
        self.pip = pip
        self.tag = build_value(TAG, tag, "--tag", "an image tag")
        self.tag_prefix = build_value(TAG_PREFIX, tag_prefix, "--tag-prefix", "a registry and repository path")
        self.logs_dir = logs_dir
        #: the digest of the lock the plan gives (a label of every image)
        self.lock_digest = lock_digest

    def image_log(self, name: str, append: bool = False) -> ImageLog:
        """The log of an image's build (``append``: what runs after it, the smoke checks)."""
        return ImageLog(name, self.logs_dir, self.reporter.output, append)

    def _top_down(self, names: Sequence[str]) -> list[str]:
        return parents_first(sorted(names), lambda name: self.stages[name].parent)

    def build(self, wanted: Sequence[str] = ()) -> list[BuiltImage]:
        """Build ``wanted`` images (default all) and their ancestors."""
        order = self._top_down(wanted or list(self.stages))
        stop_orphans()  # what the commands of a killed run left running, before its containers go
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
            raise Interrupted(f"build stopped by {signal.Signals(self.engine.stop_signal).name}: nothing was "
                              "tagged for the unfinished images and their working containers are removed; run "
                              "the same command again to go on", self.engine.stop_signal)
        return [done[name] for name in order]

    def _one(self, name: str, parent: BuiltImage | None) -> BuiltImage:
        with self.image_log(name) as log, self.engine.logging_to(log):
            result = self._logged(name, parent, log)
            log.note(f"{result.status}{': ' + result.error.splitlines()[0].rstrip(':') if result.error else ''}")
        path = str(log.path) if log.path else None
        return BuiltImage(**{**result.__dict__, "log": path})

    def _logged(self, name: str, parent: BuiltImage | None, log: ImageLog) -> BuiltImage:
        stage, key = self.stages[name], self.keys[name]
        ref = reference(name, key, self.tag_prefix)
        readable = readable_reference(name, self.tag, self.tag_prefix)
        start = time.perf_counter()
        where = f" (log: {log.path})" if log.path else ""
        try:
            if not self.rebuild and self.engine.image_exists(ref):
                log.note(f"{ref} exists: skipped (--rebuild builds it again)")
                result = self._skipped(stage, key, ref, parent)
                state = "skipped"
            else:
                self.reporter.state(name, "building")
                result = self._build(stage, key, ref, parent)
                state = "done"
            # the content tag is complete; the readable name follows it (a kill in between leaves
            # the readable name on the previous image, and the next run skips this one and moves it)
            self.engine.tag(ref, readable)
        except Interrupted:
            self.reporter.state(name, "failed", "interrupted")
            return BuiltImage(name, "failed", ref, key, error="interrupted", estimate=stage.estimate)
        except BuildError as error:
            self.reporter.state(name, "failed", str(error).splitlines()[0].rstrip(":") + where)
            return BuiltImage(name, "failed", ref, key, error=str(error), estimate=stage.estimate)
        result = BuiltImage(**{**result.__dict__, "tag": readable})
        if state == "done":
            result = _with_seconds(result, time.perf_counter() - start)
        self.reporter.state(name, state, f"{ref} (tagged {readable})")
        return result

    def _build(self, stage: StagePlan, key: str, ref: str, parent: BuiltImage | None) -> BuiltImage:
        name, engine = stage.image, self.engine
        base = parent.reference if parent else None
        containers = []
        with scratch_directory("resolver-wheels-") as work:
            try:
                build_only: list[str] = []
                needed: list[Needed] = []
                built: list[Path] = []
                if stage.has_builder:
                    builder = engine.new_container(f"{name}-{key[:12]}-builder", base)
                    containers.append(builder)
                    root = engine.mount(builder)
                    before = engine.installed(root) if base else set()
                    wheels = stage.wheels.built if stage.wheels else ()
                    engine.install(root, [*stage.build_only, *(["python3"] if wheels else [])],
                                   f"{name}: installing the builder stage", stage.modules)
                    build_only = sorted(engine.installed(root) - before - stage.content)
                    if wheels:
                        built = self._build_wheels(stage, builder, Path(work))
                    if stage.step:
                        # made through the mount: the step needs no coreutils in the image
                        (root / stage.step.artifacts.lstrip("/")).mkdir(parents=True, exist_ok=True)
                        engine.run(builder, ["/bin/sh", "-c", stage.step.run], f"{name}: build step")
                        needed = needed_in_tree(root / stage.step.artifacts.lstrip("/"))
                wheelhouse = self._wheelhouse(stage, built, Path(work)) if stage.wheels else {}
                for wheel in wheelhouse.values():
                    needed += needed_in_wheel(wheel)
                final = engine.new_container(f"{name}-{key[:12]}-final", base)
                containers.append(final)
                root = engine.mount(final)
                inherited = set(parent.packages) if parent else set()
                additions = self._runtime_libraries(stage, needed, inherited)
                self._steps(stage, final, "before-packages")
                engine.install(root, [*stage.layer, *sorted({a.package for a in additions})],
                               f"{name}: installing the final stage", stage.modules)
                if stage.step:
                    engine.copy_from(containers[0], stage.step.artifacts, final, f"{name}: copying artifacts")
                if wheelhouse:
                    self._install_wheels(stage, final, root, Path(work) / "wheelhouse", wheelhouse)
                self._steps(stage, final, "after-packages")
                if stage.contract is not None:
                    install_contract(root, stage.contract)
                    engine.configure(final, stage.contract.user, {"PATH": PATH}, COMMAND)
                python_total = _tree_bytes(root / VENV.lstrip("/"))
                installed = engine.installed(root)
                self._check(stage, installed, additions, build_only, inherited)
                measured = {"build_only": build_only, "elf_added": [a.__dict__ for a in additions],
                            "python_total": python_total,
                            "python_bytes": python_total - ((parent.python_total or 0) if parent else 0)}
                engine.label(final, {**image_labels(name, self.tag, self.lock_digest, created_now(engine.epoch)),
                                     _LABEL: json.dumps(measured, sort_keys=True)})
                engine.commit(final, ref)
            finally:
                for container in containers:
                    engine.remove(container)
        return self._measured(self._result(stage, "built", key, ref, tuple(sorted(installed)), measured), parent)

    def _build_wheels(self, stage: StagePlan, builder: str, work: Path) -> list[Path]:
        """``pip wheel`` of the layer's sdists in the builder, from a host-side directory of exactly
        the files the plan chose (sdists, their build requirements, pip): no index is reached."""
        wheels = stage.wheels
        assert wheels is not None and self.index is not None and self.pip is not None
        sources = work / "sources"
        _link_files(sources, [self.index.download(d.file) for d in (*wheels.built, *wheels.build_requires)])
        # pip checks each sdist against the lock's sha256 as it takes it (the cache was checked
        # when the files were linked; this holds for what pip reads, after)
        requirements = work / "requirements"
        write_atomically(requirements / "built.txt", hashed_requirements((d.key, d.file.sha256) for d in wheels.built))
        out = work / "built"
        out.mkdir()
        self.engine.run(builder, ["python3", f"/sources/{self.pip.file.filename}/pip", "wheel", "--no-index",
                                  "--find-links", "/sources", "--no-deps", "--no-cache-dir", "--require-hashes",
                                  "--disable-pip-version-check", "--wheel-dir", "/wheels",
                                  "-r", "/requirements/built.txt"],
                        f"{stage.image}: pip wheel {' '.join(d.key for d in wheels.built)}",
                        volumes={str(sources): "/sources", str(requirements): "/requirements",
                                 str(out): "/wheels:rw"})
        made = sorted(out.iterdir())
        for dist in wheels.built:
            if not [p for p in made if _WHEEL_NAME.match(p.name) and file_version(p.name, dist.name) == dist.version]:
                raise BuildError(f"{stage.image}: pip wheel made no wheel for {dist.key} (made: "
                                 f"{', '.join(p.name for p in made) or 'nothing'})")
        return made

    def _wheelhouse(self, stage: StagePlan, built: Sequence[Path], work: Path) -> dict[str, Path]:
        """The layer's wheels, by file name: binary wheels from the download cache, the rest built."""
        assert stage.wheels is not None and self.index is not None
        files = [self.index.download(d.file) for d in stage.wheels.layer if d.binary] + list(built)
        _link_files(work / "wheelhouse", files)
        return {path.name: work / "wheelhouse" / path.name for path in files}

    def _install_wheels(self, stage: StagePlan, final: str, root: Path, wheelhouse: Path,
                        wheels: Mapping[str, Path]) -> None:
        """The venv (made by the first image that has one) gets exactly the layer's wheels, with pip
        run from its wheel on a read-only mount: no pip, cache or wheel file stays in the image."""
        assert self.pip is not None and self.index is not None and stage.wheels is not None
        if not (root / VENV.lstrip("/") / "bin" / "python3").exists():
            self.engine.run(final, ["python3", "-m", "venv", "--without-pip", VENV], f"{stage.image}: making {VENV}")
        pip = [f"{VENV}/bin/python3", f"/pip/{self.pip.file.filename}/pip"]
        requirements = wheelhouse.parent / "requirements"
        write_atomically(requirements / "install.txt", install_requirements(stage.wheels.layer, wheels))
        mounts = {str(wheelhouse): "/wheels", str(requirements): "/requirements",
                  str(self.index.download(self.pip.file).parent): "/pip"}
        self.engine.run(final, [*pip, "install", "--no-index", "--no-deps", "--no-cache-dir", "--require-hashes",
                                "--disable-pip-version-check", "--no-warn-script-location", "--no-compile",
                                "-r", "/requirements/install.txt"],
                        f"{stage.image}: pip install into {VENV}", volumes=mounts)
        # byte code without the source's time (pip's holds the install's); only this layer's sources,
        # or compileall rewrites the parent's hash-based .pyc files into this layer
        sources = uncompiled_sources(root, VENV)
        if sources:
            (wheelhouse / _COMPILE_LIST).write_text("".join(f"{path}\n" for path in sources), encoding="utf-8")
            # -B: the interpreter's own imports at start (setuptools' .pth imports _distutils_hack)
            # write no timestamped .pyc; -f: compileall would keep such a one as up to date
            self.engine.run(final, [f"{VENV}/bin/python3", "-B", "-m", "compileall", "-q", "-f",
                                    "--invalidation-mode", "unchecked-hash", "-i", f"/wheels/{_COMPILE_LIST}"],
                            f"{stage.image}: compiling the byte code of {len(sources)} files", volumes=mounts,
                            env={"PYTHONHASHSEED": "0"})  # sets and frozensets in constants, in one order
        if stage.deployed:  # every requirement of every installed distribution is there, at a fitting version
            self.engine.run(final, [*pip, "check", "--disable-pip-version-check"], f"{stage.image}: pip check",
                            volumes=mounts)
        for mount_point in mounts.values():  # buildah leaves the (empty) mount points behind
            (root / mount_point.lstrip("/")).rmdir()

    def _steps(self, stage: StagePlan, container: str, when: str) -> None:
        """A site override's steps for this point of the final stage, in order, each in a shell."""
        for step in stage.steps:
            if step.when == when:
                self.engine.run(container, ["/bin/sh", "-c", step.run], f"{stage.image}: step {step.where} [{when}]")

    def _runtime_libraries(self, stage: StagePlan, needed: Sequence[Needed], inherited: set[str]) -> list[ElfAddition]:
        """Packages providing the sonames the builder's artifacts and the wheels need, unless the
        image has them."""
        additions: list[ElfAddition] = []
        for item in needed:
            providers = [build_value(RPM_NAME, name, f"{stage.image}: a provider of {item.capability} in the "
                                     "repository metadata", "an RPM name")
                         for name in self.repos.providers_of(item.capability)]
            if not providers:
                raise BuildError(f"{stage.image}: {item.path} needs {item.soname} ({item.capability}), "
                                 "which no package in the repositories provides")
            if not set(providers) & (stage.content | inherited | {a.package for a in additions}):
                additions.append(ElfAddition(providers[0], item.capability, item.path))
        return additions

    def _check(self, stage: StagePlan, installed: set[str], additions: Sequence[ElfAddition],
               build_only: Sequence[str], inherited: set[str]) -> None:
        """The final rpm database holds the planned content, plus only what the parent holds and
        what the ELF additions pull in; no build-only package."""
        missing = stage.content - installed
        extra = installed - stage.content - inherited
        allowed: set[str] = set()
        if additions:
            pinned = [self.packages[n] for n in stage.content]
            allowed = set(self.repos.resolve([a.package for a in additions], pinned=pinned).names()) - stage.content
        unexpected = extra - allowed
        # a library the builder installed for a -devel may stay when a compiled wheel links it
        leaked = (set(build_only) - stage.content - inherited - allowed) & installed
        if missing or unexpected or leaked:
            raise BuildError(f"{stage.image}: the final image does not hold its plan: missing {sorted(missing)}, "
                             f"unplanned {sorted(unexpected)}, build-only {sorted(leaked)}")

    def _result(self, stage: StagePlan, status: str, key: str, ref: str, packages: tuple[str, ...],
                measured: Mapping) -> BuiltImage:
        wheels = stage.wheels
        layer = set(stage.layer)
        rpm_bytes = sum(info.installsize for info in self.packages.values() if info.nevra in layer)
        rpm_bytes += sum(self.packages[a["package"]].installsize for a in measured.get("elf_added", ())
                         if a["package"] in self.packages)
        return BuiltImage(
            stage.image, status, ref, key, packages, tuple(measured.get("build_only", ())),
            tuple(ElfAddition(**a) for a in measured.get("elf_added", ())), estimate=stage.estimate,
            rpm_bytes=rpm_bytes, python_bytes=measured.get("python_bytes"), python_total=measured.get("python_total"),
            wheels=tuple(d.key for d in wheels.layer) if wheels else (),
            compiled=tuple(d.key for d in wheels.compiled) if wheels else (),
            unused_build_only=stage.unused_build_only)

    def _skipped(self, stage: StagePlan, key: str, ref: str, parent: BuiltImage | None) -> BuiltImage:
        measured = json.loads(self.engine.labels(ref).get(_LABEL) or "{}")
        packages = tuple(sorted(self.engine.image_packages(ref)))
        return self._measured(self._result(stage, "skipped", key, ref, packages, measured), parent)

    def _measured(self, result: BuiltImage, parent: BuiltImage | None) -> BuiltImage:
        size = self.engine.size(result.reference)
        layer = size - (parent.size or 0) if parent else size
        return BuiltImage(**{**result.__dict__, "size": size, "layer_size": layer})


def install_requirements(layer: Sequence[Dist], wheels: Mapping[str, Path]) -> str:
    """What pip installs into the venv, as ``--require-hashes`` reads it: each wheel (by its path
    on the /wheels mount) with the lock's sha256; a wheel this run's builder made with its own
    (the lock pins the sdist it was made from, which ``pip wheel`` checked)."""
    locked = {d.file.filename: d.file.sha256 for d in layer if d.binary}
    return hashed_requirements((f"/wheels/{name}", locked.get(name) or file_sha256(path) or "")
                               for name, path in sorted(wheels.items()))


def _link_files(directory: Path, files: Sequence[Path]) -> None:
    """Hard links (copies across file systems) of cached files, so a mount shows exactly these."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in files:
        target = directory / path.name
        if target.exists():
            continue
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)


def _tree_bytes(root: Path) -> int:
    """Bytes of the files under ``root`` (apparent sizes, symlinks as links)."""
    total = 0
    for directory, _, names in os.walk(root):
        total += sum(os.lstat(os.path.join(directory, n)).st_size for n in names)
    return total


def _with_seconds(result: BuiltImage, seconds: float) -> BuiltImage:
    return BuiltImage(**{**result.__dict__, "seconds": seconds})
