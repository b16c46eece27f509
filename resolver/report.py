"""The plan as a report: Markdown with a table per image, the tree as a Graphviz picture (drawn
through networkx), and the Kolla and TCIB baselines resolved on the same metadata."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from .baselines import BaselineResult
from .errors import InputError
from .files import write_atomically


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def tree_graph(plan: dict) -> nx.DiGraph:
    """The planned tree with sizes as Graphviz labels (deployed images boxed, intermediates dashed)."""
    graph = nx.DiGraph()
    for name, image in plan["images"].items():
        label = f"{name}\\nlayer {_mb(image['layer_size'])} MB ({len(image['layer_packages'])} rpms)\\n" \
                f"image {_mb(image['image_size'])} MB"
        graph.add_node(name, label=f'"{label}"', shape="box", style="solid" if image["deployed"] else "dashed")
        if image["parent"]:
            graph.add_edge(image["parent"], name)
    return graph


def render_svg(graph: nx.DiGraph, directory: Path) -> str | None:
    """Write tree.dot (networkx + pydot) and tree.svg (Graphviz ``dot``); the SVG's name, or None
    when Graphviz is not installed."""
    dot_text = nx.nx_pydot.to_pydot(graph).to_string()
    write_atomically(directory / "tree.dot", dot_text)
    if shutil.which("dot") is None:
        return None
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InputError(f"graphviz could not draw the tree: {done.stderr.strip()}")
    write_atomically(directory / "tree.svg", done.stdout)
    return "tree.svg"


def markdown(plan: dict, baselines: Sequence[BaselineResult], picture: str | None, platform: str) -> str:
    lines = [f"# Layer plan ({plan['mode']}, {platform})", "",
             "Sizes are installed sizes from the repository metadata (MB = 10^6 bytes). The total set counts",
             "each layer once, as copy-on-write storage does; the lower bound is the union of every deployed",
             "image's needs, each RPM once. Baselines are resolved on the same metadata.", "",
             "| figure | MB |", "|---|---|",
             f"| total set (this plan) | {_mb(plan['total_set_size'])} |",
             f"| lower bound | {_mb(plan['lower_bound'])} |",
             f"| ratio total / lower bound | {plan['ratio']:.3f} |",
             f"| bloat (RPMs in deployed images that do not need them) | {_mb(plan['bloat'])} |",
             f"| rpmdb and dnf state per layer (model) | {_mb(plan['overhead'])} |"]
    for baseline in baselines:
        unresolved = sum(len(v) for v in baseline.unresolved.values())
        lines.append(f"| {baseline.name} lists, total set ({len(baseline.matched)} matching images, "
                     f"{unresolved} names unresolvable) | {_mb(baseline.total_set_size)} |")
    if picture:
        lines += ["", f"![image tree]({picture})"]
    names = {b.name: b for b in baselines}
    header = "| image | parent | deployed | layer rpms | layer MB | image MB | bloat MB |"
    header += "".join(f" {b} image MB |" for b in names)
    lines += ["", "## Images", "", header, "|---" * (7 + len(names)) + "|"]
    for name, image in plan["images"].items():
        row = (f"| {name} | {image['parent'] or '-'} | {'yes' if image['deployed'] else 'no'} | "
               f"{len(image['layer_packages'])} | {_mb(image['layer_size'])} | {_mb(image['image_size'])} | "
               f"{_mb(image['bloat'])} |")
        for baseline in baselines:
            theirs = baseline.matched.get(name)
            row += f" {_mb(baseline.image_sizes[theirs]) if theirs else '-'} |"
        lines.append(row)
    for baseline in baselines:
        lines += ["", f"## {baseline.name}: what could not be compared", ""]
        if baseline.missing:
            lines.append(f"- no counterpart for: {', '.join(baseline.missing)}")
        for image, unresolved in baseline.unresolved.items():
            if unresolved:
                lines.append(f"- {image}: {len(unresolved)} unresolvable: {', '.join(unresolved)}")
    overrides = plan.get("overrides") or {}
    if overrides.get("files"):
        lines += ["", "## Site overrides", "",
                  "Applied in this order: " + ", ".join(f"`{f['path']}`" for f in overrides["files"]), "",
                  "| image | change | where | reason |", "|---|---|---|---|"]
        lines += [f"| {o['image'] or '(tree)'} | {o['kind']} `{_cell(o['value'])}` | {o['where']} | "
                  f"{_cell(o['reason'])} |" for o in overrides["applied"]]
    if plan["suggestions"]:
        lines += ["", "## Suggested tree changes", ""]
        lines += [f"1. {s['description']}" for s in plan["suggestions"]]
    return "\n".join(lines) + "\n"


def write_report(directory: Path, plan: dict, baselines: Sequence[BaselineResult], platform: str) -> list[Path]:
    picture = render_svg(tree_graph(plan), directory)
    write_atomically(directory / "report.md", markdown(plan, baselines, picture, platform))
    return [directory / name for name in ("report.md", "tree.dot", picture) if name]
