"""The plan and the lock on the shipped tree and the bundled CS9 metadata."""

import json

from resolver.plan import plan_layers
from resolver.resolution import plan_inputs

from .conftest import run_cli


def test_strict_plan_on_real_metadata(tree_resolver):
    inputs = plan_inputs(tree_resolver)
    plan = plan_layers(inputs.shape, inputs.needs, inputs.sizes, "strict", headers=inputs.headers)
    for name, needed in inputs.needs.items():
        assert plan.images[name].content == needed  # exactly what it needs: no bloat, nothing missing
    assert plan.bloat == 0 and plan.total_set_size >= plan.lower_bound
    # nova-conductor/-scheduler need exactly nova-base's set: their layers are empty (nova-api adds httpd)
    assert not plan.images["nova-conductor"].layer_packages
    assert plan.images["nova-base"].content == inputs.needs["nova-conductor"]
    # what every deployed image needs sits in base, once
    everywhere = frozenset.intersection(*inputs.needs.values())
    assert everywhere and everywhere <= plan.images["base"].layer_packages


def test_plan_json_contract_and_lock_round_trip(tmp_path):
    done = run_cli("plan", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"total_set_size", "lower_bound", "bloat", "images"} <= set(data)
    nova = data["images"]["nova-compute"]
    assert {"parent", "layer_request", "layer_packages", "layer_size", "image_size", "deployed"} <= set(nova)
    assert set(nova["layer_request"]) <= set(nova["layer_packages"])

    lock = tmp_path / "resolver.lock"
    assert run_cli("lock", "--lock", str(lock)).returncode == 0
    locked = json.loads(lock.read_text())
    layer = locked["images"]["nova-compute"]["packages"]
    assert {p["name"] for p in layer} == set(nova["layer_packages"])
    assert all(p["checksum"].startswith("sha256:") for p in layer)
    assert run_cli("plan", "--verify-lock", "--lock", str(lock)).returncode == 0

    # a lock whose sets the metadata no longer gives: say what changed
    layer[0]["evr"] = "0:0.1-1.el9"
    lock.write_text(json.dumps(locked))
    stale = run_cli("plan", "--verify-lock", "--lock", str(lock))
    assert stale.returncode == 2
    assert f"nova-compute: {layer[0]['name']} 0:0.1-1.el9" in stale.stderr and "resolver lock" in stale.stderr

    # a truncated lock
    lock.write_text(lock.read_text()[:500])
    truncated = run_cli("plan", "--verify-lock", "--lock", str(lock))
    assert truncated.returncode == 2 and "truncated" in truncated.stderr and "Traceback" not in truncated.stderr


def test_lock_is_written_atomically(tmp_path):
    lock = tmp_path / "resolver.lock"
    lock.write_text("previous lock")
    bad = run_cli("lock", "--lock", str(lock), "--platform", "centos9")  # fails before writing
    assert bad.returncode == 2
    assert lock.read_text() == "previous lock"
    assert [p.name for p in tmp_path.iterdir()] == ["resolver.lock"]  # no temporary left behind
