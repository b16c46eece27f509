"""The shipped tree (images/, profiles/) with its Python side, on the bundled CentOS Stream 9 pair,
best effort: `resolver render` writes every image's stages, `plan --python` reports the venv
layers beside the RPM layers, `lock --python` locks their pins; the site overrides' steps,
module streams and pip_packages reach the rendered stages.

The wheel plan (cp39, manylinux_2_34) needs PyPI: the first run downloads the shipped tree's
wheels and sdists (about 200 MB) into the user's cache (``XDG_CACHE_HOME``), as every command
does; later runs read the cache. CI reaches PyPI."""

import json
import os
import re
import shutil

import pytest
import yaml

from resolver.containers.containerfile import KOLLA_FILES
from resolver.containers.pypi import PyPI
from resolver.containers.wheels import python_layers, wheel_closures
from resolver.inputs.image_tree import load_images
from resolver.inputs.platforms import platform
from resolver.inputs.profiles import load_profiles
from resolver.metadata.repo_config import BUNDLED_REPOS_DIR
from resolver.planning.treeplan import plan_tree
from resolver.planning.whole import whole_figures
from resolver.resolving.resolution import TreeResolver

from .conftest import ROOT, run_cli, run_here

SHIPPED = ["--repos", str(BUNDLED_REPOS_DIR / "cs9-baseos-osbuild-2022"),
           "--repos", str(BUNDLED_REPOS_DIR / "cs9-appstream-osbuild-2025"),
           "--images", str(ROOT / "images"), "--profiles", str(ROOT / "profiles"), "--best-effort"]


def render(output, *overrides):
    done = run_here("render", *SHIPPED, "--output", str(output), "--format", "json", *(overrides or ["--no-overrides"]))
    assert done.returncode == 0, done.stderr[-3000:]
    # best effort: the run ends saying what did not resolve (nova-libvirt's libvirt on this pair)
    assert done.stderr.strip().splitlines()[-1].startswith("resolver: warning: "), done.stderr[-3000:]
    assert "did not resolve (best effort): nova-libvirt " in done.stderr
    # the images' directories (Kolla's files, which the root's Containerfile copies, beside them)
    return {path.split("/")[-2] for path in json.loads(done.stdout)["written"]} - {KOLLA_FILES}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    output = tmp_path_factory.mktemp("containerfiles")
    return output, render(output)


@pytest.fixture(scope="module")
def module_cache(session_cache, tmp_path_factory):
    """A cache the module's plans share (a hard-linked copy of the session's): the wheels the
    first downloads, the second reads."""
    cache = tmp_path_factory.mktemp("module-cache") / "resolver"
    shutil.copytree(session_cache / "resolver", cache, copy_function=os.link)
    return cache


@pytest.fixture(scope="module")
def planned(module_cache):
    done = run_here("plan", *SHIPPED, "--python", "--pareto", "--format", "json", "--cache-dir", str(module_cache))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def shipped_deployed():
    return {image["name"] for path in (ROOT / "images").glob("*.yaml")
            for image in yaml.safe_load(path.read_text()) if image.get("deployed")}


def test_the_shipped_tree_renders_a_containerfile_for_every_image(rendered, planned):
    output, images = rendered
    assert images == set(planned["images"]) and shipped_deployed() <= images
    for name in images:
        text = (output / name / "Containerfile").read_text()
        parent = planned["images"][name]["parent"]
        final = text.rsplit("\nFROM ", 1)[1]
        assert final.startswith(f"resolver/{parent}" if parent else "scratch"), name
        assert "-devel-" not in final and " gcc-" not in final, name


