"""The shipped tree on the bundled CentOS Stream 9 metadata, as `resolver packages` sees it."""

import networkx as nx
import pytest

from resolver.errors import UnresolvableError
from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.resolving.resolution import TreeResolver

from .conftest import ROOT


def test_nova_compute_runtime_set(tree_resolver):
    image = tree_resolver.image("nova-compute")
    closure = {p.name for p in image.closure}
    excluded = {e.name: e.reason for e in image.excluded}
    assert {"mariadb-server", "postgresql-server"} <= set(excluded)
    assert {"lsscsi", "openssh-clients"} <= closure
    assert not [n for n in closure if n.endswith("-devel") or n in ("gcc", "gcc-c++", "make", "cpp")]
    assert {"gcc", "python3-devel"} <= {r.name for r in image.build_only}
    # the libvirt driver's packages come from the backend profile, each with its evidence
    libvirt = {r.name: r.origin for r in image.requests if r.origin.kind == "group" and r.origin.profile == "libvirt"}
    # (openssh-clients too: nova.yaml drops upstream's default line, which every nova image got)
    # (dosfstools: mkfs -t vfat, nova/privsep/fs.py:338, the default ephemeral format)
    assert set(libvirt) == {"python3-libvirt", "qemu-img", "e2fsprogs", "openssh-clients", "dosfstools"}
    assert "nova/utils.py:109" in libvirt["openssh-clients"].evidence
    assert "nova/privsep/qemu.py:219" in libvirt["qemu-img"].evidence
    assert "qemu-img" in closure
    assert "python3-libvirt" in {u.name for u in image.unresolved}  # libvirt-libs needs BaseOS 2025 libraries


def test_nothing_is_dropped_silently(tree_resolver):
    image = tree_resolver.image("nova-compute")
    closure = {p.name for p in image.closure}
    unresolved = {u.name for u in image.unresolved}
    satisfied = {request for request, _ in image.satisfied_by}
    for request in image.requests:
        assert request.name in satisfied or request.name in unresolved or request.name in closure
    for item in image.unresolved:
        assert item.problem and item.origin.detail


CURL_TREE = """\
- name: base
  packages:
    - {name: curl-minimal, reason: the small curl}
- name: clevis
  parent: base
  deployed: true
  packages:
    - {name: clevis, reason: network-bound disk encryption}
- name: clevis-alone
  deployed: true
  packages:
    - {name: clevis, reason: the same request on an empty root}
"""


def test_each_image_sits_on_its_parents_set(bundled_repos, tmp_path):
    """clevis requires `curl`, which curl and curl-minimal (conflicting) both provide: on an empty
    root dnf picks curl; on a parent holding curl-minimal the image uses the parent's, and its
    layer adds neither. An image solved apart and then stacked would hold both, or lose the parent's."""
    (tmp_path / "tree.yaml").write_text(CURL_TREE)
    resolver = TreeResolver(load_images(tmp_path), load_profiles(ROOT / "profiles"), platform("centos-9"),
                            bundled_repos, strict=True)
    alone, image, parent = (resolver.image(name) for name in ("clevis-alone", "clevis", "base"))
    assert "curl" in {p.name for p in alone.closure} and "curl-minimal" not in {p.name for p in alone.closure}
    names = {p.name for p in image.closure}
    assert "curl-minimal" in names and "curl" not in names
    assert set(parent.closure) <= set(image.closure)  # the parent's packages, same versions
    layer = {p.name for p in image.layer}
    assert "clevis" in layer and not layer & {p.name for p in parent.closure}
    assert layer == names - {p.name for p in parent.closure}


def test_request_list_is_minimal(tree_resolver):
    for name in ("base", "nova-base", "nova-compute", "keystone"):
        image = tree_resolver.image(name)
        parent = tree_resolver.image(image.parent).closure if image.parent else ()
        parent_names = {p.name for p in parent}
        chosen = dict(image.satisfied_by)
        packages = [chosen[n] for n in image.minimal_request]
        for package in packages:
            assert package not in parent_names
            pulled_by_others = [o for o in packages if o != package and package in nx.descendants(image.graph, o)]
            assert not pulled_by_others, (name, package, pulled_by_others)
        # and nothing is lost: every requested package in the layer is reached from the minimal list
        reached = set(packages).union(*(nx.descendants(image.graph, p) for p in packages))
        layer = {p.name for p in image.layer}
        assert {chosen[r] for r in chosen if chosen[r] in layer} <= reached


def test_devel_leaves_its_runtime_library(tree_resolver):
    image = tree_resolver.image("nova-base")
    libraries = {r.name: r.origin.reason for r in image.requests if r.origin.kind == "runtime-library"}
    assert "postgresql-devel" in libraries["libpq"] and "libxslt-devel" in libraries["libxslt"]
    assert "libpq" in {p.name for p in image.closure}


def test_why_names_the_bindep_line_and_the_chain(tree_resolver):
    lines = tree_resolver.why("nova-compute", "libxslt")
    assert lines[0] == "libxslt is inherited from the parent image nova-base"
    assert any("upstream/nova.txt:" in line and "[test]" in line for line in lines)
    chain = tree_resolver.why("nova-compute", "userspace-rcu")
    assert chain[0] == "userspace-rcu is in nova-compute's own layer"
    assert chain[1].startswith("requested: device-mapper-multipath <- ") and "os-brick.txt:" in chain[1]
    assert chain[-1] == "  device-mapper-multipath requires liburcu.so.6()(64bit) -> userspace-rcu"
    # a request answered by another package's Provides says so (CS9's xorriso provides genisoimage)
    assert "genisoimage (provided by xorriso)" in tree_resolver.why("nova-compute", "xorriso")[1]


def test_strict_mode_refuses_unresolvable_requests(bundled_repos):
    strict = TreeResolver(load_images(ROOT / "images"), load_profiles(ROOT / "profiles"),
                          platform("centos-9"), bundled_repos, strict=True)
    with pytest.raises(UnresolvableError) as error:
        strict.image("nova-compute")
    # every unresolved request of the image, at once, with libsolv's reason: the bundled pair cannot
    # install python3-libvirt (AppStream 2025's libvirt needs BaseOS 2025); nova's postgresql and
    # the -devel packages nothing compiles against are dropped in profiles/, so they are not asked for
    message = str(error.value)
    uninstallable = message.index("the repositories have these but cannot install them")
    assert uninstallable < message.index("python3-libvirt ") and "(nova-compute)" in message
    assert "postgresql" not in message and "mariadb-devel" not in message
