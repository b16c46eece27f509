"""`resolver images`: the image tree."""

from __future__ import annotations

import argparse

from ..config import ImageTree, load_images
from .common import FORMATTER, default_dir, emit


def register(sub, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("images", parents=[common], help="the image tree, with parents",
                            epilog="example: resolver images --format json", formatter_class=FORMATTER)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    tree = load_images(args.images or default_dir("images"))
    emit(args, images_json(tree), images_text(tree))
    return 0


def images_json(tree: ImageTree) -> list[dict]:
    result = []
    for name in tree.names():
        spec = tree.spec(name)
        result.append({"name": name, "parent": spec.parent, "deployed": spec.deployed,
                       "projects": {p: list(v) for p, v in spec.projects.items()},
                       "packages": [e.name for e in spec.packages]})
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
