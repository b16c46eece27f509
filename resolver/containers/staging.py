"""What `resolver build` and `resolver render` share: the tree planned as `resolver plan` plans it
(one tree computed over RPMs and wheels, zero bloat, the tree's provider choices), the wheel plan
(PyPI, cached), every image's stage plan (with the site overrides' steps and module streams) and content key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import default_cache_dir
from ..inputs.image_tree import ImageTree
from ..inputs.platforms import Platform
from ..inputs.profiles import Profiles
from ..lock import lock_from_plan, lock_text
from ..metadata.repo_config import RepoSpec
from ..metadata.repos import RepoSet
from ..overrides.override_effects import inherited_streams
from ..planning.plan import LayerPlan
from ..planning.treeplan import PlanInputs
from ..resolving.resolution import TreeResolver
from ..resolving.unresolved import UnresolvedRequest
from .kolla import start_contracts, tree_release
from .pypi import PyPI
from .stages import StagePlan, content_keys, module_layers, stage_plans
from .wheels import WheelPlan, plan_tree_with_wheels, python_lock


@dataclass(frozen=True)
class StagedTree:
    specs: tuple[RepoSpec, ...]
    target: Platform
    repos: RepoSet
    inputs: PlanInputs
    stages: dict[str, StagePlan]
    keys: dict[str, str]
    plan: LayerPlan
    wheels: WheelPlan | None
    index: PyPI
    #: each deployed image's requests that did not resolve (--best-effort): warned about at the end
    unresolved: Mapping[str, Sequence[UnresolvedRequest]]
    #: sha256 of the lock this plan gives (`resolver lock`'s text, without the site overrides' record)
    lock_digest: str


def stage_tree(tree: ImageTree, profiles: Profiles, target: Platform, repos: RepoSet, strict: bool,
               cache_dir: Path | None) -> StagedTree:
    """The tree's stage plans and content keys, on open repositories."""
    resolver = TreeResolver(tree, profiles, target, repos, strict, cache_dir, None, choose_providers=True)
    index = PyPI(cache_dir or default_cache_dir())
    whole = plan_tree_with_wheels(resolver, index)
    result, wheels = whole.result, whole.wheels
    declared = set(tree.names())
    shape = result.plan.shape
    modules = module_layers(shape, {n: [str(s) for s in inherited_streams(tree, n)] for n in shape.deployed})
    services = {n: user for n in result.plan.images if n in declared and (user := tree.spec(n).kolla) is not None}
    release = tree_release(profiles.defaults.constraints)
    contracts = start_contracts({n: image.parent for n, image in result.plan.images.items()}, services, release)
    stages = stage_plans(result.plan, result.inputs.packages, result.build_only, result.steps,
                         wheels.images if wheels else None,
                         {n: tree.spec(n).steps for n in result.plan.images if n in declared}, modules, contracts)
    keys = content_keys(stages, json.dumps(repos.digests(), sort_keys=True))
    lock = lock_from_plan(result.plan, result.inputs.packages, resolver.target.name, repos.digests(), result.tree,
                          "none", None, result.unresolved, Path("."), python_lock(wheels) if wheels else None,
                          release.to_json())
    return StagedTree(tuple(repos.specs), target, repos, result.inputs, stages, keys, result.plan, wheels, index,
                      result.unresolved, hashlib.sha256(lock_text(lock).encode()).hexdigest())
