"""Kolla's and TCIB's hand-kept per-image package lists, resolved on the same metadata as our plan,
so that total set sizes compare like with like (``resolver/data/baselines``, provenance inside).

Each baseline image is resolved on top of its baseline parent (best effort: names the metadata
lacks, such as RDO's openstack-* RPMs or release packages of extra repos, are counted and listed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..metadata.closure import PackageInfo
from ..metadata.repos import RepoSet

BASELINES_DIR = Path(str(resources.files("resolver") / "data" / "baselines"))
#: our image name -> the baseline's, where they differ
RENAMES = {"kolla": {"mariadb": "mariadb-server"}, "tcib": {}}


@dataclass(frozen=True)
class BaselineImage:
    name: str
    parent: str | None
    packages: tuple[str, ...]


@dataclass(frozen=True)
class BaselineResult:
    """A baseline's images that match ours, resolved; sizes in installed bytes."""

    name: str
    matched: Mapping[str, str]  # our image -> baseline image
    missing: tuple[str, ...]  # our deployed images the baseline has no counterpart for
    layer_sizes: Mapping[str, int]  # every baseline image involved (matches and their ancestors)
    image_sizes: Mapping[str, int]
    unresolved: Mapping[str, tuple[str, ...]]
    #: the parent of every baseline image involved
    parents: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def total_set_size(self) -> int:
        return sum(self.layer_sizes.values())


def set_size(parents: Mapping[str, str | None], layer_sizes: Mapping[str, int], leaves: Iterable[str]) -> int:
    """Bytes of every layer these images stand on, each layer once (as copy-on-write storage keeps them)."""
    held: set[str] = set()
    for leaf in leaves:
        node: str | None = leaf
        while node is not None and node not in held:
            held.add(node)
            node = parents.get(node)
    return sum(layer_sizes.get(name, 0) for name in held)


@dataclass(frozen=True)
class Comparison:
    """Our plan against a baseline on the same deployed images: each side's total set over them."""

    baseline: str
    images: tuple[str, ...]
    ours: int
    theirs: int

    @property
    def ratio(self) -> float | None:
        return self.ours / self.theirs if self.theirs else None


def compare_on(baseline: BaselineResult, plan: Mapping, images: Iterable[str]) -> Comparison:
    """Our total set (``plan``: `resolver plan --format json`) against the baseline's, both over the
    ``images`` the baseline has a counterpart for."""
    names = tuple(sorted(i for i in images if i in baseline.matched))
    planned = plan["images"]
    ours = set_size({n: i["parent"] for n, i in planned.items()}, {n: i["layer_size"] for n, i in planned.items()},
                    names)
    theirs = set_size(baseline.parents, baseline.layer_sizes, [baseline.matched[n] for n in names])
    return Comparison(baseline.name, names, ours, theirs)


def load_baseline(name: str) -> dict[str, BaselineImage]:
    """``kolla`` (EL9, stable/2025.1) or ``tcib`` (EL9 lists)."""
    if name == "kolla":
        data = yaml.safe_load((BASELINES_DIR / "kolla-packages.yaml").read_text(encoding="utf-8"))
        el9 = next(v for k, v in data["variants"].items() if k.startswith("el9"))["images"]
        return {n: BaselineImage(n, i["parent"] if i["parent"] in el9 else None, tuple(i["packages"] or ()))
                for n, i in el9.items() if i}
    data = yaml.safe_load((BASELINES_DIR / "tcib-packages.yaml").read_text(encoding="utf-8"))["images"]
    result = {}
    for n, image in data.items():
        lists = image.get("packages") or {}
        names = [*lists.get("common", []), *lists.get("x86_64", []), *lists.get("el9", [])]
        result[n] = BaselineImage(n, image.get("parent"), tuple(p for p in names if isinstance(p, str)))
    return result


def resolve_baseline(name: str, ours: Iterable[str], repos: RepoSet) -> BaselineResult:
    """Resolve the baseline images matching ``ours`` (deployed image names) and their ancestors."""
    images = load_baseline(name)
    renames = RENAMES[name]
    matched = {o: renames.get(o, o) for o in ours if renames.get(o, o) in images}
    missing = tuple(o for o in ours if o not in matched)
    closures: dict[str, tuple[PackageInfo, ...]] = {}
    unresolved: dict[str, tuple[str, ...]] = {}

    def closure(image: str) -> tuple[PackageInfo, ...]:
        if image not in closures:
            parent = images[image].parent
            base = closure(parent) if parent else ()
            resolution = repos.resolve(images[image].packages, pinned=base)
            closures[image] = resolution.closure
            unresolved[image] = tuple(u.name for u in resolution.unresolved)
        return closures[image]

    for image in matched.values():
        closure(image)
    layer_sizes = {}
    for image, packages in closures.items():
        parent = images[image].parent
        inherited = set(closures[parent]) if parent else set()
        layer_sizes[image] = sum(p.installsize for p in packages if p not in inherited)
    return BaselineResult(name, matched, missing, layer_sizes,
                          {i: sum(p.installsize for p in c) for i, c in closures.items()}, unresolved,
                          {i: images[i].parent for i in closures})
