"""SIGKILL at random moments: `resolver lock`, `resolver plan --verify-lock` and `resolver report`
always leave the old file (or report) or the new one, valid, and nothing behind that the next run
does not remove. Then three writers of one lock at once.

Each trial restores the old output (written first with `--tree declared`, so old and new differ),
starts the command (the computed tree), kills it with SIGKILL after a random delay, and looks:

- the output: ``old``, ``new`` (a lock `read_lock` accepts, byte-equal to one of the two runs; a
  report directory whose every file equals the old set or the new set), else ``corrupt``/``mixed``;
- what the killed process left: its temporaries beside the output (``.NAME.PID.tmp``), its
  ``resolver-*PID-*`` directories under TMPDIR (SIGKILL gives it no chance to remove them) and new
  files in the cache directory (dnf's ``metadata_lock.pid``, which the next dnf takes over);
- after all trials one complete run, which must remove every leftover of the dead processes and
  leave the cache as it was.

Delays: half from the start, uniform over the whole run (0 to 1.1 x the duration of a complete
run); half from the moment this run prints "output: writing" (its last stage: the lock or the
report is computed and written), uniform over 1.2 x what that stage took in the complete run, so
that a machine slower than the measurement still has its kills land on the writing. Seeded.

    .venv/bin/python bench/kill_bench.py                       # 100 trials of lock and report, 30 of plan
    .venv/bin/python bench/kill_bench.py --trials 20 --images DIR --seed 3 --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resolver.errors import InputError  # noqa: E402
from resolver.lock import read_lock  # noqa: E402

#: the line after which the command writes (its last stage)
WRITING = "output: writing"


@dataclass
class Scenario:
    name: str
    #: the command's arguments, given the output path
    argv: list[str]
    output: str
    #: False: the command only reads the output (plan --verify-lock); it must stay the old one
    writes: bool = True


def scenarios(work: Path) -> dict[str, Scenario]:
    lock, report = work / "resolver.lock", work / "report"
    return {"lock": Scenario("lock", ["lock", "--lock", str(lock)], "resolver.lock"),
            # against the old lock (the declared tree), which it verifies: it reads, never writes
            "plan": Scenario("plan --verify-lock", ["plan", "--verify-lock", "--lock", str(lock), "--tree", "declared"],
                             "resolver.lock", writes=False),
            "report": Scenario("report", ["report", "--output", str(report)], "report")}


@dataclass
class Tally:
    trials: int = 0
    finished: int = 0
    states: Counter = field(default_factory=Counter)
    left_files: int = 0
    left_dirs: int = 0
    cache_left: Counter = field(default_factory=Counter)
    after_next_run: int = 0
    cache_after_next_run: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def ok(self, writes: bool) -> bool:
        bad = self.states["corrupt"] + self.states["mixed"] + self.states["absent"] + (0 if writes else
                                                                                          self.states["new"])
        return bad == 0 and self.after_next_run == 0 and not self.cache_after_next_run

    def to_json(self) -> dict:
        return {"trials": self.trials, "finished_before_kill": self.finished, "states": dict(self.states),
                "leftover_files_of_killed": self.left_files, "leftover_tmpdirs_of_killed": self.left_dirs,
                "cache_files_of_killed": dict(self.cache_left), "leftovers_after_next_run": self.after_next_run,
                "cache_files_after_next_run": self.cache_after_next_run,
                "seconds": round(self.seconds, 1)}


class Bench:
    def __init__(self, work: Path, cache: Path, extra: list[str]):
        self.work = work
        self.tmp = work / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.cache = cache
        self.extra = extra
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(self.tmp), XDG_CACHE_HOME=str(cache))

    def start(self, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "resolver", *argv, *self.extra], cwd=self.work, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def complete(self, argv: list[str]) -> tuple[float, float]:
        """Run to the end: (seconds, seconds until the writing stage)."""
        started = time.monotonic()
        process = self.start(argv)
        writing = None
        assert process.stderr is not None
        for line in process.stderr:
            if WRITING in line and writing is None:
                writing = time.monotonic() - started
        if process.wait() != 0:
            raise SystemExit(f"resolver {' '.join(argv)} failed (exit {process.returncode})")
        total = time.monotonic() - started
        return total, writing if writing is not None else 0.0

    def cache_files(self) -> set[str]:
        return {str(p.relative_to(self.cache)) for p in self.cache.rglob("*")} if self.cache.is_dir() else set()


def _fingerprint(path: Path) -> str | None:
    """sha256 of a file, or of a directory's (name, content) pairs; None when absent."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for item in sorted(path.iterdir()):
            digest.update(item.name.encode() + b"\0" + hashlib.sha256(item.read_bytes()).digest())
        return digest.hexdigest()
    return None


def _restore(saved: Path, target: Path) -> None:
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    if saved.is_dir():
        shutil.copytree(saved, target)
    else:
        shutil.copy2(saved, target)


def _state(scenario: Scenario, target: Path, old: str, new: str) -> str:
    fingerprint = _fingerprint(target)
    if fingerprint is None:
        return "absent"
    if scenario.output == "resolver.lock":
        try:
            read_lock(target)
        except InputError:
            return "corrupt"
    if fingerprint == old:
        return "old"
    if fingerprint == new:
        return "new"
    return "corrupt" if target.is_file() else "mixed"


