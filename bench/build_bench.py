"""Benchmark of the whole demo tree's build (run by `tox -e bench-build`; needs root, buildah, podman).

Every run is the whole process (`resolver build`, planning included), wall-clock, on this machine:

- cold: an empty cache (the demo distribution made from Debian packages, every wheel and sdist
  downloaded) and no image: everything from nothing;
- warm, nothing changed: every image's key exists, all skipped;
- warm rebuild (`--rebuild`, caches full), 2 jobs, against the baseline of the same rebuild with
  1 job (serial), measured in the same run: the ratio is what to compare across machines.

Then, per built image: RPM bytes, Python bytes, seconds, what its builder compiled; and the
per-layer rpmdb/dnf overhead measured in the images against the model in resolver/planning/plan.py
(RPMDB_BASE_BYTES + rpmdb_bytes(the headers of every installed package), and DNF_STATE_BYTES).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from resolver.containers.buildah import DBPATH
from resolver.demo.distribution import demo_repo
from resolver.metadata.repo_config import RepoSpec
from resolver.metadata.repos import RepoSet
from resolver.planning.plan import DNF_STATE_BYTES, RPMDB_BASE_BYTES, RPMDB_BYTES_PER_HEADER_BYTE, rpmdb_bytes

ROOT = Path(__file__).resolve().parent.parent


def build(prefix: str, cache: Path, *extra: str) -> tuple[float, list[dict]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(cache))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "resolver", "build", "--tag-prefix", prefix, "--format", "json",
                           *extra], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"resolver build failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)["images"]


def remove_images(prefix: str) -> None:
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                            capture_output=True, text=True).stdout.split()
    mine = [ref for ref in listed if ref.startswith(prefix + "/")]
    if mine:
        subprocess.run(["podman", "rmi", "-f", *mine], capture_output=True)


def rpm_state(ref: str, packages: list[str], repos: RepoSet) -> tuple[int, int, int]:
    """(rpmdb.sqlite bytes, dnf state bytes, the model's header bytes of the installed packages:
    ``hdr_end`` from the repository metadata, as the plan counts them)."""
    root = Path(subprocess.run(["podman", "image", "mount", ref], capture_output=True, text=True,
                               check=True).stdout.strip())
    try:
        rpmdb = sum(p.stat().st_size for p in (root / DBPATH.lstrip("/")).glob("rpmdb.sqlite*"))
        dnf = sum(p.stat().st_size for p in (root / "var/lib/dnf").rglob("*") if p.is_file())
    finally:
        subprocess.run(["podman", "image", "unmount", ref], capture_output=True)
    return rpmdb, dnf, sum(p.header_size for p in repos.resolve(sorted(packages)).closure)


def main() -> int:
    prefix = f"localhost/resolver-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="resolver-bench-cache-", dir="/var/tmp") as cache_dir:
        cache = Path(cache_dir)
        try:
            cold, images = build(prefix, cache, "--jobs", "2")
            skipped, _ = build(prefix, cache, "--jobs", "2")
            parallel, rebuilt = build(prefix, cache, "--jobs", "2", "--rebuild")
            serial, _ = build(prefix, cache, "--jobs", "1", "--rebuild")
            print(f"demo tree ({len(images)} images), whole `resolver build` process, wall clock:")
            print(f"  cold (empty cache: Debian packages -> RPMs, PyPI downloads; no image)  {cold:7.1f} s")
            print(f"  warm, nothing changed (every key exists)                               {skipped:7.1f} s")
            print(f"  warm rebuild, 2 jobs {parallel:7.1f} s   baseline: same rebuild, 1 job {serial:7.1f} s   "
                  f"ratio {parallel / serial:.3f}")
            print()
            print(f"{'image':16} {'RPM MB':>8} {'Python MB':>9} {'image MB':>9} {'seconds':>8}  compiled")
            for image in rebuilt:
                print(f"{image['name']:16} {image['rpm_bytes'] / 1e6:8.2f} {(image['python_bytes'] or 0) / 1e6:9.2f} "
                      f"{image['size'] / 1e6:9.2f} {image['seconds']:8.1f}  {', '.join(image['compiled']) or '-'}")
            print()
            print("per-layer rpmdb/dnf state (measured in the images; model: "
                  f"rpmdb = {RPMDB_BASE_BYTES / 1024:.0f} KiB + {RPMDB_BYTES_PER_HEADER_BYTE} x headers, "
                  f"dnf state {DNF_STATE_BYTES / 1024:.0f} KiB):")
            bases, dnfs = [], []
            repo = demo_repo(cache / "resolver")
            with RepoSet([RepoSpec("demo", str(repo))], cache_dir=cache / "resolver") as repos:
                for image in rebuilt:
                    rpmdb, dnf, headers = rpm_state(image["reference"], image["packages"], repos)
                    bases.append(rpmdb - headers)
                    dnfs.append(dnf)
                    print(f"  {image['name']:16} rpmdb {rpmdb / 1024:6.0f} KiB  headers {headers / 1024:6.0f} "
                          f"KiB  rpmdb - headers {(rpmdb - headers) / 1024:6.0f} KiB  dnf state {dnf / 1024:5.0f} KiB  "
                          f"model rpmdb {(RPMDB_BASE_BYTES + rpmdb_bytes(headers)) / 1024:6.0f} KiB")
            print(f"  measured: rpmdb base {min(bases) / 1024:.0f}..{max(bases) / 1024:.0f} KiB, "
                  f"dnf state {min(dnfs) / 1024:.0f}..{max(dnfs) / 1024:.0f} KiB")
        finally:
            remove_images(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
