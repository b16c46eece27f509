"""The wheel plan against an index: a PEP 691 JSON index on 127.0.0.1 serving real wheels made
here (the same protocol and code path as pypi.org). pip_packages pinned like a project's
requirements, markers for the target, the closures kept between runs and when they are not."""

import hashlib
import http.server
import json
import shutil
import threading
import zipfile
from functools import partial

import pytest

from resolver.containers.pypi import PyPI
from resolver.containers.python_target import TargetPython
from resolver.containers.wheel_closure import WheelResolver
from resolver.errors import PyPIError, WheelPlanError
from resolver.inputs.image_tree import PipRequirement
from resolver.inputs.profiles import Release

CP311 = TargetPython((3, 11), (2, 36))
#: project -> version -> Requires-Dist lines
PROJECTS = {
    "service": {"1.0": ["alpha", "beta>=2"]},
    "alpha": {"1.0": [], "2.0": []},
    "beta": {"2.0": ["gamma"], "2.1": ["gamma", 'delta; python_version < "3"']},
    "gamma": {"0.5": []},
    "delta": {"1.0": []},
}


def make_wheel(directory, name, version, requires):
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", f"VERSION = {version!r}\n")
        wheel.writestr(f"{name}-{version}.dist-info/METADATA",
                       f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                       + "".join(f"Requires-Dist: {line}\n" for line in requires))
    return path


@pytest.fixture
def index(tmp_path):
    """The served tree (simple/NAME/index.html holds the JSON listing) and its URL."""
    served = tmp_path / "served"
    (served / "files").mkdir(parents=True)
    for name, versions in PROJECTS.items():
        files = []
        for version, requires in versions.items():
            wheel = make_wheel(served / "files", name, version, requires)
            files.append({"filename": wheel.name, "url": f"../../files/{wheel.name}",
                          "hashes": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}})
        (served / "simple" / name).mkdir(parents=True)
        (served / "simple" / name / "index.html").write_text(json.dumps({"files": files}))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(http.server.SimpleHTTPRequestHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/simple", server
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
