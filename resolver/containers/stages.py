"""What each image's build does, as plain data: the final stage's locked packages and venv layer,
the builder stage's build-only packages, the wheels it builds (or a step), and the content key that
names the result. Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..inputs.image_tree import BuildStep, ImageStep, parents_first
from ..metadata.closure import PackageInfo
from ..names import CONTAINER_PATH, MODULE_STREAM, NEVRA, PACKAGE_NAME, PIN, build_value, plain_text, shell_line
from ..planning.plan import LayerPlan, TreeShape, plan_layers
from .kolla import StartContract
from .pypi import FILENAME as WHEEL_FILE
from .python_target import VENV, Dist
from .wheels import ImageWheels

#: bump when what a build does for the same inputs changes (a new key for every image)
BUILD_FORMAT = 4


@dataclass(frozen=True)
class StagePlan:
    image: str
    parent: str | None
    deployed: bool
    #: NEVRAs the final stage installs (the planned layer)
    layer: tuple[str, ...]
    #: package names the final image's rpm database must hold (the planned content)
    content: frozenset[str]
    #: names the builder stage installs (never in the final image)
    build_only: tuple[str, ...]
    step: BuildStep | None
    #: the plan's estimate of the image's size (installed sizes + rpmdb/dnf model + wheels)
    estimate: int
    #: the image's venv layer and the wheels its builder builds (None: no Python in this layer)
    wheels: ImageWheels | None = None
    #: bindep build-only packages that nothing this image's builder compiles needs (a finding)
    unused_build_only: tuple[str, ...] = ()
    #: a site override's shell steps, run in the final stage before or after its packages
    steps: tuple[ImageStep, ...] = ()
    #: module streams this layer enables (``mariadb:10.11``) before installing; its
    #: descendants inherit the enabled state with the rest of its dnf state
    modules: tuple[str, ...] = ()
    #: Kolla's start contract: its files, users and directories, USER (None: an image without it)
    contract: StartContract | None = None

    def __post_init__(self) -> None:
        # every value that reaches a Containerfile line or a dnf/pip/buildah argument is checked
        # here, whatever it came from: a newline in a package name from primary.xml would otherwise
        # start a new Containerfile instruction, a leading '-' become an option
        where = f"image {self.image}"
        for nevra in self.layer:
            build_value(NEVRA, nevra, f"{where}: a package of the repository metadata",
                        "an RPM name-version-release.arch")
        for name in self.build_only:
            build_value(PACKAGE_NAME, name, f"{where}: a build-only package", "a package name")
        if self.step is not None:
            shell_line(self.step.run, f"{where}: build", "'run'")
            build_value(CONTAINER_PATH, self.step.artifacts, f"{where}: build", "an absolute path")
        if self.wheels is not None:
            for dist in (*self.wheels.layer, *self.wheels.built, *self.wheels.build_requires):
                check_dist(dist, where)
        for step in self.steps:
            shell_line(step.run, f"{where}: {step.where}", "'run'")
            plain_text(step.reason, f"{where}: {step.where}", "'reason'")
            plain_text(step.where, where, "a site override's place")
        for stream in self.modules:
            build_value(MODULE_STREAM, stream, f"{where}: a module stream", "MODULE:STREAM")

    @property
    def has_builder(self) -> bool:
        return self.step is not None or bool(self.wheels and self.wheels.has_builder)


def check_dist(dist: Dist, where: str) -> Dist:
    """A distribution from the index: its NAME==VERSION pin goes into requirements.txt and pip's
    command line, its file name into a path and a pip argument."""
    build_value(PIN, dist.key, f"{where}: a Python distribution from the index", "a NAME==VERSION pin")
    build_value(WHEEL_FILE, dist.file.filename, f"{where}: a file from the index", "a wheel or sdist file name")
    return dist


def stage_plans(plan: LayerPlan, packages: Mapping[str, PackageInfo], build_only: Mapping[str, tuple[str, ...]],
                steps: Mapping[str, BuildStep | None],
                wheels: Mapping[str, ImageWheels] | None = None,
                image_steps: Mapping[str, tuple[ImageStep, ...]] | None = None,
                modules: Mapping[str, tuple[str, ...]] | None = None,
                contracts: Mapping[str, StartContract] | None = None) -> dict[str, StagePlan]:
    """An image's builder installs what its build step needs (all its bindep build-only packages)
    or, for wheels, what compiling them needs; with neither, it has no builder."""
    wheels = wheels or {}
    result = {}
    for name, image in plan.images.items():
        path = plan.shape.path(name)
        overhead = sum(plan.images[n].overhead for n in path)
        python = sum(wheels[n].size for n in path if n in wheels)
        own = wheels.get(name)
        declared = tuple(sorted(build_only.get(name, ())))
        if steps.get(name) is not None:
            chosen = declared
        else:
            chosen = own.build_only if own else ()
        own_steps = (image_steps or {}).get(name, ())
        if image.parent is None and any(s.when == "before-packages" for s in own_steps):
            step = next(s for s in own_steps if s.when == "before-packages")
            raise InputError(f"{step.where}: a before-packages step on {name}, the root image, has nothing to run "
                             "in (no shell before its packages); make it after-packages")
        result[name] = StagePlan(
            image=name, parent=image.parent, deployed=image.deployed,
            layer=tuple(sorted(packages[p].nevra for p in image.layer_packages)),
            content=image.content,
            build_only=tuple(chosen),
            step=steps.get(name),
            estimate=image.image_size + overhead + python,
            wheels=own if own and own.layer else None,
            unused_build_only=tuple(p for p in declared if p not in chosen),
            steps=own_steps,
            modules=(modules or {}).get(name, ()),
            contract=(contracts or {}).get(name))
    return result


def module_layers(shape: TreeShape, in_force: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Where each module stream is enabled: like a package, in the highest images whose deployed
    descendants all resolve with it (``in_force``: deployed image -> its streams), so that an
    image holding a stream's packages has it enabled and no image gets a stream none of its
    deployed images asked for."""
    placed = plan_layers(shape, {image: frozenset(streams) for image, streams in in_force.items()},
                         {stream: 0 for streams in in_force.values() for stream in streams})
    return {name: tuple(sorted(image.layer_packages)) for name, image in placed.images.items() if image.layer_packages}


