"""An SPDX 2.3 SBOM per image from what the lock already holds, without scanning the image: one
package per RPM (its purl, the checksum of the metadata), per wheel (its purl, sha256), per layer
of the image's chain; the image as the described package; a package ``CONTAINED_BY`` the layer
that installs it, a builder stage's packages ``BUILD_DEPENDENCY_OF`` the layer it built. Pure:
plain data in, the document's JSON data out.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import __version__
from .lock import Lock
from .metadata.closure import PackageInfo

#: the metadata's checksum types as SPDX names them
_ALGORITHMS = {"sha": "SHA1", "sha1": "SHA1", "sha224": "SHA224", "sha256": "SHA256", "sha384": "SHA384",
               "sha512": "SHA512", "md5": "MD5"}


@dataclass(frozen=True)
class LayerContents:
    """One layer of an image's chain: what the image ``image``'s build installs, and what its
    builder stage installed to make it (never in the image)."""

    image: str
    rpms: tuple[PackageInfo, ...]
    #: the venv layer's wheels: ``name``, ``version``, ``filename``, ``sha256`` (the lock's pins)
    wheels: tuple[Mapping[str, str], ...] = ()
    builder_rpms: tuple[PackageInfo, ...] = ()
    #: sdists the builder built and what building them needs (pip, setuptools...), as pins
    builder_wheels: tuple[Mapping[str, str], ...] = ()
    #: the built layer's digest (``sha256:…``, its diff id), when there is a built image
    digest: str | None = None


def chain_contents(lock: Lock, image: str, builders: Mapping[str, tuple[tuple[PackageInfo, ...],
                                                                        tuple[Mapping[str, str], ...]]],
                   digests: Mapping[str, str] | None = None) -> tuple[LayerContents, ...]:
    """The layers of ``image``, root first, from the lock (``builders``: image -> its builder's
    RPMs and wheels; ``digests``: image -> its own layer's digest)."""
    chain = [image]
    while lock.layers[chain[-1]].parent is not None:
        chain.append(str(lock.layers[chain[-1]].parent))
    python = (lock.python or {}).get("images", {})
    return tuple(LayerContents(name, lock.layers[name].packages, tuple(python.get(name, ())),
                               *builders.get(name, ((), ())), (digests or {}).get(name))
                 for name in reversed(chain))


def rpm_purl(package: PackageInfo, distro: str) -> str:
    """``pkg:rpm/<distro>/<name>@<evr>?arch=…&repository_id=…`` (qualifiers sorted, values
    percent-encoded as the purl specification says)."""
    return (f"pkg:rpm/{_quoted(distro)}/{_quoted(package.name)}@{_quoted(package.evr)}"
            f"?arch={_quoted(package.arch)}&repository_id={_quoted(package.repo)}")


def pypi_purl(pin: Mapping[str, str]) -> str:
    return f"pkg:pypi/{_quoted(re.sub(r'[-_.]+', '-', pin['name']).lower())}@{_quoted(pin['version'])}"


def image_sbom(image: str, layers: Sequence[LayerContents], platform: str, created: str,
               reference: str | None = None) -> dict:
    """The SPDX 2.3 document of ``image`` (``layers``: its chain, root first; ``created``: the
    ISO 8601 UTC time it says it was made; ``reference``: where the image is, when built)."""
    distro = platform.rsplit("-", 1)[0]
    ids: dict[str, int] = {}
    packages: list[dict] = []
    relationships: list[dict] = []

    def spdx_id(kind: str, name: str) -> str:
        base = f"SPDXRef-{kind}-{re.sub(r'[^A-Za-z0-9.-]+', '-', name)}"
        ids[base] = ids.get(base, 0) + 1
        return base if ids[base] == 1 else f"{base}-{ids[base]}"

    def add(kind: str, name: str, version: str, purl: str | None, checksum: tuple[str, str] | None,
            purpose: str, comment: str | None = None) -> str:
        package: dict = {"SPDXID": spdx_id(kind, name), "name": name, "versionInfo": version,
                         "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
                         "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
                         "copyrightText": "NOASSERTION", "primaryPackagePurpose": purpose}
        if purl:
            package["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                        "referenceLocator": purl}]
        if checksum:
            package["checksums"] = [{"algorithm": checksum[0], "checksumValue": checksum[1]}]
        if comment:
            package["comment"] = comment
        packages.append(package)
        return package["SPDXID"]

    def relate(element: str, kind: str, other: str) -> None:
        relationships.append({"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": other})

    image_id = add("Image", image, reference.rsplit(":", 1)[-1] if reference else "planned", None, None, "CONTAINER",
                   f"the image {reference}" if reference else "the image as planned (not built)")
    relate("SPDXRef-DOCUMENT", "DESCRIBES", image_id)
    for position, layer in enumerate(layers):
        layer_id = add("Layer", layer.image, layer.digest or "planned", None,
                       ("SHA256", layer.digest.removeprefix("sha256:")) if layer.digest else None, "ARCHIVE",
                       f"layer {position + 1} of {len(layers)}: what the build of {layer.image} installs")
        relate(layer_id, "CONTAINED_BY", image_id)
        for rpm, relation in [*((r, "CONTAINED_BY") for r in layer.rpms),
                              *((r, "BUILD_DEPENDENCY_OF") for r in layer.builder_rpms)]:
            kind = "RPM" if relation == "CONTAINED_BY" else f"Builder-{layer.image}-RPM"
            relate(add(kind, rpm.name, rpm.evr, rpm_purl(rpm, distro), _checksum(rpm.checksum), "OPERATING-SYSTEM"
                       if rpm.name.endswith("-release") else "LIBRARY"), relation, layer_id)
        for pin, relation in [*((w, "CONTAINED_BY") for w in layer.wheels),
                              *((w, "BUILD_DEPENDENCY_OF") for w in layer.builder_wheels)]:
            kind = "PyPI" if relation == "CONTAINED_BY" else f"Builder-{layer.image}-PyPI"
            relate(add(kind, pin["name"], pin["version"], pypi_purl(pin), ("SHA256", pin["sha256"]), "LIBRARY",
                       f"from {pin['filename']}"), relation, layer_id)
    content = json.dumps([packages, relationships], sort_keys=True).encode()
    return {
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": image,
        # the same contents give the same namespace (and the same document, with the same time)
        "documentNamespace": f"https://spdx.org/spdxdocs/resolver-{image}-{hashlib.sha256(content).hexdigest()}",
        "creationInfo": {"created": created, "creators": [f"Tool: resolver-{__version__}"]},
        "packages": packages, "relationships": relationships,
    }


def _checksum(value: str) -> tuple[str, str] | None:
    """``sha256:HEX`` from the metadata as SPDX's (algorithm, value); None for a type SPDX lacks."""
    kind, _, digest = value.partition(":")
    return (_ALGORITHMS[kind], digest) if kind in _ALGORITHMS and digest else None


def _quoted(value: str) -> str:
    return urllib.parse.quote(value, safe=".-_~+")
