"""The plan as a report: Markdown with a table per image, the tree as a Graphviz picture (drawn
through networkx), the Kolla and TCIB baselines resolved on the same metadata, and the Pareto curve
of the objective against bloat (a table and an SVG plot).

Images with requests that did not resolve (best effort) are marked everywhere (``!`` in tables,
red in the picture) and compared with the baselines apart: their sets lack what did not resolve,
so their figures are lower bounds, never set against a baseline's as if complete.

The files belong together (report.md names the pictures, the pictures show the same plan): every
one is computed first (Graphviz included), then the directory is replaced as one set
(``files.replace_directory``), so a run killed at any moment leaves the old report or the new one.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from ..errors import InputError
from ..files import replace_directory
from ..planning.plan import megabytes
from ..resolving.unresolved import UNINSTALLABLE, first_cause
from .baselines import BaselineResult, compare_on


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def tree_graph(plan: dict) -> nx.DiGraph:
    """The planned tree with sizes as Graphviz labels (deployed images boxed, intermediates dashed)."""
    graph = nx.DiGraph()
    for name, image in plan["images"].items():
        label = f"{name}\\nlayer {megabytes(image['layer_size'])} MB ({len(image['layer_packages'])} rpms)\\n" \
                f"image {megabytes(image['image_size'])} MB"
        if image.get("python_bytes"):
            label += f"\\nvenv layer {megabytes(image['python_bytes'])} MB ({len(image['python_wheels'])} wheels)"
        if image.get("python_bytes") is not None and "whole_image_size" in image:  # venvs planned
            label += f"\\nwhole image {megabytes(image['whole_image_size'])} MB"
        marks = {}
        if image.get("unresolved"):  # incomplete: its sizes lack what did not resolve
            label += f"\\n! {len(image['unresolved'])} unresolved (incomplete)"
            marks = {"color": "red", "fontcolor": "red", "penwidth": "2"}
        graph.add_node(name, label=f'"{label}"', shape="box", style="solid" if image["deployed"] else "dashed",
                       **marks)
        if image["parent"]:
            graph.add_edge(image["parent"], name)
    return graph


def render_svg(dot_text: str) -> str | None:
    """The tree as SVG (Graphviz ``dot``), or None when Graphviz is not installed."""
    if shutil.which("dot") is None:
        return None
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InputError(f"graphviz could not draw the tree: {done.stderr.strip()}")
    return done.stdout


def _whole_lines(whole: dict | None) -> list[str]:
    """The whole set's figures first: RPMs and venv layers on the one tree, or why RPMs only."""
    if not whole:
        return []
    what = ("RPMs and venv layers on one tree" if "python" in whole["includes"]
            else f"**RPM only**: {whole['rpm_only']}" if whole.get("rpm_only") else "RPMs; the tree installs no Python")
    return [f"**The whole set** ({what}): objective {megabytes(whole['objective'])} MB against a lower bound of "
            f"{megabytes(whole['objective_lower_bound'])} MB (ratio "
            f"{whole['objective'] / max(whole['objective_lower_bound'], 1):.3f}); total set "
            f"{megabytes(whole['total_set_size'])} MB, each item once {megabytes(whole['lower_bound'])} MB; "
            f"bloat {megabytes(whole['bloat'])} MB. The figures below are the RPM layers'.", ""]


