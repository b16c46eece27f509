"""`resolver sbom` and `resolver build --sbom`: an SPDX document per image (``resolver/sbom.py``)
from the staged tree's lock, with what each builder stage installs solved on the same metadata,
and, for a built image, the runtime libraries the build added (ELF) and each layer's digest.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ..inputs.image_tree import parents_first
from ..lock import Lock, lock_from_plan
from ..metadata.closure import PackageInfo
from ..names import IMAGE_NAME
from ..sbom import chain_contents, image_sbom
from .runner import BuiltImage
from .staging import StagedTree
from .wheels import python_lock

#: the file of an image's document in the output directory
SUFFIX = ".spdx.json"


def sbom_file(entry: Path) -> bool:
    """An entry of an SBOM directory (anything else there is refused, not replaced)."""
    return entry.is_file() and entry.name.endswith(SUFFIX) and bool(IMAGE_NAME.match(entry.name[:-len(SUFFIX)]))


def staged_lock(staged: StagedTree) -> Lock:
    """The lock `resolver lock` writes for the tree `build` builds (its packages, wheel pins)."""
    return lock_from_plan(staged.plan, staged.inputs.packages, staged.target.name, staged.repos.digests(),
                          "computed", "none", None, staged.unresolved, Path.cwd(),
                          python_lock(staged.wheels) if staged.wheels else None)


def created_time() -> str:
    """When the documents say they were made: ``SOURCE_DATE_EPOCH`` when set (a reproducible
    document), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = int(epoch) if epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def tree_sboms(staged: StagedTree, images: Sequence[str], built: Mapping[str, BuiltImage] | None = None,
               layer_digests: Mapping[str, str] | None = None) -> dict[str, str]:
    """``IMAGE.spdx.json`` -> its document, for each of ``images`` (``built``: the build's results
    by image, for a built tree; ``layer_digests``: each built image's own layer)."""
    lock = staged_lock(staged)
    builders = {name: _builder(staged, name) for name in staged.stages}
    if built:
        lock = _with_additions(staged, lock, built)
    created = created_time()
    return {f"{name}{SUFFIX}": json.dumps(image_sbom(
        name, chain_contents(lock, name, builders, layer_digests), lock.platform, created,
        built[name].reference if built and name in built else None), indent=1, sort_keys=True) + "\n"
        for name in images}


def _builder(staged: StagedTree, name: str) -> tuple[tuple[PackageInfo, ...], tuple[Mapping[str, str], ...]]:
    """What the builder stage of ``name`` installs on its parent and never leaves in the image: the
    RPMs dnf installs for its build-only packages (solved as the build's dnf does), the sdists it
    builds, their build requirements and pip."""
    stage = staged.stages[name]
    if not stage.has_builder:
        return (), ()
    compiles = bool(stage.wheels and stage.wheels.built)
    parent = staged.stages[stage.parent].content if stage.parent else frozenset()
    pinned = [staged.inputs.packages[p] for p in sorted(parent) if p in staged.inputs.packages]
    solved = staged.repos.resolve([*stage.build_only, *(["python3"] if compiles else [])], pinned,
                                  modules=stage.modules)
    rpms = tuple(sorted((p for p in solved.closure if p.name not in stage.content), key=lambda p: p.name))
    wheels: tuple[Mapping[str, str], ...] = ()
    if compiles and stage.wheels and staged.wheels:
        wheels = tuple({"name": d.name, "version": d.version, "filename": d.file.filename, "sha256": d.file.sha256}
                       for d in (*stage.wheels.built, *stage.wheels.build_requires, staged.wheels.pip))
    return rpms, wheels


def _with_additions(staged: StagedTree, lock: Lock, built: Mapping[str, BuiltImage]) -> Lock:
    """The lock with what each built layer holds beyond it: the runtime libraries the build found
    its ELF files need, and what dnf installed with them (every name in the image's rpm database
    that its chain's locked layers lack, solved on the same metadata)."""
    layers = dict(lock.layers)
    for name in [n for n in parents_first(built, lambda image: staged.stages[image].parent) if n in built]:
        chain, parent = set(), staged.stages[name].parent
        while parent is not None:
            chain |= {p.name for p in layers[parent].packages}
            parent = staged.stages[parent].parent
        added = sorted(set(built[name].packages) - chain - {p.name for p in layers[name].packages})
        if added:
            pinned = [staged.inputs.packages[p] for p in sorted(chain) if p in staged.inputs.packages]
            solved = {p.name: p for p in staged.repos.resolve(added, pinned).closure}
            layers[name] = replace(layers[name], packages=tuple(sorted(
                (*layers[name].packages, *(solved[n] for n in added if n in solved)), key=lambda p: p.name)))
    return replace(lock, layers=layers)
