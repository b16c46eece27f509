"""Mutated locks and cached trees: reading and verifying a mutated lock ends in a result or the
project's own error naming the file, never another exception, in bounded time; a mutated cached
tree is used only when it is a tree over the deployed images (else the search runs again).

Seeds: the lock `resolver lock` writes for the shipped tree, and the cached tree file of the
shipped tree's plan. Mutations: the bytes (``tests/test_fuzz.py``'s ``mutated``) and the JSON
values (a field replaced by a value of another type or an absurd one). ``RESOLVER_FUZZ_EXAMPLES``
sets the cases per test, as for ``tests/test_fuzz.py``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.errors import ResolverError
from resolver.lock import Lock, compare, read_lock
from resolver.planning.plan import TreeShape
from resolver.planning.tree import TreeProblem
from resolver.planning.treeplan import _tree_of

from .conftest import ROOT, run_here
from .test_fuzz import FUZZ, mutated

#: seconds one case may take (a case is one read and compare of a 120 KiB lock: milliseconds)
CASE_SECONDS = 5.0

#: values a field is replaced with: other types, absurd numbers, control characters, nesting
ODD_VALUES = [None, True, 0, -1, 1.5, 10 ** 30, -(10 ** 30), float("inf"), "", "x", "bash\x1b[2J", "a\u2028b",
              "../../etc", [], [1], {}, {"a": 1}, "9" * 50, [[[[[]]]]], "sha256:" + "0" * 64]


@pytest.fixture(scope="module")
def shipped_lock(tmp_path_factory) -> tuple[bytes, Lock]:
    """The lock of the shipped tree as `resolver lock` writes it, and the lock read back (what a
    fresh plan gives: the mutated copies are compared with it)."""
    path = tmp_path_factory.mktemp("shipped-lock") / "resolver.lock"
    done = run_here("lock", "--lock", str(path), "--quiet")
    assert done.returncode == 0, done.stderr
    return path.read_bytes(), read_lock(path)


def _places(data) -> list[tuple]:
    """Every (container, key) of the JSON data, parents first."""
    found, stack = [], [data]
    while stack:
        value = stack.pop()
        keys = list(value) if isinstance(value, dict) else range(len(value)) if isinstance(value, list) else []
        for key in keys:
            found.append((value, key))
            stack.append(value[key])
    return found


@st.composite
def json_mutated(draw, seed: bytes) -> bytes:
    """The seed's JSON with one to three values replaced, removed or repeated."""
    data = json.loads(seed)
    for _ in range(draw(st.integers(1, 3))):
        places = _places(data)
        container, key = places[draw(st.integers(0, len(places) - 1))]
        operation = draw(st.sampled_from(["replace", "remove", "repeat"]))
        if operation == "replace":
            container[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif operation == "remove":
            del container[key]
        elif isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        else:
            container[f"{key}-copy"] = copy.deepcopy(container[key])
    return json.dumps(data).encode()


def _lock_case(path: Path, data: bytes, fresh: Lock) -> None:
    path.write_bytes(data)
    started = time.monotonic()
    try:
        compare(read_lock(path), fresh, path)
    except ResolverError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        assert "\x1b" not in str(error) and "\u2028" not in str(error)
    assert time.monotonic() - started < CASE_SECONDS


@FUZZ
@given(data=st.data())
def test_mutated_locks_read_and_verified(tmp_path_factory, shipped_lock, data):
    seed, fresh = shipped_lock
    mutation = data.draw(st.one_of(mutated([seed], window=None), json_mutated(seed)))
    _lock_case(tmp_path_factory.mktemp("lock") / "resolver.lock", mutation, fresh)


@pytest.fixture(scope="module")
def cached_tree(session_cache) -> tuple[bytes, TreeProblem]:
    """The cached tree of the shipped plan (the session's warm cache made it) and the deployed
    images it must cover."""
    trees = sorted((session_cache / "resolver" / "trees").glob("*.json"))
    assert trees, "the session's plan of the shipped tree caches its tree"
    from resolver.inputs.image_tree import load_images

    deployed = load_images(ROOT / "images").deployed()
    for tree in trees:
        raw = tree.read_bytes()
        if set(deployed) <= json.loads(raw)["tree"]["parents"].keys():
            return raw, TreeProblem({name: frozenset() for name in deployed}, {})
    raise AssertionError("no cached tree of the shipped tree")


def _republished(data: bytes) -> bytes:
    """A mutated tree given a matching digest, as a cache writer would have written it: the
    checks past the digest see it."""
    try:
        tree = json.loads(data)["tree"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return data
    return json.dumps({"sha256": hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest(),
                       "tree": tree}).encode()


@FUZZ
@given(data=st.data(), republish=st.booleans())
def test_mutated_cached_trees_are_used_only_when_they_are_trees(cached_tree, data, republish):
    seed, problem = cached_tree
    mutation = data.draw(st.one_of(mutated([seed]), json_mutated(seed)))
    if republish:
        mutation = _republished(mutation)
    started = time.monotonic()
    tree = _tree_of(mutation, problem)
    if tree is not None:  # a tree over every deployed image, walkable from its roots
        shape = TreeShape(dict(tree.parents), frozenset(problem.needs))
        assert set(shape.top_down()) == set(tree.parents) >= set(problem.needs)
        assert all(shape.path(name)[-1] == name for name in problem.needs)
    assert time.monotonic() - started < CASE_SECONDS


@pytest.mark.parametrize("edit", [
    lambda tree: {**tree, "parents": {**tree["parents"], "keystone": "keystone"}},
    lambda tree: {**tree, "parents": {k: v for k, v in tree["parents"].items() if k != "keystone"}},
    lambda tree: {**tree, "parents": {**tree["parents"], "keystone": "nowhere"}},
    lambda tree: {**tree, "parents": list(tree["parents"])},
    lambda tree: {**tree, "cost": "12"},
    lambda tree: {**tree, "method": 5},
])
def test_a_hand_edited_cached_tree_is_searched_again(own_cache, edit):
    """An edited cached tree, published with a matching digest or not: the plan is the one the
    search gives (it was exit 70 on a list of parents, and a cycle of parents hung the plan)."""
    done = run_here("plan", "--format", "json", "--quiet")
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    for path in (own_cache / "resolver" / "trees").glob("*.json"):
        data = json.loads(path.read_bytes())
        if "keystone" not in data["tree"]["parents"]:
            continue
        edited = edit(data["tree"])
        path.unlink()  # a hard link to the session's cache: replaced, never written in place
        path.write_bytes(_republished(json.dumps({"sha256": data["sha256"], "tree": edited}).encode()))
        for published in (True, False):
            if not published:
                path.unlink()
                path.write_bytes(json.dumps({"sha256": data["sha256"], "tree": edited}).encode())
            done = run_here("plan", "--format", "json", "--quiet")
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == planned
