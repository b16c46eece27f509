"""The largest inputs each command accepts, with its time and peak memory, beside the shipped input.

Each command runs in a child process three times: on the shipped input (the baseline), on that
input padded to just below the size limit the code sets for it (``files.MAX_INPUT_BYTES`` for
images/, Kolla and TCIB files; ``lock.MAX_LOCK_BYTES`` for a lock), and padded to just above (it
must be refused, fast and small). Peak memory is the child's maximum resident set
(``os.wait4``'s rusage); ratios are against the baseline of the same command in the same run.

What the figures leave out: the padding is comments (YAML, Jinja) or whitespace (JSON), so a
"largest" run measures reading and parsing the largest accepted file, not the largest tree (the
tree's scale is bench/plan_bench.py's; 1,000 images and 100,000 packages in one image are
tests/test_planning.py's and test_plan.py's). The cache is the user's, warm after the baselines.

    python bench/limits.py            # a few minutes
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resolver.files import MAX_INPUT_BYTES
from resolver.lock import MAX_LOCK_BYTES  # (numpy and dnf are not imported: this process stays small)

ROOT = Path(__file__).resolve().parent.parent
KOLLA = ROOT / "tests" / "data" / "kolla" / "tripleo_kolla_template_overrides.j2"
TCIB = ROOT / "tests" / "data" / "tcib" / "tripleo-common" / "nova-compute.yaml"
DEMO_IMAGES = ROOT / "resolver" / "data" / "demo" / "images"
TIMEOUT = 600


def padded(source: Path, target: Path, size: int, line: bytes) -> Path:
    """``source`` copied to ``target`` and grown to exactly ``size`` bytes with ``line``s."""
    data = source.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    repeats, rest = divmod(size - len(data), len(line))
    with open(target, "wb") as out:  # in pieces: this process stays small (a child's peak starts from it)
        out.write(data)
        for start in range(0, repeats, 4096):
            out.write(line * min(4096, repeats - start))
        out.write(b" " * rest)
    assert target.stat().st_size == size
    return target


def measured(argv: list[str], cwd: Path) -> tuple[int, float, float]:
    """Exit code, seconds and peak resident MB of ``resolver ARGV`` in a child."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "resolver", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = started + TIMEOUT
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss / 1024


def tree_with(place: Path, shipped: Path, size: int | None) -> Path:
    """A copy of the ``shipped`` images/ with its largest file padded to ``size`` bytes (None: as shipped)."""
    images = place / f"{shipped.parent.name}-images-{size}"
    shutil.copytree(shipped, images)
    if size is not None:
        name = max(shipped.glob("*.yaml"), key=lambda p: p.stat().st_size).name
        padded(shipped / name, images / name, size, b"# padding: a comment line of the largest file\n")
    return images


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="resolver-limits-") as scratch:
        place = Path(scratch)
        lock = place / "resolver.lock"
        code, _, _ = measured(["lock", "--lock", str(lock), "--quiet"], place)
        assert code == 0, "the shipped tree locks"
        sizes = {"shipped": None, "just below": MAX_INPUT_BYTES, "just above": MAX_INPUT_BYTES + 1}
        cases: list[tuple[str, str, list[str]]] = []
        for label, size in sizes.items():
            images = tree_with(place, ROOT / "images", size)
            demo = tree_with(place, DEMO_IMAGES, size)
            out = place / f"out-{size}"
            cases += [
                ("plan", label, ["plan", "--images", str(images), "--quiet"]),
                ("lock", label, ["lock", "--images", str(images), "--lock", str(out / "resolver.lock"), "--quiet"]),
                ("packages", label, ["packages", "keystone", "--images", str(images), "--quiet"]),
                ("render", label, ["render", "--images", str(demo), "--output", str(out / "render"), "--quiet"]),
            ]
        for label, size in {"shipped": None, "just below": MAX_LOCK_BYTES, "just above": MAX_LOCK_BYTES + 1}.items():
            path = lock if size is None else padded(lock, place / f"lock-{size}", size, b" " * 1023 + b"\n")
            cases.append(("verify-lock", label, ["plan", "--verify-lock", "--lock", str(path), "--quiet"]))
        for command, source, line in (("import-kolla", KOLLA, b"{# padding: a Jinja comment #}\n"),
                                      ("import-tcib", TCIB, b"# padding: a comment line of the largest file\n")):
            for label, size in sizes.items():
                path = source if size is None else padded(source, place / f"{command}-{size}{source.suffix}",
                                                          size, line)
                cases.append((command, label, [command, str(path), "--output", str(place / f"{command}-{size}.yaml"),
                                               "--quiet"]))
        print(f"limits: images/ and import files {MAX_INPUT_BYTES} bytes, locks {MAX_LOCK_BYTES} bytes (the largest "
              "file of images/ padded; render: of the demo tree, which it renders)")
        print(f"{'command':12} {'input':11} {'exit':>4} {'seconds':>8} {'x base':>7} {'peak MB':>8} {'x base':>7}")
        baseline: dict[str, tuple[float, float]] = {}
        for command, label, argv in cases:
            code, seconds, peak = measured(argv, place)
            base = baseline.setdefault(command, (seconds, peak))
            print(f"{command:12} {label:11} {code:4} {seconds:8.2f} {seconds / base[0]:7.2f} {peak:8.1f} "
                  f"{peak / base[1]:7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
