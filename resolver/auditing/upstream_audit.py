"""`resolver audit` as one call: the named projects' bindep files (a project of the profiles, a
bundled upstream file, a bindep file or an sdist; with ``--all-upstream`` every bundled one)
audited for each target platform, their suggested patches, and with ``--evidence`` the findings
from the projects' code for every deployed image.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BindepParseError, UnknownNameError
from ..inputs.image_tree import ImageTree
from ..inputs.platforms import Platform
from ..inputs.profiles import Profiles
from ..inputs.sources import Source, read_bindep
from ..metadata.repos import RepoSet
from ..progress import Reporter
from ..resolving.resolution import TreeResolver
from .audit import Finding, FindingKind, audit_file, unified_patch
from .evidence import EvidenceContext, image_evidence
from .evidence_findings import evidence_findings, suggested_lines
from .evidence_report import code_loader


@dataclass
class UpstreamAudit:
    findings: list[Finding] = field(default_factory=list)
    #: project -> its unified patch (projects with something to patch)
    patches: dict[str, str] = field(default_factory=dict)
    #: the projects audited, in order
    audited: list[str] = field(default_factory=list)
    #: a file could not be read or parsed (exit 2)
    unreadable: bool = False
    #: --evidence: project -> (profile, line, because) the code asks for
    suggested: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)


def audit_upstream(names: Sequence[str], tree: ImageTree, profiles: Profiles, targets: Sequence[Platform],
                   repos: RepoSet, upstream: Path, reporter: Reporter, cache_dir: Path | None = None,
                   all_upstream: bool = False, evidence: bool = False) -> UpstreamAudit:
    """``names``: projects, bindep files or sdists (default: every project of the profiles);
    ``upstream``: the bundled upstream files (profiles/upstream)."""
    result = UpstreamAudit()
    names = list(names)
    if all_upstream:
        sources = (upstream / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
        names += [line.split("|")[0].strip() for line in sources if line.strip() and not line.startswith("#")]
    for project, source, used in _audit_targets(names, tree, profiles, upstream):
        reporter.stage(f"auditing {project}")
        result.audited.append(project)
        try:
            bindep = read_bindep(source, cache_dir)
        except BindepParseError as error:
            result.findings.append(Finding(project, error.filename, error.line, "", FindingKind.PARSE_ERROR,
                                           error.message, "fix the line so bindep can parse it"))
            result.unreadable = True
            continue
        found = [f for target in targets
                 for f in audit_file(project, bindep, target, profiles.defaults, repos, used)]
        found = list({(f.line, f.kind, f.package): f for f in found}.values())
        result.findings.extend(found)
        patch = unified_patch(bindep, found)
        if patch:
            result.patches[project] = patch
    if evidence:
        _add_evidence(result, TreeResolver(tree, profiles, targets[0], repos, False, cache_dir, reporter), cache_dir,
                      reporter)
    return result


def _add_evidence(result: UpstreamAudit, resolver: TreeResolver, cache_dir: Path | None, reporter: Reporter) -> None:
    """Findings from the projects' code on every deployed image, and the bindep lines it asks for."""
    tree = resolver.tree
    context = EvidenceContext(resolver, code_loader(resolver, cache_dir, reporter))
    found = [image_evidence(context, name) for name in tree.names() if tree.spec(name).deployed]
    for line in suggested_lines(found, resolver):
        result.suggested.setdefault(line.project, []).append((line.profile, line.line, line.because))
    findings = evidence_findings(found)
    result.findings += findings
    result.audited += [p for p in dict.fromkeys(f.project for f in findings) if p not in result.audited]


def _audit_targets(targets: Sequence[str], tree: ImageTree, profiles: Profiles,
                   upstream: Path) -> Iterator[tuple[str, Source, set[str]]]:
    """(project, source, profiles used by profiles/ and images/) for each audit target: a project
    of profiles/, a bundled upstream file (profiles/upstream/NAME.txt), a bindep file or an sdist."""
    used_by_images: dict[str, set[str]] = {}
    for name in tree.names():
        for project, chosen in tree.spec(name).projects.items():
            used_by_images.setdefault(project, set()).update(chosen)
    for target in targets or list(profiles.projects):
        if target in profiles.projects:
            profile = profiles.projects[target]
            used = (set(profile.runtime_profiles) | set(profile.build_profiles)
                    | set(profile.filtered_build_profiles) | used_by_images.get(target, set())) - set(profile.groups)
            yield target, profile.source, used
        elif target.endswith((".tar.gz", ".tgz")):
            yield re.sub(r"-[0-9][^-]*$", "", target.rpartition("/")[2].split(".tar")[0]), \
                Source("sdist", target), set()
        else:
            path = Path(target) if Path(target).exists() else upstream / f"{target}.txt"
            if not path.exists():
                known = sorted({*profiles.projects, *(p.stem for p in upstream.glob("*.txt"))})
                raise UnknownNameError("project or file", target, known)
            yield path.stem, Source("path", str(path)), set()
