"""`resolver images`: the image tree."""

from __future__ import annotations

import argparse

from ..inputs.image_tree import ImageTree
from .common import FORMATTER, emit, load_site, overrides_text


def register(sub, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("images", parents=[common], help="the image tree, with parents",
                            epilog="example: resolver images --format json", formatter_class=FORMATTER)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args)
    emit(args, images_json(site.tree), images_text(site.tree) + overrides_text(site))
    return 0


def images_json(tree: ImageTree) -> list[dict]:
    result = []
    for name in tree.names():
        spec = tree.spec(name)
        result.append({"name": name, "parent": spec.parent, "deployed": spec.deployed,
                       "projects": {p: list(v) for p, v in spec.projects.items()},
                       "packages": [e.name for e in spec.packages],
                       "overrides": [o.to_json() for o in spec.overrides]})
    return result


def images_text(tree: ImageTree) -> str:
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
