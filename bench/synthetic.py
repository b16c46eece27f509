"""A seeded synthetic image tree for the scaling benchmark, made of real parts: each deployed image
takes the projects, backend profiles, packages and command of one shipped deployed image (its whole
declared chain; read from images/ at run time, so the services are the shipped ones) plus a few
real packages of the bundled metadata, drawn from those that resolve on it.

    python bench/synthetic.py DIR --images 1000 --seed 9     # writes DIR/tree.yaml

The tree: a root holding the shipped base's packages (kept as the shipped root is), families of
about a dozen deployed images under it (intermediates, for ``--tree declared``), the deployed
images under their family.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import yaml

from resolver.inputs.image_tree import load_images
from resolver.metadata.repos import RepoSet

ROOT = Path(__file__).resolve().parent.parent
FAMILY_SIZE = 12


def package_pool(repos: RepoSet, rng: random.Random, wanted: int = 150, most: int = 120) -> list[str]:
    """Real package names that resolve alone on these repositories, with at most ``most`` packages."""
    names = repos.names_providing("*")
    rng.shuffle(names)
    pool = []
    for name in names:
        if name.endswith(("-devel", "-debuginfo", "-doc", "-static")):
            continue
        resolution = repos.resolve([name])
        if not resolution.unresolved and len(resolution.closure) <= most:
            pool.append(name)
            if len(pool) == wanted:
                break
    return sorted(pool)


def synthetic_tree(images: int, seed: int, repos: RepoSet) -> list[dict]:
    """``images`` image entries (the root, the families, the deployed images) as images/ holds them."""
    rng = random.Random(seed)
    shipped = load_images(ROOT / "images")
    templates = []
    for name in shipped.deployed():
        chain = [shipped.spec(n) for n in [*shipped.ancestors(name), name]]
        projects: dict[str, list[str]] = {}
        for spec in chain:
            for project, chosen in spec.projects.items():
                projects.setdefault(project, [])
                projects[project] += [p for p in chosen if p not in projects[project]]
        packages = [{"name": e.name, "reason": e.reason or "as the shipped image"} for s in chain for e in s.packages]
        templates.append((projects, packages, list(chain[-1].command)))
    pool = package_pool(repos, rng)
    root = shipped.spec(shipped.ancestors(shipped.deployed()[0])[0] if shipped.ancestors(shipped.deployed()[0])
                        else shipped.deployed()[0])
    families = max(1, (images - 1) // (FAMILY_SIZE + 1))
    deployed = images - 1 - families
    entries = [{"name": "synthetic-base", "parent": None, "keep": root.keep,
                "packages": [{"name": e.name, "reason": e.reason} for e in root.packages]}]
    entries += [{"name": f"family-{f:03d}", "parent": "synthetic-base"} for f in range(families)]
    for index in range(deployed):
        projects, packages, command = rng.choice(templates)
        extras = rng.sample(pool, rng.randint(1, 4))
        entries.append({
            "name": f"service-{index:04d}", "parent": f"family-{index % families:03d}", "deployed": True,
            **({"command": command} if command else {}),
            "projects": {p: list(v) for p, v in projects.items()},
            "packages": packages + [{"name": e, "reason": "synthetic: a real package of the metadata"} for e in extras],
        })
    return entries


class _PlainDumper(yaml.SafeDumper):
    """Every value written out: images/ refuses YAML anchors and aliases (the templates repeat)."""

    def ignore_aliases(self, data) -> bool:
        return True


def write_tree(entries: list[dict], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tree.yaml"
    path.write_text(yaml.dump(entries, Dumper=_PlainDumper, sort_keys=False), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    from resolver.metadata.repo_config import repo_specs

    with RepoSet(repo_specs([])) as repos:
        entries = synthetic_tree(args.images, args.seed, repos)
    print(f"wrote {write_tree(entries, args.directory)}: {len(entries)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
