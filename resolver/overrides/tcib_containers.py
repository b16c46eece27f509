"""TCIB (TripleO Container Image Build) container files read for `resolver import-tcib`.

Each container is a YAML file named after its image (``nova-compute.yaml``) holding
``tcib_packages`` (``common``, per-architecture and per-EL-release lists, and ``modules`` to
enable or disable per EL release), ``tcib_actions`` (``run:`` shell commands, ``copy:`` files)
and image settings (``tcib_user``, ``tcib_cmd``, ``tcib_entrypoint``, ``tcib_envs``...). Values
may hold Jinja expressions, which TCIB renders with Ansible: they are rendered here in Jinja's
sandbox with the file's own settings and the target's (``tcib_distro``, ``tcib_release``); what
needs Ansible's filters or TCIB's build variables is not imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from ..errors import InputError
from ..files import read_text
from ..inputs.image_tree import ImageTree, OverrideKind
from ..inputs.platforms import Platform
from ..inputs.yamlfile import line_of, parse_yaml
from ..reporting.baselines import load_baseline
from .import_entries import PackageChecks, add_package, carry_step
from .site_import import ImageNames, Imported, ImportReport, Left, comment_above, reason_text
from .template_sandbox import BoundedSandbox, TemplateBudget, TemplateLimit

ORIGIN = "tcib"
_SETTINGS = {
    "tcib_user": "the user the image runs as",
    "tcib_cmd": "the image's command (TCIB's kolla_start)",
    "tcib_entrypoint": "the image's entrypoint",
    "tcib_envs": "the image's environment",
    "tcib_labels": "the image's labels",
    "tcib_stopsignal": "the image's stop signal",
    "tcib_from": "the image's base (here the parent in the tree)",
    "tcib_args": "build arguments",
    "tcib_healthcheck": "the image's health check",
}


def tcib_image_names(tree: ImageTree) -> ImageNames:
    """TCIB's image names on the tree, with TCIB's own parents (the bundled baseline lists)."""
    return ImageNames(tree, {}, {name: image.parent for name, image in load_baseline("tcib").items()})


class TcibImport:
    """Sorts what TCIB container files hold into imported / not imported / skipped entries."""

    def __init__(self, names: ImageNames, checks: PackageChecks, target: Platform,
                 module_streams: Callable[[], Mapping[str, Sequence[str]]]):
        self.names = names
        self.checks = checks
        self.target = target
        self.module_streams = module_streams
        self.distro, _, self.release = target.name.rpartition("-")
        self.jinja = BoundedSandbox()

    def run(self, path: Path, report: ImportReport) -> None:
        text = read_text(path, "TCIB container file")
        data = parse_yaml(text, path, "TCIB container file")
        if not isinstance(data, dict):
            raise InputError(f"{path}:1: not a TCIB container file (a mapping with tcib_packages, tcib_actions...)")
        file = str(path)
        report.files.append(file)
        image = self.names.image(path.stem)
        if image is None:
            reason, suggestion = self.names.unknown(path.stem)
            report.not_imported.append(Left(path.stem, file, 1, f"{reason}; nothing of this file is imported",
                                            None, suggestion))
            return
        self.lines = text.splitlines()
        self.jinja.budget = TemplateBudget()  # the bounds hold per file
        self.context = {"tcib_distro": self.distro, "tcib_release": self.release, "tcib_rhel_modules": {},
                        **{k: v for k, v in data.items() if isinstance(k, str) and k.startswith("tcib_")}}
        for key, value in data.items():
            line = line_of(data, key, 1)
            if key == "tcib_packages":
                self.packages(value, image, file, line, report)
            elif key == "tcib_actions":
                self.actions(value, image, file, line, report)
            elif key in _SETTINGS:
                report.not_imported.append(Left(f"{key}: {value}", file, line, f"not carried: {_SETTINGS[key]} is "
                                                "the deployment's to set; site overrides change packages, Python "
                                                "requirements and steps", image))
            else:
                report.not_imported.append(Left(str(key), file, line, "not a TCIB key the import knows", image))

    def render(self, text: str, file: str, line: int) -> str:
        """A value as TCIB would render it (raises jinja2 errors for what only TCIB can fill in);
        InputError naming the value's line for one that cannot be rendered at all (it fails in
        TCIB too) or would spend more than the sandbox's bounds."""
        if "{" not in text:
            return text
        try:
            return self.jinja.render(text, self.context)
        except jinja2.TemplateError:
            raise
        except TemplateLimit as limit:
            raise InputError(f"{file}:{line}: the template value {limit}, more than an import evaluates: write the "
                             "value out or fix the template") from None
        except Exception as error:  # noqa: BLE001 (the value's own expressions fail: TypeError, 1/0, ...)
            raise InputError(f"{file}:{line}: the template value fails to render ({type(error).__name__}: "
                             f"{str(error)[:200]}); fix the expression") from None

    def reason(self, file: str, line: int) -> str:
        return reason_text(file, line, comment_above(self.lines, line), ORIGIN)

    # ---- tcib_packages -----------------------------------------------------------------------

    def packages(self, value: Any, image: str, file: str, line: int, report: ImportReport) -> None:
        lists = {"common": value} if isinstance(value, list) else value
        if not isinstance(lists, dict):
            raise InputError(f"{file}:{line}: tcib_packages must be a mapping or a list")
        for key, names in lists.items():
            at = line_of(lists, key, line)
            if key == "modules":
                self.modules(names, image, file, at, report)
                continue
            applies = key in ("common", "x86_64", f"el{self.release}") or key == self.distro
            for index, name in enumerate(names if isinstance(names, list) else [names]):
                item_line = line_of(names, index, at)
                if not applies:
                    report.skipped.append(Left(str(name), file, item_line, f"tcib_packages.{key}: not for "
                                               f"{self.target.name} x86_64", image))
                    continue
                if not isinstance(name, str):
                    report.not_imported.append(Left(str(name), file, item_line, f"tcib_packages.{key}: a package "
                                                    "entry is a name (a string)", image))
                    continue
                try:
                    rendered = self.render(name, file, item_line)
                except jinja2.TemplateError as error:
                    report.not_imported.append(Left(name, file, item_line, f"uses template values only TCIB "
                                                    f"fills in ({error})", image))
                    continue
                add_package(report, self.checks, image, rendered, file, item_line, self.reason(file, item_line),
                            f"tcib_packages.{key}")

    def modules(self, value: Any, image: str, file: str, line: int, report: ImportReport) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise InputError(f"{file}:{line}: tcib_packages.modules must be a mapping of EL releases to lists "
                             "({el9: [{enable: MODULE:STREAM}]})")
        for release, entries in value.items():
            at = line_of(value, release, line)
            if entries is not None and not isinstance(entries, list):
                raise InputError(f"{file}:{at}: tcib_packages.modules.{release} must be a list of {{enable: "
                                 "MODULE:STREAM}} or {disable: MODULE:STREAM}")
            for index, entry in enumerate(entries or []):
                item_line = line_of(entries, index, at)
                action, spec = next(iter(entry.items())) if isinstance(entry, dict) and len(entry) == 1 \
                    else (None, entry)
                if release != f"el{self.release}":
                    report.skipped.append(Left(f"{action} {spec}", file, item_line, f"modules.{release}: not for "
                                               f"{self.target.name}", image))
                elif action == "disable":
                    report.skipped.append(Left(f"disable {spec}", file, item_line, "resolver enables no module "
                                               "stream unless told: nothing to disable", image))
                elif action != "enable" or not isinstance(spec, str):
                    report.not_imported.append(Left(str(entry), file, item_line, "a module entry is "
                                                    "{enable: MODULE:STREAM} or {disable: MODULE:STREAM}", image))
                else:
                    self.module(spec, image, file, item_line, report)

    def module(self, spec: str, image: str, file: str, line: int, report: ImportReport) -> None:
        try:
            stream = self.render(spec, file, line)
        except jinja2.TemplateError as error:
            report.not_imported.append(Left(f"enable {spec}", file, line, f"uses template values only TCIB fills "
                                            f"in ({error})", image))
            return
        module, _, name = stream.partition(":")
        known = self.module_streams()
        if name in known.get(module, ()):
            report.imported.append(Imported(image, OverrideKind.MODULE, stream, file, line, self.reason(file, line)))
            return
        have = ", ".join(f"{module}:{s}" for s in known.get(module, ())) or "none"
        report.not_imported.append(Left(f"enable {stream}", file, line, f"no module stream {stream} in the "
                                        f"repositories (streams of {module}: {have})", image,
                                        f"{module}:{known[module][-1]}" if known.get(module) else None))

    # ---- tcib_actions ------------------------------------------------------------------------

    def actions(self, value: Any, image: str, file: str, line: int, report: ImportReport) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise InputError(f"{file}:{line}: tcib_actions must be a list of {{run: COMMAND}} or {{copy: SOURCE DEST}}")
        for index, action in enumerate(value):
            at = line_of(value, index, line)
            if not isinstance(action, dict) or len(action) != 1 or not isinstance(next(iter(action.values())), str):
                report.not_imported.append(Left(str(action), file, at, "an action is {run: COMMAND} or "
                                                "{copy: SOURCE DEST}", image))
                continue
            kind, command = next(iter(action.items()))
            if kind != "run":
                report.not_imported.append(Left(f"{kind}: {command}", file, at, f"a {kind} action needs TCIB's build "
                                                "context, which resolver builds do not have", image))
            elif "tcib_packages" in command:
                report.skipped.append(Left(f"run: {command}", file, at, "installs tcib_packages, imported as "
                                           "packages (the layer plan installs them)", image))
            else:
                self.run_action(command, image, file, at, report)

    def run_action(self, command: str, image: str, file: str, line: int, report: ImportReport) -> None:
        try:
            rendered = self.render(command, file, line)
        except jinja2.TemplateError as error:
            report.not_imported.append(Left(f"run: {command}", file, line, f"uses template values or filters only "
                                            f"TCIB's Ansible fills in ({error})", image))
            return
        # a backslash-newline continues the shell's line; any other newline starts another command,
        # which a site step (one command line) cannot hold without changing what runs
        lines = [part for part in rendered.replace("\\\n", "").split("\n") if part.strip()]
        if not lines:
            report.skipped.append(Left(f"run: {command}", file, line, f"renders to no command for {self.target.name}",
                                       image))
            return
        if len(lines) > 1:
            report.not_imported.append(Left(f"run: {command}", file, line, f"a script of {len(lines)} command lines; "
                                            "a site step is one command line: join them (with && where each must "
                                            "succeed) and add the step by hand", image))
            return
        carry_step(report, self.checks, lines[0].strip(), image, file, line, self.reason(file, line),
                   "after-packages")
