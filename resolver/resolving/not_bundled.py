"""Packages the bundled CentOS Stream 9 pair lacks and the repositories that ship them
(``resolver/data/repos/not-bundled.yaml``: RDO, the NFV, Storage and Messaging SIGs), with the
programs each ships. A request for one of them, or a command the code runs that only one of them
provides, is then reported with where it lives (and ``centos-stream-9-epoxy.repo`` defines those
repositories), instead of as a name the metadata has never seen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ..inputs.yaml_values import check_keys, checked_reason, expect
from ..inputs.yamlfile import load_yaml
from ..names import package_name

NOT_BUNDLED = Path(str(resources.files("resolver") / "data" / "repos" / "not-bundled.yaml"))
REPO_FILE = "resolver/data/repos/centos-stream-9-epoxy.repo"


@dataclass(frozen=True)
class NotBundled:
    name: str
    repositories: tuple[str, ...]
    because: str
    commands: tuple[str, ...]

    @property
    def where(self) -> str:
        return " + ".join(self.repositories)


@cache
def not_bundled(path: Path = NOT_BUNDLED) -> Mapping[str, NotBundled]:
    data = expect(load_yaml(path, "not-bundled package list"), dict, str(path), "the file")
    check_keys(data, ["packages"], str(path))
    found = {}
    for name, entry in expect(data["packages"], dict, str(path), "packages").items():
        where = f"{path}: packages.{name}"
        expect(entry, dict, where, "an entry")
        check_keys(entry, ["repositories", "because", "commands"], where)
        repositories = tuple(package_name(r, where) for r in expect(entry["repositories"], list, where, "repositories"))
        commands = tuple(package_name(c, where) for c in expect(entry.get("commands", []), list, where, "commands"))
        found[package_name(name, where)] = NotBundled(name, repositories, checked_reason(entry["because"], where),
                                                      commands)
    return found


def package_elsewhere(name: str) -> NotBundled | None:
    return not_bundled().get(name)


def command_elsewhere(command: str) -> NotBundled | None:
    """The not-bundled package that ships this program (by its name or its path's last part)."""
    program = command.rpartition("/")[2]
    return next((p for p in not_bundled().values() if program in p.commands), None)
