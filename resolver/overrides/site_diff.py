"""What site overrides change against the shipped tree, image by image: both trees resolved (on
their own repositories, each image on its parent's set) and their closures compared."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..inputs.image_tree import AppliedOverride
from ..metadata.closure import PackageInfo
from ..resolving.resolution import TreeResolver


@dataclass(frozen=True)
class ImageDiff:
    """One image of the site tree against the same image of the shipped tree."""

    image: str
    #: "added" (the overrides define it) or "changed" (its own overrides or its content differ)
    status: str
    parent: str | None
    applied: tuple[AppliedOverride, ...]
    #: the changes of its parents, which its content inherits
    inherited: tuple[AppliedOverride, ...]
    #: packages the site image has and the shipped one has not (an added image: its parent)
    added: tuple[PackageInfo, ...]
    removed: tuple[PackageInfo, ...]
    #: same name, another version or build (a module stream, another repository)
    changed: tuple[tuple[PackageInfo, PackageInfo], ...]
    installsize_before: int | None
    installsize_after: int
    unresolved_added: tuple[str, ...]
    unresolved_removed: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "image": self.image, "status": self.status, "parent": self.parent,
            "applied": [o.to_json() for o in self.applied],
            "inherited": [o.to_json() for o in self.inherited],
            "added": [p.to_json() for p in self.added],
            "removed": [p.to_json() for p in self.removed],
            "changed": [{"name": a.name, "before": a.to_json(), "after": b.to_json()} for a, b in self.changed],
            "installsize_before": self.installsize_before, "installsize_after": self.installsize_after,
            "unresolved_added": list(self.unresolved_added), "unresolved_removed": list(self.unresolved_removed),
        }


def diff_trees(shipped: TreeResolver, site: TreeResolver, images: Iterable[str] | None = None) -> list[ImageDiff]:
    """The images whose content or own overrides differ, parents first (``images``: only these)."""
    wanted = set(images) if images is not None else None
    for name in wanted or ():
        site.tree.spec(name)  # an unknown image is an error listing the tree's
    result = []
    for name in site.tree.names():
        if wanted is not None and name not in wanted:
            continue
        after = site.image(name)
        before = shipped.image(name) if name in shipped.tree.graph else None
        # an added image against its parent: what its own layer brings
        base = before or (site.image(after.parent) if after.parent else None)
        old = {p.name: p for p in base.closure} if base else {}
        new = {p.name: p for p in after.closure}
        unresolved_before = {u.name for u in before.unresolved} if before else set()
        unresolved_after = {u.name for u in after.unresolved}
        diff = ImageDiff(
            image=name,
            status="added" if before is None else "changed",
            parent=after.parent,
            applied=site.tree.spec(name).overrides,
            inherited=tuple(o for a in site.tree.ancestors(name) for o in site.tree.spec(a).overrides),
            added=tuple(new[n] for n in sorted(set(new) - set(old))),
            removed=tuple(old[n] for n in sorted(set(old) - set(new))),
            changed=tuple((old[n], new[n]) for n in sorted(set(old) & set(new)) if old[n] != new[n]),
            installsize_before=before.installsize if before else None,
            installsize_after=after.installsize,
            unresolved_added=tuple(sorted(unresolved_after - unresolved_before)),
            unresolved_removed=tuple(sorted(unresolved_before - unresolved_after)),
        )
        if before is None or diff.applied or diff.added or diff.removed or diff.changed \
                or diff.unresolved_added or diff.unresolved_removed:
            result.append(diff)
    return result
