"""The floor: one process doing, with dnf's own API, the dnf work of a `resolver plan` run.

    python bench/floor.py WORK.json

WORK.json (written by plan_bench.py from a plan) names the repositories, dnf's cache directory,
each deployed image's request list (solved from an empty root, weak dependencies off, as
``dnf install`` does) and each layer's request list with its parent's packages (solved with the
parent's packages pinned). The same requests, repositories and warm caches as the plan; nothing
else: no bindep, no profiles, no planning, one solve per image and per layer. dnf.Base loads the
metadata; the solves are libsolv goals with the selectors ``dnf install NAME`` would use, without
the transaction dnf builds on top (the lean way a hand-written script would take).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import dnf
import dnf.conf
import hawkey


def main() -> int:
    work = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as root:
        conf = dnf.conf.Conf()
        conf.substitutions["releasever"] = "9"  # before dnf.Base, as resolver does: no host rpmdb read
        base = dnf.Base(conf)
        base.conf.substitutions["basearch"] = "x86_64"
        base.conf.arch = "x86_64"
        base.conf.install_weak_deps = False
        base.conf.cachedir = work["cachedir"]
        base.conf.installroot = str(Path(root) / "root")
        base.conf.reposdir = []
        base.conf.logdir = root
        for repo_id, baseurl in work["repos"]:
            base.repos.add_new_repo(repo_id, base.conf, baseurl=[f"file://{baseurl}"], skip_if_unavailable=False)
        base.fill_sack(load_system_repo=False)
        installed = 0
        for requests in work["deployed"].values():
            installed += len(solve(base, [], requests))
        available = base.sack.query().available()
        for layer in work["layers"]:
            pinned = list(available.filter(nevra_strict=layer["parent"])) if layer["parent"] else []
            installed += len(solve(base, pinned, layer["request"]))
        base.close()
    print(json.dumps({"solves": len(work["deployed"]) + len(work["layers"]), "installed": installed}))
    return 0


def solve(base: dnf.Base, pinned: list, requests: list[str]) -> list:
    goal = hawkey.Goal(base.sack)
    for package in pinned:
        goal.install(package)
    for name in requests:
        selector = dnf.subject.Subject(name).get_best_selector(base.sack)
        if selector.matches():  # a name no package provides: dnf's command line skips it (strict=False)
            goal.install(select=selector, optional=True)
    goal.run(allow_uninstall=False, force_best=base.conf.best, ignore_weak_deps=True)
    return goal.list_installs()


if __name__ == "__main__":
    sys.exit(main())