def content_key(stage: StagePlan, parent_key: str | None, repos_digest: str) -> str:
    """A key over everything the image is made of: its parent's key, its locked layer, its venv
    layer (the wheel set), its builder stage (packages, wheels, step) and the repositories' metadata."""
    wheels = stage.wheels
    inputs: dict[str, Any] = {"format": BUILD_FORMAT, "parent": parent_key, "layer": list(stage.layer),
              "build_only": list(stage.build_only), "repos": repos_digest,
              "step": None if stage.step is None else [stage.step.run, stage.step.artifacts],
              # the venv layer: every wheel (or sdist) by its file's digest, what builds them, where
              "wheels": None if wheels is None else {
                  "venv": VENV, "layer": [[d.file.filename, d.file.sha256] for d in wheels.layer],
                  "build_requires": [[d.file.filename, d.file.sha256] for d in wheels.build_requires]}}
    # a site override's steps and module streams (absent from the key when there are none, so
    # images without them keep their keys)
    if stage.steps:
        inputs["steps"] = [[step.when, step.run] for step in stage.steps]
    if stage.modules:
        inputs["modules"] = list(stage.modules)
    if stage.contract is not None:
        inputs["contract"] = stage.contract.to_json()
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def content_keys(stages: Mapping[str, StagePlan], repos_digest: str) -> dict[str, str]:
    """Every image's key, parents first (a parent's key is part of its children's)."""
    keys: dict[str, str] = {}
    for name in parents_first(stages, lambda image: stages[image].parent):
        parent = stages[name].parent
        keys[name] = content_key(stages[name], keys[parent] if parent else None, repos_digest)
    return keys


DEFAULT_TAG_PREFIX = "localhost/resolver"


def reference(image: str, key: str, tag_prefix: str = DEFAULT_TAG_PREFIX) -> str:
    """The local image reference a build tags (mountable with ``podman image mount``)."""
    return f"{tag_prefix}/{image}:{key[:16]}"