def markdown(plan: dict, baselines: Sequence[BaselineResult], pictures: Sequence[str], platform: str) -> str:
    lines = [f"# Layer plan ({plan['tree']} tree, {platform})", "",
             "Sizes are installed sizes from the repository metadata (MB = 10^6 bytes). The total set counts",
             "each layer once, as copy-on-write storage does; the objective adds what every layer writes",
             "besides its packages (rpm database and dnf state, a model). The lower bound is the union of every",
             "deployed image's needs, each RPM once. Baselines are resolved on the same metadata.", "",
             *_whole_lines(plan.get("whole")),
             "| figure | MB |", "|---|---|",
             f"| objective (packages + overhead) | {megabytes(plan['objective'])} |",
             f"| total set, packages (this plan) | {megabytes(plan['total_set_size'])} |",
             f"| lower bound, packages | {megabytes(plan['lower_bound'])} |",
             f"| ratio total / lower bound | {plan['ratio']:.3f} |",
             f"| lower bound, objective | {megabytes(plan['objective_lower_bound'])} |",
             f"| proven optimum of the objective over all zero-bloat trees | "
             f"{megabytes(plan['optimum']) if plan['optimum'] is not None else 'not computed (agglomerative)'} |",
             f"| bloat (RPMs in deployed images that do not need them) | {megabytes(plan['bloat'])} |",
             f"| rpmdb and dnf state per layer (model) | {megabytes(plan['overhead'])} |"]
    python = plan.get("python")
    if python:
        lines += [f"| Python: venv layers, each once ({python['target']}, upper-constraints {python['constraints']}) | "
                  f"{megabytes(plan['python_total'])} |",
                  f"| Python lower bound (every wheel once) | {megabytes(python['lower_bound'])} |",
                  f"| total set with Python (packages + venv layers) | {megabytes(plan['total_with_python'])} |",
                  f"| objective with Python | {megabytes(plan['objective_with_python'])} |"]
    incomplete = plan.get("incomplete", [])
    deployed = sum(1 for image in plan["images"].values() if image["deployed"])
    if incomplete:
        lines += ["", f"**Incomplete:** {len(incomplete)} of {deployed} deployed images have requests that "
                      "did not resolve on this metadata (best effort; marked ! and listed under *Unresolved "
                      "requests*): their sets, and the totals above, lack them."]
    lines += comparison_lines(plan, baselines)
    if "tree.svg" in pictures:
        lines += ["", "![image tree](tree.svg)"]
    if plan.get("pareto"):
        lines += ["", "## Objective against bloat (Pareto curve, this tree)", "",
                  "Each point is the cheapest placement of the packages on this tree whose total bloat fits the",
                  "budget, solved exactly (HiGHS); proven means the gap to HiGHS's bound is at most 0.1 %. "
                  f"It counts {plan.get('pareto_counts', 'RPMs')}.", "",
                  "| bloat budget MB | bloat MB | objective MB | packages + overhead bound MB | gap | proven |",
                  "|---|---|---|---|---|---|"]
        for point in plan["pareto"]:
            budget = "unlimited" if point["budget"] is None else megabytes(point["budget"])
            proven = "yes" if point["proven"] else "no"
            lines.append(f"| {budget} | {megabytes(point['bloat'])} | {megabytes(point['objective'])} | "
                         f"{megabytes(point['bound'])} | {point['gap'] * 100:.3f} % | {proven} |")
        if "pareto.svg" in pictures:
            lines += ["", "![objective against bloat](pareto.svg)"]
    names = {b.name: b for b in baselines}
    header = "| image | parent | deployed | layer rpms | layer MB | image MB | bloat MB | unresolved |"
    header += " venv layer MB |" if python else ""
    header += "".join(f" {b} image MB |" for b in names)
    lines += ["", "## Images", "",
              "Image MB is the image's packages in this plan (the tree's provider choices applied); `resolver "
              "packages IMAGE` solves one image alone with the pins only and can say more. ! marks an incomplete "
              "image: at least that much.", "", header, "|---" * (8 + bool(python) + len(names)) + "|"]
    for name, image in plan["images"].items():
        missing = len(image.get("unresolved", ()))
        at_least = "≥ " if missing else ""
        mark = " !" if missing else ""
        row = (f"| {name}{mark} | {image['parent'] or '-'} | {'yes' if image['deployed'] else 'no'} | "
               f"{len(image['layer_packages'])} | {megabytes(image['layer_size'])} | "
               f"{at_least}{megabytes(image['image_size'])} | {megabytes(image['bloat'])} | {missing or ''} |")
        row += f" {megabytes(image['python_bytes'])} |" if python else ""
        for baseline in baselines:
            theirs = baseline.matched.get(name)
            row += f" {megabytes(baseline.image_sizes[theirs]) if theirs else '-'} |"
        lines.append(row)
    lines += unresolved_lines(plan)
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
        lines += ["", "## Suggestions", ""]
        lines += [f"1. {s['description']}" for s in plan["suggestions"]]
    return "\n".join(lines) + "\n"


def comparison_lines(plan: dict, baselines: Sequence[BaselineResult]) -> list[str]:
    """Ours against each baseline on the images both have: the complete ones compared, the
    incomplete ones apart (our figure is a lower bound there)."""
    if not baselines:
        return []
    deployed = [name for name, image in plan["images"].items() if image["deployed"]]
    incomplete = set(plan.get("incomplete", ()))
    lines = ["", "## Ours against Kolla's and TCIB's lists (same metadata)", "",
             "Total sets over the deployed images both sides have (each side's layers once). Only images whose "
             "requests all resolved are compared: an incomplete set is smaller than the real image, which would "
             "flatter ours. The baselines' own unresolvable names (listed at the end) can only make their figure "
             "smaller, which understates our gain; they are kept. **RPM packages only**: the venvs (Python) are not "
             "in these figures on either side.", "",
             "| baseline | images | ours MB | theirs MB | ours / theirs |", "|---|---|---|---|---|"]
    for baseline in baselines:
        for complete in (True, False):
            compared = compare_on(baseline, plan, [n for n in deployed if (n in incomplete) != complete])
            if not compared.images:
                continue
            shown = ", ".join(compared.images)
            if complete:
                ratio = f"{compared.ratio:.3f}" if compared.ratio is not None else "-"
                lines.append(f"| {baseline.name} | {len(compared.images)} complete: {shown} | "
                             f"{megabytes(compared.ours)} | {megabytes(compared.theirs)} | {ratio} |")
            else:
                lines.append(f"| {baseline.name} | {len(compared.images)} incomplete (!), not compared: {shown} | "
                             f"≥ {megabytes(compared.ours)} | {megabytes(compared.theirs)} | - |")
        if baseline.missing:
            lines.append(f"| {baseline.name} | no counterpart: {', '.join(baseline.missing)} | | | |")
    return lines