def test_every_shipped_image_carries_kollas_start_contract_and_the_oci_labels(rendered):
    """Kolla's files copied where Kolla installs them (byte for byte), its users made with Kolla's
    commands, CMD kolla_start and the venv on PATH in the root, each service's Kolla USER, and the
    OCI labels with the lock's digest in every Containerfile."""
    output, images = rendered
    base = (output / "base" / "Containerfile").read_text()
    assert "COPY --chmod=0755 _kolla/kolla_start /usr/local/bin/kolla_start" in base
    assert "COPY --chmod=0440 _kolla/sudoers /etc/sudoers" in base
    assert "useradd -R /rootfs -l -M --shell /usr/sbin/nologin --uid 42425 --gid 42425 --home-dir " \
           "/var/lib/keystone keystone" in base
    assert 'CMD ["kolla_start"]' in base and "ENV PATH=/var/lib/kolla/venv/bin:" in base
    kolla = ROOT / "resolver" / "data" / "kolla" / "2025.1"
    assert (output / KOLLA_FILES / "kolla_start").read_bytes() == (kolla / "start.sh").read_bytes()
    users = {"keystone": "keystone", "nova-compute": "nova", "memcached": "memcached", "mariadb": "mysql"}
    for image, user in users.items():
        assert f"\nUSER {user}\n" in (output / image / "Containerfile").read_text(), image
    for image in images:
        text = (output / image / "Containerfile").read_text()
        assert f'org.opencontainers.image.title="{image}"' in text, image
        for label in ("version", "created", "revision", "source"):
            assert f"org.opencontainers.image.{label}=" in text, (image, label)
        assert 'io.resolver.lock.sha256="' in text, image


def test_ovs_without_a_cp39_wheel_is_built_without_a_compiler(rendered, planned):
    """ovs 3.5.0 has no cp39 wheel; its C extension needs libopenvswitch, which CentOS Stream 9
    does not ship, and is optional: the builder builds it as pure Python, no gcc, no -devel."""
    output, _ = rendered
    assert "ovs==3.5.0" in planned["python"]["sdists"] and "ovs==3.5.0" not in planned["python"]["compiled"]
    holders = [name for name, image in planned["images"].items() if "ovs==3.5.0" in image["python_wheels"]]
    assert holders
    for name in holders:
        builder = (output / name / "Containerfile").read_text().split("\n# Final stage")[0]
        assert "AS builder" in builder and "pip wheel" in builder
        assert "gcc" not in builder and "-devel" not in builder, name
        assert "ovs==3.5.0 --hash=sha256:" in (output / name / "requirements.txt").read_text()


def test_the_final_stage_installs_the_indexs_wheels_with_the_locks_hashes(rendered, planned):
    """Each venv layer's wheels from the index are installed with --require-hashes from
    install.txt (the lock's sha256 of each); only what the builder made from an sdist is named
    without one, and together they are exactly the layer's pins."""
    output, images = rendered
    with_venv = [name for name in images if (output / name / "requirements.txt").exists()]
    assert with_venv
    for name in with_venv:
        pins = {line.split(" ")[0] for line in (output / name / "requirements.txt").read_text().splitlines()}
        hashed = (output / name / "install.txt").read_text().splitlines()
        assert all(re.fullmatch(r"\S+==\S+ --hash=sha256:[0-9a-f]{64}", line) for line in hashed), name
        final = (output / name / "Containerfile").read_text().split("\n# Final stage")[1]
        install = final[final.index("pip install"):]
        built = set(re.findall(r"--find-links /wheels ((?:\S+==\S+ ?)+)$", install, re.M)[0].split()) \
            if re.search(r"--find-links /wheels \S+==", install) else set()
        assert ("--require-hashes -r /install.txt" in install) == bool(hashed), name
        assert {line.split(" ")[0] for line in hashed} | built == pins, name
        assert not built & {line.split(" ")[0] for line in hashed}, name
        assert built == set(planned["python"]["sdists"]) & pins, name


def test_plan_reports_python_bytes_per_layer_and_totals_with_them(rendered, planned):
    output, _ = rendered
    images = planned["images"]
    assert planned["python"]["target"] == "cp39-manylinux_2_34_x86_64"
    assert planned["python_total"] == sum(image["python_bytes"] for image in images.values()) > 0
    assert planned["total_with_python"] == planned["total_set_size"] + planned["python_total"]
    assert planned["objective_with_python"] == planned["objective"] + planned["python_total"]
    assert planned["python"]["lower_bound"] <= planned["python_total"]
    for name, image in images.items():  # the venv layers the plan reports are the ones render installs
        requirements = output / name / "requirements.txt"
        pins = [line.split(" ")[0] for line in requirements.read_text().splitlines()] if requirements.exists() else []
        assert sorted(pins) == sorted(image["python_wheels"]), name
        assert (image["python_bytes"] > 0) == bool(pins), name
    for name in ("nova-compute", "keystone", "neutron-server"):  # every service's chain holds its venv
        chain, node = 0, name
        while node:
            chain += images[node]["python_bytes"]
            node = images[node]["parent"]
        assert chain > 50e6, name
    assert {k: v for k, v in images["memcached"].items() if k.startswith("python")} == \
        {"python_bytes": 0, "python_wheels": []}


