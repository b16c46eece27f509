"""The lock file: NEVRA, repository and checksum of every package of every planned layer.

JSON, written atomically (a reader never sees half a lock). Reading checks the shape and says
what is wrong; ``compare`` says what changed between a lock and a fresh plan. A lock is committed
and shared, so it holds no path of the machine it was made on: a repository is named by its id and
repomd digest and, for where it is, ``repo_config.locked_location`` (a directory under the lock's,
relative to it, else the directory's name, or the URL); a file an origin or an override names is
written relative to the lock's directory, the current one or the checkout, else by its name. The
same plan locked in two checkouts gives the same file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .files import decode_text, read_bytes, write_atomically
from .metadata.closure import PackageInfo
from .metadata.repo_config import locked_location
from .planning.plan import LayerPlan, cycle_in
from .resolving.unresolved import UnresolvedRequest

LOCK_VERSION = 2


@dataclass(frozen=True)
class LockedLayer:
    image: str
    parent: str | None
    deployed: bool
    packages: tuple[PackageInfo, ...]
    #: requests of the image that did not resolve (best effort): ``name``, ``kind``, ``origin``
    unresolved: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class Lock:
    platform: str
    #: how the plan was made: the tree ("computed" or "declared") and the bloat budget
    tree: str
    budget: str
    repos: tuple[dict, ...]
    layers: Mapping[str, LockedLayer]
    #: the site overrides the plan was made with: ``files`` (path, sha256) and ``applied``
    overrides: Mapping = field(default_factory=dict)
    #: with ``--python``: the venv layers' wheel pins (``target``, ``constraints``, ``pip``, and
    #: ``images``: image -> ``name``, ``version``, ``filename``, ``sha256`` of each); None without
    python: Mapping | None = None
    #: Kolla's release whose start contract the images carry (``release``, ``sha256`` of its sdist,
    #: ``files``: each file's sha256); None in a lock written before it
    kolla: Mapping | None = None


#: an absolute path that starts a ``file:line`` origin (a path elsewhere in a text is left alone)
_ORIGIN_PATH = re.compile(r"(?<![\w./:-])/[^\s:]+(?=:\d)")
#: where the project's own files are (images/, profiles/ of the shipped tree)
_CHECKOUT = Path(__file__).resolve().parent.parent


def portable_paths(value: Any, roots: Sequence[Path]) -> Any:
    """``value`` (JSON data) with every path under one of ``roots`` (the lock's directory first)
    written relative to the first that holds it, and any other file that starts an origin by its
    name: nothing of the machine's layout is left."""
    if isinstance(value, str):
        for root in roots:
            value = value.replace(str(root.resolve()).rstrip("/") + "/", "")
        return _ORIGIN_PATH.sub(lambda match: Path(match.group(0)).name, value)
    if isinstance(value, Mapping):
        return {key: portable_paths(item, roots) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(portable_paths(item, roots) for item in value)
    return value


def locked_repos(repos: Sequence[Mapping], base: Path) -> tuple[dict, ...]:
    """Each repository (``RepoSet.digests()``) as a lock names it: id, repomd digest and where."""
    return tuple({"id": repo["id"], "repomd_sha256": repo["repomd_sha256"], **locked_location(repo["baseurl"], base)}
                 for repo in repos)


def _portable_overrides(overrides: Mapping, roots: Sequence[Path]) -> dict:
    """The overrides' record, each file outside ``roots`` named by its file name (its sha256 says
    which content)."""
    data = portable_paths(dict(overrides), roots)
    data["files"] = [{**f, "path": Path(f["path"]).name if Path(f["path"]).is_absolute() else f["path"]}
                     for f in data.get("files", [])]
    return data


def lock_from_plan(plan: LayerPlan, packages: Mapping[str, PackageInfo], platform: str,
                   repos: Sequence[dict], tree: str, budget: str, overrides: Mapping | None = None,
                   unresolved: Mapping[str, Sequence[UnresolvedRequest]] | None = None,
                   base: Path = Path("."), python: Mapping | None = None, kolla: Mapping | None = None) -> Lock:
    """The plan as a lock. ``repos``: each repository with the digest of the repomd.xml the
    packages came from (``RepoSet.digests()``); ``base``: the lock's directory (paths under it
    are kept relative); ``python``: the venv layers' wheel pins (``--python``)."""
    unresolved = unresolved or {}
    roots = (base, Path.cwd(), _CHECKOUT)
    layers = {
        name: LockedLayer(name, image.parent, image.deployed,
                          tuple(sorted((packages[p] for p in image.layer_packages), key=lambda p: p.name)),
                          portable_paths(tuple({"name": u.name, "kind": u.diagnosis.kind, "origin": str(u.origin)}
                                               for u in unresolved.get(name, ())), roots))
        for name, image in plan.images.items()
    }
    return Lock(platform, tree, budget, locked_repos(repos, base), layers,
                _portable_overrides(overrides or {}, roots), python, kolla)


def write_lock(lock: Lock, path: Path) -> None:
    write_atomically(path, lock_text(lock))


def lock_text(lock: Lock) -> str:
    """The lock file's text (what ``write_lock`` writes; its sha256 labels the images built from it)."""
    data: dict[str, Any] = {
        "lock_version": LOCK_VERSION,
        "platform": lock.platform,
        "tree": lock.tree,
        "budget": lock.budget,
        "repos": list(lock.repos),
        "overrides": {"files": [], "applied": [], **lock.overrides},
        "images": {
            name: {"parent": layer.parent, "deployed": layer.deployed,
                   "packages": [{"name": p.name, "evr": p.evr, "arch": p.arch, "repo": p.repo,
                                 "checksum": p.checksum, "installsize": p.installsize} for p in layer.packages],
                   "unresolved": [dict(u) for u in layer.unresolved]}
            for name, layer in lock.layers.items()
        },
    }
    if lock.python is not None:
        data["python"] = lock.python
    if lock.kolla is not None:
        data["kolla"] = lock.kolla
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


#: the largest lock read: the shipped tree's lock is about 270 bytes per locked package, and a
#: 1,000-image tree locks a few hundred thousand package rows (tens of MiB); a larger file is refused
#: before it is read whole
MAX_LOCK_BYTES = 128 * 1024 * 1024
#: the largest package size a lock may give (1 TiB; the largest RPM of CentOS Stream 9 installs ~1 GB)
MAX_PACKAGE_BYTES = 1 << 40
#: control characters (C0, C1) and the line and paragraph separators: never in a lock ``resolver lock`` writes,
#: and a lock's values are printed when they change
_NOT_IN_A_VALUE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
_NEVRA = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]*-(?:[0-9]+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+"
                    r"\.[A-Za-z0-9_]+\Z")
_CHECKSUM = re.compile(r"^[a-z0-9]+:[0-9a-f]*\Z")
_AGAIN = "not a lock written by `resolver lock`: run `resolver lock` again"
_KINDS = {str: "a string", int: "a whole number", float: "a number with a fraction", bool: "true or false",
          dict: "an object", list: "a list", type(None): "null"}


def read_lock(path: Path) -> Lock:
    """The lock at ``path``: at most ``MAX_LOCK_BYTES`` of UTF-8 JSON of the shape ``write_lock``
    writes, every field of its type; anything else is an InputError naming the file and the place
    in it (``images.shell.packages[3].installsize``)."""
    text = decode_text(read_bytes(path, "lock file", MAX_LOCK_BYTES), str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}:{error.lineno}: not a complete lock file ({error.msg}); "
                         "it may be truncated: run `resolver lock` again") from None
    except RecursionError:
        raise InputError(f"{path}: not a lock file written by `resolver lock` (nested too deep); "
                         "run `resolver lock` again") from None
    except ValueError as error:  # a number of thousands of digits
        raise InputError(f"{path}: not a lock file written by `resolver lock` ({str(error)[:60]}); "
                         "run `resolver lock` again") from None
    _check_strings(data, path)
    lock = _Reading(path)
    top = lock.typed(data, dict, "the file")
    version = lock.field(top, "lock_version", (int, str, float, bool, type(None), dict, list), "")
    if version != LOCK_VERSION or type(version) is not int:
        raise InputError(f"{path}: lock version {json.dumps(version)[:40]} is not {LOCK_VERSION}; run `resolver lock`")
    layers = {}
    images = lock.field(top, "images", dict, "")
    for name, layer in images.items():
        where = f"images.{_shown(name)}"
        lock.matches(name, _IMAGE_NAME, where, "an image name")
        lock.typed(layer, dict, where)
        parent = lock.field(layer, "parent", (str, type(None)), where)
        if parent is not None and parent not in images:
            raise InputError(f"{path}: {where}.parent: {_shown(parent)} is not an image of the lock; "
                             f"{_AGAIN}")
        packages = []
        for index, package in enumerate(lock.field(layer, "packages", list, where)):
            at = f"{where}.packages[{index}]"
            lock.typed(package, dict, at)
            name_, evr, arch, repo, checksum = (lock.field(package, key, str, at)
                                                for key in ("name", "evr", "arch", "repo", "checksum"))
            lock.matches(f"{name_}-{evr}.{arch}", _NEVRA, f"{at}.name/evr/arch", "an RPM's name, version and arch")
            lock.matches(checksum, _CHECKSUM, f"{at}.checksum", "a checksum (TYPE:HEX)")
            size = lock.field(package, "installsize", int, at)
            if not 0 <= size <= MAX_PACKAGE_BYTES:
                raise InputError(f"{path}: {at}.installsize: {size} is not a package's size in bytes "
                                 f"(0 to {MAX_PACKAGE_BYTES}); run `resolver lock` again")
            packages.append(PackageInfo(name_, evr, arch, repo, size, checksum, ""))
        unresolved = tuple({key: lock.field(lock.typed(u, dict, f"{where}.unresolved[{i}]"), key, str,
                                            f"{where}.unresolved[{i}]") for key in ("name", "kind", "origin")}
                           for i, u in enumerate(lock.field(layer, "unresolved", list, where, [])))
        layers[name] = LockedLayer(name, parent, lock.field(layer, "deployed", bool, where),
                                   tuple(packages), unresolved)
    cycle = cycle_in({name: layer.parent for name, layer in layers.items()})
    if cycle is not None:
        raise InputError(f"{path}: images.{_shown(cycle)}.parent: the parents form a cycle through {_shown(cycle)}; "
                         f"{_AGAIN}")
    written = lock.field(top, "overrides", (dict, type(None)), "", None) or {}
    overrides = {"files": [{key: lock.field(lock.typed(f, dict, f"overrides.files[{i}]"), key, str,
                                            f"overrides.files[{i}]") for key in ("path", "sha256")}
                           for i, f in enumerate(lock.field(written, "files", list, "overrides", []))],
                 "applied": list(lock.field(written, "applied", list, "overrides", []))}
    python = lock.field(top, "python", (dict, type(None)), "", None)
    if python is not None:
        pins = lock.field(python, "images", dict, "python")
        python = {**python, "images": {
            image: [{key: lock.field(lock.typed(pin, dict, f"python.images.{_shown(image)}[{i}]"), key, str,
                                     f"python.images.{_shown(image)}[{i}]")
                     for key in ("name", "version", "filename", "sha256")}
                    for i, pin in enumerate(lock.typed(listed, list, f"python.images.{_shown(image)}"))]
            for image, listed in pins.items()}}
    kolla = lock.field(top, "kolla", (dict, type(None)), "", None)
    if kolla is not None:
        kolla = {**{key: lock.field(kolla, key, str, "kolla") for key in ("series", "release", "sha256")},
                 "files": {name: lock.typed(digest, str, f"kolla.files.{_shown(name)}")
                           for name, digest in lock.field(kolla, "files", dict, "kolla").items()}}
    repos = tuple(lock.typed(r, dict, f"repos[{i}]") for i, r in enumerate(lock.field(top, "repos", list, "")))
    return Lock(lock.field(top, "platform", str, ""), lock.field(top, "tree", str, ""),
                lock.field(top, "budget", str, ""), repos, layers, overrides, python, kolla)


