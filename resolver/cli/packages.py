"""`resolver packages`, `why` and `closure`: one image's package list, one package's chain, and a
plain dnf closure."""

from __future__ import annotations

import argparse

from ..names import package_name
from ..overrides.site import Site
from ..resolving.image_packages import ImagePackages
from ..resolving.resolution import TreeResolver
from ..resolving.unresolved import UnresolvedRequest, count_text, diagnose, grouped_lines
from ..resolving.why import explain
from ..selection import Origin
from .common import (
    FORMATTER,
    Progress,
    announce,
    distribution_text,
    emit,
    is_strict,
    load_site,
    open_repos,
    overrides_text,
    size_text,
    target_platforms,
    warn_unresolved,
)


def register(sub, common: argparse.ArgumentParser) -> None:
    packages = sub.add_parser("packages", parents=[common], help="an image's request list, closure and why",
                              epilog="example: resolver packages nova-compute --format json",
                              formatter_class=FORMATTER)
    packages.add_argument("image")
    packages.set_defaults(run=run_image)
    why = sub.add_parser("why", parents=[common], help="the chain that brings a package into an image",
                         epilog="example: resolver why nova-compute lsscsi", formatter_class=FORMATTER)
    why.add_argument("image")
    why.add_argument("package")
    why.set_defaults(run=run_image)
    closure = sub.add_parser("closure", parents=[common], help="plain dnf closure of names from empty",
                             epilog="example: resolver closure bash --repos DIR_WITH_REPODATA",
                             formatter_class=FORMATTER)
    closure.add_argument("names", nargs="+", metavar="NAME")
    closure.set_defaults(run=run_closure)


def run_image(args: argparse.Namespace) -> int:
    site = load_site(args)
    target = target_platforms(args)[0]
    progress = Progress(args, total=len(site.tree.ancestors(args.image)) + 1)
    try:
        with open_repos(args, site.repos) as repos:
            resolver = TreeResolver(site.tree, site.profiles, target, repos, is_strict(args), args.cache_dir, progress)
            if args.command == "packages":
                result = resolver.image(args.image)
                progress.stop()
                lineage = [*site.tree.ancestors(args.image), args.image]
                emit(args, {**result.to_json(), "overrides": site.overrides_json(lineage)},
                     packages_text(result, resolver, site))
            else:
                answer = explain(resolver, args.image, args.package)
                result = resolver.image(args.image)
                progress.stop()
                emit(args, answer.to_json(), "\n".join(answer.text))
    finally:
        progress.stop()
    warn_unresolved(args, {args.image: result.unresolved})
    return 0


def run_closure(args: argparse.Namespace) -> int:
    for name in args.names:
        package_name(name, "command line")
    target_platforms(args)
    specs = load_site(args, announce_tree=False).repos
    announce(args, f"{distribution_text(specs)}, {'strict' if is_strict(args) else 'best effort'}")
    with open_repos(args, specs) as repos:
        resolution = repos.resolve(args.names)
        unresolved = [UnresolvedRequest(u.name, u.problem, Origin("command-line", "command line"),
                                        diagnose(u.name, repos)) for u in resolution.unresolved]
    data = {
        "request": list(args.names),
        "closure": [p.to_json() for p in resolution.closure],
        "installsize": sum(p.installsize for p in resolution.closure),
        "unresolved": [u.to_json() for u in unresolved],
        "replaced": [{"request": r, "package": p, "reason": t} for r, p, t in resolution.replaced],
    }
    lines = [f"{p.name:40} {p.evr:32} {p.arch:8} {p.repo:28} {size_text(p.installsize):>10}"
             for p in resolution.closure]
    lines.append(f"{len(resolution.closure)} packages, {size_text(data['installsize'])} installed")
    lines += [f"replaced: {request} -> {package}: {text}" for request, package, text in resolution.replaced]
    if unresolved:
        lines += ["unresolved:", *grouped_lines({"": unresolved}, images=False)]
    emit(args, data, "\n".join(lines))
    if is_strict(args):
        return 1 if unresolved else 0
    warn_unresolved(args, {"": unresolved})
    return 0


def packages_text(result: ImagePackages, resolver: TreeResolver, site: Site) -> str:
    repos = ", ".join(spec.repo_id for spec in resolver.repos.specs)
    lines = [f"{result.image} (parent {result.parent or '-'}) for {result.platform} on {repos}", "",
             "Request (this layer, minimal: nothing here is pulled in by another request or the parent):"]
    origins = {r.name: r.origin for r in result.requests}
    lines += [f"  {name:32} <- {origins[name]}" for name in result.minimal_request] or ["  (nothing new)"]
    layer_names = {p.name for p in result.layer}
    lines += ["", f"Closure: {len(result.closure)} packages, {size_text(result.installsize)} installed; "
                  f"this layer {len(result.layer)} packages, {size_text(result.layer_installsize)} (marked *)",
              "  (this image solved alone, with the provider pins of profiles/defaults.yaml; `resolver plan` also "
              "applies the whole tree's provider choices (coreutils-single for coreutils...), so its image size "
              "can be smaller)"]
    for p in result.closure:
        mark = "*" if p.name in layer_names else " "
        lines.append(f" {mark}{p.name:38} {p.evr:30} {p.arch:7} {p.repo:27} {size_text(p.installsize):>9}")
    lines += ["", "Build-only (builder stage, never in this image):"]
    lines += [f"  {r.name:32} <- {r.origin}" for r in result.build_only] or ["  (none)"]
    lines += ["", "Excluded:"]
    lines += [f"  {e.name:32} {e.reason} ({e.origin.detail})" for e in result.excluded] or ["  (none)"]
    if result.overruled:
        lines += ["", "Dropped from one line, requested by another (so requested, not excluded):"]
        lines += [f"  {e.name:32} dropped by {e.origin.detail}; requested by {result.request_of(e.name).origin.detail}"
                  for e in result.overruled]
    upstream = result.upstream_lines()
    if upstream:
        counts = {fate: sum(1 for line in upstream if line.fate == fate)
                  for fate in ("runtime", "build-only", "excluded", "unresolved")}
        lines += ["", "Upstream bindep lines (every line of the image's own projects; --format json lists each): "
                  + ", ".join(f"{count} {fate}" for fate, count in counts.items())]
        reasons: dict[str, int] = {}
        for line in upstream:
            if line.fate == "excluded":
                key = line.reason.split(" (")[0] if line.reason.startswith("not for") else line.reason
                reasons[key] = reasons.get(key, 0) + 1
        lines += [f"  excluded {count:3}: {reason}" for reason, count in sorted(reasons.items())]
    if result.unresolved:
        lines += ["", f"Unresolved: {count_text(len(result.unresolved), 'request')} (skipped, best effort: the "
                      "closure above lacks them and what they need, so its size is incomplete):",
                  *grouped_lines({result.image: result.unresolved}, images=False, full=False)]
    else:
        lines += ["", "Unresolved: none"]
    return "\n".join(lines) + overrides_text(site, [*site.tree.ancestors(result.image), result.image])
