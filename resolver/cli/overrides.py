"""`resolver diff`: what the site overrides change against the shipped tree, per image."""

from __future__ import annotations

import argparse
import contextlib

from ..metadata.repo_config import repo_specs
from ..overrides.site import load_site as load
from ..overrides.site_diff import ImageDiff, diff_trees
from ..resolving.resolution import TreeResolver
from .common import (
    FORMATTER,
    Progress,
    default_dir,
    emit,
    is_strict,
    load_site,
    open_repos,
    overrides_text,
    size_text,
    target_platforms,
)


def register(sub, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "diff", parents=[common], help="what the site overrides change against the shipped tree, per image",
        epilog="examples:\n  resolver diff --overrides site.yaml\n  resolver diff nova-compute --overrides "
               "site.yaml --format json\n\nBoth trees are resolved (each on its repositories) and compared "
               "image by image:\nadded, removed and changed packages, installed size, newly unresolved requests.",
        formatter_class=FORMATTER)
    parser.add_argument("diff_images", nargs="*", metavar="IMAGE", help="only these images (default: every "
                                                                        "image that changes)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args)
    shipped = load(args.images or default_dir("images"), args.profiles or default_dir("profiles"), [],
                   repo_specs(args.repos), args.cache_dir)
    target = target_platforms(args)[0]
    progress = Progress(args)
    try:
        with contextlib.ExitStack() as stack:
            site_repos = stack.enter_context(open_repos(args, site.repos))
            shipped_repos = site_repos if shipped.repos == site.repos else \
                stack.enter_context(open_repos(args, shipped.repos))
            strict = is_strict(args)
            diffs = diff_trees(TreeResolver(shipped.tree, shipped.profiles, target, shipped_repos, strict,
                                            args.cache_dir, progress),
                               TreeResolver(site.tree, site.profiles, target, site_repos, strict, args.cache_dir,
                                            progress),
                               args.diff_images or None)
    finally:
        progress.stop()
    data = {"overrides": site.overrides_json(), "images": [d.to_json() for d in diffs]}
    text = "\n".join(diff_text(d) for d in diffs) if diffs else "The overrides change no image."
    if not site.files:
        text = "No site overrides given (--overrides FILE, $RESOLVER_OVERRIDES or ./overrides/): nothing differs."
    emit(args, data, text + overrides_text(site, []))
    return 0


def diff_text(diff: ImageDiff) -> str:
    after = size_text(diff.installsize_after)
    if diff.installsize_before is None:
        sizes = f"{after} installed"
        counts = f"new image, +{len(diff.added)} packages on its parent"
    else:
        delta = diff.installsize_after - diff.installsize_before
        sizes = f"{size_text(diff.installsize_before)} -> {after} ({'+' if delta >= 0 else '-'}{size_text(abs(delta))})"
        counts = f"+{len(diff.added)} -{len(diff.removed)} ~{len(diff.changed)} packages"
    lines = [f"{diff.image} ({diff.status}, parent {diff.parent or '-'}): {counts}, {sizes}"]
    lines += [f"  override {o.where}: {o.kind} {o.value}: {o.reason}" for o in diff.applied]
    lines += [f"  from parent {o.image}: {o.where}: {o.kind} {o.value}" for o in diff.inherited]
    lines += [f"  + {p.name} {p.evr} ({size_text(p.installsize)})" for p in diff.added]
    lines += [f"  - {p.name} {p.evr} ({size_text(p.installsize)})" for p in diff.removed]
    lines += [f"  ~ {a.name} {a.evr} -> {b.evr}" for a, b in diff.changed]
    lines += [f"  unresolved now: {name}" for name in diff.unresolved_added]
    lines += [f"  resolved now: {name}" for name in diff.unresolved_removed]
    return "\n".join(lines)