def unresolved_lines(plan: dict) -> list[str]:
    """Every request that did not resolve, once per name and origin, with the images lacking it."""
    found: dict[tuple[str, str], tuple[dict, list[str]]] = {}
    for name, image in plan["images"].items():
        for item in image.get("unresolved", ()):
            found.setdefault((item["name"], item["origin"]), (item, []))[1].append(name)
    if not found:
        return []
    lines = ["", "## Unresolved requests (best effort)", "",
             "*uninstallable*: the repositories have the name but libsolv cannot install it (its reason); "
             "*unknown*: no package has or provides the name.", "",
             "| request | kind | images | origin | why |", "|---|---|---|---|---|"]
    for item, images in found.values():
        why = first_cause(item["problem"]) if item["kind"] == UNINSTALLABLE else item["hint"]
        lines.append(f"| {_cell(item['name'])} | {item['kind']} | {', '.join(images)} | {_cell(item['origin'])} | "
                     f"{_cell(why)} |")
    return lines


def pareto_svg(points: Sequence[dict], width: int = 640, height: int = 400) -> str:
    """The Pareto points as a plain SVG line plot: bloat (x) against the objective (y), in MB. The
    point without a budget, far to the right, is named in a note instead of squashing the rest."""
    margin = 70
    budgeted = [p for p in points if p["budget"] is not None]
    unlimited = [p for p in points if p["budget"] is None]
    note = ""
    if budgeted and unlimited and unlimited[0]["bloat"] > 2 * max(p["bloat"] for p in budgeted):
        note = (f"no budget (off the plot): bloat {unlimited[0]['bloat'] / 1e6:.0f} MB, "
                f"objective {megabytes(unlimited[0]['objective'])} MB")
        points = budgeted
    xs = [p["bloat"] / 1e6 for p in points]
    ys = [p["objective"] / 1e6 for p in points]
    x_top, y_low, y_top = max(xs) or 1.0, min(ys), max(ys)
    y_low, y_top = (y_low - 1, y_top + 1) if y_top == y_low else (y_low, y_top)

    def at(x: float, y: float) -> tuple[float, float]:
        return (margin + x / x_top * (width - 2 * margin),
                height - margin - (y - y_low) / (y_top - y_low) * (height - 2 * margin))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" y2="{height - margin}" '
             'stroke="black"/>',
             f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
             f'<text x="{width / 2}" y="{height - 20}" text-anchor="middle">bloat (MB)</text>',
             f'<text x="20" y="{height / 2}" text-anchor="middle" transform="rotate(-90 20 {height / 2})">'
             'objective: packages + overhead (MB)</text>']
    for step in range(5):
        x_value, y_value = x_top * step / 4, y_low + (y_top - y_low) * step / 4
        x, _ = at(x_value, y_low)
        _, y = at(0, y_value)
        parts.append(f'<text x="{x:.1f}" y="{height - margin + 16}" text-anchor="middle">{x_value:.0f}</text>')
        parts.append(f'<text x="{margin - 6}" y="{y + 4:.1f}" text-anchor="end">{y_value:.0f}</text>')
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(a, b) for a, b in sorted(zip(xs, ys))))
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for point, x_value, y_value in zip(points, xs, ys):
        x, y = at(x_value, y_value)
        fill = "#1f77b4" if point["proven"] else "white"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="#1f77b4">'
                     f'<title>bloat {x_value:.1f} MB, objective {y_value:.1f} MB, gap {point["gap"] * 100:.3f} %'
                     '</title></circle>')
    parts.append(f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="14">objective against bloat '
                 '(each point an exact solve; filled: proven within 0.1 %)</text>')
    if note:
        parts.append(f'<text x="{width - margin}" y="44" text-anchor="end">{note}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


#: every file a report may hold: the report directory holds these and nothing else
REPORT_FILES = ("report.md", "tree.dot", "tree.svg", "pareto.svg")


def report_file(entry: Path) -> bool:
    """An entry of a report directory that a report wrote (anything else there is refused)."""
    return entry.name in REPORT_FILES and entry.is_file() and not entry.is_symlink()


def write_report(directory: Path, plan: dict, baselines: Sequence[BaselineResult], platform: str) -> list[Path]:
    dot_text = nx.nx_pydot.to_pydot(tree_graph(plan)).to_string()
    files = {"tree.dot": dot_text}
    svg = render_svg(dot_text)
    if svg is not None:
        files["tree.svg"] = svg
    if plan.get("pareto"):
        files["pareto.svg"] = pareto_svg(plan["pareto"])
    files["report.md"] = markdown(plan, baselines, [n for n in files if n.endswith(".svg")], platform)
    replace_directory(directory, files, report_file, "report")
    return [directory / name for name in ("report.md", "tree.dot", *(n for n in files if n.endswith(".svg")))]
