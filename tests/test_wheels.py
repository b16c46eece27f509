"""The service install's planning, without the index: the target's wheel tags, the constraints
read for the target, sdist metadata, the compile-needs check and the venv layer placement."""

import io
import tarfile
import zipfile

import pytest
from packaging.requirements import Requirement

from resolver.containers.pypi import FileMetadata, IndexFile, read_metadata
from resolver.containers.python_target import Dist, TargetPython, read_constraints
from resolver.containers.wheels import (
    CompileNeeds,
    _build_packages,
    compiles,
    load_compile_table,
    python_layers,
    python_roots,
)
from resolver.errors import InputError, WheelPlanError
from resolver.inputs.profiles import _release
from resolver.metadata.closure import PackageInfo
from resolver.planning.plan import TreeShape

CP311 = TargetPython((3, 11), (2, 36))
CP39_EL9 = TargetPython((3, 9), (2, 34))


def package(name, evr):
    return PackageInfo(name, evr, "x86_64", "demo", 1, "sha256:0", "")


def test_target_comes_from_the_planned_python3_and_glibc():
    target = TargetPython.from_packages({"python3": package("python3", "3.9.18-1.el9"),
                                         "glibc": package("glibc", "2.34-100.el9")})
    assert target == CP39_EL9 and target.name == "cp39-manylinux_2_34_x86_64"
    with pytest.raises(WheelPlanError, match="no python3 package"):
        TargetPython.from_packages({"glibc": package("glibc", "2.34-100.el9")})


@pytest.mark.parametrize("filename, cp311, cp39", [
    ("greenlet-3.1.1-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl", True, False),
    ("cryptography-43.0.3-cp39-abi3-manylinux_2_28_x86_64.whl", True, True),
    ("bcrypt-4.0.1-cp36-abi3-manylinux_2_28_x86_64.whl", True, True),
    ("foo-1.0-cp311-cp311-manylinux_2_38_x86_64.whl", False, False),  # needs a newer glibc than the target's
    ("foo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", False, False),
    ("foo-1.0-cp311-cp311-macosx_11_0_arm64.whl", False, False),
    ("six-1.17.0-py2.py3-none-any.whl", True, True),
])
def test_wheels_the_target_can_install(filename, cp311, cp39):
    assert (CP311.wheel_rank(filename) is not None) == cp311
    assert (CP39_EL9.wheel_rank(filename) is not None) == cp39


def test_a_specific_wheel_ranks_before_a_pure_one():
    assert CP311.wheel_rank("x-1-cp311-cp311-manylinux_2_17_x86_64.whl") < CP311.wheel_rank("x-1-py3-none-any.whl")


def test_constraints_are_read_for_the_target_python():
    assert read_constraints("2025.1", CP311)["networkx"] == "3.4.2"
    assert read_constraints("2025.1", CP39_EL9)["networkx"] == "3.2.1"
    assert read_constraints("2025.1", CP311)["python-ldap"] == "3.4.4"
    with pytest.raises(InputError, match="no upper-constraints for series 2099.1"):
        read_constraints("2099.1", CP311)
    with pytest.raises(InputError, match="not a release name"):
        read_constraints("../../etc/passwd", CP311)


def test_release_pins_may_carry_extras():
    release = _release("keystone[ldap]==27.1.0", "profile.yaml")
    assert (release.name, release.version, release.extras, str(release)) == \
        ("keystone", "27.1.0", ("ldap",), "keystone[ldap]==27.1.0")
    with pytest.raises(InputError, match="PyPI pin"):
        _release("keystone[ldap; rm -rf /]==27.1.0", "profile.yaml")


