"""Image names a build gives, and pruning the old ones.

A build tags each image twice: ``PREFIX/IMAGE:KEY`` (the first 16 hex digits of its content key:
what the image is made of) and ``PREFIX/IMAGE:TAG`` (readable, ``latest`` unless ``--tag`` names
another, such as a release), moved to the image each build makes or finds. Every build of a
changed image leaves its old content tag behind; pruning removes those: content tags only, of
this prefix only, keeping every image another name points at (``latest``, a release tag) and the
newest ``keep`` per image. Choosing is pure (``stale_content_tags``); podman lists and removes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ..errors import BuildSetupError, PruneError
from ..names import IMAGE_NAME

DEFAULT_TAG = "latest"
#: the tag a content key gives (``stages.reference``)
CONTENT_TAG = re.compile(r"^[0-9a-f]{16}\Z")


def readable_reference(image: str, tag: str, tag_prefix: str) -> str:
    return f"{tag_prefix}/{image}:{tag}"


@dataclass(frozen=True)
class StoredImage:
    """An image in local storage: its id, creation time (seconds) and every name it has."""

    id: str
    created: int
    names: tuple[str, ...]


@dataclass(frozen=True)
class Prune:
    """Content tags to remove, and the content tags kept (with why)."""

    remove: tuple[str, ...]
    keep: tuple[tuple[str, str], ...]


def _content_image(name: str, tag_prefix: str) -> str | None:
    """The image name of ``PREFIX/IMAGE:KEY`` (a content tag of this prefix), else None."""
    repository, _, tag = name.rpartition(":")
    image = repository.removeprefix(f"{tag_prefix}/")
    if repository == image or not IMAGE_NAME.match(image) or not CONTENT_TAG.match(tag):
        return None
    return image


def stale_content_tags(stored: Iterable[StoredImage], tag_prefix: str, keep: int = 1,
                       current: Collection[str] = (), images: Collection[str] | None = None) -> Prune:
    """Per image of ``tag_prefix`` (``images``: these only), the content tags to remove: all but
    those of ``current`` (references a build just made or found), of images any other name points
    at, and of the ``keep`` newest images."""
    by_image: dict[str, list[tuple[StoredImage, str]]] = {}
    for item in {s.id: s for s in stored}.values():
        for name in item.names:
            image = _content_image(name, tag_prefix)
            if image is not None and (images is None or image in images):
                by_image.setdefault(image, []).append((item, name))
    remove, kept = [], []
    for _, tagged in sorted(by_image.items()):
        tagged.sort(key=lambda pair: (pair[0].created, pair[1]), reverse=True)
        for rank, (item, name) in enumerate(tagged):
            others = [n for n in item.names if _content_image(n, tag_prefix) is None]
            if name in current:
                kept.append((name, "current"))
            elif others:
                kept.append((name, f"also {', '.join(sorted(others))}"))
            elif rank < keep:
                kept.append((name, "newest" if rank == 0 else f"newest {rank + 1}"))
            else:
                remove.append(name)
    return Prune(tuple(remove), tuple(kept))


def prune_content_tags(tag_prefix: str, keep: int, dry_run: bool = False) -> Prune:
    """`resolver prune`: the stale content tags of ``tag_prefix`` in local storage, removed unless
    ``dry_run``."""
    if shutil.which("podman") is None:
        raise BuildSetupError("podman is not installed; run ./bootstrap")
    pruned = stale_content_tags(stored_images(), tag_prefix, keep=keep)
    if not dry_run:
        remove_tags(pruned.remove)
    return pruned


# ---- podman ------------------------------------------------------------------------------------

def stored_images() -> list[StoredImage]:
    """Every named image in local storage (``podman images --format json``)."""
    done = subprocess.run(["podman", "images", "--format", "json"], capture_output=True, text=True, check=False,
                          errors="replace")
    if done.returncode != 0:
        raise PruneError(f"podman images failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    try:
        listed = json.loads(done.stdout or "[]")
        return [StoredImage(str(i["Id"]), int(i.get("Created") or 0), tuple(i.get("Names") or ()))
                for i in listed]
    except (ValueError, KeyError, TypeError) as error:
        raise PruneError(f"podman images printed what this tool cannot read ({error})") from None


def remove_tags(references: Sequence[str]) -> None:
    """``podman rmi`` each reference: the name goes; the image too when nothing else names it or
    is built on it (a parent stays while a child needs its layers)."""
    failed = []
    for reference in references:
        done = subprocess.run(["podman", "rmi", reference], capture_output=True, text=True, check=False,
                              errors="replace")
        if done.returncode != 0:
            failed.append(f"{reference}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")
    if failed:
        raise PruneError("could not remove:\n  " + "\n  ".join(failed))