_MISSING = object()


class _Reading:
    """The type checks of one lock's JSON, each error naming the file and the field."""

    def __init__(self, path: Path):
        self.path = path

    def typed(self, value: Any, kinds: type | tuple[type, ...], where: str) -> Any:
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if type(value) not in kinds:  # type(), not isinstance: true is no whole number here
            wanted = " or ".join(_KINDS[k] for k in kinds)
            raise InputError(f"{self.path}: {where}: {_KINDS[type(value)]}, not {wanted}; {_AGAIN}")
        return value

    def field(self, data: dict, key: str, kinds: type | tuple[type, ...], where: str,
              default: Any = _MISSING) -> Any:
        at = f"{where}.{key}" if where else key
        if key not in data:
            if default is _MISSING:
                raise InputError(f"{self.path}: not a lock file written by `resolver lock` (missing or bad {key!r}): "
                                 f"{at} is missing; run `resolver lock` again")
            return default
        return self.typed(data[key], kinds, at)

    def matches(self, value: str, pattern: re.Pattern, where: str, what: str) -> None:
        if not pattern.match(value):
            raise InputError(f"{self.path}: {where}: {_shown(value)} is not {what}; "
                             f"{_AGAIN}")


def _shown(value: str) -> str:
    """A name from the lock as an error shows it: as it is when plain, else JSON-quoted (no
    terminal control reaches the screen)."""
    return value if re.fullmatch(r"[A-Za-z0-9._+:~^/-]{1,100}", value) else json.dumps(value[:100])


