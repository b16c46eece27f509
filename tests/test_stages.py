"""A site override's steps and module streams in the stage plans, content keys and Containerfiles
(pure: no dnf, no buildah)."""

import pytest

from resolver.containers.containerfile import containerfile
from resolver.containers.stages import StagePlan, content_key, module_layers, stage_plans
from resolver.errors import InputError
from resolver.inputs.image_tree import ImageStep
from resolver.metadata.closure import PackageInfo
from resolver.planning.plan import TreeShape, plan_layers

SHAPE = TreeShape({"base": None, "shared-db": "base", "mariadb": "shared-db", "nova-api": "shared-db",
                   "memcached": "base"}, frozenset({"mariadb", "nova-api", "memcached"}))
BEFORE = ImageStep("mkdir -p /etc/site", "before-packages", "the site's config directory", "site.yaml:9")
AFTER = ImageStep("rm -f /etc/my.cnf.d/auth_gssapi.cnf", "after-packages", "no GSSAPI here", "site.yaml:12")


def test_a_stream_is_enabled_in_the_highest_layer_all_its_images_resolve_with():
    both = module_layers(SHAPE, {"mariadb": ["mariadb:10.11"], "nova-api": ["mariadb:10.11"], "memcached": []})
    assert both == {"shared-db": ("mariadb:10.11",)}  # not in base: memcached did not ask for it
    one = module_layers(SHAPE, {"mariadb": ["mariadb:10.11", "nodejs:20"], "nova-api": [], "memcached": []})
    assert one == {"mariadb": ("mariadb:10.11", "nodejs:20")}
    assert module_layers(SHAPE, {"mariadb": [], "nova-api": [], "memcached": []}) == {}


def package(name):
    return PackageInfo(name, "1.0-1.el9", "x86_64", "baseos", 1000, "sha256:0", "")


def plans(steps, modules=None):
    needs = {"mariadb": frozenset({"bash", "mariadb-server"}), "nova-api": frozenset({"bash", "mariadb"}),
             "memcached": frozenset({"bash", "memcached"})}
    plan = plan_layers(SHAPE, needs, {n: 1000 for need in needs.values() for n in need})
    packages = {n: package(n) for need in needs.values() for n in need}
    return stage_plans(plan, packages, {}, {}, None, steps, modules)


def test_steps_and_streams_reach_the_stage_plans_and_change_only_their_images_keys():
    plain = plans({})
    changed = plans({"mariadb": (BEFORE, AFTER)}, {"shared-db": ("mariadb:10.11",)})
    assert changed["mariadb"].steps == (BEFORE, AFTER) and changed["shared-db"].modules == ("mariadb:10.11",)
    keys = {name: content_key(stage, None, "repos") for name, stage in plain.items()}
    assert content_key(changed["mariadb"], None, "repos") != keys["mariadb"]
    assert content_key(changed["shared-db"], None, "repos") != keys["shared-db"]
    assert content_key(changed["memcached"], None, "repos") == keys["memcached"]


def test_a_before_packages_step_on_the_root_image_is_refused():
    with pytest.raises(InputError, match=r"site.yaml:9: a before-packages step on base, the root image"):
        plans({"base": (BEFORE,)})
    assert plans({"base": (AFTER,)})["base"].steps == (AFTER,)


def test_containerfile_enables_the_streams_and_runs_the_steps_around_the_packages():
    stage = StagePlan("mariadb", "shared-db", True, ("mariadb-server-3:10.11.10-1.module_el9.x86_64",),
                      frozenset({"mariadb-server"}), (), None, 0, steps=(AFTER, BEFORE), modules=("mariadb:10.11",))
    text = containerfile(stage, "0" * 64, platform_id="platform:el9")["Containerfile"]
    lines = text.splitlines()
    install = next(i for i, line in enumerate(lines) if "install" in line)
    assert lines[install].startswith("RUN dnf -y --setopt=module_platform_id=platform:el9 module enable mariadb:10.11 "
                                     "&& dnf -y install ")
    assert lines.index(f"RUN {BEFORE.run}") < install < lines.index(f"RUN {AFTER.run}")
    assert "# site override step (site.yaml:9): the site's config directory" in lines
    root = StagePlan("base", None, False, ("bash-5.1-1.el9.x86_64",), frozenset({"bash"}), (), None, 0,
                     modules=("mariadb:10.11",))
    assert "dnf -y --installroot=/rootfs --releasever=9 --setopt=module_platform_id=platform:el9 module enable " \
           "mariadb:10.11 && dnf -y --installroot=/rootfs --releasever=9 install" \
           in containerfile(root, "0" * 64, platform_id="platform:el9")["Containerfile"]
