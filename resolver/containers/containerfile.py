"""The same stage plans as Containerfiles (podman/docker build) and a ``docker buildx bake`` file,
for users who build elsewhere or on many BuildKit nodes.

A Containerfile installs with the package manager *inside* the image, so the rendered files
expect dnf (or microdnf, ``--package-manager``) in the tree's root image; the root image itself is
staged with ``dnf --installroot`` in a tools stage (``TOOLS_IMAGE``), then copied onto scratch.
The buildah path (`resolver build`) needs no package manager in any image.

An image with a venv layer gets a builder that fetches exactly the planned files from the index
(``requirements.txt`` beside the Containerfile: every pin with its sha256, ``--require-hashes``)
and runs ``pip wheel`` with the build-only packages installed; the final stage mounts the builder's
wheels and pip (``RUN --mount=type=bind,from=builder``, podman and BuildKit) and installs exactly
those into the venv (the index's wheels again with ``--require-hashes``, ``install.txt``), so no
wheel, pip or cache is left in a layer. Build from the output directory
(it is the context: ``podman build -f keystone/Containerfile .``).

Every value on a line comes checked: the stage plans' (``StagePlan``: NEVRAs from the metadata,
build-only names, the build step, pins and file names from the index), the package manager and
the tag prefix here; a newline cannot start an instruction of its own.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..inputs.platforms import platform_id as platform_id_of
from ..names import COMMAND, TAG, TAG_PREFIX, build_value, escaped
from .kolla import COMMAND as START_COMMAND
from .kolla import EXTEND_START, GROUP, PATH, SHELL, StartContract
from .labels import created_now, image_labels
from .python_target import VENV, Dist, hashed_requirements
from .stages import DEFAULT_TAG_PREFIX, StagePlan, check_dist
from .tags import DEFAULT_TAG, readable_reference

if TYPE_CHECKING:
    from .staging import StagedTree

DEFAULT_TOOLS_IMAGE = "quay.io/centos/centos:stream9"
_DNF_OPTIONS = "--setopt=install_weak_deps=False --setopt=tsflags=nodocs"
#: what `render` writes: IMAGE/ directories with these files, and the bake file
RENDERED = ("Containerfile", "requirements.txt", "tools.txt", "install.txt")
BAKE_FILE = "docker-bake.json"
#: the render's directory of Kolla's files the root's Containerfile copies (not an image name)
KOLLA_FILES = "_kolla"


def render_tree(staged: StagedTree, package_manager: str = "dnf", bake: bool = False,
                tag_prefix: str = DEFAULT_TAG_PREFIX, tag: str = DEFAULT_TAG) -> dict[str, str]:
    """Every file `resolver render` writes, by its path in the output directory: each image's
    ``IMAGE/Containerfile`` (and requirements), and with ``bake`` the bake file."""
    files = {}
    pip = staged.wheels.pip if staged.wheels else None
    target_platform = platform_id_of(staged.target.name)
    created = created_now()
    for name, stage in staged.stages.items():
        labels = image_labels(name, tag, staged.lock_digest, created)
        for filename, text in containerfile(stage, staged.keys[name], package_manager, pip, target_platform,
                                            labels).items():
            files[f"{name}/{filename}"] = text
        if stage.contract is not None:
            for file in stage.contract.files:
                files[f"{KOLLA_FILES}/{file.dest.rsplit('/', 1)[1]}"] = stage.contract.release.content(file).decode()
    if bake:
        files[BAKE_FILE] = json.dumps(bake_file(staged.stages, staged.keys, tag_prefix, tag), indent=2) + "\n"
    return files


def image_name(image: str) -> str:
    """What a Containerfile's FROM names a parent by (a bake context maps it to the parent target)."""
    return f"resolver/{image}"


