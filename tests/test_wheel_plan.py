"""The wheel plan against an index: a PEP 691 JSON index on 127.0.0.1 serving real wheels made
here (the same protocol and code path as pypi.org). pip_packages pinned like a project's
requirements, markers for the target, the closures kept between runs and when they are not;
closures compared with pip's own resolver (``pip install --dry-run --report``) on the same index,
Requires-Python, backtracking and conflicts with the constraints."""

import hashlib
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from resolver.containers.pypi import SIMPLE_URL, PyPI
from resolver.containers.python_target import CONSTRAINTS_DIR, TargetPython, read_constraints
from resolver.containers.wheel_closure import WheelResolver
from resolver.containers.wheels import python_roots
from resolver.errors import PyPIError, WheelPlanError
from resolver.inputs.image_tree import PipRequirement, load_images
from resolver.inputs.profiles import Release, load_profiles

from .conftest import ROOT

CP311 = TargetPython((3, 11), (2, 36))
#: project -> version -> Requires-Dist lines
PROJECTS = {
    "service": {"1.0": ["alpha", "beta>=2"]},
    "alpha": {"1.0": [], "2.0": []},
    "beta": {"2.0": ["gamma"], "2.1": ["gamma", 'delta; python_version < "3"']},
    "gamma": {"0.5": []},
    "delta": {"1.0": []},
}


def make_wheel(directory, name, version, requires, requires_python=None, tag="py3-none-any"):
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", f"VERSION = {version!r}\n")
        wheel.writestr(f"{name}-{version}.dist-info/METADATA",
                       f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                       + (f"Requires-Python: {requires_python}\n" if requires_python else "")
                       + "".join(f"Provides-Extra: {extra}\n" for extra in sorted(
                           {m for line in requires for m in re.findall(r'extra == "([^"]+)"', line)}))
                       + "".join(f"Requires-Dist: {line}\n" for line in requires))
        wheel.writestr(f"{name}-{version}.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n")
        wheel.writestr(f"{name}-{version}.dist-info/RECORD", "")
    return path


class _JSONIndex(http.server.SimpleHTTPRequestHandler):
    """A project's page (index.html) as PEP 691 JSON, as pypi.org answers pip and resolver."""

    def guess_type(self, path):
        return "application/vnd.pypi.simple.v1+json" if str(path).endswith("index.html") else super().guess_type(path)

    def log_message(self, *args):
        pass


def serve(served, projects):
    """Serve ``projects`` (name -> version -> Requires-Dist lines, or a dict with ``requires``,
    ``python`` (the wheel's Requires-Python), ``index_python`` (the index's requires-python) and
    ``tags``) from ``served``: the running server and the simple index's URL."""
    (served / "files").mkdir(parents=True)
    for name, versions in projects.items():
        files = []
        for version, release in versions.items():
            release = release if isinstance(release, dict) else {"requires": release}
            for tag in release.get("tags", ["py3-none-any"]):
                wheel = make_wheel(served / "files", name, version, release["requires"], release.get("python"), tag)
                entry = {"filename": wheel.name, "url": f"../../files/{wheel.name}",
                         "hashes": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}}
                if release.get("index_python"):
                    entry["requires-python"] = release["index_python"]
                files.append(entry)
        (served / "simple" / name).mkdir(parents=True)
        (served / "simple" / name / "index.html").write_text(json.dumps({"meta": {"api-version": "1.0"},
                                                                         "name": name, "files": files}))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_JSONIndex, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/simple"


@pytest.fixture
def index(tmp_path):
    """The served tree (simple/NAME/index.html holds the JSON listing) and its URL."""
    server, url = serve(tmp_path / "served", PROJECTS)
    yield url, server
    server.shutdown()
    server.server_close()


def resolver_on(url, cache, constraints):
    return WheelResolver(PyPI(cache, url), CP311, constraints, "constraints-digest")


def keys(dists):
    return [d.key for d in dists]


def test_pip_packages_are_pinned_like_the_projects_requirements(index, tmp_path):
    """A pip_packages entry takes the constraints' pin, else the newest release that fits; its
    requirements follow, with markers evaluated for the target's Python."""
    url, _ = index
    resolver = resolver_on(url, tmp_path / "cache", {"alpha": "1.0"})
    roots = [Release("service", "1.0"), PipRequirement("beta>=2", "the site's client", "site.yaml:4"),
             PipRequirement('delta; python_version < "3"', "only on Python 2", "site.yaml:5")]
    got = keys(resolver.closure(roots))
    assert got == ["alpha==1.0", "beta==2.1", "gamma==0.5", "service==1.0"]  # no delta: its markers exclude it
    assert {d.name: d.pinned_by for d in resolver.closure(roots)} == \
        {"alpha": "constraints", "beta": "newest", "gamma": "newest", "service": "release"}


