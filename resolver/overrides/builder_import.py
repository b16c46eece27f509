"""`resolver import-kolla` and `import-tcib` as one call: another builder's files read against the
tree and the repositories, what carries over written as a site override file (checked to load and
apply first), the rest listed with file:line and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from ..inputs.platforms import Platform
from ..metadata.repo_config import RepoSpec, repo_specs
from ..metadata.repos import RepoSet
from ..progress import Reporter
from ..resolving.resolution import TreeResolver
from .import_entries import PackageChecks, ProvideIndex, TreeRequests
from .kolla_import import KollaImport, kolla_image_names
from .kolla_template import KollaFile
from .site import Site, defined_profiles
from .site_import import ImportReport, checker, finish, write_override_file
from .tcib_containers import TcibImport, tcib_image_names


def import_builder_files(files: Sequence[Path], kolla_files: Sequence[KollaFile] | None, output: Path, command: str,
                         site: Site, target: Platform,
                         open_repos: Callable[[Sequence[RepoSpec]], AbstractContextManager[RepoSet]],
                         reporter: Reporter, cache_dir: Path | None = None) -> ImportReport:
    """Kolla's files (``kolla_files``: read first, so that a file that cannot be read stops the
    import before the metadata loads), else TCIB's ``files``; ``open_repos`` opens repositories
    (with the command's cache and expiry); ``command``: the command line named in the written
    file's header."""
    kolla = kolla_files is not None
    report = ImportReport("kolla" if kolla else "tcib")
    with open_repos(site.repos) as repos:
        reporter.starting("import")
        requests = TreeRequests(TreeResolver(site.tree, site.profiles, target, repos, False, cache_dir, reporter))
        checks = PackageChecks(lambda name: repos.installsize_of(name) is not None,
                               ProvideIndex(repos.known_names(), lambda spec: bool(repos.names_providing(spec))),
                               [spec.repo_id for spec in site.repos], target, requests)
        if kolla:
            reader = KollaImport(kolla_image_names(site.tree), checks, requests.drop,
                                 lambda path: [(s.repo_id, s.baseurl) for s in repo_specs([str(path)])],
                                 [spec.repo_id for spec in site.repos])
            for kolla_file in kolla_files or ():
                reader.run(kolla_file, report)
        else:
            tcib = TcibImport(tcib_image_names(site.tree), checks, target, repos.module_streams)
            for path in files:
                tcib.run(path, report)
    finish(report)
    write_override_file(report, output, command, site.tree,
                        checker(site.tree, site.profiles, defined_profiles(site.profiles, cache_dir)))
    return report
