"""The whole-tree plan: resolve each deployed image once, compute the intermediate layers (or take
the declared tree), place the packages, name the computed intermediates by their content, and
check every layer with dnf: installing its request list on its parent's set gives exactly the
planned set, no more, no less.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, LayerCheckError
from ..files import default_cache_dir, read_bytes, write_atomically
from ..inputs.image_tree import BuildStep
from ..inputs.profiles import ProviderChoice
from ..metadata.closure import PackageInfo, Requirements, is_conditional
from ..overrides.override_effects import inherited_streams, stream_hint
from ..resolving.resolution import TreeResolver
from ..resolving.unresolved import UnresolvedRequest
from .plan import (
    LAYER_BASE_BYTES,
    VENV_BASE_BYTES,
    LayerPlan,
    TreeShape,
    layer_request,
    layered_plan,
    megabytes,
    plan_json,
    plan_layers,
    rpmdb_bytes,
)
from .tree import EXACT_LIMIT, ComputedTree, TreeProblem

if TYPE_CHECKING:
    from .budget import Budget, BudgetSolution, ParetoPoint

TREE_MODES = ("computed", "declared")
#: bump when the tree search changes its answer for the same inputs (cached trees are keyed by it)
_TREE_FORMAT = 3
_NOT_IN_A_NAME = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class PlanInputs:
    """The planner's plain inputs, taken from the resolved deployed images."""

    #: each deployed image's whole resolved set (package names)
    needs: dict[str, frozenset[str]]
    sizes: dict[str, int]
    #: each package's bytes in the rpm database (its header and index rows: ``plan.rpmdb_bytes``)
    headers: dict[str, int]
    packages: dict[str, PackageInfo]
    #: each package's requirements, as names of the packages that can satisfy each
    requires: dict[str, tuple[frozenset[str], ...]]
    #: requirements that different images satisfy with different packages:
    #: (package, requirement) -> the providers in use
    provider_splits: dict[tuple[str, str], tuple[str, ...]]

    def requires_map(self) -> dict[str, set[str]]:
        """package -> the packages of the union that it requires (any provider counts)."""
        return {name: set().union(*alternatives) for name, alternatives in self.requires.items()}


def plan_inputs(resolver: TreeResolver, deployed: Sequence[str]) -> PlanInputs:
    """Resolve the deployed images (settling the provider choices first) and gather their sets;
    on strict repositories every unresolved request of every deployed image is one error."""
    resolver.settle_providers(deployed)
    resolver.check_strict(deployed)
    needs: dict[str, frozenset[str]] = {}
    packages: dict[str, PackageInfo] = {}
    found_in: dict[str, str] = {}
    for name in deployed:
        closure = resolver.closure_of(name)
        for package in closure:
            known = packages.setdefault(package.name, package)
            found_in.setdefault(package.name, name)
            if known != package:
                raise InputError(f"{package.name} resolves to {known.nevra} in {found_in[package.name]} and "
                                 f"{package.nevra} in {name}; "
                                 + (stream_hint(resolver.tree, resolver.repos.module_of,
                                                (found_in[package.name], known), (name, package))
                                    or "pin one in images/ so every image shares it"))
        needs[name] = frozenset(p.name for p in closure)
    # conditional rich dependencies ("(a if b)") hold only where their condition does: the dnf check
    # of every layer covers them
    requirements: dict[str, Requirements] = {
        n: tuple(r for r in resolver.repos.requirements(p) if not is_conditional(r[0])) for n, p in packages.items()}
    # requirements no package of the union satisfies (rich dependencies the provides index does not
    # model) are left to the dnf check of every layer
    requires = {n: tuple(providers & packages.keys() for _, providers in r if providers & packages.keys())
                for n, r in requirements.items()}
    used: dict[tuple[str, str], set[frozenset[str]]] = {}
    choices = {n: [(text, providers) for text, providers in r if len(providers & packages.keys()) > 1]
               for n, r in requirements.items()}  # only requirements with several providers in play
    for need in needs.values():
        for member in need:
            for text, providers in choices[member]:
                used.setdefault((member, text), set()).add(providers & need)
    splits = {key: tuple(sorted(set().union(*sets))) for key, sets in used.items() if len(sets) > 1}
    return PlanInputs(needs, {n: p.installsize for n, p in packages.items()},
                      {n: rpmdb_bytes(p.header_size) for n, p in packages.items()}, packages, requires, splits)


