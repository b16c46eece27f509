"""`resolver build` as one call: the staged tree built with buildah (``runner.py``), then the smoke
checks of the images that have some, then (asked for, and every image done) the older content tags
pruned. SIGINT and SIGTERM stop the children and let every image's cleanup run (working containers
removed, nothing tagged unfinished); the error's exit code says which signal (130, 143).
"""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import Interrupted
from ..files import writer_turn
from ..inputs.platforms import platform_id
from .buildah import Buildah
from .reproducible import source_date_epoch
from .runner import BuildReporter, BuiltImage, TreeBuilder
from .smoke import Check, SmokeResult, smoke_image
from .stages import DEFAULT_TAG_PREFIX
from .staging import StagedTree
from .tags import DEFAULT_TAG, Prune, remove_tags, stale_content_tags, stored_images
from .wheels import WheelPlan, python_json


@dataclass(frozen=True)
class BuildOptions:
    images: Sequence[str] = ()
    jobs: int = 2
    rebuild: bool = False
    tag_prefix: str = DEFAULT_TAG_PREFIX
    tag: str = DEFAULT_TAG
    logs_dir: Path | None = None
    #: image -> its smoke checks (run after the image is built or found)
    smoke: Mapping[str, Sequence[Check]] | None = None
    prune: bool = False
    #: a registry prefix (``registry.example:5000/openstack``) to push every image done to
    push: str | None = None
    tls_verify: bool = True


@dataclass(frozen=True)
class Pushed:
    image: str
    #: the names it was pushed under: ``DEST/IMAGE:KEY`` (its content tag), ``DEST/IMAGE:TAG``
    references: tuple[str, ...]
    #: the manifest's digest in the registry
    digest: str


@dataclass(frozen=True)
class TreeBuild:
    """What a build of the tree did, image by image, and its totals."""

    results: list[BuiltImage]
    smoke: dict[str, list[SmokeResult]]
    seconds: float
    totals: dict[str, int]
    wheels: WheelPlan | None
    checked: frozenset[str]
    #: --prune: the content tags removed, or None when an image failed (nothing pruned); absent without it
    pruned: Prune | None
    prune: bool
    #: --push: what was pushed, image by image (the images done whose smoke checks passed)
    pushed: tuple[Pushed, ...] = ()

    @property
    def failed(self) -> bool:
        """An image failed or was not built, or a smoke check failed."""
        return any(r.status in ("failed", "not built") for r in self.results) or \
            any(not s.ok for checks in self.smoke.values() for s in checks)

    def to_json(self) -> dict[str, Any]:
        images = []
        for result in self.results:
            data = result.to_json()
            if result.name in self.checked:
                data["smoke"] = [s.to_json() for s in self.smoke.get(result.name, ())]
            images.append(data)
        data = {"images": images, "totals": self.totals, "seconds": round(self.seconds, 2),
                "python": python_json(self.wheels) if self.wheels else None}
        if self.prune:
            data["pruned"] = list(self.pruned.remove) if self.pruned else None
        if self.pushed:
            data["pushed"] = [{"image": p.image, "references": list(p.references), "digest": p.digest}
                              for p in self.pushed]
        return data


