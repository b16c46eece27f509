"""`resolver evidence` as one call: the evidence of the named images and projects (default: every
deployed image), the findings and the bindep lines the code asks for, as data. Each project's code
is read once (``code_loader``), also for `resolver audit --evidence`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UnknownNameError
from ..progress import Reporter
from ..resolving.resolution import TreeResolver
from ..resolving.unresolved import UnresolvedRequest
from .audit import Finding
from .evidence import EvidenceContext, ImageEvidence, image_evidence
from .evidence_findings import BindepSuggestion, evidence_findings, suggested_lines
from .project_code import ProjectCode, claimed_by, project_code, scopes_of_command


def code_loader(resolver: TreeResolver, cache_dir: Path | None,
                reporter: Reporter) -> Callable[[str], ProjectCode | None]:
    """project -> its release's code, loaded once (None for a project without a release)."""
    loaded: dict[str, ProjectCode | None] = {}

    def code_of(project: str) -> ProjectCode | None:
        if project not in loaded:
            release = resolver.profiles.project(project).release
            reporter.starting(f"reading {release}" if release else project)
            loaded[project] = project_code(project, release, cache_dir) if release else None
        return loaded[project]

    return code_of


@dataclass(frozen=True)
class ProjectView:
    """Every command and module use of a project's release, by the profile whose code it is."""

    project: str
    #: the profile file (said when the project has no release to read)
    profile_path: str
    code: ProjectCode | None
    #: scope -> (command or ``import MODULE``, where, the packages providing the command)
    scopes: Mapping[str, Sequence[tuple[str, str, Sequence[str]]]]

    def to_json(self) -> dict[str, Any]:
        code = self.code
        if code is None:
            return {"project": self.project, "release": None}
        return {"project": self.project, "release": code.release, "sha256": code.sha256,
                "scopes": {scope: [{"name": n, "site": w, "providers": list(p)} for n, w, p in uses]
                           for scope, uses in self.scopes.items()},
                "dynamic": [f"{d.path}:{d.line} ({d.via})" for d in code.uses.dynamic],
                "unparsed": list(code.uses.unparsed)}


def project_view(context: EvidenceContext, project: str) -> ProjectView:
    profile = context.resolver.profiles.project(project)
    code = context.code_of(project)
    rows: dict[str, list[tuple[str, str, Sequence[str]]]] = {}
    if code is not None:
        for use in code.uses.commands:
            for scope in sorted(scopes_of_command(profile, use) or {"(a helper nothing in the release calls)"}):
                rows.setdefault(scope, []).append((use.command, use.where, context.command_providers(use.command)))
        for imported in code.uses.imports:
            if imported.module in context.resolver.profiles.defaults.python_modules:
                for scope in sorted(claimed_by(profile, imported.path)):
                    rows.setdefault(scope, []).append((f"import {imported.module}", f"{imported.path}:{imported.line}",
                                                       ()))
    return ProjectView(project, str(profile.path), code, rows)


@dataclass(frozen=True)
class Evidence:
    images: list[ImageEvidence]
    projects: list[ProjectView]
    #: from the deployed images among ``images``
    findings: list[Finding]
    suggestions: list[BindepSuggestion]
    #: each image's requests that did not resolve
    unresolved: dict[str, tuple[UnresolvedRequest, ...]]

    def to_json(self) -> dict[str, Any]:
        return {"images": [e.to_json() for e in self.images], "projects": [v.to_json() for v in self.projects],
                "findings": [f.to_json() for f in self.findings],
                "suggested_bindep": [{"project": s.project, "profile": s.profile, "line": s.line,
                                      "because": s.because} for s in self.suggestions]}


def gather_evidence(resolver: TreeResolver, cache_dir: Path | None, reporter: Reporter,
                    targets: Sequence[str] = ()) -> Evidence:
    """The evidence of ``targets`` (images of the tree or projects of the profiles; default: every
    deployed image)."""
    tree, profiles = resolver.tree, resolver.profiles
    context = EvidenceContext(resolver, code_loader(resolver, cache_dir, reporter))
    names = list(targets) or [n for n in tree.names() if tree.spec(n).deployed]
    images, projects = [], []
    for name in names:
        if name in tree.graph:
            images.append(image_evidence(context, name))
        elif name in profiles.projects:
            projects.append(name)
        else:
            raise UnknownNameError("image or project", name, [*tree.names(), *profiles.projects])
    views = [project_view(context, p) for p in projects]
    findings = evidence_findings([e for e in images if tree.spec(e.image).deployed])
    suggestions = suggested_lines(images, resolver)
    unresolved = {e.image: resolver.image(e.image).unresolved for e in images}
    return Evidence(images, views, findings, suggestions, unresolved)
