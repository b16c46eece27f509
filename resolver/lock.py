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
from .files import write_atomically
from .metadata.closure import PackageInfo
from .metadata.repo_config import locked_location
from .planning.plan import LayerPlan
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


def read_lock(path: Path) -> Lock:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read lock file ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}:{error.lineno}: not a complete lock file ({error.msg}); "
                         "it may be truncated: run `resolver lock` again") from None
    try:
        if data["lock_version"] != LOCK_VERSION:
            raise InputError(f"{path}: lock version {data['lock_version']} is not {LOCK_VERSION}; run `resolver lock`")
        layers = {}
        for name, layer in data["images"].items():
            packages = tuple(PackageInfo(p["name"], p["evr"], p["arch"], p["repo"], int(p["installsize"]),
                                         p["checksum"], "") for p in layer["packages"])
            unresolved = tuple({"name": str(u["name"]), "kind": str(u["kind"]), "origin": str(u["origin"])}
                               for u in layer.get("unresolved", ()))
            layers[name] = LockedLayer(name, layer["parent"], bool(layer["deployed"]), packages, unresolved)
        written = data.get("overrides") or {}
        overrides = {"files": [{"path": str(f["path"]), "sha256": str(f["sha256"])} for f in written.get("files", [])],
                     "applied": list(written.get("applied", []))}
        python = data.get("python")
        if python is not None:
            pin_keys = ("name", "version", "filename", "sha256")
            python = {**python, "images": {str(image): [{key: str(pin[key]) for key in pin_keys} for pin in pins]
                                           for image, pins in python["images"].items()}}
        kolla = data.get("kolla")
        if kolla is not None:
            kolla = {"series": str(kolla["series"]), "release": str(kolla["release"]), "sha256": str(kolla["sha256"]),
                     "files": {str(name): str(digest) for name, digest in kolla["files"].items()}}
        return Lock(data["platform"], str(data["tree"]), str(data["budget"]), tuple(data["repos"]), layers, overrides,
                    python, kolla)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise InputError(f"{path}: not a lock file written by `resolver lock` (missing or bad {error})") from None


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
            elif (was.evr, was.arch, was.checksum) != (now.evr, now.arch, now.checksum):
                changes.append(f"{name}: {package} {was.evr}.{was.arch} -> {now.evr}.{now.arch}")
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
