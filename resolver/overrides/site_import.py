"""What importing another builder's customisations (Kolla template overrides, TCIB container
files) shares: the import report, image-name mapping, and writing the result as a site override
file (``resolver/override_files.py``) that is checked before it is written. Each entry is checked
by ``import_entries``.

Nothing is dropped silently: every entry ends up ``imported``, ``not_imported`` (with the reason
and, where the metadata has an obvious one, a suggestion) or ``skipped`` (it needs no counterpart
here: a branch for another distribution, a Kolla default resolver does not have).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import InputError
from ..files import write_atomically
from ..inputs.image_tree import ImageTree, OverrideKind
from ..inputs.profiles import Profiles
from ..names import escaped, shell_problem, unwritable_reason
from .override_files import load_overrides
from .site import apply_overrides


@dataclass(frozen=True)
class Imported:
    """An entry carried over: ``kind`` is an override kind (add-package, drop-package, pip, step,
    module, add-repo, remove-repo)."""

    image: str | None
    kind: OverrideKind
    value: str
    file: str
    line: int
    reason: str
    #: a step's position (before-packages, after-packages); a repository's baseurl
    detail: str = ""

    def to_json(self) -> dict:
        return {"image": self.image, "kind": self.kind, "value": self.value, "file": self.file, "line": self.line,
                "reason": self.reason}


@dataclass(frozen=True)
class Left:
    """An entry not carried over (``not_imported``) or not needing to be (``skipped``)."""

    item: str
    file: str
    line: int
    reason: str
    image: str | None = None
    suggestion: str | None = None

    def to_json(self) -> dict:
        data = {"item": self.item, "file": self.file, "line": self.line, "reason": self.reason, "image": self.image}
        if self.suggestion:
            data["suggestion"] = self.suggestion
        return data


@dataclass
class ImportReport:
    """Everything an import found, in file order."""

    source: str
    files: list[str] = field(default_factory=list)
    imported: list[Imported] = field(default_factory=list)
    not_imported: list[Left] = field(default_factory=list)
    skipped: list[Left] = field(default_factory=list)

    def to_json(self, output: Path) -> dict:
        return {"output": str(output), "source": self.source, "files": self.files,
                "imported": [i.to_json() for i in self.imported],
                "not_imported": [n.to_json() for n in self.not_imported],
                "skipped": [s.to_json() for s in self.skipped]}


def comment_above(lines: Sequence[str], line: int, markers: tuple[str, ...] = ("#",)) -> str:
    """The comment lines right above ``line`` (1-based), joined: the author's reason for an entry."""
    found: list[str] = []
    index = line - 2
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("{#") and text.endswith("#}"):
            text = text[2:-2].strip()
        elif text.startswith(markers):
            text = text.lstrip("#").strip()
        else:
            break
        if text:
            found.append(text)
        index -= 1
    return " ".join(reversed(found))


def reason_text(file: str, line: int, comment: str, origin: str) -> str:
    """An imported entry's reason: where it came from and what its author wrote above it (escaped:
    the reason is written as it is reported)."""
    text = f"{origin} {Path(file).name}:{line}"
    return escaped(f"{text}: {comment}" if comment else text)


# ---- images ------------------------------------------------------------------------------------

class ImageNames:
    """Maps another builder's image names onto the tree's, and suggests where an entry for an image
    the tree lacks could go (its children in that builder's own tree that the tree has)."""

    def __init__(self, tree: ImageTree, renames: Mapping[str, str], parents: Mapping[str, str | None]):
        self.tree = tree
        self.renames = renames
        self.parents = parents

    def image(self, name: str) -> str | None:
        mapped = self.renames.get(name, name)
        return mapped if mapped in self.tree.graph else None

    def unknown(self, name: str) -> tuple[str, str | None]:
        """(reason, suggestion) for an image the tree does not have."""
        known = ", ".join(self.tree.names())
        children = sorted({image for child, parent in self.parents.items()
                           if parent == name and (image := self.image(child))})
        suggestion = (f"{name} is the parent of {', '.join(children)} there: put the entry on "
                      f"{' or '.join(children)}") if children else None
        return f"unknown image {name!r}; the tree has: {known}", suggestion


# ---- the override file -------------------------------------------------------------------------

