"""The layer plan on a given tree: which items each image's own layer installs.

Pure: a tree (parent of each image, which images are deployed), what each deployed image needs
(a set of item names) and item sizes in; a LayerPlan out. No dnf here.

With copy-on-write layers an item in a parent layer is stored once and shared by every descendant;
in two sibling layers it is paid twice; in a parent whose deployed descendant does not need it, it
is bloat in that descendant. ``plan_layers`` places each item in every *highest* image whose
deployed descendants all need it (a deployed image holds what it needs itself): no deployed image
gets an item it does not need, and no bloat-free plan on the same tree stores it fewer times. So an
intermediate holds exactly what its deployed images share. Where the tree itself comes from:
``resolver.planning.tree``; placements with bloat under a budget: ``resolver.planning.budget``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..metadata.closure import pulled_in


@dataclass(frozen=True)
class TreeShape:
    """Parents and deployed flags: all the planner needs to know of the image tree."""

    parents: Mapping[str, str | None]
    deployed: frozenset[str]

    @cached_property
    def _children(self) -> dict[str | None, list[str]]:
        result: dict[str | None, list[str]] = {}
        for name in sorted(self.parents):
            result.setdefault(self.parents[name], []).append(name)
        return result

    def children(self, name: str) -> list[str]:
        return self._children.get(name, [])

    def roots(self) -> list[str]:
        return self._children.get(None, [])

    def top_down(self) -> list[str]:
        order: list[str] = []
        stack = self.roots()[::-1]
        while stack:
            name = stack.pop()
            order.append(name)
            stack.extend(self.children(name)[::-1])
        return order

    def path(self, name: str) -> list[str]:
        """Root first, ``name`` last."""
        chain = [name]
        while self.parents[chain[-1]] is not None:
            chain.append(self.parents[chain[-1]])  # type: ignore[arg-type]
        return chain[::-1]


def cycle_in(parents: Mapping[str, str | None]) -> str | None:
    """An image on a cycle of ``parents`` (read from a file), or None when every chain of parents
    ends (at None or a name that has no entry); each image is followed once."""
    ended: set[str] = set()
    for start in parents:
        chain: set[str] = set()
        node: str | None = start
        while node is not None and node not in ended:
            if node in chain:
                return node
            chain.add(node)
            node = parents.get(node)
        ended |= chain
    return None


@dataclass(frozen=True)
class PlannedImage:
    name: str
    parent: str | None
    deployed: bool
    layer_packages: frozenset[str]
    content: frozenset[str]
    layer_size: int
    image_size: int
    #: bytes of packages in this (deployed) image that it does not need
    bloat: int
    #: bytes the layer writes besides package files (see ``layer_overhead``)
    overhead: int = 0


@dataclass(frozen=True)
class LayerPlan:
    images: Mapping[str, PlannedImage]
    total_set_size: int
    lower_bound: int
    bloat: int
    shape: TreeShape = field(repr=False, compare=False)

    @property
    def overhead(self) -> int:
        return sum(i.overhead for i in self.images.values())

    @property
    def objective(self) -> int:
        """What the planner minimises: every layer's bytes once, plus every layer's overhead."""
        return self.total_set_size + self.overhead

    @property
    def ratio(self) -> float:
        return self.total_set_size / self.lower_bound if self.lower_bound else 1.0


# The cost a layer pays beyond installed files: the one overhead model (constants here only).
# Every layer that installs packages rewrites the whole rpm database, rpmdb.sqlite: its tables and
# indexes (about 205 KiB empty), plus, for each installed package, its header and its rows in the
# indexes (file names, provides, requires...), which grow with the header: 1.251 bytes per header
# byte in all. And dnf's history database (116 KiB). Fitted by `tox -e bench-overhead`
# (bench/overhead.py): 18 sets of 7 to 54 demo packages installed with the build's own dnf step into
# plain directories, largest error 43 KiB. On the demo images built here (rpmdb 688 to 1,032 KiB,
# dnf state 116 KiB) the model is 28 to 56 KiB under.
RPMDB_BASE_BYTES = 205 * 1024
RPMDB_BYTES_PER_HEADER_BYTE = 1.251
DNF_STATE_BYTES = 116 * 1024
#: bytes every non-empty layer writes whatever it installs
LAYER_BASE_BYTES = RPMDB_BASE_BYTES + DNF_STATE_BYTES
# A venv layer writes its wheels' files and their bytecode (``Dist.installed_size``) and nothing
# else, but the layer that makes the venv (``python3 -m venv --without-pip``, the build's own step)
# adds its skeleton: 42,962 bytes in 16 files, measured here on Debian's Python 3.11
# (`python3 -m venv --without-pip DIR && du -sb DIR`). The console scripts pip writes are not counted.
VENV_BASE_BYTES = 42_962


def megabytes(size: float) -> str:
    """Bytes in MB (10^6 bytes) with one decimal: the unit plans and reports give sizes in."""
    return f"{size / 1e6:.1f}"


def rpmdb_bytes(header_size: int) -> int:
    """Bytes one installed package takes in the rpm database: its header (``hdr_end`` in the
    repository metadata) and its index rows."""
    return round(header_size * RPMDB_BYTES_PER_HEADER_BYTE)


def layer_overhead(layer_count: int, rpmdb_installed: int) -> int:
    """Bytes a layer writes besides package payloads: the rpm database holding every package
    installed so far (``rpmdb_installed``: their ``rpmdb_bytes`` summed), and dnf's state; nothing
    when the layer installs nothing."""
    return LAYER_BASE_BYTES + rpmdb_installed if layer_count else 0


def plan_layers(shape: TreeShape, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                headers: Mapping[str, int] | None = None,
                requires: Mapping[str, Sequence[frozenset[str]]] | None = None) -> LayerPlan:
    """Place every needed item in the highest images whose deployed descendants all need it.

    ``needs`` maps each deployed image to its item names; ``headers`` (each package's bytes in
    the rpm database, ``rpmdb_bytes``) lets the plan count each layer's rpmdb overhead.
    ``requires`` (item -> for each requirement, the items that satisfy it) keeps every
    intermediate installable on its own: an item whose requirement the intermediate cannot
    satisfy (its deployed images satisfy it with different providers) moves down to its children."""
    missing = sorted(shape.deployed - set(needs))
    if missing:
        raise ValueError(f"no needs given for deployed image(s) {', '.join(missing)}")
    order = shape.top_down()
    bit = {name: 1 << index for index, name in enumerate(sorted(shape.deployed))}
    below: dict[str, int] = {}
    for name in reversed(order):  # children before parents
        below[name] = bit.get(name, 0)
        for child in shape.children(name):
            below[name] |= below[child]
    needed_by: dict[str, int] = {}
    for image, items in needs.items():
        for item in items:
            needed_by[item] = needed_by.get(item, 0) | bit[image]
    # items needed by the same images are placed alike: place each distinct need-set once
    by_mask: dict[int, list[str]] = {}
    for item, mask in needed_by.items():
        by_mask.setdefault(mask, []).append(item)
    layers: dict[str, set[str]] = {name: set() for name in order}
    for mask, placed in by_mask.items():
        holders: list[str] = []
        _place(mask, shape.roots(), shape, below, bit, holders)
        for holder in holders:
            layers[holder].update(placed)
    if requires:
        _close_intermediates(shape, layers, requires)
    return layered_plan(shape, needs, sizes, layers, headers)


def _close_intermediates(shape: TreeShape, layers: dict[str, set[str]],
                         requires: Mapping[str, Sequence[frozenset[str]]]) -> None:
    contents: dict[str | None, set[str]] = {None: set()}
    for name in shape.top_down():
        content = contents[shape.parents[name]] | layers[name]
        while name not in shape.deployed:
            unmet = {item for item in layers[name]
                     if any(not alternatives & content for alternatives in requires.get(item, ()))}
            if not unmet:
                break
            layers[name] -= unmet
            content -= unmet
            for child in shape.children(name):
                layers[child] |= unmet
        contents[name] = content


def _place(mask: int, nodes: list[str], shape: TreeShape, below: dict[str, int], own: dict[str, int],
           holders: list[str]) -> None:
    """The images whose layers hold items needed by the deployed images in ``mask``."""
    for node in nodes:
        wanted = below[node] & mask
        if not wanted:
            continue
        # a deployed image that needs the item holds it itself, whatever its descendants need
        if own.get(node, 0) & mask or wanted == below[node]:
            holders.append(node)
        else:
            _place(mask, shape.children(node), shape, below, own, holders)


def layered_plan(shape: TreeShape, needs: Mapping[str, frozenset[str]], sizes: Mapping[str, int],
                 layers: Mapping[str, Iterable[str]], headers: Mapping[str, int] | None = None) -> LayerPlan:
    """The plan of given layers (each image's own items): contents, sizes, bloat, overhead."""
    images: dict[str, PlannedImage] = {}
    headers_installed: dict[str | None, int] = {None: 0}
    for name in shape.top_down():
        parent = shape.parents[name]
        layer = frozenset(layers.get(name, ()))
        content = layer | (images[parent].content if parent else frozenset())
        layer_size = sum(sizes[p] for p in layer)
        image_size = layer_size + (images[parent].image_size if parent else 0)
        extra = content - needs[name] if name in shape.deployed else frozenset()
        headers_installed[name] = headers_installed[parent] + sum((headers or {}).get(p, 0) for p in layer)
        images[name] = PlannedImage(name, parent, name in shape.deployed, layer, content,
                                    layer_size, image_size, sum(sizes[p] for p in extra),
                                    layer_overhead(len(layer), headers_installed[name]))
    union = set().union(*needs.values()) if needs else set()
    return LayerPlan(images, sum(i.layer_size for i in images.values()), sum(sizes[p] for p in union),
                     sum(i.bloat for i in images.values()), shape)


def layer_request(layer: frozenset[str], requires: Mapping[str, Iterable[str]]) -> list[str]:
    """The layer's minimal request list: its items that no other item of the layer pulls in
    (through any Requires path inside the layer). In a dependency cycle the alphabetically first
    member stays. ``requires`` maps an item to the items it requires (a networkx DiGraph will do)."""
    inside = sorted(layer)
    pulled = pulled_in([(item, item) for item in inside], requires, inside=layer, pullers=False)
    return [item for item in inside if item not in pulled]


def plan_json(plan: LayerPlan, layer_requests: Mapping[str, Sequence[str]], **extra: Any) -> dict[str, Any]:
    """The plan as `resolver plan --format json` prints it (its top-level keys are a contract)."""
    data = {
        "total_set_size": plan.total_set_size,
        "lower_bound": plan.lower_bound,
        "ratio": round(plan.ratio, 4),
        "bloat": plan.bloat,
        "overhead": plan.overhead,
        "objective": plan.objective,
        "images": {
            name: {"parent": image.parent, "deployed": image.deployed,
                   "layer_request": list(layer_requests.get(name, ())),
                   "layer_packages": sorted(image.layer_packages), "layer_size": image.layer_size,
                   "image_size": image.image_size, "bloat": image.bloat, "overhead": image.overhead}
            for name, image in plan.images.items()
        },
        "suggestions": [],
    }
    data.update(extra)
    return data
