"""Kolla template overrides (parsed by ``kolla_template``) sorted into site override entries for
`resolver import-kolla`: imported, not imported (with why) or skipped."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..inputs.image_tree import ImageTree, OverrideKind
from ..reporting.baselines import RENAMES, load_baseline
from .import_entries import PackageChecks, add_package, carry_step, check_pip
from .kolla_template import DOCKERFILE_INSTRUCTIONS, MARKER, BlockOverride, Instruction, KollaFile, Value
from .site_import import ImageNames, Imported, ImportReport, Left, comment_above, reason_text

ORIGIN = "kolla"
_LIST_OP = re.compile(
    r"(?P<image>[a-z0-9_]+?)_(?:(?P<distro>centos|rhel|rocky|oraclelinux|almalinux|fedora)_)?"
    r"(?:(?P<install>binary|source)_)?(?P<list>pip_packages|packages|plugins|language_packages|yum_repo_files"
    r"|yum_url_packages|yum_repo_keys|yum_repo_packages|yum_repos_to_enable|yum_repos_to_disable)"
    r"_(?P<op>append|remove|override)")
_DEB_ONLY = re.compile(r"(^|_)(ubuntu|debian|deb|apt)(_|$)")
_HOOK = re.compile(r"(?P<image>[a-z0-9_]+)_(?P<hook>header|footer)")
_REPO_LISTS = ("yum_repo_files", "yum_url_packages", "yum_repo_keys", "yum_repo_packages", "yum_repos_to_enable",
               "yum_repos_to_disable")

def kolla_image_names(tree: ImageTree) -> ImageNames:
    """Kolla's image names on the tree (mariadb-server is mariadb here), with Kolla's own parents
    (the bundled baseline lists) for suggestions."""
    renames = {theirs: ours for ours, theirs in RENAMES["kolla"].items()}
    return ImageNames(tree, renames, {name: image.parent for name, image in load_baseline("kolla").items()})


class KollaImport:
    """Sorts what Kolla override files set into imported / not imported / skipped entries."""

    def __init__(self, names: ImageNames, checks: PackageChecks,
                 drop: Callable[[str, str, str, int, str], tuple[str, Imported | Left]],
                 repo_files: Callable[[Path], list[tuple[str, str]]], site_repos: list[str]):
        self.names = names
        self.checks = checks
        self.drop = drop
        self.repo_files = repo_files
        self.site_repos = site_repos

    def run(self, found: KollaFile, report: ImportReport) -> None:
        file = str(found.path)
        report.files.append(file)
        for item, line, state in found.inactive + [(b.name, b.line, b.state) for b in found.blocks
                                                  if b.state != "active"]:
            kind, _, why = state.partition(": ")
            target = report.skipped if kind == "skip" else report.not_imported
            target.append(Left(item, file, line, why))
        for item, line, reason in found.unread:
            report.not_imported.append(Left(item, file, line, reason))
        report.skipped += [Left(item, file, line, reason) for item, line, reason in found.overwritten]
        # lists a block installs with Kolla's macros are read there, not as settings
        used = {m.variable for b in found.blocks if b.state == "active" for i in b.instructions for m in i.macros}
        for block in found.blocks:
            if block.state == "active":
                self.block(block, found, report)
        for name, (values, line) in found.settings.items():
            if name not in used:
                self.setting(name, values, line, found, report)

    def left(self, report: ImportReport, item: str, file: str, line: int, reason: str, image: str | None = None,
             suggestion: str | None = None) -> None:
        report.not_imported.append(Left(item, file, line, reason, image, suggestion))

    def image_of(self, kolla_name: str, item: str, file: str, line: int, report: ImportReport) -> str | None:
        image = self.names.image(kolla_name.replace("_", "-"))
        if image is None:
            reason, suggestion = self.names.unknown(kolla_name.replace("_", "-"))
            self.left(report, item, file, line, reason, None, suggestion)
        return image

    # ---- settings ----------------------------------------------------------------------------

    def setting(self, name: str, values: list[Value] | None, line: int, found: KollaFile,
                report: ImportReport) -> None:
        file = str(found.path)
        if _DEB_ONLY.search(name):
            report.skipped.append(Left(f"set {name}", file, line, "a Debian/Ubuntu setting; the target is RPM"))
            return
        match = _LIST_OP.fullmatch(name)
        if match is None:
            self.left(report, f"set {name}", file, line,
                      "not a list Kolla customises (<image>_<list>_append|_remove|_override) and no block of "
                      "this file installs it")
            return
        if values is None:
            self.left(report, f"set {name}", file, line, "not a literal list the import can read")
            return
        image = self.image_of(match["image"], f"set {name}", file, line, report)
        if image is None:
            return
        kind, op = match["list"], match["op"]
        for value in values:
            reason = reason_text(file, value.line, value.comment, ORIGIN)
            if kind in _REPO_LISTS:
                self.repo_setting(kind, op, value, name, found, report, reason)
            elif kind == "plugins":
                self.left(report, value.text, file, value.line, f"{name}: Kolla's plugin list (gems, Grafana "
                                                                 "plugins) has no counterpart here", image)
            elif kind == "pip_packages":
                self.pip(op, value, image, name, file, report, reason)
            else:
                self.package(op, value, image, name, file, report, reason)
        if op == "override" and kind not in _REPO_LISTS and values:
            self.left(report, f"set {name}", file, line,
                      "replaces Kolla's whole list; here the image's packages come from its projects' bindep "
                      "files, so the listed entries were added and nothing else was removed", image)

    def package(self, op: str, value: Value, image: str, name: str, file: str, report: ImportReport,
                reason: str) -> None:
        if op == "remove":
            bucket, entry = self.drop(image, value.text, file, value.line, reason)
            getattr(report, bucket).append(entry)
            return
        add_package(report, self.checks, image, value.text, file, value.line, reason, name)

    def pip(self, op: str, value: Value, image: str, name: str, file: str, report: ImportReport,
            reason: str) -> None:
        if op == "remove":
            self.left(report, value.text, file, value.line, f"{name}: an image's Python requirements come from "
                                                             "its projects here; removing one is not supported", image)
            return
        requirement, why, suggestion = check_pip(value.text)
        if requirement is None:
            self.left(report, value.text, file, value.line, f"{name}: {why}", image, suggestion)
        else:
            report.imported.append(Imported(image, OverrideKind.PIP, requirement, file, value.line, reason))

    def repo_setting(self, kind: str, op: str, value: Value, name: str, found: KollaFile, report: ImportReport,
                     reason: str) -> None:
        file = str(found.path)
        if op in ("remove", "override") and kind != "yum_repos_to_disable" or \
                kind == "yum_repos_to_disable" and op == "remove":
            report.skipped.append(Left(value.text, file, value.line,
                                       f"{name}: changes Kolla's default repository setup; resolver uses only the "
                                       "repositories it is given"))
        elif kind == "yum_repo_files":
            repo_file = found.path.parent / value.text
            if not repo_file.is_file():
                self.left(report, value.text, file, value.line,
                          f"{name}: {repo_file} not found (Kolla copies it from its docker/base directory); put it "
                          "beside the override file and import again, or add the repository under repos.add")
                return
            for repo_id, baseurl in self.repo_files(repo_file):
                report.imported.append(Imported(None, OverrideKind.ADD_REPO, repo_id, file, value.line, reason,
                                                baseurl))
        elif kind == "yum_repos_to_disable":
            if value.text in self.site_repos:
                report.imported.append(Imported(None, OverrideKind.REMOVE_REPO, value.text, file, value.line, reason))
            else:
                report.skipped.append(Left(value.text, file, value.line,
                                           f"{name}: resolver does not use a repository {value.text!r}"))
        else:
            self.left(report, value.text, file, value.line, f"{name}: " + {
                "yum_url_packages": "a release package URL; give the repository's metadata under repos.add",
                "yum_repo_keys": "GPG keys are not carried: the build checks signatures with each repository's "
                                 "own gpgkey",
                "yum_repo_packages": "a release package that enables a repository when installed; give that "
                                     "repository's metadata under repos.add (or --repos)",
                "yum_repos_to_enable": "enables a repository resolver is not given; name its metadata under "
                                       "repos.add (or --repos)",
            }[kind])

    # ---- blocks ------------------------------------------------------------------------------

    def block(self, block: BlockOverride, found: KollaFile, report: ImportReport) -> None:
        file = str(found.path)
        hook = _HOOK.fullmatch(block.name)
        if block.problem:
            self.left(report, f"block {block.name}", file, block.line, block.problem)
            return
        if hook is None or not block.instructions:
            if block.instructions:
                self.left(report, f"block {block.name}", file, block.line,
                          f"replaces Kolla's own block {block.name} (part of Kolla's Dockerfiles); resolver images "
                          "have no such block: put its commands in a step of the image they belong to")
            else:
                report.skipped.append(Left(f"block {block.name}", file, block.line,
                                           f"an empty block: Kolla's {block.name} does nothing then, and "
                                           "resolver images run none of Kolla's steps"))
            return
        image = self.image_of(hook["image"], f"block {block.name}", file, block.line, report)
        if image is None:
            return
        when = "before-packages" if hook["hook"] == "header" else "after-packages"
        for instruction in block.instructions:
            item = _shown(instruction)
            comment = comment_above(found.lines, instruction.line)
            reason = reason_text(file, instruction.line, comment, ORIGIN)
            if instruction.keyword not in DOCKERFILE_INSTRUCTIONS:
                self.left(report, item, file, instruction.line, "not a Dockerfile instruction", image)
            elif instruction.keyword != "RUN":
                self.left(report, item, file, instruction.line, _NOT_RUN.get(
                    instruction.keyword, f"the Dockerfile instruction {instruction.keyword} is not carried: site "
                                         "overrides add packages, Python requirements and RUN steps"), image)
            elif instruction.macros and MARKER.sub("", instruction.text).strip() == "":
                for macro in instruction.macros:
                    for value in macro.values:
                        value_reason = reason_text(file, value.line, value.comment or comment, ORIGIN)
                        if macro.kind == "install_pip":
                            self.pip("append", value, image, block.name, file, report, value_reason)
                        else:
                            self.package("append", value, image, block.name, file, report, value_reason)
            elif instruction.macros or instruction.expressions:
                what = ", ".join(instruction.expressions) or "Kolla macros"
                self.left(report, item, file, instruction.line,
                          f"uses template values only Kolla fills in ({what})", image)
            else:
                carry_step(report, self.checks, instruction.text, image, file, instruction.line, reason, when)


_NOT_RUN = {
    "COPY": "copies files from Kolla's build context, which resolver builds do not have",
    "ADD": "adds files from Kolla's build context or a URL, which resolver builds do not have",
    "ENV": "sets the image's environment, which site overrides do not carry (a build proxy comes from the "
           "builder's own environment)",
    "LABEL": "image labels are set by the builder, not by site overrides",
    "USER": "the user an image runs as is set by the deployment here",
}


def _shown(instruction: Instruction) -> str:
    """The instruction as the file writes it: each macro marker (in order, the instruction's
    macros) back as the Kolla macro call it stands for."""
    macros = iter(instruction.macros)
    return MARKER.sub(lambda _: f"{{{{ macros.{next(macros).kind}(...) }}}}",
                      f"{instruction.keyword} {instruction.text}")
