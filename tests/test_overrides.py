"""Site overrides: checked like the shipped files (file:line, what exists), applied without
copying profiles/ or images/, and visible in every result (why, packages, plan, lock, diff)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from resolver.errors import InputError, RepoError, UnknownNameError
from resolver.inputs.platforms import platform
from resolver.metadata.repo_config import repo_specs
from resolver.overrides.override_files import override_paths
from resolver.overrides.site import load_site
from resolver.overrides.site_diff import diff_trees
from resolver.planning.treeplan import plan_inputs
from resolver.resolving.resolution import TreeResolver

from .conftest import ROOT, run_here

SITE = """\
images:
  nova-compute:
    reason: instance disks live on the Ceph cluster (RBD)
    profiles:
      nova: +ceph -configdrive
    packages:
      add:
        - {name: lsof, reason: debugging stuck volume detaches}
        - {name: strace, reason: tracing hung QEMU processes}
      drop:
        - {name: e2fsprogs, reason: this site's instances never resize ext filesystems}
  cinder-volume:
    profiles: {cinder: [+ceph]}
add_images:
  - name: cinder-volume-pure
    parent: cinder-volume
    deployed: true
    reason: Pure Storage FlashArray backend
    packages:
      - {name: sg3_utils, reason: FlashArray support diagnostics run sg_inq}
    pip_packages:
      - {name: purestorage, reason: the FlashArray REST client the driver imports}
    steps:
      - {run: mkdir -p /etc/pure, reason: the driver reads its settings there}
"""


def site(tmp_path, text=SITE, name="site.yaml", before=()):
    """The shipped tree with override files ``before`` and then this one applied."""
    path = tmp_path / name
    path.write_text(text)
    return load_site(ROOT / "images", ROOT / "profiles", [*before, path], repo_specs([]))


def error_of(tmp_path, text):
    with pytest.raises(InputError) as caught:
        site(tmp_path, text)
    return str(caught.value)


# ---- checked like the shipped files ---------------------------------------------------------------

def test_unknown_image_names_the_line_and_the_images(tmp_path):
    message = error_of(tmp_path, "images:\n  nova-compuet:\n    profiles: {nova: +ceph}\n")
    assert "site.yaml:2" in message and "'nova-compuet'" in message and "nova-compute" in message


def test_unknown_profile_names_the_line_and_the_defined_profiles(tmp_path):
    with pytest.raises(UnknownNameError) as caught:
        site(tmp_path, "images:\n  nova-compute:\n    profiles:\n      nova: +cepth\n")
    assert "site.yaml:4" in str(caught.value) and "ceph" in caught.value.known and "libvirt" in caught.value.known


def test_unknown_key_names_the_line_and_the_allowed_keys(tmp_path):
    message = error_of(tmp_path, "images:\n  nova-compute:\n    reason: x\n    packges: {add: [bash]}\n")
    assert "site.yaml:4" in message and "'packges'" in message and "packages" in message


def test_unknown_project_and_parent_are_errors(tmp_path):
    assert "unknown project 'nvoa'" in error_of(tmp_path, "images:\n  nova-compute:\n    profiles: {nvoa: +ceph}\n")
    assert "unknown parent image 'cinder-volum'" in error_of(
        tmp_path, "add_images:\n  - {name: x, parent: cinder-volum, reason: r}\n")


def test_a_drop_of_what_another_override_adds_is_an_error(tmp_path):
    adds = tmp_path / "adds.yaml"
    adds.write_text("images:\n  nova-compute:\n    packages:\n      add: [{name: lsof, reason: debugging}]\n")
    with pytest.raises(InputError, match=r"drops\.yaml:4: drops lsof from nova-compute, which .*adds\.yaml:4 adds"):
        site(tmp_path, "images:\n  nova-compute:\n    packages:\n      drop: [{name: lsof, reason: x}]\n",
             "drops.yaml", before=[adds])


def test_disabling_what_another_override_enables_is_an_error(tmp_path):
    first = tmp_path / "a.yaml"
    first.write_text("images:\n  nova-compute:\n    profiles: {nova: +ceph}\n")
    with pytest.raises(InputError, match=r"b\.yaml:3: nova -ceph in nova-compute undoes nova \+ceph at .*a\.yaml:3"):
        site(tmp_path, "images:\n  nova-compute:\n    profiles: {nova: -ceph}\n", "b.yaml", before=[first])


@pytest.mark.parametrize("entry", ['"lsscsi\\n"', '"bash; rm -rf /"', '"a\\u001b[31m"'])
def test_names_pass_the_shipped_name_check(tmp_path, entry):
    message = error_of(tmp_path, "images:\n  nova-compute:\n    packages:\n"
                                 f"      add: [{{name: {entry}, reason: r}}]\n")
    assert "site.yaml:4" in message and "not a package name" in message


def test_every_package_entry_needs_a_reason(tmp_path):
    assert "needs a 'reason'" in error_of(tmp_path, "images:\n  nova-compute:\n    packages:\n      add: [lsof]\n")


def test_steps_and_pip_requirements_are_checked(tmp_path):
    assert "control character" in error_of(
        tmp_path, 'images:\n  base:\n    steps: [{run: "echo a\\necho b", reason: r}]\n')
    assert "from a URL" in error_of(
        tmp_path, "images:\n  base:\n    pip_packages: [{name: 'x @ https://example.com/x.whl', reason: r}]\n")
    assert "not a module stream" in error_of(tmp_path,
                                             "images:\n  mariadb:\n    modules: [{name: mariadb, reason: r}]\n")


def test_duplicate_keys_are_refused_with_their_line(tmp_path):
    assert "site.yaml:3" in error_of(tmp_path, "images:\n  base: {}\n  base: {}\n")


def test_override_paths_flags_then_environment_then_directory(tmp_path, monkeypatch):
    (tmp_path / "overrides").mkdir()
    for name in ("b.yaml", "a.yaml", "notes.txt"):
        (tmp_path / "overrides" / name).write_text("")
    (tmp_path / "env.yaml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert override_paths([], {}) == [Path("overrides/a.yaml"), Path("overrides/b.yaml")]
    assert override_paths([], {"RESOLVER_OVERRIDES": "env.yaml"}) == [Path("env.yaml")]
    assert override_paths(["env.yaml", "overrides"], {"RESOLVER_OVERRIDES": "x"}) == \
        [Path("env.yaml"), Path("overrides/a.yaml"), Path("overrides/b.yaml")]
    with pytest.raises(InputError, match="missing.yaml: no such override file"):
        override_paths(["missing.yaml"], {})


# ---- applied to the tree ----------------------------------------------------------------------------

def test_the_tree_changes_in_place_and_every_change_is_recorded(tmp_path):
    result = site(tmp_path)
    compute = result.tree.spec("nova-compute")
    assert compute.projects["nova"] == ("compute", "libvirt", "ceph")
    assert [p.name for p in compute.packages if p.kind == "override"] == ["lsof", "strace"]
    pure = result.tree.spec("cinder-volume-pure")
    assert pure.parent == "cinder-volume" and pure.deployed
    assert [p.requirement for p in pure.pip_packages] == ["purestorage"]
    assert pure.steps[0].run == "mkdir -p /etc/pure" and pure.steps[0].when == "after-packages"
    kinds = {(o.image, o.kind, o.value) for o in result.applied()}
    assert ("nova-compute", "enable-profile", "nova +ceph") in kinds
    assert ("nova-compute", "disable-profile", "nova -configdrive") in kinds
    assert ("nova-compute", "drop-package", "e2fsprogs") in kinds
    assert ("cinder-volume-pure", "add-image", "cinder-volume-pure (parent cinder-volume)") in kinds
    assert all(o.where.startswith(str(tmp_path / "site.yaml") + ":") for o in result.applied())
    # the shipped files are untouched
    assert "ceph" not in load_site(ROOT / "images", ROOT / "profiles", [], repo_specs([])).tree.spec(
        "nova-compute").projects["nova"]


@pytest.fixture(scope="module")
def site_resolver(tmp_path_factory, bundled_repos):
    result = site(tmp_path_factory.mktemp("site"))
    return TreeResolver(result.tree, result.profiles, platform("centos-9"), bundled_repos, strict=False)


def test_why_names_the_override_for_an_added_package(site_resolver):
    lines = site_resolver.why("cinder-volume-pure", "sg3_utils")
    assert "site.yaml:20" in lines[1] and "FlashArray support diagnostics" in lines[1]


def test_why_names_the_override_that_enabled_a_profile(site_resolver):
    text = "\n".join(site_resolver.why("nova-compute", "ceph-common"))
    # ceph-common is not in CentOS Stream 9 (the Ceph SIG repository has it): the request shows, unresolved
    assert "cannot be resolved" in text and "groups.ceph" in text
    assert "profile ceph enabled by" in text and "site.yaml:5" in text and "Ceph cluster (RBD)" in text


def test_a_drop_removes_the_request_and_why_says_where(site_resolver, tree_resolver):
    assert tree_resolver.image("nova-compute").package("e2fsprogs") is not None
    result = site_resolver.image("nova-compute")
    assert result.package("e2fsprogs") is None and "e2fsprogs" not in [r.name for r in result.requests]
    lines = site_resolver.why("nova-compute", "e2fsprogs")
    assert "site.yaml:11" in lines[0] and "never resize ext filesystems" in lines[0]


def test_a_drop_that_would_leave_the_package_in_the_image_is_an_error(tmp_path, bundled_repos):
    result = site(tmp_path, "images:\n  nova-compute:\n    packages:\n      drop: [{name: openssl, reason: r}]\n")
    resolver = TreeResolver(result.tree, result.profiles, platform("centos-9"), bundled_repos, strict=False)
    with pytest.raises(InputError, match=r"site.yaml:4: openssl stays in nova-compute: its parent nova-base has it"):
        resolver.image("nova-compute")


def test_a_disabled_profile_loses_its_packages(site_resolver, tree_resolver):
    assert "genisoimage" in [r.name for r in tree_resolver.image("nova-compute").requests]
    assert "genisoimage" not in [r.name for r in site_resolver.image("nova-compute").requests]


def test_a_drop_that_matches_no_request_is_an_error(tmp_path, bundled_repos):
    result = site(tmp_path, "images:\n  nova-compute:\n    packages:\n      drop: [{name: bash, reason: r}]\n")
    resolver = TreeResolver(result.tree, result.profiles, platform("centos-9"), bundled_repos, strict=False)
    with pytest.raises(InputError, match=r"site.yaml:4: nova-compute does not request 'bash'.*lsscsi"):
        resolver.image("nova-compute")


def test_diff_shows_what_the_overrides_change_per_image(site_resolver, tree_resolver):
    diffs = {d.image: d for d in diff_trees(tree_resolver, site_resolver)}
    assert diffs["cinder-volume-pure"].status == "added"
    assert [p.name for p in diffs["cinder-volume-pure"].added] == ["sg3_utils", "sg3_utils-libs"]
    compute = diffs["nova-compute"]
    # -configdrive takes genisoimage's provider out, the drop e2fsprogs
    assert {p.name for p in compute.removed} >= {"xorriso", "e2fsprogs"}
    assert {p.name for p in compute.added} >= {"lsof", "strace"}
    assert "ceph-common" in compute.unresolved_added
    assert "nova-api" not in diffs and "keystone" not in diffs  # unchanged images are not listed


# ---- module streams ---------------------------------------------------------------------------------

MARIADB_1011 = "images:\n  mariadb:\n    modules:\n      - {name: 'mariadb:10.11', reason: the cluster runs 10.11}\n"


def test_a_module_stream_gives_the_image_that_streams_mariadb_server(tmp_path, bundled_repos, tree_resolver):
    result = site(tmp_path, MARIADB_1011)
    resolver = TreeResolver(result.tree, result.profiles, platform("centos-9"), bundled_repos, strict=False)
    package = resolver.image("mariadb").package("mariadb-server")
    assert package.evr.startswith("3:10.11.") and ".module_el9" in package.evr
    assert bundled_repos.module_of(package) == "mariadb:10.11"
    # the shipped tree keeps AppStream's non-modular 10.5, and so does every other query afterwards
    shipped = tree_resolver.image("mariadb").package("mariadb-server")
    assert shipped.evr.startswith("3:10.5.") and bundled_repos.module_of(shipped) is None
    after = next(p for p in bundled_repos.resolve(["mariadb-server"]).closure if p.name == "mariadb-server")
    assert after == shipped
    lines = resolver.why("mariadb", "mariadb-server")
    assert "from module stream mariadb:10.11, enabled by" in lines[-1] and "site.yaml:4" in lines[-1]


@pytest.mark.skipif(shutil.which("dnf") is None, reason="the dnf command line is not installed")
def test_the_module_stream_choice_matches_the_dnf_command_line(tmp_path, bundled_repos):
    """`dnf module enable mariadb:10.11` then `dnf install mariadb-server` on the same metadata."""
    base = ["dnf", f"--installroot={tmp_path / 'root'}", "--releasever=9", "--forcearch=x86_64",
            "--setopt=reposdir=/nonexistent", "--setopt=install_weak_deps=False", f"--setopt=cachedir={tmp_path / 'c'}",
            "--nogpgcheck"]
    for spec in repo_specs([]):
        base += [f"--repofrompath={spec.repo_id},{spec.baseurl}", f"--repo={spec.repo_id}"]
    env = {"LC_ALL": "C", "PATH": "/usr/bin:/bin"}
    subprocess.run([*base, "-y", "module", "enable", "mariadb:10.11"], check=True, capture_output=True, env=env)
    done = subprocess.run([*base, "--assumeno", "install", "mariadb-server"], capture_output=True, text=True, env=env)
    row = next(line.split() for line in done.stdout.splitlines() if line.split()[:1] == ["mariadb-server"])
    ours = next(p for p in bundled_repos.resolve(["mariadb-server"], modules=["mariadb:10.11"]).closure
                if p.name == "mariadb-server")
    assert row[2] == ours.evr


def test_an_unknown_stream_names_the_line_and_the_streams(tmp_path, bundled_repos):
    result = site(tmp_path, "images:\n  mariadb:\n    modules: [{name: 'mariadb:10.3', reason: r}]\n")
    with pytest.raises(InputError, match=r"site.yaml:3: no module stream mariadb:10.3.*mariadb:10.11"):
        TreeResolver(result.tree, result.profiles, platform("centos-9"), bundled_repos, strict=False)
    with pytest.raises(RepoError, match="mariadb:10.11"):
        bundled_repos.resolve(["mariadb-server"], modules=["mariadb:10.3"])


def test_a_stream_on_part_of_the_tree_is_a_clear_plan_error(tmp_path, bundled_repos):
    # keystone gets the mariadb client (10.5 without the stream): one name, two versions in the tree
    client = "  keystone:\n    packages:\n      add: [{name: mariadb, reason: the operators' client}]\n"
    result = site(tmp_path, MARIADB_1011 + client)
    resolver = TreeResolver(result.tree, result.profiles, platform("centos-9"), bundled_repos, strict=False)
    with pytest.raises(InputError, match=r"module stream mariadb:10.11 is enabled for mariadb by .*site.yaml:4.*"
                                         r"enable the stream on base"):
        plan_inputs(resolver, resolver.tree.deployed())
    on_base = site(tmp_path, MARIADB_1011.replace("  mariadb:\n", "  base:\n") + client, "base.yaml")
    on_base_resolver = TreeResolver(on_base.tree, on_base.profiles, platform("centos-9"), bundled_repos, False)
    inputs = plan_inputs(on_base_resolver, on_base_resolver.tree.deployed())
    assert inputs.packages["mariadb-server"].evr.startswith("3:10.11.")


# ---- the command line -------------------------------------------------------------------------------

def test_packages_plan_and_lock_say_which_overrides_were_applied(tmp_path):
    (tmp_path / "site.yaml").write_text(SITE)
    done = run_here("packages", "cinder-volume-pure", "--overrides", str(tmp_path / "site.yaml"), "--format", "json")
    assert done.returncode == 0, done.stderr
    applied = json.loads(done.stdout)["overrides"]["applied"]
    assert {(o["image"], o["kind"]) for o in applied} >= {("cinder-volume", "enable-profile"),
                                                          ("cinder-volume-pure", "pip")}
    assert all(o["image"] in ("base", "openstack-base", "cinder-base", "cinder-volume", "cinder-volume-pure", None)
               for o in applied)
    lock = tmp_path / "site.lock"
    done = run_here("lock", "--lock", str(lock), "--overrides", str(tmp_path / "site.yaml"), "--no-provider-choice")
    assert done.returncode == 0, done.stderr
    assert "Site overrides applied:" in done.stdout
    locked = json.loads(lock.read_text())
    assert locked["overrides"]["files"][0]["path"].endswith("site.yaml") and "cinder-volume-pure" in locked["images"]
    (tmp_path / "site.yaml").write_text(SITE.replace("debugging stuck volume detaches", "debugging"))
    done = run_here("plan", "--verify-lock", "--lock", str(lock), "--overrides", str(tmp_path / "site.yaml"),
                   "--no-provider-choice")
    assert done.returncode == 2 and "site overrides changed" in done.stderr


def test_diff_and_why_on_the_command_line(tmp_path):
    (tmp_path / "site.yaml").write_text(SITE)
    done = run_here("diff", "--overrides", str(tmp_path / "site.yaml"), "--format", "json")
    assert done.returncode == 0, done.stderr
    images = {d["image"]: d for d in json.loads(done.stdout)["images"]}
    assert images["cinder-volume-pure"]["status"] == "added"
    assert "e2fsprogs" in [p["name"] for p in images["nova-compute"]["removed"]]
    done = run_here("why", "nova-compute", "ceph-common", "--overrides", str(tmp_path / "site.yaml"))
    assert done.returncode == 0 and "site.yaml:5" in done.stdout


def test_bad_override_file_is_file_line_exit_2(tmp_path):
    (tmp_path / "site.yaml").write_text("images:\n  nova-compute:\n    profiles: {nova: +cepth}\n")
    done = run_here("packages", "nova-compute", "--overrides", str(tmp_path / "site.yaml"))
    assert done.returncode == 2 and "site.yaml:3" in done.stderr and "Traceback" not in done.stderr


def test_the_report_lists_the_overrides_applied(tmp_path):
    from resolver.reporting.report import markdown

    result = site(tmp_path)
    plan = {"tree": "computed", "objective": 1, "objective_lower_bound": 1, "optimum": None, "total_set_size": 1,
            "lower_bound": 1, "ratio": 1.0, "bloat": 0, "overhead": 0, "images": {}, "suggestions": [],
            "overrides": result.overrides_json()}
    text = markdown(plan, [], [], "centos-9")
    assert "## Site overrides" in text and f"`{tmp_path / 'site.yaml'}`" in text
    assert "| nova-compute | enable-profile `nova +ceph` |" in text
    assert "| cinder-volume-pure | pip `purestorage` |" in text


def test_repositories_and_provider_pins_change_for_the_whole_tree(tmp_path):
    baseos = ROOT / "resolver" / "data" / "repos" / "cs9-baseos-osbuild-2022"
    result = site(tmp_path, f"""\
repos:
  remove: [{{id: cs9-appstream-osbuild-2025, reason: this site mirrors AppStream itself}}]
  add:
    - {{id: site-baseos, baseurl: "{baseos}", reason: the site's BaseOS mirror}}
    - {{id: site-appstream, baseurl: "https://mirror.example.com/el9/AppStream/x86_64/os/", reason: mirror}}
providers:
  - {{instead_of: coreutils, use: coreutils-single, reason: the small coreutils}}
""")
    assert [s.repo_id for s in result.repos] == ["cs9-baseos-osbuild-2022", "site-baseos", "site-appstream"]
    pin = next(p for p in result.profiles.defaults.providers if p.instead_of == "coreutils")
    assert pin.use == "coreutils-single" and pin.where.endswith("site.yaml:7")
    assert {o.kind for o in result.tree_wide} == {"remove-repo", "add-repo", "provider"}
    assert "no repodata/repomd.xml" in error_of(
        tmp_path, "repos:\n  add: [{id: x, baseurl: no-such-dir, reason: r}]\n")
    assert "unknown repository 'appstream'" in error_of(tmp_path, "repos:\n  remove: [{id: appstream, reason: r}]\n")