@dataclass(frozen=True)
class OtherItems:
    """What the deployed images hold besides their RPMs (the venv's wheels), for the tree to be
    computed over both: each deployed image's items (names no RPM has: ``name==version``) and
    their installed bytes. The search counts their bytes like an RPM's; its overhead model is the
    rpm database's (a layer of these items alone pays it too: the search's one simplification)."""

    needs: Mapping[str, frozenset[str]]
    sizes: Mapping[str, int]


@dataclass(frozen=True)
class TreePlan:
    """A plan of the whole tree and what it was made from."""

    plan: LayerPlan
    inputs: PlanInputs
    #: "computed" or "declared"
    tree: str
    #: the zero-bloat tree search: "exact", "agglomerative", or None for the declared tree
    method: str | None
    #: objective of the best zero-bloat tree over all trees, when the exact method proved it
    optimum: int | None
    #: a lower bound on any plan's objective: every needed package once, and for every distinct
    #: deployed set one non-empty layer's overhead
    objective_lower_bound: int
    #: the request list of every layer, checked with dnf
    layer_requests: Mapping[str, list[str]]
    providers: list[ProviderChoice]
    build_only: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    steps: Mapping[str, BuildStep | None] = field(default_factory=dict)
    #: the objective of the computed tree (also reported beside a declared tree)
    computed_objective: int | None = None
    budget: Budget | None = None
    #: the budget solve (objective, proven bound, gap), when there is a budget
    solution: BudgetSolution | None = None
    withdrawn: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: the most distinct deployed sets one tree search had, and the exact method's limit
    searched_sets: int = 0
    exact_limit: int = EXACT_LIMIT
    #: each deployed image's requests that did not resolve (best effort): its sets lack them
    unresolved: Mapping[str, tuple[UnresolvedRequest, ...]] = field(default_factory=dict)
    #: the other items the tree was computed with (None: from the RPM sets alone; no optimum is
    #: proven with them: the search's overhead model is the RPMs')
    other: OtherItems | None = None

    @property
    def incomplete(self) -> list[str]:
        """Deployed images whose sets are incomplete: a request of theirs did not resolve."""
        return sorted(name for name, unresolved in self.unresolved.items() if unresolved)

    def to_json(self) -> dict:
        """`resolver plan --format json` (its documented keys are a contract)."""
        suggestions = []
        if self.tree == "declared" and self.computed_objective is not None \
                and self.computed_objective < self.plan.objective:
            saves = self.plan.objective - self.computed_objective
            suggestions.append({"kind": "computed-tree", "saves": saves,
                                "description": f"the computed tree (--tree computed) saves {megabytes(saves)} MB "
                                               "of the objective"})
        splits = [{"package": package, "requirement": text, "providers": list(providers),
                   "description": f"{package} needs {text}: {' or '.join(providers)} in different images"}
                  for (package, text), providers in sorted(self.inputs.provider_splits.items())]
        data = plan_json(
            self.plan, self.layer_requests, tree=self.tree, method=self.method,
            budget=self.budget.describe() if self.budget else "none (strict)",
            optimum=self.optimum, objective_lower_bound=self.objective_lower_bound,
            searched_sets=self.searched_sets, exact_limit=self.exact_limit,
            computed_objective=self.computed_objective,
            solver=None if self.solution is None else {
                "objective": round(self.solution.objective), "bound": round(self.solution.bound),
                "gap": round(self.solution.gap, 6), "proven": self.solution.proven},
            provider_choices=[c.to_json() for c in self.providers],
            providers_withdrawn=[{"instead_of": a, "use": b, "reason": reason}
                                 for (a, b), reason in sorted(self.withdrawn.items())],
            provider_splits=splits)
        data["suggestions"] = suggestions
        for name, image in data["images"].items():
            image["unresolved"] = [u.to_json() for u in self.unresolved.get(name, ())]
        data["incomplete"] = self.incomplete
        return data