def test_plan_without_python_keeps_the_python_keys_empty():
    done = run_here("plan", *SHIPPED, "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert (data["python"], data["python_total"], data["objective_with_python"]) == (None, None, None)
    assert data["images"]["nova-compute"]["python_bytes"] is None


def test_lock_python_records_the_pins_and_verify_lock_names_a_changed_one(tmp_path, planned):
    lock = tmp_path / "resolver.lock"
    done = run_here("lock", *SHIPPED, "--python", "--lock", str(lock), "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(lock.read_text())
    assert json.loads(done.stdout)["wheels"] == sum(len(p) for p in data["python"]["images"].values())
    pins = {name: [p["name"] + "==" + p["version"] for p in layer] for name, layer in data["python"]["images"].items()}
    assert pins == {name: image["python_wheels"] for name, image in planned["images"].items() if image["python_wheels"]}
    layer = next(iter(data["python"]["images"].values()))
    layer[0]["version"] = "0.0.1"
    lock.write_text(json.dumps(data))
    done = run_here("plan", *SHIPPED, "--python", "--verify-lock", "--lock", str(lock))
    assert done.returncode == 2 and f"wheel {layer[0]['name']} 0.0.1 -> " in done.stderr


def test_site_overrides_steps_streams_and_pip_packages_reach_the_rendered_stages(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("""images:
  base:
    modules: [{name: "mariadb:10.11", reason: the Galera cluster runs MariaDB 10.11}]
  nova-compute:
    steps:
      - {run: rm -f /etc/machine-id, when: after-packages, reason: each host has its own}
      - {run: mkdir -p /etc/ceph, when: before-packages, reason: ceph.conf is mounted here}
  cinder-volume:
    pip_packages: [{name: purestorage, reason: the FlashArray REST client the cinder driver imports}]
""")
    output = tmp_path / "out"
    images = render(output, "--overrides", str(site))
    text = {name: (output / name / "Containerfile").read_text() for name in images}
    # every image resolves with the stream: the root enables it, the others inherit dnf's module state
    assert [name for name in images if "module enable mariadb:10.11" in text[name]] == ["base"]
    assert "mariadb-server-3:10.11." in text["mariadb"]
    lines = (output / "nova-compute" / "Containerfile").read_text().splitlines()
    final = lines.index(next(line for line in lines if line.startswith("FROM ") and " AS " not in line))
    install = next(i for i, line in enumerate(lines) if i > final and line.startswith("RUN dnf -y install"))
    assert final < lines.index("RUN mkdir -p /etc/ceph") < install < lines.index("RUN rm -f /etc/machine-id")
    pins = [line.split(" ")[0] for line in (output / "cinder-volume" / "requirements.txt").read_text().splitlines()]
    assert any(pin.startswith("purestorage==") for pin in pins)


def test_keystone_ships_its_ldap_backend_compiled_in_its_builder(rendered, planned):
    """profiles/keystone.yaml installs keystone[ldap]: python-ldap has no cp39 wheel, so keystone's
    builder compiles it with the build-only packages keystone's bindep declares (gcc, python3-devel,
    openldap-devel, cyrus-sasl-devel) and the final stage installs the wheel, no compiler."""
    output, _ = rendered
    assert "python-ldap==3.4.4" in planned["python"]["compiled"]
    assert "python-ldap==3.4.4" in planned["python"]["needs"]["keystone"]
    holder = next(name for name, image in planned["images"].items() if "python-ldap==3.4.4" in image["python_wheels"])
    builder, final = (output / holder / "Containerfile").read_text().split("\n# Final stage")
    assert all(name in builder for name in ("gcc", "python3-devel", "openldap-devel", "cyrus-sasl-devel"))
    assert "-devel" not in final.split("--mount")[0] and "gcc" not in final


def test_one_tree_over_rpms_and_wheels_counts_the_whole_set(planned, module_cache, bundled_repos):
    """`plan --python`: the tree is computed over RPMs and wheels together, each image's venv is
    exactly its closure, and the whole objective is far below the wheels placed on the tree of
    the RPM sets alone (the baseline). Measured on this tree (with the Kolla contract, the one TLS
    rule and the configuration profiles): one tree 2,480.4 MB, 1.515 x its lower bound of 1,637.2 MB;
    the issue's target of 1.40 x is not reached, so the bound here only guards against a regression."""
    whole, images = planned["whole"], planned["images"]
    assert whole["includes"] == ["rpm", "python"] and whole["rpm_only"] is None and whole["bloat"] == 0
    assert whole["total_set_size"] == planned["total_set_size"] + planned["python_total"]
    assert whole["lower_bound"] == planned["lower_bound"] + planned["python"]["lower_bound"]
    assert whole["objective_lower_bound"] <= whole["objective"] <= 1.55 * whole["objective_lower_bound"]
    for name, needs in planned["python"]["needs"].items():  # a venv layer installs into its parent's venv
        venv, node = [], name
        while node:
            venv += images[node]["python_wheels"]
            node = images[node]["parent"]
        assert sorted(venv) == sorted(needs), name
        assert images[name]["whole_image_size"] > images[name]["image_size"] + sum(
            images[n]["python_bytes"] for n in images if n == name), name
    resolver = TreeResolver(load_images(ROOT / "images"), load_profiles(ROOT / "profiles"), platform("centos-9"),
                            bundled_repos, strict=False, cache_dir=module_cache, choose_providers=True)
    rpm_tree = plan_tree(resolver, check=False)
    items = wheel_closures(resolver.tree, resolver.profiles, rpm_tree.inputs.needs, rpm_tree.inputs.packages,
                           PyPI(module_cache)).items()
    baseline = whole_figures(rpm_tree.plan, rpm_tree.objective_lower_bound,
                             python_layers(rpm_tree.plan.shape, items.needs, items.sizes))
    assert baseline.objective_lower_bound == whole["objective_lower_bound"]
    assert whole["objective"] <= 0.6 * baseline.objective


def test_the_pareto_curve_of_the_whole_set_is_proven_point_by_point(planned):
    """`plan --python --pareto`: the curve places RPMs and wheels on the one tree, each point within
    0.1 % of its proven bound, the objective falling as the bloat budget grows."""
    assert planned["pareto_counts"].startswith("RPMs and wheels")
    points = planned["pareto"]
    assert points[0]["budget"] == 0 and points[0]["bloat"] == 0 and points[-1]["budget"] is None
    assert all(p["proven"] and p["gap"] <= 0.001 for p in points)
    assert all(a["objective"] >= b["objective"] for a, b in zip(points, points[1:]))
    # the zero-bloat point is the plan's placement, counted with the curve's overhead model
    assert points[0]["objective"] >= planned["whole"]["objective"]


def test_plan_text_leads_with_the_whole_figures_or_says_they_are_rpm_only(module_cache):
    done = run_here("plan", *SHIPPED, "--python", "--cache-dir", str(module_cache))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("whole set (RPMs + venv layers): objective ")
    assert "Python MB  whole MB" in done.stdout.splitlines()[2]
    done = run_here("plan", *SHIPPED, "--cache-dir", str(module_cache))
    assert done.stdout.startswith("whole set (RPM only: the venvs were not planned (--python plans them)): ")


def test_without_the_wheel_metadata_the_plan_says_its_figures_are_rpm_only(monkeypatch, own_cache):
    """No index answers and the cache has no listing: the plan is the RPMs', and says why."""
    shutil.rmtree(own_cache / "resolver" / "pypi", ignore_errors=True)
    monkeypatch.setenv("RESOLVER_PYPI_SIMPLE_URL", "http://127.0.0.1:9/simple")
    done = run_cli("plan", *SHIPPED, "--python", "--format", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    whole = json.loads(done.stdout)["whole"]
    assert whole["includes"] == ["rpm"] and whole["rpm_only"].startswith("the wheel metadata cannot be had (")
    assert "127.0.0.1:9" in whole["rpm_only"]
