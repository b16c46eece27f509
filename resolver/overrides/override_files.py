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
changes, or on the site for tree-wide ones (``site.py`` applies them), so that every output can say
what was applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from ..errors import InputError
from ..files import read_text
from ..inputs.image_tree import ExtraPackage, ImageSpec, ImageStep, ModuleStream, PipRequirement, image_spec
from ..inputs.profiles import Correction, ProviderChoice
from ..inputs.yamlfile import line_of, parse_yaml
from ..metadata.repo_config import RepoSpec
from ..names import MODULE_STREAM, image_name, package_name, plain_text, shell_line

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
            result.append(ImageStep(shell_line(run.strip(), self.at(at), "'run'"),
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