def plan_tree(resolver: TreeResolver, tree: str = "computed", exact_limit: int = EXACT_LIMIT,
              budget: Budget | None = None, check: bool = True,
              other: Callable[[PlanInputs], OtherItems | None] | None = None) -> TreePlan:
    """Plan the tree: at zero bloat by the shared-content rule, or exactly within ``budget``.
    ``other``: what the deployed images hold besides their RPMs, given their resolved RPMs (the
    venv's wheels need the planned python3 and glibc): the tree is computed over both, the RPMs
    placed on it here (the other items' placement is the caller's)."""
    if tree not in TREE_MODES:
        raise InputError(f"--tree must be one of {', '.join(TREE_MODES)}, not {tree!r}")
    images = resolver.tree
    deployed = images.deployed()
    if not deployed:
        raise InputError("the image tree has no deployed image (mark the images that run 'deployed: true')")
    inputs = plan_inputs(resolver, deployed)
    more = other(inputs) if other is not None else None
    resolver.reporter.stage("computing the layer tree" + (" (RPMs and wheels)" if more else ""))
    computed = _cached_tree(tree_problem(resolver, inputs, more), exact_limit, resolver.cache_dir,
                            frozenset(more.sizes) if more else frozenset())
    if tree == "declared":
        shape = TreeShape({n: images.spec(n).parent for n in images.names()}, frozenset(deployed))
    else:
        shape = TreeShape(dict(computed.parents), frozenset(deployed))
    solution = None
    if budget is None:
        plan = plan_layers(shape, inputs.needs, inputs.sizes, inputs.headers, inputs.requires)
    else:
        from .budget import place_with_budget

        resolver.reporter.stage(f"placing packages within the bloat budget ({budget.describe()}): integer programme")
        try:
            solution = place_with_budget(shape, inputs.needs, inputs.sizes, budget, LAYER_BASE_BYTES,
                                         inputs.headers, inputs.requires)
        except ValueError as error:
            raise InputError(f"--max-bloat: {error}") from None
        plan = layered_plan(shape, inputs.needs, inputs.sizes, solution.layers, inputs.headers)
    requires = inputs.requires_map()
    requests = {name: layer_request(image.layer_packages, requires) for name, image in plan.images.items()}
    if tree == "computed":
        plan, requests = _named(plan, requests, inputs, more)
    if check:
        requests = check_layers(plan, requests, inputs, resolver)
    kept = {n for n in images.names() if n in plan.images}
    at_computed = plan.objective if tree == "computed" and budget is None else _objective_at(computed, inputs)
    return TreePlan(
        plan=plan, inputs=inputs, tree=tree, method=computed.method if tree == "computed" else None,
        # the RPM figures' optimum: the search's only when it searched the RPMs alone
        optimum=computed.cost if computed.proven and computed.cost == at_computed and not more else None,
        objective_lower_bound=objective_lower_bound(inputs),
        layer_requests=requests, providers=resolver.provider_choices(deployed),
        build_only={n: _build_only(resolver, n, kept) for n in kept},
        steps={n: images.spec(n).build for n in kept},
        computed_objective=at_computed, budget=budget, solution=solution,
        withdrawn=dict(resolver.withdrawn), unresolved={n: resolver.unresolved_of(n) for n in deployed},
        searched_sets=computed.classes, exact_limit=exact_limit, other=more)


def _build_only(resolver: TreeResolver, name: str, kept: set[str]) -> tuple[str, ...]:
    """What the image's builder stage installs: the build-only packages of its requests, less
    those a kept ancestor's builder already had (its artifacts are inherited)."""
    above = next((a for a in reversed(resolver.tree.ancestors(name)) if a in kept), None)
    done = {r.name for r in resolver.chain_selection(above).build_only} if above else set()
    return tuple(r.name for r in resolver.chain_selection(name).build_only if r.name not in done)


def pareto_of(result: TreePlan) -> list[ParetoPoint]:
    """The Pareto curve of objective against total bloat on the plan's tree (each point solved),
    over the RPMs and the other items when the tree was computed with them (the placement's
    overhead model is the RPMs': every non-empty layer rewrites the rpm database, a layer of
    wheels alone too; ``PARETO_COUNTS``)."""
    from .budget import pareto_curve

    inputs, other = result.inputs, result.other
    needs, sizes = inputs.needs, inputs.sizes
    if other is not None:
        needs = {n: need | other.needs.get(n, frozenset()) for n, need in needs.items()}
        sizes = {**sizes, **other.sizes}
    zero_bloat = plan_layers(result.plan.shape, needs, sizes, inputs.headers, inputs.requires)
    return pareto_curve(result.plan.shape, needs, sizes, LAYER_BASE_BYTES, inputs.headers,
                        inputs.requires, zero_bloat.total_set_size)


#: what the Pareto points count, by whether the tree was computed with other items
PARETO_COUNTS = {False: "RPMs (installed bytes, rpm database and dnf state per layer)",
                 True: "RPMs and wheels (installed bytes; the rpm database and dnf state per non-empty layer, "
                       "a layer of wheels alone too: a model above the whole objective's)"}