def containerfile(stage: StagePlan, key: str, package_manager: str = "dnf", pip: Dist | None = None,
                  platform_id: str | None = None, labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """The image's Containerfile, and its ``requirements.txt`` when it has a venv layer
    (``platform_id``: the target's, which enabling a module stream needs)."""
    pm = build_value(COMMAND, package_manager, "--package-manager", "a command name or an absolute path")
    if pip is not None:
        check_dist(pip, "pip")
    wheels = stage.wheels
    files = {}
    lines = [f"# Rendered by `resolver render`: {stage.image} (parent {stage.parent or 'none'}), key {key[:16]}"]
    parent = image_name(stage.parent) if stage.parent else None
    if stage.has_builder or wheels:
        if parent is None:
            raise ValueError(f"{stage.image}: the root image cannot have a builder stage in a Containerfile")
        lines += ["# Builder stage: build-only packages, the wheels of the venv layer; none of it reaches the final "
                  "stage.", f"FROM {parent} AS builder"]
        tools = ["python3-pip"] if wheels else []
        if stage.build_only or tools:
            lines.append("RUN " + _dnf(pm, [*tools, *stage.build_only], stage.modules, platform_id))
        if wheels:
            assert pip is not None
            files["requirements.txt"] = hashed_requirements((d.key, d.file.sha256) for d in wheels.layer)
            files["tools.txt"] = hashed_requirements([(pip.key, pip.file.sha256)])
            # what the final stage installs with the lock's hashes: the wheels as the index serves them
            files["install.txt"] = hashed_requirements((d.key, d.file.sha256) for d in wheels.layer if d.binary)
            lines += [f"COPY {stage.image}/requirements.txt {stage.image}/tools.txt {stage.image}/install.txt /",
                      "RUN python3 -m pip wheel --no-deps --require-hashes --no-cache-dir --wheel-dir /wheels "
                      "-r /requirements.txt && python3 -m pip download --no-deps --require-hashes --no-cache-dir "
                      "--dest /tools -r /tools.txt"]
        if stage.step:
            lines.append(f"RUN mkdir -p {shlex.quote(stage.step.artifacts)} && {stage.step.run}")
    lines.append("# Final stage: the parent, exactly the planned layer, the builder's wheels in the venv.")
    if parent is None:
        lines += ["ARG TOOLS_IMAGE=" + DEFAULT_TOOLS_IMAGE, "FROM ${TOOLS_IMAGE} AS tools",
                  "RUN " + _dnf("dnf", stage.layer, stage.modules, platform_id, "/rootfs")]
        if stage.contract is not None and stage.contract.accounts:
            lines.append(_accounts(stage.contract))
        lines += ["FROM scratch", "COPY --from=tools /rootfs/ /"]
    else:
        lines.append(f"FROM {parent}")
        lines += _steps(stage, "before-packages")
        if stage.layer or stage.modules:
            lines.append("RUN " + _dnf(pm, stage.layer, stage.modules, platform_id))
    if wheels:
        assert pip is not None
        install = f"{VENV}/bin/python3 /tools/{pip.file.filename}/pip install --no-index --no-deps --no-cache-dir " \
                  "--find-links /wheels"
        # the index's wheels with the lock's sha256; those the builder made from the lock's
        # sdists (checked there) have no sha256 in the lock
        commands = [f"{install} --require-hashes -r /install.txt"] if any(d.binary for d in wheels.layer) else []
        if wheels.built:
            commands.append(f"{install} {shlex.join(d.key for d in wheels.built)}")
        lines.append("RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels "
                     "--mount=type=bind,from=builder,source=/tools,target=/tools "
                     "--mount=type=bind,from=builder,source=/install.txt,target=/install.txt \\\n"
                     f"    {{ test -x {VENV}/bin/python3 || python3 -m venv --without-pip {VENV}; }} && \\\n"
                     + " && \\\n".join(f"    {command}" for command in commands))
    if stage.step:
        lines.append(f"COPY --from=builder {stage.step.artifacts.rstrip('/')}/ /")
    lines += _steps(stage, "after-packages")
    if stage.contract is not None:
        lines += _contract(stage.contract, parent is None)
    lines.append(f'LABEL io.resolver.key="{key}"')
    if labels:
        # values checked by image_labels (no quote, backslash or control character); quoted anyway
        lines.append("LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())))
    files["Containerfile"] = "\n".join(lines) + "\n"
    return files


def _accounts(contract: StartContract) -> str:
    """Kolla's users and groups made in the tools stage, into the root's files, with the commands
    Kolla's base Dockerfile runs (groupadd, useradd; the service users join the kolla group)."""
    commands = []
    for account in contract.accounts:
        commands += [f"groupadd -R /rootfs --force --gid {account.gid} {account.group}",
                     f"useradd -R /rootfs -l -M --shell {SHELL} --uid {account.uid} --gid {account.gid} "
                     f"--home-dir {account.home} {account.name}"]
    commands += [f"usermod -R /rootfs --append --groups {GROUP} {name}" for name in contract.members]
    # one line: every line of a rendered Containerfile is an instruction of its own (checkable)
    return "RUN " + " && ".join(commands)


def _contract(contract: StartContract, root: bool) -> list[str]:
    """Kolla's contract in the final stage: the root copies Kolla's files where Kolla puts them and
    sets PATH and CMD (inherited below); an image makes its directories; a service sets USER."""
    lines = []
    for file in contract.files:
        lines.append(f"COPY --chmod={file.mode:04o} {KOLLA_FILES}/{file.dest.rsplit('/', 1)[1]} {file.dest}")
    if contract.directories:
        lines.append("RUN " + " && ".join(f"install -d -o {d.uid} -g {d.gid} -m {d.mode:04o} {shlex.quote(d.path)}"
                                          for d in contract.directories)
                     + (f" && : > {EXTEND_START} && chmod 0644 {EXTEND_START}" if root else ""))
    if root:
        lines += [f"ENV PATH={PATH}", f"CMD {json.dumps(list(START_COMMAND))}"]
    if contract.user:
        lines.append(f"USER {contract.user}")
    return lines


def _dnf(pm: str, packages: Sequence[str], modules: Sequence[str], platform_id: str | None,
         installroot: str = "") -> str:
    """One RUN's package work: the layer's module streams enabled (their state stays in the
    image's dnf state), the packages installed, dnf's cache removed."""
    root = f" --installroot={installroot} --releasever=9" if installroot else ""
    commands = []
    if modules:
        platform = f" --setopt=module_platform_id={platform_id}" if platform_id else ""
        commands.append(f"{pm} -y{root}{platform} module enable {shlex.join(modules)}")
    if packages:
        commands.append(f"{pm} -y{root} install {_DNF_OPTIONS} {shlex.join(packages)}")
    return " && ".join([*commands, f"{pm}{root} clean all"])


def _steps(stage: StagePlan, when: str) -> list[str]:
    """A site override's steps for this point of the final stage: a comment line (escaped: a file
    name stays on its line) and the step as one shell-form RUN, ``/bin/sh -c`` as in `build`
    (``StagePlan`` checked it is one instruction)."""
    return [line for step in stage.steps if step.when == when
            for line in (escaped(f"# site override step ({step.where}): {step.reason}"), f"RUN {step.run}")]


def bake_file(stages: Mapping[str, StagePlan], keys: Mapping[str, str], tag_prefix: str,
              tag: str = DEFAULT_TAG) -> dict:
    """``docker buildx bake`` JSON: a target per image (tagged by content key and by the readable
    tag), its parent as a named context, the deployed images as the default group."""
    build_value(TAG_PREFIX, tag_prefix, "--tag-prefix", "a registry and repository path")
    build_value(TAG, tag, "--tag", "an image tag")
    targets = {}
    for name, stage in stages.items():
        target: dict[str, object] = {"context": ".", "dockerfile": f"{name}/Containerfile",
                  "tags": [f"{tag_prefix}/{name}:{keys[name][:16]}", readable_reference(name, tag, tag_prefix)]}
        if stage.parent:
            target["contexts"] = {image_name(stage.parent): f"target:{stage.parent}"}
        targets[name] = target
    deployed = sorted(n for n, s in stages.items() if s.deployed)
    return {"group": {"default": {"targets": deployed}}, "target": targets}