def test_a_pip_package_the_constraints_exclude_is_an_error_naming_the_override(index, tmp_path):
    url, _ = index
    resolver = resolver_on(url, tmp_path / "cache", {"alpha": "1.0"})
    with pytest.raises(WheelPlanError, match=r"site.yaml:7 \(pip_packages\) requires alpha==2.0, but the "
                                             r"upper-constraints pin alpha===1.0"):
        resolver.closure([PipRequirement("alpha==2.0", "the site's pin", "site.yaml:7")])


def test_closures_are_kept_offline_until_a_listing_they_read_changes(index, tmp_path):
    url, server = index
    cache = tmp_path / "cache"
    roots = [Release("service", "1.0")]
    first = resolver_on(url, cache, {})
    expected = keys(first.closure(roots))
    first.save()
    server.shutdown()  # the index is gone, and so are the downloaded archives
    server.server_close()
    shutil.rmtree(cache / "pypi" / "files")
    again = resolver_on(url, cache, {})
    assert keys(again.closure(roots)) == expected
    kept = {d.name: d for d in again.closure(roots)}
    assert kept["service"].metadata.requires_dist == ("alpha", "beta>=2") and kept["alpha"].pinned_by == "newest"
    # another constraints file is another set of kept closures
    with pytest.raises(PyPIError, match="cannot download"):
        WheelResolver(PyPI(cache, url), CP311, {}, "other-constraints").closure(roots)
    # a listing fetched again (here: changed in the cache) makes the closures that read it stale
    listing = cache / "pypi" / "index" / "gamma.json"
    listing.write_text(json.dumps(json.loads(listing.read_text()), indent=1))
    with pytest.raises(PyPIError, match="cannot download"):
        resolver_on(url, cache, {}).closure(roots)


CP39 = TargetPython((3, 9), (2, 34))
#: what pip's resolver and ours must agree on: Requires-Python on the index and in a wheel's
#: metadata only, a conflict only backtracking solves (kappa first: kappa 2.0, so omega 2.0
#: cannot stay), extras, markers, a constraint, the target's own wheel among others
WHOLE = {
    "service": {"1.0": ["alpha", "zeta", "omega", "kappa>=2", "gamma[fast]", "beta", "cext",
                        'delta; python_version < "3.9"']},
    "alpha": {"1.0": [], "2.0": {"requires": [], "python": ">=3.10", "index_python": ">=3.10"}},
    "zeta": {"1.0": [], "2.0": {"requires": [], "python": ">=3.10"}},
    "omega": {"1.0": ["kappa"], "2.0": ["kappa<2"]},
    "kappa": {"1.0": [], "2.0": []},
    "gamma": {"1.0": ['speedy; extra == "fast"']},
    "speedy": {"1.0": [], "2.0": []},
    "beta": {"2.0": [], "2.1": []},
    "cext": {"1.0": {"requires": [], "tags": ["cp39-cp39-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_17_x86_64",
                                              "cp39-cp39-manylinux_2_35_x86_64"]}},
    "delta": {"1.0": []},
}
WHOLE_CONSTRAINTS = {"beta": "2.0", "speedy": "1.0"}


@pytest.fixture
def whole_index(tmp_path):
    server, url = serve(tmp_path / "served", WHOLE)
    yield url
    server.shutdown()
    server.server_close()


def interpreter(target):
    """A CPython of the target's version: pip checks a wheel's Requires-Python against the Python it
    runs on (``--python-version`` sets only the tags), so pip runs on one. Skipped where there is none."""
    wanted = f"{target.version[0]}.{target.version[1]}"
    if sys.version_info[:2] == target.version:
        return sys.executable
    found = [*map(str, sorted(Path.home().glob(f".pyenv/versions/{wanted}.*/bin/python{wanted}"))),
             shutil.which(f"python{wanted}")]
    for python in filter(None, found):  # (a pyenv shim on PATH may refuse to run)
        if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return python
    pytest.skip(f"no CPython {wanted} with pip on this machine to run pip's resolver on")


def constraints_file(constraints, tmp_path):
    (tmp_path / "constraints.txt").write_text("".join(f"{n}==={v}\n" for n, v in constraints.items()))
    return tmp_path / "constraints.txt"