def tree_problem(resolver: TreeResolver, inputs: PlanInputs, other: OtherItems | None = None) -> TreeProblem:
    """The tree search's input: deployed sets (with ``other``'s items), sizes, the overhead model,
    and the groups the tree keeps (intermediates marked ``keep``, or with a build step or a site
    override's steps, whose effects their descendants inherit)."""
    images = resolver.tree
    groups = {n: images.deployed_below(n) for n in images.names() if not images.spec(n).deployed
              and (images.spec(n).keep or images.spec(n).build or images.spec(n).steps)}
    needs, sizes = inputs.needs, inputs.sizes
    if other is not None:
        needs = {n: need | other.needs.get(n, frozenset()) for n, need in needs.items()}
        sizes = {**sizes, **other.sizes}
    return TreeProblem(needs, sizes, LAYER_BASE_BYTES, inputs.headers, {n: held for n, held in groups.items() if held})


def objective_lower_bound(inputs: PlanInputs) -> int:
    union = set().union(*inputs.needs.values())
    distinct = set(inputs.needs.values())
    return (sum(inputs.sizes[p] for p in union)
            + sum(LAYER_BASE_BYTES + sum(inputs.headers[p] for p in need) for need in distinct if need))


def _objective_at(computed: ComputedTree, inputs: PlanInputs) -> int:
    """The objective of the computed tree's plan with installable intermediates (equal to the
    search's when no provider split made a layer move down)."""
    shape = TreeShape(dict(computed.parents), frozenset(inputs.needs))
    return plan_layers(shape, inputs.needs, inputs.sizes, inputs.headers, inputs.requires).objective


def _cached_tree(problem: TreeProblem, exact_limit: int, cache_dir: Path | None,
                 other: frozenset[str] = frozenset()) -> ComputedTree:
    """The tree search, cached under the digest of everything it reads (same inputs, same tree);
    with ``other`` items (wheels) refined on the whole objective (``refine.py``)."""
    try:
        problem_text = json.dumps({
            "format": _TREE_FORMAT, "exact_limit": exact_limit, "per_layer": problem.per_layer,
            "other": sorted(other),
            "needs": {n: sorted(v) for n, v in sorted(problem.needs.items())},
            "sizes": dict(sorted(problem.sizes.items())), "per_item": dict(sorted(problem.per_item.items())),
            "groups": {n: sorted(v) for n, v in sorted(problem.groups.items())}}, sort_keys=True)
        digest = hashlib.sha256(problem_text.encode()).hexdigest()
        path = (cache_dir or default_cache_dir()) / "trees" / f"{digest}.json"
        if path.is_file():
            cached = _tree_of(read_bytes(path, "cached tree"), problem)
            if cached is not None:
                return cached
    except (OSError, InputError):
        path = None
    from .tree import compute_tree

    try:
        computed = compute_tree(problem, exact_limit)
    except ValueError as error:  # pinned groups that overlap or repeat
        raise InputError(f"images: {error}") from None
    if other:
        from .refine import WholeCost, refine

        parents, cost = refine(computed.parents, problem, WholeCost(problem, other, VENV_BASE_BYTES))
        computed = dataclasses.replace(computed, parents=parents, cost=cost)
    if path is not None:
        tree = computed.to_json()
        digest = hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()
        write_atomically(path, json.dumps({"sha256": digest, "tree": tree}, sort_keys=True))
    return computed


def _tree_of(raw: bytes, problem: TreeProblem) -> ComputedTree | None:
    """A cached tree when its file is whole (its content's digest matches), else None."""
    try:
        data = json.loads(raw)
        if hashlib.sha256(json.dumps(data["tree"], sort_keys=True).encode()).hexdigest() != data["sha256"]:
            return None
        return ComputedTree.from_json(data["tree"], problem.needs.keys())
    except (ValueError, RecursionError, KeyError, TypeError):
        return None


