"""The same stage plans as Containerfiles (podman/docker build) and a ``docker buildx bake`` file,
for users who build elsewhere or on many BuildKit nodes.

A Containerfile installs with the package manager *inside* the image, so the rendered files
expect dnf (or microdnf, ``--package-manager``) in the tree's root image; the root image itself is
staged with ``dnf --installroot`` in a tools stage (``TOOLS_IMAGE``), then copied onto scratch.
The buildah path (`resolver build`) needs no package manager in any image.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from .stages import StagePlan

DEFAULT_TOOLS_IMAGE = "quay.io/centos/centos:stream9"
_DNF_OPTIONS = "--setopt=install_weak_deps=False --setopt=tsflags=nodocs"


def image_name(image: str) -> str:
    """What a Containerfile's FROM names a parent by (a bake context maps it to the parent target)."""
    return f"resolver/{image}"


def containerfile(stage: StagePlan, key: str, package_manager: str = "dnf") -> str:
    pm = package_manager
    lines = [f"# Rendered by `resolver render`: {stage.image} (parent {stage.parent or 'none'}), key {key[:16]}"]
    parent = image_name(stage.parent) if stage.parent else None
    if stage.has_builder:
        if parent is None:
            raise ValueError(f"{stage.image}: the root image cannot have a builder stage in a Containerfile")
        lines += ["# Builder stage: build-only packages and the build step; none of it reaches the final stage.",
                  f"FROM {parent} AS builder"]
        if stage.build_only:
            lines.append(f"RUN {pm} -y install {_DNF_OPTIONS} {shlex.join(stage.build_only)} && {pm} clean all")
        if stage.step:
            lines.append(f"RUN mkdir -p {shlex.quote(stage.step.artifacts)} && {stage.step.run}")
    lines.append("# Final stage: the parent, exactly the planned layer, the builder's artifacts.")
    if parent is None:
        lines += ["ARG TOOLS_IMAGE=" + DEFAULT_TOOLS_IMAGE, "FROM ${TOOLS_IMAGE} AS tools",
                  f"RUN dnf -y --installroot=/rootfs --releasever=9 {_DNF_OPTIONS} install "
                  f"{shlex.join(stage.layer)} && dnf --installroot=/rootfs clean all",
                  "FROM scratch", "COPY --from=tools /rootfs/ /"]
    else:
        lines.append(f"FROM {parent}")
        if stage.layer:
            lines.append(f"RUN {pm} -y install {_DNF_OPTIONS} {shlex.join(stage.layer)} && {pm} clean all")
    if stage.step:
        lines.append(f"COPY --from=builder {stage.step.artifacts.rstrip('/')}/ /")
    lines.append(f'LABEL io.resolver.key="{key}"')
    return "\n".join(lines) + "\n"


def bake_file(stages: Mapping[str, StagePlan], keys: Mapping[str, str], tag_prefix: str) -> dict:
    """``docker buildx bake`` JSON: a target per image, its parent as a named context, the
    deployed images as the default group."""
    targets = {}
    for name, stage in stages.items():
        target = {"context": ".", "dockerfile": f"{name}/Containerfile",
                  "tags": [f"{tag_prefix}/{name}:{keys[name][:16]}"]}
        if stage.parent:
            target["contexts"] = {image_name(stage.parent): f"target:{stage.parent}"}
        targets[name] = target
    deployed = sorted(n for n, s in stages.items() if s.deployed)
    return {"group": {"default": {"targets": deployed}}, "target": targets}