def pip_resolves(url, roots, constraints, target, tmp_path):
    """pip's own answer (``pip install --dry-run --report``, pip on a CPython of the target's
    version) for ``target`` under the constraints file: name -> (version, file)."""
    version = f"{target.version[0]}.{target.version[1]}"
    platforms = [arg for platform in dict.fromkeys(t.platform for t in target.tags if t.platform != "any")
                 for arg in ("--platform", platform)]  # every one the target accepts, best first
    done = subprocess.run(  # --isolated: no pip.conf or PIP_* of the host (find-links, another index)
        [interpreter(target), "-m", "pip", "--isolated", "install", "--dry-run", "--quiet", "--report", "-",
         "--ignore-installed",
         "--no-cache-dir", "--disable-pip-version-check", "--target", str(tmp_path / "target"),
         "--index-url", url, "-c", str(constraints),
         "--python-version", version, "--implementation", "cp", "--abi", f"cp{version.replace('.', '')}",
         *platforms, "--only-binary", ":all:",
         *roots], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {canonicalize_name(item["metadata"]["name"]): (item["metadata"]["version"],
                                                          item["download_info"]["url"].rsplit("/", 1)[1])
            for item in json.loads(done.stdout)["install"]}


@pytest.mark.parametrize("target", [CP39, CP311], ids=["cp39", "cp311"])
def test_closures_are_the_ones_pips_resolver_installs(whole_index, tmp_path, target):
    """The same index, roots, constraints and target: every name, version and file agree with pip."""
    resolver = WheelResolver(PyPI(tmp_path / "cache", whole_index), target, WHOLE_CONSTRAINTS, "digest")
    ours = {d.name: (d.version, d.file.filename) for d in resolver.closure([Release("service", "1.0")])}
    assert ours == pip_resolves(whole_index, ["service==1.0"], constraints_file(WHOLE_CONSTRAINTS, tmp_path), target,
                                tmp_path)


def test_a_shipped_images_venv_is_the_one_pip_installs_from_pypi(tmp_path):
    """The shipped placement-api (openstack-placement 13.0.1, 82 wheels) under upper-constraints
    2025.1 for CPython 3.9 on glibc 2.34, on pypi.org itself: every name, version and file is the
    one pip's resolver installs (both download what they read: a few minutes cold)."""
    tree, profiles = load_images(ROOT / "images"), load_profiles(ROOT / "profiles")
    roots = python_roots(tree, profiles)
    wanted = [r for image in [*tree.ancestors("placement-api"), "placement-api"] for r in roots.get(image, ())]
    constraints = CONSTRAINTS_DIR / "upper-constraints-2025.1.txt"
    resolver = WheelResolver(PyPI(tmp_path / "cache"), CP39, read_constraints("2025.1", CP39), "digest")
    ours = {d.name: (d.version, d.file.filename) for d in resolver.closure(wanted)}
    pip = pip_resolves(SIMPLE_URL, [r.requirement if isinstance(r, PipRequirement) else str(r) for r in wanted],
                       constraints, CP39, tmp_path)
    assert len(ours) > 50 and ours == pip


def test_a_cpython_39_target_never_gets_a_release_that_requires_a_newer_python(whole_index, tmp_path):
    """alpha 2.0 says Requires-Python >=3.10 on the index, zeta 2.0 in its metadata only: CPython
    3.9 gets their 1.0, 3.11 their 2.0."""
    def pins(target):
        resolver = WheelResolver(PyPI(tmp_path / target.name, whole_index), target, {}, "digest")
        return {d.name: d.version for d in resolver.closure([Requirement("alpha"), Requirement("zeta")])}

    assert pins(CP39) == {"alpha": "1.0", "zeta": "1.0"}
    assert pins(CP311) == {"alpha": "2.0", "zeta": "2.0"}
    with pytest.raises(WheelPlanError, match=r"zeta==2.0 requires Python >=3.10, but the target is CPython 3.9"):
        WheelResolver(PyPI(tmp_path / "pinned", whole_index), CP39, {}, "digest").closure([Requirement("zeta==2.0")])


def test_a_conflict_only_backtracking_solves(whole_index, tmp_path):
    """kappa>=2 with omega, whose newest release needs kappa<2: omega goes back to 1.0."""
    resolver = WheelResolver(PyPI(tmp_path / "cache", whole_index), CP39, {}, "digest")
    got = {d.name: d.version for d in resolver.closure([Requirement("kappa>=2"), Requirement("omega")])}
    assert got == {"kappa": "2.0", "omega": "1.0"}


def test_a_pinned_release_against_the_constraints_is_an_error_naming_both(whole_index, tmp_path):
    resolver = WheelResolver(PyPI(tmp_path / "cache", whole_index), CP39, WHOLE_CONSTRAINTS, "digest")
    with pytest.raises(WheelPlanError, match=r"nova's venv: the project's pinned release requires beta==2.1, "
                                             r"but the upper-constraints pin beta===2.0"):
        resolver.closure([Release("beta", "2.1")], what="nova's venv")
    # a requirement of a release against the constraints: who asks, and the pin
    with pytest.raises(WheelPlanError, match=r"omega==2.0 requires kappa<2, but the upper-constraints pin kappa===2.0"):
        WheelResolver(PyPI(tmp_path / "other", whole_index), CP39, {"kappa": "2.0"}, "digest").closure(
            [Release("omega", "2.0")])
