"""An errata rebuild plan (`resolver update`): a lock against the plan made on the metadata as it
is now, as what changed (old -> new NEVRA, wheel versions), which layers change, which images must
be rebuilt, and the bytes each deployed image (and each node role) must pull. Pure.

A layer changes when its packages (NEVRA or checksum), its wheels or its parent change. Every
image below a changed layer is rebuilt too (its content key holds its parent's), and its layer is
new even with the same packages (its rpm database lists the parent's), so what an image must pull
is every rebuilt layer of its chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .inputs.image_tree import parents_first
from .lock import Lock


@dataclass(frozen=True)
class Change:
    image: str
    kind: str  # "rpm" or "wheel"
    name: str
    #: NEVRA (rpm) or version (wheel); None: not in the layer before / any more
    old: str | None
    new: str | None


@dataclass(frozen=True)
class UpdatePlan:
    changes: tuple[Change, ...]
    #: images whose own layer changed, parents first
    changed_layers: tuple[str, ...]
    #: every image to rebuild, parents first
    rebuild: tuple[str, ...]
    #: deployed image -> planned bytes of the rebuilt layers of its chain
    pull_bytes: Mapping[str, int]
    #: role -> its images and the bytes a node of that role pulls (each layer once)
    roles: Mapping[str, Mapping[str, Any]]
    #: images in the lock that the plan no longer has
    removed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"changes": [{"image": c.image, "kind": c.kind, "name": c.name, "old": c.old, "new": c.new}
                            for c in self.changes],
                "changed_layers": list(self.changed_layers), "rebuild": list(self.rebuild),
                "pull_bytes": dict(self.pull_bytes), "roles": {k: dict(v) for k, v in self.roles.items()},
                "removed": list(self.removed)}


def _layer_changes(old: Lock, fresh: Lock, image: str) -> list[Change]:
    was = {p.name: p for p in old.layers[image].packages} if image in old.layers else {}
    now = {p.name: p for p in fresh.layers[image].packages}
    changes = [Change(image, "rpm", name, was[name].nevra if name in was else None,
                      now[name].nevra if name in now else None)
               for name in sorted(set(was) | set(now))
               if name not in was or name not in now
               or (was[name].nevra, was[name].checksum) != (now[name].nevra, now[name].checksum)]
    old_pins = {p["name"]: p for p in (old.python or {}).get("images", {}).get(image, ())}
    new_pins = {p["name"]: p for p in (fresh.python or {}).get("images", {}).get(image, ())}
    changes += [Change(image, "wheel", name, old_pins[name]["version"] if name in old_pins else None,
                       new_pins[name]["version"] if name in new_pins else None)
                for name in sorted(set(old_pins) | set(new_pins))
                if name not in old_pins or name not in new_pins
                or (old_pins[name]["version"], old_pins[name]["sha256"]) != (new_pins[name]["version"],
                                                                             new_pins[name]["sha256"])]
    return changes


def update_plan(old: Lock, fresh: Lock, layer_bytes: Mapping[str, int],
                roles: Mapping[str, Sequence[str]] | None = None) -> UpdatePlan:
    """What moving from ``old`` to ``fresh`` rebuilds and costs (``layer_bytes``: each image's own
    layer in the fresh plan, planned bytes; ``roles``: role -> deployed images of a node)."""
    def parent_of(image: str) -> str | None:
        return fresh.layers[image].parent

    order = parents_first(sorted(fresh.layers), parent_of)
    changes: list[Change] = []
    changed: list[str] = []
    for image in order:
        own = _layer_changes(old, fresh, image)
        changes += own
        if own or image not in old.layers or old.layers[image].parent != parent_of(image):
            changed.append(image)
    rebuilt: list[str] = []
    for image in order:
        parent = parent_of(image)
        if image in changed or (parent is not None and parent in rebuilt):
            rebuilt.append(image)

    def chain(image: str) -> list[str]:
        names = [image]
        while parent_of(names[-1]) is not None:
            names.append(str(parent_of(names[-1])))
        return names

    def pulled(images: Sequence[str]) -> int:
        return sum(layer_bytes.get(n, 0) for n in {n for image in images for n in chain(image)} if n in rebuilt)

    pull = {image: pulled([image]) for image in order if fresh.layers[image].deployed}
    per_role = {role: {"images": list(images), "pull_bytes": pulled(images)} for role, images in (roles or {}).items()}
    return UpdatePlan(tuple(changes), tuple(changed), tuple(rebuilt), pull, per_role,
                      tuple(sorted(set(old.layers) - set(fresh.layers))))