def _leftovers(directory: Path, tmp: Path, pid: int | None = None) -> tuple[list[Path], list[Path]]:
    """Temporaries beside the outputs and resolver scratch directories (of ``pid``, or of anyone)."""
    mark = f".{pid}." if pid else "."
    files = [p for p in directory.iterdir() if p.name.startswith(".") and ".tmp" in p.name and mark in p.name]
    dirs = [p for p in tmp.iterdir() if p.name.startswith("resolver-") and (pid is None or f"-{pid}-" in p.name)]
    return files, dirs


def run_trials(bench: Bench, scenario: Scenario, trials: int, rng: random.Random) -> Tally:
    """The trials of one scenario; the old and new outputs are made here."""
    started = time.monotonic()
    target = bench.work / scenario.output
    saved_old, saved_new = bench.work / f"saved-old-{scenario.output}", bench.work / f"saved-new-{scenario.output}"
    writer = scenarios(bench.work)["report" if scenario.output == "report" else "lock"]
    for saved, tree in ((saved_new, "computed"), (saved_old, "declared")):
        if not saved.exists():
            bench.complete([*writer.argv, "--tree", tree])
            _restore(target, saved)
    old, new = _fingerprint(saved_old), _fingerprint(saved_new)
    assert old != new, "the old and new outputs must differ"
    _restore(saved_old, target)
    total, writing = bench.complete(scenario.argv)
    cache = previous = bench.cache_files()
    tally = Tally()
    for trial in range(trials):
        _restore(saved_old, target)
        process = bench.start(scenario.argv)
        if trial % 2 == 0:
            time.sleep(rng.uniform(0, 1.1 * total))
        else:
            assert process.stderr is not None
            for line in process.stderr:  # the last stage starts
                if WRITING in line:
                    break
            time.sleep(rng.uniform(0, 1.2 * (total - writing)))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        else:
            tally.finished += 1
        process.communicate()
        tally.trials += 1
        tally.states[_state(scenario, target, old, new)] += 1
        files, dirs = _leftovers(bench.work, bench.tmp, process.pid)
        tally.left_files += len(files)
        tally.left_dirs += len(dirs)
        now = bench.cache_files()
        tally.cache_left.update(Path(name).name for name in now - previous)
        previous = now
    _restore(saved_old, target)
    bench.complete(writer.argv)  # a complete run of the writer: every dead writer's leftovers go
    files, dirs = _leftovers(bench.work, bench.tmp)
    tally.after_next_run = len(files) + len(dirs)
    tally.cache_after_next_run = sorted(bench.cache_files() - cache)
    tally.seconds = time.monotonic() - started
    return tally


def concurrent_writers(bench: Bench, writers: int = 3) -> dict:
    """``writers`` runs of `resolver lock` on one file at once, each with another tree: they take
    turns; the lock is the whole output of the last one to finish."""
    target = bench.work / "resolver.lock"
    variants = [["--tree", "declared"], ["--tree", "computed"], ["--no-provider-choice"]][:writers]
    outputs = []
    for variant in variants:
        bench.complete(["lock", "--lock", str(target), *variant])
        outputs.append(_fingerprint(target))
    processes = [bench.start(["lock", "--lock", str(target), *variant]) for variant in variants]
    stderr = {}
    last = None
    while len(stderr) < len(processes):  # the order they end in: the last one wrote last
        for index, process in enumerate(processes):
            if index not in stderr and process.poll() is not None:
                stderr[index] = process.stderr.read()
                last = index
        time.sleep(0.02)
    read_lock(target)
    files, _ = _leftovers(bench.work, bench.tmp)
    return {"writers": writers, "exit_codes": [p.returncode for p in processes],
            "said_waiting": sum("waiting for pid" in text for text in stderr.values()),
            "lock_is_the_last_writers_whole_output": _fingerprint(target) == outputs[last],
            "distinct_outputs": len(set(outputs)), "leftover_files": len(files)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100, help="trials of lock and report (plan: 30%%)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--commands", default="lock,plan,report")
    parser.add_argument("--images", help="an image tree (default: the shipped one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    results = {}
    with tempfile.TemporaryDirectory(prefix="kill-bench-") as work:
        bench = Bench(Path(work), cache, ["--images", args.images] if args.images else [])
        for name in args.commands.split(","):
            scenario = scenarios(bench.work)[name]
            trials = args.trials if scenario.writes else max(1, args.trials * 3 // 10)
            tally = run_trials(bench, scenario, trials, rng)
            results[scenario.name] = {**tally.to_json(), "ok": tally.ok(scenario.writes)}
            if not args.json:
                print(f"{scenario.name:20} {json.dumps(results[scenario.name])}", flush=True)
        results["concurrent writers"] = concurrent_writers(bench)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'concurrent writers':20} {json.dumps(results['concurrent writers'])}")
    together = results["concurrent writers"]
    ok = together["lock_is_the_last_writers_whole_output"] and not together["leftover_files"]
    return 0 if ok and all(r.get("ok", True) for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
