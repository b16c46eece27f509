"""The ``resolver`` command: argument parsing, text/JSON rendering and exit codes.

Exit codes: 0 success; 1 requests that cannot be resolved on strict repositories; 2 input that
cannot be read (a bindep line, a profile, an image tree, a repository), as bindep does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .audit import Finding, audit_file, index_page, project_page, summary_line, unified_patch
from .baselines import resolve_baseline
from .config import ImageTree, Profiles, load_images, load_profiles, package_name
from .errors import BindepParseError, InputError, ResolverError, UnknownNameError
from .files import write_atomically
from .lock import compare, lock_from_plan, read_lock, repo_digests, write_lock
from .plan import plan_json, plan_layers, suggest_tree_changes
from .platforms import DEFAULT_PLATFORM, Platform, known_platforms, platform
from .report import write_report
from .repos import RepoSet, RepoSpec, repo_specs
from .resolution import ImagePackages, TreeResolver, resolve_tree
from .sources import Source, read_bindep

_CHECKOUT = Path(__file__).resolve().parent.parent

EPILOG = """examples:
  resolver images
  resolver packages nova-compute
  resolver packages keystone --platform rocky-9 --format json
  resolver why nova-compute lsscsi
  resolver closure bash coreutils --repos resolver/data/repos/cs9-baseos-osbuild-2022
  resolver packages nova-api --repos /etc/yum.repos.d/centos.repo