def build_tree(staged: StagedTree, reporter: BuildReporter, options: BuildOptions) -> TreeBuild:
    checks = options.smoke or {}
    engine = Buildah(staged.specs, releasever=staged.target.name.rsplit("-", 1)[-1],
                     platform_id=platform_id(staged.target.name), epoch=source_date_epoch(staged.specs))
    builder = TreeBuilder(staged.stages, staged.keys, engine, staged.repos, staged.inputs.packages, reporter,
                          options.jobs, options.rebuild, options.tag_prefix, staged.index,
                          staged.wheels.pip if staged.wheels else None, options.tag, options.logs_dir,
                          staged.lock_digest)

    def cancel(signum: int, frame: FrameType | None) -> None:
        engine.cancel(signum)

    smoke: dict[str, list[SmokeResult]] = {}
    pruned = None
    # taken before the handlers: a signal while waiting ends the wait (Ctrl-C, SIGTERM as ever)
    with build_turn(options.tag_prefix, reporter):
        started = time.perf_counter()
        previous = {sig: signal.signal(sig, cancel) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            results = builder.build(options.images)
            seconds = time.perf_counter() - started
            for result in results:
                if result.name in checks and result.status in ("built", "skipped"):
                    reporter.state(result.name, "smoke")
                    with builder.image_log(result.name, append=True) as log, engine.logging_to(log):
                        contract = staged.stages[result.name].contract
                        smoke[result.name] = smoke_image(engine, result.name, result.reference, checks[result.name],
                                                         contract.uid if contract else None)
            if engine.cancelled.is_set():  # a signal after the last image: nothing to stop, still obeyed
                raise Interrupted(f"build stopped by {signal.Signals(engine.stop_signal).name}", engine.stop_signal)
            pushed = _push(engine, builder, reporter, results, smoke, options) if options.push else ()
            if options.prune and all(r.status in ("built", "skipped") for r in results):
                pruned = stale_content_tags(stored_images(), options.tag_prefix, keep=0,
                                            current={r.reference for r in results}, images={r.name for r in results})
                remove_tags(pruned.remove)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            engine.close()
    return TreeBuild(results, smoke, seconds, _totals(results, staged), staged.wheels, frozenset(checks), pruned,
                     options.prune, pushed)


def _push(engine: Buildah, builder: TreeBuilder, reporter: BuildReporter, results: Sequence[BuiltImage],
          smoke: Mapping[str, Sequence[SmokeResult]], options: BuildOptions) -> tuple[Pushed, ...]:
    """Every image done whose smoke checks passed, parents first (a child then finds its parent's
    layers in the registry), under its content tag and the readable tag."""
    pushed = []
    for result in results:
        if result.status not in ("built", "skipped") or not all(s.ok for s in smoke.get(result.name, ())):
            continue
        reporter.state(result.name, "pushing", str(options.push))
        names = tuple(f"{options.push}/{result.name}:{tag}" for tag in (result.reference.rsplit(":", 1)[1],
                                                                         options.tag))
        with builder.image_log(result.name, append=True) as log, engine.logging_to(log):
            digests = {engine.push(result.reference, name, options.tls_verify) for name in names}
        pushed.append(Pushed(result.name, names, min(digests)))
    return tuple(pushed)


def build_turn(tag_prefix: str, reporter: BuildReporter) -> AbstractContextManager[None]:
    """Builds under one tag prefix take turns, each its whole tree (``files.writer_turn``: a flock
    on a directory per prefix, host-wide under TMPDIR, as the container storage is): the second of
    two builds of one tree waits, saying for whom, then finds the images built and skips them."""
    digest = hashlib.sha256(tag_prefix.encode()).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / f"resolver-builds-{os.geteuid()}" / digest

    def waiting(holder: str) -> None:
        reporter.state(tag_prefix, "waiting", f"for {holder} to finish building under {tag_prefix}/ "
                                              "(the images it builds are then skipped here)")

    return writer_turn(directory, waiting)


def _totals(results: Sequence[BuiltImage], staged: StagedTree) -> dict[str, int]:
    """The tree's bytes by kind, each layer once: planned (RPM plan + wheel plan) and measured."""
    planned_python = staged.wheels.layers.total_set_size if staged.wheels else 0
    return {"rpm_planned": staged.plan.total_set_size, "python_planned": planned_python,
            "planned": staged.plan.total_set_size + planned_python,
            "rpm_bytes": sum(r.rpm_bytes for r in results),
            "python_bytes": sum(r.python_bytes or 0 for r in results),
            "layers": sum(r.layer_size or 0 for r in results)}
