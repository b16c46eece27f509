"""The OCI annotations every image carries (``org.opencontainers.image.*``) and the digest of the
lock its plan gives, the same in built images (``buildah config --label``) and rendered
Containerfiles (``LABEL``). Every value is made here or checked against a pattern: nothing read
from a file reaches a label unchecked.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from ..names import IMAGE_NAME, TAG, build_value

#: the lock's digest (sha256 of the lock file's text this plan gives, ``resolver.lock.lock_text``)
LOCK_LABEL = "io.resolver.lock.sha256"
_CHECKOUT = Path(__file__).resolve().parents[2]
_REVISION = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64}|unknown)\Z")
_SOURCE = re.compile(r"^(?:https?|ssh|git|file)://[A-Za-z0-9._~:/@%+-]+\Z|^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:"
                     r"[A-Za-z0-9._~/+-]+\Z")
_DIGEST = re.compile(r"^[0-9a-f]{64}\Z")
_CREATED = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")


def created_now(epoch: int | None = None) -> str:
    """RFC 3339 UTC, to the second: ``epoch`` (a build's one time, so the same lock gives the same
    image config), else ``SOURCE_DATE_EPOCH`` when set, else now."""
    if epoch is None:
        value = os.environ.get("SOURCE_DATE_EPOCH", "")
        epoch = int(value) if value.isdigit() else None
    when = datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else datetime.now(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def source_revision() -> tuple[str, str]:
    """(source URL, revision) of the checkout this tool runs from: its git remote ``origin`` (else
    the checkout's file:// URL) and HEAD (``unknown`` outside git)."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(_CHECKOUT), *args], capture_output=True, text=True, check=False,
                                  timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    revision = git("rev-parse", "HEAD")
    source = git("remote", "get-url", "origin")
    return (source if _SOURCE.match(source) else f"file://{_CHECKOUT}",
            revision if _REVISION.match(revision) else "unknown")


def image_labels(image: str, tag: str, lock_digest: str, created: str) -> dict[str, str]:
    """An image's labels: title (the image's name), version (the readable tag it is built under),
    created, revision and source (the checkout that built it), and the lock's digest."""
    source, revision = source_revision()
    checks = ((IMAGE_NAME, image, "an image name"), (TAG, tag, "an image tag"), (_DIGEST, lock_digest, "a sha256"),
              (_CREATED, created, "an RFC 3339 UTC time"), (_SOURCE, source, "a URL"),
              (_REVISION, revision, "a git revision"))
    for pattern, value, what in checks:
        build_value(pattern, value, "an image label", what)
    return {"org.opencontainers.image.title": image, "org.opencontainers.image.version": tag,
            "org.opencontainers.image.created": created, "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.source": source, LOCK_LABEL: lock_digest}