def override_data(report: ImportReport) -> dict:
    """The site override file's content for the imported entries (images in the order found)."""
    images: dict[str, dict] = {}
    repos: dict[str, list] = {}
    for item in report.imported:
        entry = {"name": item.value, "reason": item.reason}
        if item.kind in (OverrideKind.ADD_REPO, OverrideKind.REMOVE_REPO):
            repo = {"id": item.value, "baseurl": item.detail, "reason": item.reason} \
                if item.kind == OverrideKind.ADD_REPO else {"id": item.value, "reason": item.reason}
            repos.setdefault("add" if item.kind == OverrideKind.ADD_REPO else "remove", []).append(repo)
            continue
        image = images.setdefault(item.image or "", {})
        if item.kind in (OverrideKind.ADD_PACKAGE, OverrideKind.DROP_PACKAGE):
            image.setdefault("packages", {}).setdefault("add" if item.kind == OverrideKind.ADD_PACKAGE else "drop",
                                                        []).append(entry)
        elif item.kind == OverrideKind.PIP:
            image.setdefault("pip_packages", []).append(entry)
        elif item.kind == OverrideKind.MODULE:
            image.setdefault("modules", []).append(entry)
        elif item.kind == OverrideKind.STEP:
            image.setdefault("steps", []).append({"run": item.value, "when": item.detail, "reason": item.reason})
    data: dict = {"images": images}
    if repos:
        data["repos"] = repos
    return data


def write_override_file(report: ImportReport, output: Path, command: str, tree: ImageTree,
                        check: Callable[[Path], None]) -> None:
    """Write the imported entries as a site override file, with what was not imported listed in
    its header, after checking the result loads and applies to the tree (``check``)."""
    header = [f"# Site overrides imported by `{command}` from:", *(f"#   {f}" for f in report.files),
              f"# {len(report.imported)} imported, {len(report.not_imported)} not imported, "
              f"{len(report.skipped)} skipped (need no counterpart here)."]
    if report.not_imported:
        header.append("# Not imported (carry these over by hand, or drop them):")
        header += [f"#   {Path(n.file).name}:{n.line}: {n.item}: {n.reason}"
                   + (f" (suggestion: {n.suggestion})" if n.suggestion else "") for n in report.not_imported]
    data = override_data(report)
    body = yaml.safe_dump(data, sort_keys=False, width=1000, allow_unicode=True)
    # each header line one comment line: an item is often listed because it holds a line break
    text = "\n".join(escaped(line) for line in header) + "\n" + body
    if yaml.safe_load(text) != data:  # what `finish` let through is printable text: this holds
        raise AssertionError(f"{output}: the override file would not read back as the imported entries")
    staged = output.with_name(f".{output.name}.check")
    try:
        write_atomically(staged, text)
        check(staged)
    finally:
        staged.unlink(missing_ok=True)
    write_atomically(output, text)


def checker(tree: ImageTree, profiles: Profiles, profiles_of: Callable[[str], set[str]]) -> Callable[[Path], None]:
    """A check that an override file loads and applies to the tree (what `--overrides` will do)."""
    def check(path: Path) -> None:
        try:
            apply_overrides(tree, profiles, load_overrides([path]), profiles_of)
        except InputError as error:
            raise InputError(f"the imported overrides do not apply to the tree ({error}); nothing was written") \
                from None
    return check


def unwritten(item: Imported) -> str | None:
    """Why an entry cannot be written into the override file as it is (``names``' one rule; a step
    must also be one Containerfile instruction), or None. Checked here for every importer, so the
    file holds exactly what the report lists as imported."""
    if item.kind == OverrideKind.STEP:
        problem = shell_problem(item.value)
        if problem:
            return f"the command {problem}; a site step is one command line"
    for text in (item.value, item.detail, item.reason):
        problem = unwritable_reason(text)
        if problem:
            return f"{problem}, which the override file cannot hold"
    return None


def finish(report: ImportReport) -> None:
    """Entries that cannot be written listed as not imported (``unwritten``); equal entries (image,
    kind, value) once, the later ones listed as skipped; a drop of what the import also adds to the
    same image is not imported (an override file may not hold both)."""
    seen: dict[tuple, Imported] = {}
    kept = []
    for item in report.imported:
        problem = unwritten(item)
        if problem:
            report.not_imported.append(Left(item.value, item.file, item.line, problem, item.image))
            continue
        key = (item.image, item.kind, item.value)
        if key in seen:
            first = seen[key]
            report.skipped.append(Left(item.value, item.file, item.line,
                                       f"already imported from {Path(first.file).name}:{first.line}", item.image))
        else:
            seen[key] = item
            kept.append(item)
    order = {file: index for index, file in enumerate(report.files)}
    for entries in (report.not_imported, report.skipped):
        entries.sort(key=lambda entry: (order.get(entry.file, len(order)), entry.line))
    report.imported = []
    for item in sorted(kept, key=lambda entry: (order.get(entry.file, len(order)), entry.line)):
        added = seen.get((item.image, OverrideKind.ADD_PACKAGE, item.value))
        if item.kind == OverrideKind.DROP_PACKAGE and added is not None:
            report.not_imported.append(Left(item.value, item.file, item.line,
                                            f"drops what {Path(added.file).name}:{added.line} adds to {item.image}",
                                            item.image))
        else:
            report.imported.append(item)
