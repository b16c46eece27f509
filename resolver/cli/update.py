"""`resolver update`: an errata rebuild plan, the lock against the metadata as it is now."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import InputError
from .common import FORMATTER, Progress, emit, is_strict, load_site, open_repos, target_platforms, warn_unresolved
from .planning import planning_options

EXAMPLES = """examples:
  resolver update --lock resolver.lock                   # what a new erratum rebuilds, and the bytes to pull
  resolver update --lock resolver.lock --format json     # keys: changes, changed_layers, rebuild, pull_bytes, roles
  resolver update --lock resolver.lock --roles roles.yaml   # + per node role (compute: [nova-compute, ...])
  resolver update --lock resolver.lock --write           # and lock the new sets

Without --repos the lock's own repositories are read (a path under the lock's directory, a URL, a
bundled repository); a repository the lock names by a directory's name needs --repos.
exit: 0 the plan said (or written), 2 bad input"""


def register(sub, common: argparse.ArgumentParser) -> None:
    update = sub.add_parser("update", parents=[common, planning_options()],
                            help="errata rebuild plan: changed packages, layers, images to rebuild, bytes to pull",
                            epilog=EXAMPLES, formatter_class=FORMATTER)
    update.add_argument("--roles", type=Path, default=None, metavar="FILE",
                        help="YAML: node role -> its deployed images (compute: [nova-compute, nova-libvirt]); the "
                             "bytes a node of each role pulls, each layer once")
    update.add_argument("--write", action="store_true", help="write the new lock to --lock (atomically)")
    update.set_defaults(run=run_update)


def load_roles(path: Path, images: Mapping[str, object]) -> dict[str, list[str]]:
    """``role: [image, ...]``, each image one of the plan's, with file:line for anything else."""
    from ..inputs.yamlfile import line_of, load_yaml

    data = load_yaml(path, "roles file")
    if not isinstance(data, Mapping) or not data:
        raise InputError(f"{path}: a roles file maps each node role to a list of images (compute: [nova-compute])")
    roles = {}
    for role, names in data.items():
        where = f"{path}:{line_of(data, role, 1)}"
        if not isinstance(names, Sequence) or isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise InputError(f"{where}: role {role!r}: write a list of image names")
        unknown = [n for n in names if n not in images]
        if unknown:
            raise InputError(f"{where}: role {role!r}: {', '.join(map(repr, unknown))} is not an image of the plan "
                             f"({', '.join(sorted(images))})")
        roles[str(role)] = list(names)
    return roles


def run_update(args: argparse.Namespace) -> int:
    from ..files import check_writable
    from ..lock import read_lock, write_lock
    from ..lock_update import update_plan
    from ..metadata.repo_config import locked_specs
    from ..planned_tree import plan_whole_tree
    from ..resolving.resolution import TreeResolver

    old = read_lock(args.lock)
    if args.write:
        check_writable(args.lock)
    specs = None if args.repos else locked_specs(old.repos, args.lock.absolute().parent, args.lock)
    site = load_site(args, specs=specs)
    target = target_platforms(args)[0]
    progress = Progress(args, total=len(site.tree.deployed()))
    try:
        with open_repos(args, site.repos) as repos:
            resolver = TreeResolver(site.tree, site.profiles, target, repos, is_strict(args), args.cache_dir,
                                    progress, choose_providers=not args.no_provider_choice)
            planned = plan_whole_tree(resolver, progress, str(args.lock) if args.write else "the rebuild plan",
                                      args.lock, site.overrides_json(), args.tree, args.exact_limit,
                                      python=args.python or old.python is not None, cache_dir=args.cache_dir)
    finally:
        progress.stop()
    fresh, plan, wheels = planned.lock, planned.result.plan, planned.wheels
    layer_bytes = {name: image.layer_size + image.overhead
                   + (wheels.images[name].size if wheels and name in wheels.images else 0)
                   for name, image in plan.images.items()}
    roles = load_roles(args.roles, fresh.layers) if args.roles else None
    result = update_plan(old, fresh, layer_bytes, roles)
    if args.write:
        write_lock(fresh, args.lock)
    data = {**result.to_json(), "lock": str(args.lock), "written": args.write}
    emit(args, data, update_text(result, args.lock, args.write))
    warn_unresolved(args, planned.result.unresolved)
    return 0


def update_text(result, lock: Path, written: bool) -> str:
    lines = [f"{c.image}: {c.name} {c.old or '(new)'} -> {c.new or '(removed)'}"
             + (" (the same NEVRA, another file)" if c.old == c.new else "") for c in result.changes]
    if not lines:
        lines = [f"{lock}: nothing changed; nothing to rebuild"]
    else:
        lines += [f"layers that change: {', '.join(result.changed_layers)}",
                  f"rebuild: {', '.join(result.rebuild)}"]
        lines += [f"  pull {name}: {size / 1e6:.1f} MB" for name, size in result.pull_bytes.items() if size]
        lines += [f"  role {role}: {v['pull_bytes'] / 1e6:.1f} MB ({', '.join(v['images'])})"
                  for role, v in result.roles.items()]
        lines.append("(pull: the planned installed bytes of the rebuilt layers, uncompressed; "
                     "a registry's compressed blobs are smaller)")
    if result.removed:
        lines.append(f"images no longer planned: {', '.join(result.removed)}")
    lines.append(f"wrote {lock}" if written else f"{lock} unchanged (--write locks the new sets)")
    return "\n".join(lines)
