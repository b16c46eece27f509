"""The per-layer rpmdb/dnf overhead measured without building images (`tox -e bench-overhead`;
needs root, dnf and rpm, and the demo distribution's tools: apt-get, dpkg-deb, rpmbuild, createrepo_c).

Seeded random request sets of the demo distribution (resolver/demo, real RPMs made from Debian
binaries) are installed into plain directories with `resolver build`'s own dnf step
(`dnf --installroot`, weak dependencies off, SQLite write-ahead logs folded in, dnf's caches and
logs removed): no buildah, no image. Per set: rpmdb.sqlite bytes, the installed packages' header
bytes (``hdr_end`` of the metadata, what the plan knows), dnf's state; then the least-squares fit
rpmdb = base + per_header_byte * headers against the model's constants in resolver/planning/plan.py.
"""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from resolver.containers.buildah import DBPATH, Buildah
from resolver.demo.distribution import demo_repo
from resolver.files import default_cache_dir
from resolver.metadata.repo_config import RepoSpec
from resolver.metadata.repos import RepoSet
from resolver.planning.plan import DNF_STATE_BYTES, RPMDB_BASE_BYTES, RPMDB_BYTES_PER_HEADER_BYTE

SEEDS = (1, 2, 3)
SIZES = (3, 8, 15, 25, 40)


def main() -> int:
    cache = default_cache_dir()
    spec = RepoSpec("demo", str(demo_repo(cache)))
    dnf_step = Buildah([spec])  # its install step only: dnf, no buildah command is run
    rows = []
    with RepoSet([spec], cache_dir=cache) as repos, tempfile.TemporaryDirectory(prefix="resolver-overhead-") as work:
        names = sorted(repos.names_providing("*"))
        print(f"demo distribution: {len(names)} packages; one fresh root per request set")
        print(f"{'packages':>8} {'rpmdb KiB':>10} {'headers KiB':>12} {'rpmdb-headers KiB':>18} {'dnf state KiB':>14}")
        for seed in SEEDS:
            shuffled = random.Random(seed).sample(names, len(names))
            for count in (*SIZES, len(names)):
                closure = repos.resolve(shuffled[:count]).closure
                root = Path(work) / f"{seed}-{count}"
                root.mkdir()
                dnf_step.install(root, [p.name for p in closure], f"request set {seed}-{count}")
                rpmdb = (root / DBPATH.lstrip("/") / "rpmdb.sqlite").stat().st_size
                dnf = sum(p.stat().st_size for p in (root / "var/lib/dnf").rglob("*") if p.is_file())
                headers = sum(p.header_size for p in closure)
                rows.append((len(closure), rpmdb, headers, dnf))
                print(f"{len(closure):8} {rpmdb / 1024:10.0f} {headers / 1024:12.0f} {(rpmdb - headers) / 1024:18.0f} "
                      f"{dnf / 1024:14.0f}")
                shutil.rmtree(root)
    slope, base = statistics.linear_regression([r[2] for r in rows], [r[1] for r in rows])
    fitted = max(abs(base + slope * r[2] - r[1]) for r in rows)
    model = max(abs(RPMDB_BASE_BYTES + RPMDB_BYTES_PER_HEADER_BYTE * r[2] - r[1]) for r in rows)
    print(f"fit: rpmdb = {base / 1024:.0f} KiB + {slope:.3f} x headers (largest error {fitted / 1024:.0f} KiB); "
          f"dnf state {min(r[3] for r in rows) / 1024:.0f}..{max(r[3] for r in rows) / 1024:.0f} KiB")
    print(f"model (resolver/planning/plan.py): rpmdb = {RPMDB_BASE_BYTES / 1024:.0f} KiB "
          f"+ {RPMDB_BYTES_PER_HEADER_BYTE:.3f} x headers (largest error here {model / 1024:.0f} KiB), "
          f"dnf state {DNF_STATE_BYTES / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