def sdist(tmp_path, files):
    path = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"demo-1.0/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_sdist_metadata_reads_egg_requires_build_system_and_c_sources(tmp_path):
    path = sdist(tmp_path, {
        "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        "demo.egg-info/requires.txt": "pyasn1>=0.3.7\n\n[sasl]\nfoo\n\n[:python_version < \"3.10\"]\nbar\n",
        "pyproject.toml": "[build-system]\nrequires = ['setuptools>=61', 'cython']\n",
        "Modules/ldapmodule.c": "int x;\n", "tests/t_cext.c": "int y;\n"})
    metadata = read_metadata(path)
    assert metadata.requires_dist == ("pyasn1>=0.3.7", 'foo; extra == "sasl"', 'bar; (python_version < "3.10")')
    assert [str(Requirement(r)) for r in metadata.requires_dist]  # every line is a valid requirement
    assert metadata.build_requires == ("setuptools>=61", "cython") and metadata.compiles
    pure = read_metadata(sdist(tmp_path, {"PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
                                          "demo/__init__.py": "x = 1\n"}))
    assert not pure.compiles and pure.build_requires == ("setuptools>=40.8.0",) and pure.py_bytes == 6


def test_wheel_metadata(tmp_path):
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("demo-1.0.dist-info/METADATA", "Name: demo\nRequires-Dist: six\nRequires-Python: >=3.9\n")
        wheel.writestr("demo/__init__.py", "x = 1\n")
    metadata = read_metadata(path)
    assert metadata.requires_dist == ("six",) and metadata.requires_python == ">=3.9" and metadata.py_bytes == 6


def dist(name, version, binary=True, compiles=False, size=1000):
    suffix = "-py3-none-any.whl" if binary else ".tar.gz"
    return Dist(name, version, IndexFile(f"{name}-{version}{suffix}", "https://x", "0" * 64),
                FileMetadata((), None, compiles=compiles, unpacked=size), "constraints")


def test_a_compiled_requirement_needs_its_build_packages_declared_before_any_build():
    table = {"python-ldap": CompileNeeds(("openldap-devel", "cyrus-sasl-devel"), "ldap.h")}
    ldap = dist("python-ldap", "3.4.4", binary=False, compiles=True)
    declared = ["cyrus-sasl-devel", "gcc", "libffi-devel", "openldap-devel", "python3-devel"]
    assert _build_packages("keystone", [ldap], table, declared) == \
        ("cyrus-sasl-devel", "gcc", "openldap-devel", "python3-devel")
    with pytest.raises(WheelPlanError, match=r"compiling python-ldap==3.4.4 needs openldap-devel"):
        _build_packages("keystone", [ldap], table, [p for p in declared if p != "openldap-devel"])
    assert _build_packages("keystone", [], table, []) == ()  # nothing compiled: no compiler


def test_what_the_builder_compiles():
    """An sdist with C sources is compiled, unless the table calls its extension optional (ovs
    builds as pure Python when libopenvswitch is not there, as on CentOS Stream 9)."""
    table = load_compile_table()
    assert table["ovs"].optional and not table["python-ldap"].optional
    assert compiles(dist("python-ldap", "3.4.4", binary=False, compiles=True), table)
    assert not compiles(dist("ovs", "3.5.0", binary=False, compiles=True), table)
    assert not compiles(dist("ldappool", "3.0.0", binary=False), table)  # pure Python
    assert not compiles(dist("lxml", "5.3.0", compiles=True), table)  # a binary wheel is not built


def test_the_shipped_compile_table_names_real_el_packages():
    table = load_compile_table()
    assert table["python-ldap"].packages == ("openldap-devel", "cyrus-sasl-devel")
    assert all(n.endswith("-devel") or n.startswith("pkgconf") for t in table.values() for n in t.packages)


def test_wheels_needed_by_every_service_of_a_subtree_go_in_its_top_image_once():
    shape = TreeShape({"base": None, "openstack-base": "base", "keystone": "openstack-base",
                       "placement-api": "openstack-base", "memcached": "base"},
                      frozenset({"keystone", "placement-api", "memcached"}))
    needs = {"keystone": ["oslo.config==9.7.2", "keystone==27.1.0"],
             "placement-api": ["oslo.config==9.7.2", "openstack-placement==13.0.1"], "memcached": []}
    sizes = {"oslo.config==9.7.2": 500, "keystone==27.1.0": 300, "openstack-placement==13.0.1": 100}
    layers = python_layers(shape, needs, sizes)
    assert layers.images["openstack-base"].layer_packages == {"oslo.config==9.7.2"}
    assert layers.images["keystone"].layer_packages == {"keystone==27.1.0"}
    assert not layers.images["base"].layer_packages and not layers.images["memcached"].content
    assert layers.total_set_size == 900 and layers.bloat == 0


def test_an_images_venv_asks_for_its_releases_then_its_overrides_pip_packages(tmp_path):
    from resolver.demo.distribution import DEMO_DATA
    from resolver.metadata.repo_config import repo_specs
    from resolver.overrides.site import load_site

    site_file = tmp_path / "site.yaml"
    site_file.write_text("images:\n  placement-api:\n    pip_packages:\n"
                         "      - {name: pymemcache, reason: the site caches tokens in memcached}\n")
    site = load_site(DEMO_DATA / "images", DEMO_DATA / "profiles", [site_file], repo_specs([]))
    roots = python_roots(site.tree, site.profiles)
    assert [str(r) for r in roots["keystone"]] == ["keystone[ldap]==27.1.0"]
    release, pip = roots["placement-api"]
    assert str(release) == "openstack-placement==13.0.1"
    assert (pip.requirement, pip.where) == ("pymemcache", f"{site_file}:4")
    assert "base" not in roots and "memcached" not in roots