With no --repos the bundled CentOS Stream 9 metadata is used (best effort: it is partly
inconsistent, so skipped requests are listed). Named repositories are strict unless
--best-effort is given."""


def _default_dir(name: str) -> Path:
    """``./NAME`` when it exists, else the one in the source checkout."""
    return Path(name) if Path(name).is_dir() else _CHECKOUT / name


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profiles", type=Path, default=None, metavar="DIR",
                        help="per-project profiles (default: ./profiles or the checkout's)")
    common.add_argument("--images", type=Path, default=None, metavar="DIR",
                        help="the image tree (default: ./images or the checkout's)")
    common.add_argument("--platform", action="append", default=None, dest="platforms", metavar="PLATFORM",
                        help=f"target platform for bindep ({', '.join(known_platforms())}; default "
                             f"{DEFAULT_PLATFORM}; audit takes several)")
    common.add_argument("--repos", action="append", default=[], metavar="R",
                        help="a .repo file, or a directory holding repodata/ (repeatable; default: bundled CS9)")
    strictness = common.add_mutually_exclusive_group()
    strictness.add_argument("--best-effort", dest="strict", action="store_false", default=None,
                            help="list unresolvable requests and go on")
    strictness.add_argument("--strict", dest="strict", action="store_true",
                            help="fail on any unresolvable request (default with --repos)")
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--cache-dir", type=Path, default=None, help="download cache (default ~/.cache/resolver)")

    parser = argparse.ArgumentParser(
        prog="resolver", description="bindep-driven package lists and image plans for RPM service containers.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    packages = sub.add_parser("packages", parents=[common], help="an image's request list, closure and why",
                              epilog="example: resolver packages nova-compute --format json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    packages.add_argument("image")
    closure = sub.add_parser("closure", parents=[common], help="plain dnf closure of names from empty",
                             epilog="example: resolver closure bash --repos DIR_WITH_REPODATA",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    closure.add_argument("names", nargs="+", metavar="NAME")
    why = sub.add_parser("why", parents=[common], help="the chain that brings a package into an image",
                         epilog="example: resolver why nova-compute lsscsi",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    why.add_argument("image")
    why.add_argument("package")
    audit = sub.add_parser(
        "audit", parents=[common], help="audit upstream bindep files against the metadata",
        epilog="examples:\n  resolver audit nova keystone\n  resolver audit --all-upstream "
               "--patch patches/ --report docs/audit\n\nexit: 0 no error-level finding, 1 findings, "
               "2 a file could not be read or parsed",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    audit.add_argument("targets", nargs="*", metavar="PROJECT|PATH",
                       help="projects named in profiles/ (default: all of them), bindep files or sdists")
    audit.add_argument("--all-upstream", action="store_true",
                       help="audit every bundled upstream file listed in profiles/upstream/SOURCES.txt")
    audit.add_argument("--patch", type=Path, metavar="DIR", help="write PROJECT.patch (unified diff) per project")
    audit.add_argument("--report", type=Path, metavar="DIR", help="write one Markdown page per project and index.md")
    planning = argparse.ArgumentParser(add_help=False)
    planning.add_argument("--mode", choices=("strict", "relaxed"), default="strict",
                          help="strict: no deployed image gets an RPM it does not need (default); "
                               "relaxed: hoist an RPM when --hoist of an image's deployed descendants need it")
    planning.add_argument("--hoist", type=float, default=0.5, metavar="SHARE",
                          help="relaxed mode: share of deployed descendants that must need an RPM (default 0.5)")
    planning.add_argument("--apply-suggestions", action="store_true",
                          help="plan on the tree with the suggested changes applied")
    planning.add_argument("--no-provider-choice", action="store_true",
                          help="keep dnf's providers (no automatic coreutils-single, curl-minimal... choices)")
    planning.add_argument("--lock", type=Path, default=Path("resolver.lock"), metavar="FILE",
                          help="lock file (default resolver.lock)")
    plan = sub.add_parser("plan", parents=[common, planning], help="layer plan of the whole tree, with totals",
                          epilog="examples:\n  resolver plan\n  resolver plan --mode relaxed --hoist 0.6 "
                                 "--format json\n  resolver plan --apply-suggestions\n  resolver plan "
                                 "--verify-lock   # fail, saying what changed, when resolver.lock is stale",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    plan.add_argument("--verify-lock", action="store_true", help="check the plan still gives the locked sets")
    report = sub.add_parser("report", parents=[common, planning],
                            help="Markdown + SVG report of the plan, with Kolla and TCIB baselines",
                            epilog="example: resolver report --output report/",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("--output", type=Path, default=Path("report"), metavar="DIR")
    sub.add_parser("lock", parents=[common, planning], help="write the lock file (NEVRA per layer), atomically",
                   epilog="example: resolver lock --lock resolver.lock",
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    build = sub.add_parser(
        "build", parents=[common], help="build the tree: multi-stage, build-only packages never in a final image",
        epilog="examples:\n  resolver build                      # the demo tree on the demo distribution\n"
               "  resolver build keystone --format json\n  resolver build --jobs 1 --rebuild\n"
               "  resolver build --repos centos.repo --images images --profiles profiles   # real mirrors\n\n"
               "exit: 0 every image built or skipped, 1 an image failed, 2 bad input, 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("build_images", nargs="*", metavar="IMAGE", help="images to build (with their parents)")
    build.add_argument("--jobs", type=int, default=2, help="images built at once (default 2)")
    build.add_argument("--rebuild", action="store_true", help="build even when an image with the same key exists")
    render = sub.add_parser(
        "render", parents=[common], help="write multi-stage Containerfiles (and a buildx bake file) for the tree",
        epilog="examples:\n  resolver render --output containerfiles/\n  resolver render --bake   "
               "# + docker-bake.json: docker buildx bake -f containerfiles/docker-bake.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    render.add_argument("--output", type=Path, default=Path("containerfiles"), metavar="DIR")
    render.add_argument("--bake", action="store_true", help="also write docker-bake.json (targets, contexts)")
    render.add_argument("--package-manager", default="dnf", help="dnf or microdnf inside the images")
    for sub_parser in (build, render):
        sub_parser.add_argument("--tag-prefix", default="localhost/resolver", metavar="PREFIX",
                                help="image references are PREFIX/IMAGE:KEY (default localhost/resolver)")
    sub.add_parser("images", parents=[common], help="the image tree, with parents",
                   epilog="example: resolver images --format json",
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


class _Progress:
    """Per-image progress on stderr (only when it is a terminal)."""

    def __init__(self) -> None:
        self._status = None
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status("loading repository metadata")
            self._status.start()

    def starting(self, image: str) -> None:
        if self._status:
            self._status.update(f"resolving {image}")

    def finished(self, image: str) -> None:
        pass

    def stop(self) -> None:
        if self._status:
            self._status.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ResolverError as error:
        print(f"resolver: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("resolver: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "build":
        return _build(args)
    if args.command == "render":
        return _render(args)
    tree = load_images(args.images or _default_dir("images"))
    if args.command == "images":
        _emit(args, _images_json(tree), _images_text(tree))
        return 0
    if args.command == "closure":
        for name in args.names:
            package_name(name, "command line")
    targets = [platform(name) for name in args.platforms or [DEFAULT_PLATFORM]]
    if len(targets) > 1 and args.command != "audit":
        raise InputError(f"{args.command} takes one --platform; audit takes several")
    strict = bool(args.repos) if args.strict is None else args.strict
    progress = _Progress()
    try:
        with RepoSet(repo_specs(args.repos), cache_dir=args.cache_dir) as repos:
            if args.command == "closure":
                return _closure(args, repos, strict)
            profiles = load_profiles(args.profiles or _default_dir("profiles"))
            if args.command == "audit":
                return _audit(args, tree, profiles, targets, repos, progress)
            def make(providers):
                return TreeResolver(tree, profiles, targets[0], repos, strict, args.cache_dir, progress, providers)

            if args.command in ("plan", "lock", "report"):
                return _plan(args, make, progress)
            resolver = make(None)
            if args.command == "packages":
                result = resolver.image(args.image)
                progress.stop()
                _emit(args, result.to_json(), _packages_text(result, resolver))
            else:
                lines = resolver.why(args.image, args.package)
                progress.stop()
                _emit(args, {"image": args.image, "package": args.package, "chain": lines}, "\n".join(lines))
    finally:
        progress.stop()
    return 0


def _audit(args: argparse.Namespace, tree: ImageTree, profiles: Profiles, targets: list[Platform],
           repos: RepoSet, progress: _Progress) -> int:
    findings: list[Finding] = []
    patches: dict[str, str] = {}
    unreadable = False
    audited: list[str] = []
    upstream = (args.profiles or _default_dir("profiles")) / "upstream"
    names = list(args.targets)
    if args.all_upstream:
        sources = (upstream / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
        names += [line.split("|")[0].strip() for line in sources if line.strip() and not line.startswith("#")]
    for project, source, used in _audit_targets(names, tree, profiles, upstream):
        progress.starting(project)
        audited.append(project)
        try:
            bindep = read_bindep(source, args.cache_dir)
        except BindepParseError as error:
            findings.append(Finding(project, error.filename, error.line, "", "parse-error", error.message,
                                    "fix the line so bindep can parse it"))
            unreadable = True
            continue
        found = [f for target in targets
                 for f in audit_file(project, bindep, target, profiles.defaults, repos, used)]
        found = list({(f.line, f.kind, f.package): f for f in found}.values())
        findings.extend(found)
        patch = unified_patch(bindep, found)
        if patch:
            patches[project] = patch
    progress.stop()
    if args.patch:
        for project, patch in patches.items():
            write_atomically(args.patch / f"{project}.patch", patch)
    if args.report:
        for project in audited:
            write_atomically(args.report / f"{project}.md",
                             project_page(project, [f for f in findings if f.project == project],
                                          patches.get(project, "")))
        write_atomically(args.report / "index.md", index_page(audited, findings, [t.name for t in targets]))
    lines = [f"{f.file}:{f.line}: {f.severity}: {f.kind}: {f.message}\n    suggestion: {f.suggestion}"
             for f in findings]
    lines.append(summary_line(findings))
    _emit(args, {"findings": [f.to_json() for f in findings], "platforms": [t.name for t in targets]},
          "\n".join(lines))
    if unreadable:
        return 2
    return 1 if any(f.severity == "error" for f in findings) else 0


def _audit_targets(targets: Sequence[str], tree: ImageTree, profiles: Profiles, upstream: Path):
    """(project, source, profiles used by profiles/ and images/) for each audit target: a project
    of profiles/, a bundled upstream file (profiles/upstream/NAME.txt), a bindep file or an sdist."""
    used_by_images: dict[str, set[str]] = {}
    for name in tree.names():
        for project, chosen in tree.spec(name).projects.items():
            used_by_images.setdefault(project, set()).update(chosen)
    for target in targets or list(profiles.projects):
        if target in profiles.projects:
            profile = profiles.projects[target]
            used = (set(profile.runtime_profiles) | set(profile.build_profiles)
                    | set(profile.filtered_build_profiles) | used_by_images.get(target, set())) - set(profile.groups)
            yield target, profile.source, used
        elif target.endswith((".tar.gz", ".tgz")):
            yield re.sub(r"-[0-9][^-]*$", "", target.rpartition("/")[2].split(".tar")[0]), \
                Source("sdist", target), set()
        else:
            path = Path(target) if Path(target).exists() else upstream / f"{target}.txt"
            if not path.exists():
                known = sorted({*profiles.projects, *(p.stem for p in upstream.glob("*.txt"))})
                raise UnknownNameError("project or file", target, known)
            yield path.stem, Source("path", str(path)), set()


def _plan(args: argparse.Namespace, make, progress: _Progress) -> int:
    resolver, inputs, providers = resolve_tree(make, args.mode, args.hoist, not args.no_provider_choice)
    progress.starting("layer plan")
    first = plan_layers(inputs.shape, inputs.needs, inputs.sizes, args.mode, args.hoist, inputs.headers)
    suggestions, improved = suggest_tree_changes(first, inputs.needs, inputs.sizes, inputs.headers)
    chosen = improved if args.apply_suggestions else first
    progress.stop()
    fresh = lock_from_plan(chosen, inputs.packages, resolver.target.name, resolver.repos.specs)
    if args.command == "lock":
        write_lock(fresh, args.lock)
        total = sum(len(layer.packages) for layer in fresh.layers.values())
        _emit(args, {"lock": str(args.lock), "images": len(fresh.layers), "packages": total},
              f"wrote {args.lock}: {len(fresh.layers)} images, {total} locked packages")
        return 0
    if getattr(args, "verify_lock", False):
        compare(read_lock(args.lock), fresh, args.lock)
    data = plan_json(chosen, inputs.graph, suggestions, first if args.apply_suggestions else None)
    data["provider_choices"] = [c.to_json() for c in providers]
    if args.command == "report":
        deployed = sorted(inputs.shape.deployed)
        baselines = [resolve_baseline(name, deployed, resolver.repos) for name in ("kolla", "tcib")]
        written = write_report(args.output, data, baselines, resolver.target.name)
        _emit(args, {"written": [str(p) for p in written]}, "wrote " + ", ".join(str(p) for p in written))
        return 0
    _emit(args, data, _plan_text(data))
    return 0


def _plan_text(data: dict) -> str:
    lines = [f"{'image':34} {'parent':26} {'layer':>5} {'layer MB':>9} {'image MB':>9}  request"]
    for name, image in data["images"].items():
        role = "" if image["deployed"] else " (i)"
        lines.append(f"{name + role:34} {image['parent'] or '-':26} {len(image['layer_packages']):5} "
                     f"{image['layer_size'] / 1e6:9.1f} {image['image_size'] / 1e6:9.1f}  "
                     f"{' '.join(image['layer_request'])}")
    lines += ["", f"mode {data['mode']}: total set {data['total_set_size'] / 1e6:.1f} MB, lower bound "
                  f"{data['lower_bound'] / 1e6:.1f} MB (ratio {data['ratio']:.3f}), "
                  f"bloat {data['bloat'] / 1e6:.1f} MB, rpmdb/dnf overhead {data['overhead'] / 1e6:.1f} MB"]
    if data.get("before_suggestions"):
        before = data["before_suggestions"]
        lines.append(f"with the suggestions applied; the shipped tree gives {before['total_set_size'] / 1e6:.1f} MB "
                     f"(ratio {before['ratio']:.3f})")
    lines += ["", "Provider choices:" if data["provider_choices"] else "Provider choices: none (dnf's own)"]
    lines += [f"  {c['use']} instead of {c['instead_of']} ({c['where']}: {c['reason']})"
              + (f", saves {c['saves'] / 1e6:.1f} MB" if c["saves"] else "") for c in data["provider_choices"]]
    lines += ["", "Suggested tree changes (greedy, each on top of the previous):" if data["suggestions"]
              else "No tree change saves bytes."]
    lines += [f"  {s['description']}" for s in data["suggestions"]]
    return "\n".join(lines)


@contextlib.contextmanager
def _staged(args: argparse.Namespace):
    """What `build` and `render` share: repositories (the demo distribution unless some are
    named), the tree, the strict plan, stage plans and content keys."""
    from .build.demo import DEMO_DATA, demo_repo
    from .build.stages import content_keys, stage_plans

    demo = not args.repos
    specs = (RepoSpec("demo", str(demo_repo(args.cache_dir).path)),) if demo else repo_specs(args.repos)
    tree = load_images(args.images or (DEMO_DATA / "images" if demo else _default_dir("images")))
    for name in getattr(args, "build_images", ()):
        tree.spec(name)  # an unknown image is a clear error before anything runs
    target = platform((args.platforms or [DEFAULT_PLATFORM])[0])
    profiles = load_profiles(args.profiles or (DEMO_DATA / "profiles" if demo else _default_dir("profiles")))
    with RepoSet(specs, cache_dir=args.cache_dir) as repos:
        strict = True if args.strict is None else args.strict
        resolver, inputs, _ = resolve_tree(
            lambda providers: TreeResolver(tree, profiles, target, repos, strict, args.cache_dir, None, providers))
        plan = plan_layers(inputs.shape, inputs.needs, inputs.sizes, "strict", headers=inputs.headers)
        stages = stage_plans(plan, inputs.packages,
                             {n: tuple(r.name for r in resolver.image(n).build_only) for n in tree.names()},
                             {n: tree.spec(n).build for n in tree.names()})
        keys = content_keys(stages, json.dumps(repo_digests(specs), sort_keys=True))
        yield specs, target, repos, inputs, stages, keys


def _build(args: argparse.Namespace) -> int:
    from .build.buildah import Buildah
    from .build.runner import TreeBuilder

    with _staged(args) as (specs, target, repos, inputs, stages, keys):
        engine = Buildah(specs, releasever=target.name.rsplit("-", 1)[-1])
        builder = TreeBuilder(stages, keys, engine, repos, inputs.packages, _BuildProgress(), args.jobs,
                              args.rebuild, args.tag_prefix)
        previous = {sig: signal.signal(sig, lambda *_: engine.cancel()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            results = builder.build(args.build_images)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            engine.close()
    _emit(args, {"images": [r.to_json() for r in results]}, _build_text(results))
    return 1 if any(r.status in ("failed", "not built") for r in results) else 0


def _render(args: argparse.Namespace) -> int:
    from .build.render import bake_file, containerfile

    with _staged(args) as (_, _, _, _, stages, keys):
        written = []
        for name, stage in stages.items():
            path = args.output / name / "Containerfile"
            write_atomically(path, containerfile(stage, keys[name], args.package_manager))
            written.append(str(path))
        if args.bake:
            path = args.output / "docker-bake.json"
            write_atomically(path, json.dumps(bake_file(stages, keys, args.tag_prefix), indent=2) + "\n")
            written.append(str(path))
    _emit(args, {"written": written}, "wrote " + ", ".join(written))
    return 0


class _BuildProgress:
    """Per-image build states on stderr, one line each (works on terminals and in CI logs)."""

    def state(self, image: str, state: str, detail: str = "") -> None:
        print(f"[build] {image}: {state}{' ' + detail if detail else ''}", file=sys.stderr, flush=True)


def _build_text(results) -> str:
    lines = [f"{'image':16} {'status':9} {'image MB':>9} {'layer MB':>9} {'plan MB':>8} {'seconds':>8}  reference"]
    for r in results:
        size = f"{r.size / 1e6:9.2f}" if r.size is not None else f"{'-':>9}"
        layer = f"{r.layer_size / 1e6:9.2f}" if r.layer_size is not None else f"{'-':>9}"
        lines.append(f"{r.name:16} {r.status:9} {size} {layer} {r.estimate / 1e6:8.2f} {r.seconds:8.1f}  {r.reference}")
        for addition in r.elf_added:
            if addition.file:
                lines.append(f"{'':16} + {addition.package}: {addition.file} needs {addition.capability}")
        if r.error:
            lines.append(f"{'':16} ! {r.error}")
    return "\n".join(lines)


def _closure(args: argparse.Namespace, repos: RepoSet, strict: bool) -> int:
    resolution = repos.resolve(args.names)
    data = {
        "request": list(args.names),
        "closure": [p.to_json() for p in resolution.closure],
        "installsize": sum(p.installsize for p in resolution.closure),
        "unresolved": [{"name": u.name, "problem": u.problem} for u in resolution.unresolved],
    }
    lines = [f"{p.name:40} {p.evr:32} {p.arch:8} {p.repo:28} {_size(p.installsize):>10}" for p in resolution.closure]
    lines.append(f"{len(resolution.closure)} packages, {_size(data['installsize'])} installed")
    lines += [f"unresolved: {u.name}: {u.problem}" for u in resolution.unresolved]
    _emit(args, data, "\n".join(lines))
    return 1 if strict and resolution.unresolved else 0


def _emit(args: argparse.Namespace, data: object, text: str) -> None:
    if args.format == "json":
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(text)


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _images_json(tree: ImageTree) -> list[dict]:
    result = []
    for name in tree.names():
        spec = tree.spec(name)
        result.append({"name": name, "parent": spec.parent, "deployed": spec.deployed,
                       "projects": {p: list(v) for p, v in spec.projects.items()},
                       "packages": [e.name for e in spec.packages]})
    return result


def _images_text(tree: ImageTree) -> str:
    lines = []

    def walk(name: str, depth: int) -> None:
        spec = tree.spec(name)
        role = "deployed" if spec.deployed else "intermediate"
        projects = ", ".join(f"{p}{'[' + ','.join(v) + ']' if v else ''}" for p, v in spec.projects.items())
        detail = f"  projects: {projects}" if projects else ""
        lines.append(f"{'  ' * depth}{name} ({role}, parent {spec.parent or '-'}){detail}")
        for child in tree.children(name):
            walk(child, depth + 1)

    for root in (n for n in tree.names() if tree.spec(n).parent is None):
        walk(root, 0)
    return "\n".join(lines)


def _packages_text(result: ImagePackages, resolver: TreeResolver) -> str:
    repos = ", ".join(spec.repo_id for spec in resolver.repos.specs)
    lines = [f"{result.image} (parent {result.parent or '-'}) for {result.platform} on {repos}", "",
             "Request (this layer, minimal: nothing here is pulled in by another request or the parent):"]
    origins = {r.name: r.origin for r in result.requests}
    lines += [f"  {name:32} <- {origins[name]}" for name in result.minimal_request] or ["  (nothing new)"]
    layer_names = {p.name for p in result.layer}
    lines += ["", f"Closure: {len(result.closure)} packages, {_size(result.installsize)} installed; "
                  f"this layer {len(result.layer)} packages, {_size(result.layer_installsize)} (marked *)"]
    for p in result.closure:
        mark = "*" if p.name in layer_names else " "
        lines.append(f" {mark}{p.name:38} {p.evr:30} {p.arch:7} {p.repo:27} {_size(p.installsize):>9}")
    lines += ["", "Build-only (builder stage, never in this image):"]
    lines += [f"  {r.name:32} <- {r.origin}" for r in result.build_only] or ["  (none)"]
    lines += ["", "Excluded:"]
    lines += [f"  {e.name:32} {e.reason} ({e.origin.detail})" for e in result.excluded] or ["  (none)"]
    lines += ["", "Unresolved (skipped; best effort):" if result.unresolved else "Unresolved: none"]
    for u in result.unresolved:
        lines.append(f"  {u.name:32} <- {u.origin}")
        lines.append(f"  {'':32}    {_first_cause(u.problem)}")
    return "\n".join(lines)


def _first_cause(problem: str) -> str:
    """The first line of libsolv's text that names a package (skips 'Problem: conflicting requests')."""
    causes = [line.strip(" -") for line in problem.splitlines()]
    return next((c for c in causes if c.startswith(("nothing", "package", "no package"))), causes[0])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