def _check_strings(data: Any, path: Path) -> None:
    """No control character in any key or string of the lock (walked without recursion: the
    nesting is the file's)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and _NOT_IN_A_VALUE.search(value):
            raise InputError(f"{path}: {json.dumps(value[:60])} holds a control character; "
                             f"{_AGAIN}")


def compare(lock: Lock, fresh: Lock, path: Path) -> None:
    """Raise InputError saying what changed when a fresh plan no longer gives the locked sets."""
    changes: list[str] = []
    for old, new in zip(lock.repos, fresh.repos):
        if old != new:
            changes.append(f"repository {old.get('id')}: metadata changed (repomd {str(old.get('repomd_sha256'))[:12]}"
                           f" -> {str(new.get('repomd_sha256'))[:12]})")
    if [r.get("id") for r in lock.repos] != [r.get("id") for r in fresh.repos]:
        changes.append("the repository set changed")
    before, after = lock.overrides.get("files", []), fresh.overrides.get("files", [])
    if [f["sha256"] for f in before] != [f["sha256"] for f in after]:
        changes.append(f"site overrides changed: {', '.join(f['path'] for f in before) or 'none'} -> "
                       f"{', '.join(f['path'] for f in after) or 'none'} (or their content)")
    for setting in ("platform", "tree", "budget"):
        if getattr(lock, setting) != getattr(fresh, setting):
            changes.append(f"{setting}: {getattr(lock, setting)} -> {getattr(fresh, setting)}")
    for name in sorted(set(lock.layers) | set(fresh.layers)):
        if name not in fresh.layers or name not in lock.layers:
            changes.append(f"image {name} {'removed' if name not in fresh.layers else 'added'}")
            continue
        was_layer, now_layer = lock.layers[name], fresh.layers[name]
        if was_layer.parent != now_layer.parent:
            changes.append(f"{name}: parent {was_layer.parent or 'none'} -> {now_layer.parent or 'none'}")
        if was_layer.deployed != now_layer.deployed:
            changes.append(f"{name}: {'now' if now_layer.deployed else 'no longer'} deployed")
        missing_before = {u["name"] for u in lock.layers[name].unresolved}
        missing_after = {u["name"] for u in fresh.layers[name].unresolved}
        changes += [f"{name}: {n} now resolves" for n in sorted(missing_before - missing_after)]
        changes += [f"{name}: {n} no longer resolves" for n in sorted(missing_after - missing_before)]
        before = {p.name: p for p in lock.layers[name].packages}
        after = {p.name: p for p in fresh.layers[name].packages}
        for package in sorted(set(before) | set(after)):
            was, now = before.get(package), after.get(package)
            if was is None or now is None:
                changes.append(f"{name}: {package} {'added' if was is None else 'removed'}")
            elif (was.evr, was.arch) != (now.evr, now.arch):
                changes.append(f"{name}: {package} {was.evr}.{was.arch} -> {now.evr}.{now.arch}")
            elif was.checksum != now.checksum:
                changes.append(f"{name}: {was.nevra} checksum {was.checksum} -> {now.checksum} (the same version, "
                               "another file)")
            elif was.installsize != now.installsize:
                changes.append(f"{name}: {was.nevra} size {was.installsize} -> {now.installsize} bytes")
    changes += _python_changes(lock.python, fresh.python)
    if lock.kolla is not None and fresh.kolla is not None and lock.kolla != fresh.kolla:
        changes.append(f"kolla: {lock.kolla['release']} -> {fresh.kolla['release']}"
                       + (" (other files)" if lock.kolla["release"] == fresh.kolla["release"] else ""))
    if changes:
        shown = "\n  ".join(changes[:20]) + (f"\n  ... and {len(changes) - 20} more" if len(changes) > 20 else "")
        raise InputError(f"{path} no longer matches the metadata and tree:\n  {shown}\n"
                         "run `resolver lock` to lock the new sets")


def _python_changes(locked: Mapping | None, fresh: Mapping | None) -> list[str]:
    """What changed in the venv layers' pins (only when both the lock and the plan have them:
    `lock --python` and `plan --python --verify-lock`)."""
    if locked is None or fresh is None:
        return []
    changes = [f"python {setting}: {locked.get(setting)} -> {fresh.get(setting)}"
               for setting in ("target", "constraints") if locked.get(setting) != fresh.get(setting)]
    for image in sorted(set(locked["images"]) | set(fresh["images"])):
        before = {p["name"]: p for p in locked["images"].get(image, [])}
        after = {p["name"]: p for p in fresh["images"].get(image, [])}
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if old is None or new is None:
                changes.append(f"{image}: wheel {name} {'added' if old is None else 'removed'}")
            elif (old["version"], old["sha256"]) != (new["version"], new["sha256"]):
                changes.append(f"{image}: wheel {name} {old['version']} -> {new['version']}"
                               + (" (another file)" if old["version"] == new["version"] else ""))
    return changes