def _named(plan: LayerPlan, requests: Mapping[str, list[str]], inputs: PlanInputs,
           other: OtherItems | None = None) -> tuple[LayerPlan, dict[str, list[str]]]:
    """Computed intermediates get stable names from their content: the layer's two largest
    requests (a layer of ``other`` items alone: its two largest of those, without versions) and a
    digest of every item the image holds (``shared-httpd-mod_ssl-3f2a9c1e``)."""
    requires = inputs.requires_map()
    more = plan_layers(plan.shape, other.needs, other.sizes) if other else None
    renamed: dict[str, str] = {}
    for name, image in plan.images.items():
        if not name.startswith("~"):
            continue
        reach = {r: _reached(r, image.layer_packages, requires) for r in requests[name]}
        largest = sorted(reach, key=lambda r: (-sum(inputs.sizes[p] for p in reach[r]), r))[:2]
        content = sorted(image.content)
        if more is not None:
            own = more.images[name]
            content += sorted(own.content)
            if not largest:
                by_size = other.sizes if other else {}
                largest = [k.split("==")[0] for k in sorted(own.layer_packages, key=lambda k: (-by_size[k], k))[:2]]
        stem = _NOT_IN_A_NAME.sub("-", "-".join(largest).lower().replace("+", "x")).strip("-.") or "empty"
        digest = hashlib.sha256("\n".join(content).encode()).hexdigest()[:8]
        candidate = f"shared-{stem}-{digest}"
        while candidate in renamed.values() or candidate in plan.images:
            candidate += "x"
        renamed[name] = candidate
    parents = {renamed.get(n, n): (renamed.get(p, p) if p else None) for n, p in plan.shape.parents.items()}
    layers = {renamed.get(n, n): image.layer_packages for n, image in plan.images.items()}
    plan = layered_plan(TreeShape(parents, plan.shape.deployed), inputs.needs, inputs.sizes, layers, inputs.headers)
    return plan, {renamed.get(n, n): r for n, r in requests.items()}


def _reached(root: str, layer: frozenset[str], requires: Mapping[str, set[str]]) -> set[str]:
    seen, stack = {root}, [root]
    while stack:
        for nxt in requires.get(stack.pop(), ()):
            if nxt in layer and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _streams_below(plan: LayerPlan, name: str, resolver: TreeResolver) -> list[str]:
    """The module streams the deployed images of a layer's subtree resolve with (they agree:
    plan_inputs refuses one package in two versions)."""
    streams: dict[str, None] = {}
    stack = [name]
    while stack:
        node = stack.pop()
        stack.extend(plan.shape.children(node))
        if node in plan.shape.deployed:
            streams.update((str(s), None) for s in inherited_streams(resolver.tree, node))
    return list(streams)


def check_layers(plan: LayerPlan, requests: Mapping[str, list[str]], inputs: PlanInputs,
                 resolver: TreeResolver) -> dict[str, list[str]]:
    """Install each layer's request list with dnf on its parent's planned set: it must give the
    planned set exactly. Where dnf would choose other providers, the planned ones join the request
    list; a layer still not exact is an error naming the difference."""
    checked: dict[str, list[str]] = {}
    chosen = {c.use for c in resolver.providers} | set(resolver.unified.values())
    layers = sum(1 for image in plan.images.values() if image.layer_packages)
    done = 0
    for name in plan.shape.top_down():
        image = plan.images[name]
        asked = list(requests[name])
        if not image.layer_packages:
            checked[name] = []
            continue
        done += 1
        resolver.reporter.stage(f"checking layer {done}/{layers} with dnf: {name}")
        parent = plan.images[image.parent].content if image.parent else frozenset()
        pinned = [inputs.packages[p] for p in sorted(parent)]
        # the providers the tree chose (coreutils-single...) are asked for by name: the minimal list
        # leaves them out as pulled in, and dnf would pick its own
        asked += sorted(chosen & image.layer_packages - set(asked))
        streams = _streams_below(plan, name, resolver)
        for attempt in range(3):
            got = resolver.repos.resolve(asked, pinned, modules=streams).names()
            if got == image.content:
                break
            if attempt == 0:  # dnf chose other packages: ask for the missing ones by name
                asked += sorted(image.content - got - set(asked))
            elif attempt == 1:  # a name dnf answers with another package (one that obsoletes it): NEVRAs
                exact = {p: inputs.packages[p].nevra for p in image.layer_packages}
                asked = [exact.get(n, n) for n in asked]
        else:
            more, fewer = sorted(got - image.content), sorted(image.content - got)
            raise LayerCheckError(
                f"layer {name} is not installable exactly on {image.parent or 'an empty root'}: dnf "
                f"{'adds ' + ', '.join(more[:8]) if more else ''}{'; ' if more and fewer else ''}"
                f"{'leaves out ' + ', '.join(fewer[:8]) if fewer else ''}. The deployed images satisfy a "
                "requirement with different providers: pin one in profiles/defaults.yaml (providers:)")
        checked[name] = asked
    return checked
