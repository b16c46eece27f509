"""The buildah adapter: working containers, ``dnf --installroot`` into their mounted root (no
package manager needed inside the image, the UBI-micro way), RUN steps, copies, commits.

Every child process is tracked so that an interrupted build can stop them and remove its working
containers; nothing is tagged before the final commit. What each command prints goes, line by line,
to the log of the image the calling thread builds (``logging_to``): a file under ``--logs-dir``
and, with ``--verbose``, stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import BuildError, BuildSetupError, Interrupted, RepoError
from ..files import run_ended, scratch_directory
from ..metadata.repo_config import RepoSpec
from .logs import ImageLog
from .reproducible import normalize_databases

#: every working container this tool makes is named PREFIX<pid>-... (leftovers are found by it;
#: the pid keeps another build running on the host from taking this run's containers for them)
PREFIX = "resolver-wc-"
_WORKING = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")
#: the rpm database path of EL images (Debian's rpm would otherwise use ~/.rpmdb)
DBPATH = "/var/lib/rpm"
#: lines of a failed command's output an error shows (the whole output is in the image's log)
TAIL_LINES = 15


def check_build_setup(push: bool = False) -> None:
    """Refuse, before any planning, a run that cannot build (or push): the tools, and root or a
    rootless user namespace (``buildah mount`` and ``dnf --installroot`` write the image roots directly)."""
    for tool in ("buildah", "podman", "dnf", "rpm", *(["skopeo"] if push else [])):
        if shutil.which(tool) is None:
            raise BuildSetupError(f"{tool} is not installed; run ./bootstrap (it installs buildah, podman, dnf, rpm, "
                                  "skopeo)")
    # buildah unshare sets this in the user namespace it starts (rootless storage is usable there)
    if os.geteuid() != 0 and not os.environ.get("_CONTAINERS_USERNS_CONFIGURED"):
        raise BuildSetupError(
            "resolver build mounts working containers and installs into them with dnf --installroot: run it as "
            "root (sudo), or rootless inside `buildah unshare resolver build ...`, which needs subordinate ids "
            "for this user in /etc/subuid and /etc/subgid and rootless storage (~/.config/containers/"
            "storage.conf; `buildah info` shows it); `resolver render` writes Containerfiles without either")


class Buildah:
    def __init__(self, repos: Sequence[RepoSpec], releasever: str = "9", arch: str = "x86_64",
                 platform_id: str | None = None, epoch: int = 0):
        check_build_setup()
        self.repos = tuple(repos)
        for repo in self.repos:
            if repo.checks_signatures and not repo.gpgkey:
                raise RepoError(f"repository {repo.repo_id}: package signatures are checked (gpgcheck; on by default "
                                "for a remote repository) but no gpgkey is given: name the keys in a .repo file "
                                "(gpgkey=URL), or set gpgcheck=0 there to install unchecked")
        self.releasever = releasever
        self.arch = arch
        #: the target's PLATFORM_ID (``platform:el9``): what module streams require; dnf reads it from
        #: the root's os-release, which an empty root does not have yet
        self.platform_id = platform_id
        #: the one time the build stamps (``reproducible.source_date_epoch``): files, rpmdb, dnf history
        self.epoch = epoch
        self._home = scratch_directory("resolver-rpm-")
        Path(self._home.name, ".rpmmacros").write_text(f"%_dbpath {DBPATH}\n")
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.cancelled = threading.Event()
        #: the signal that cancelled the build (its exit code is 128 + this)
        self.stop_signal: int = signal.SIGINT
        self._thread = threading.local()

    # ---- processes -----------------------------------------------------------------------------

    @contextmanager
    def logging_to(self, log: ImageLog) -> Iterator[ImageLog]:
        """Commands this thread runs inside the block write their output to ``log``."""
        previous = getattr(self._thread, "log", None)
        self._thread.log = log
        try:
            yield log
        finally:
            self._thread.log = previous

    def _run(self, command: list[str], what: str, cleanup: bool = False, env: dict | None = None) -> str:
        if self.cancelled.is_set() and not cleanup:
            raise Interrupted("build interrupted", self.stop_signal)
        log: ImageLog | None = getattr(self._thread, "log", None)
        if log is not None:
            log.command(command, what)
        started = time.monotonic()
        process = _started(command, env)
        with self._lock:
            self._running.add(process)
        lines: list[str] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:  # line by line: the log and --verbose follow the tool as it runs
                lines.append(line)
                if log is not None:
                    log.output(line)
        finally:
            stopped = sys.exc_info()[0] is not None  # while reading its output
            if stopped:
                _signal_group(process, signal.SIGKILL)
            # what a RUN step left running in its group (a daemon) ends with it, as in a container
            # build, and all of a cancelled command's group (not the helpers other buildah commands
            # leave on purpose, such as a rootless mount's fuse-overlayfs); killed before the command
            # is reaped: until then its pid, the group's id, cannot be another process's
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            if stopped or self.cancelled.is_set() or command[:2] == ["buildah", "run"]:
                _signal_group(process, signal.SIGKILL)
            with self._lock:
                self._running.discard(process)
            process.wait()
        if log is not None:
            log.finished(process.returncode, time.monotonic() - started)
        if self.cancelled.is_set() and not cleanup:
            raise Interrupted("build interrupted", self.stop_signal)
        if process.returncode != 0:
            tail = "".join(lines).strip().splitlines()[-TAIL_LINES:]
            raise BuildError(f"{what} failed ({' '.join(command[:2])} exit {process.returncode}):\n" + "\n".join(tail))
        return "".join(lines)

    def cancel(self, signum: int = signal.SIGINT) -> None:
        """Stop every running child; callers' ``finally`` blocks then remove their containers."""
        if not self.cancelled.is_set():
            self.stop_signal = signum
        self.cancelled.set()
        with self._lock:
            for process in self._running:
                _signal_group(process, signal.SIGTERM)

    # ---- containers and images ------------------------------------------------------------------

    def image_exists(self, ref: str) -> bool:
        done = subprocess.run(["buildah", "inspect", "--type", "image", ref], capture_output=True, check=False)
        return done.returncode == 0

    def new_container(self, purpose: str, base: str | None, ulimits: Mapping[str, str] | None = None) -> str:
        """A working container ``PREFIX<pid>-PURPOSE`` from ``base`` (scratch when None), with
        ``ulimits`` for what runs in it (``nofile``: ``SOFT:HARD``)."""
        name = f"{PREFIX}{os.getpid()}-{purpose}"
        self.remove(name)
        limits = [f"--ulimit={kind}={value}" for kind, value in (ulimits or {}).items()]
        return self._run(["buildah", "from", *limits, "--name", name, base or "scratch"],
                         f"creating the working container {name} from {base or 'scratch'}").strip()

    def mount(self, container: str) -> Path:
        return Path(self._run(["buildah", "mount", container], f"mounting {container}").strip())

    def install(self, root: Path, specs: Sequence[str], what: str, modules: Sequence[str] = ()) -> None:
        """dnf --installroot into a mounted root, the module streams ``modules`` enabled first
        (dnf refuses a modular package of a stream that is not enabled; the enabled state stays in
        the root's /etc/dnf/modules.d, as `dnf module enable` leaves it), checking package
        signatures where the repository says so (dnf imports its keys into the root's rpm database
        to check them; they are removed again: keys are not packages of the image); dnf's caches
        and logs are removed in the same step."""
        if not specs and not modules:
            return
        repos = [f"--repofrompath={r.repo_id},{r.baseurl}" for r in self.repos]
        signatures = [f"--setopt={r.repo_id}.gpgcheck=1" if r.checks_signatures else f"--setopt={r.repo_id}.gpgcheck=0"
                      for r in self.repos]
        signatures += [f"--setopt={r.repo_id}.gpgkey={' '.join(r.gpgkey)}" for r in self.repos if r.checks_signatures]
        dnf = ["dnf", "-y", "-q", f"--installroot={root}", f"--releasever={self.releasever}",
               f"--forcearch={self.arch}", "--setopt=reposdir=/nonexistent", "--setopt=install_weak_deps=False",
               "--setopt=tsflags=nodocs", "--setopt=cachedir=/var/cache/dnf", *repos, *signatures,
               *[f"--repo={r.repo_id}" for r in self.repos],
               *([f"--setopt=module_platform_id={self.platform_id}"] if self.platform_id else [])]
        env = {"HOME": self._home.name, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
        if modules:
            self._run([*dnf, "module", "enable", *modules], f"{what}: enabling module stream(s) {', '.join(modules)}",
                      env=env)
        if specs:
            self._run([*dnf, "install", *specs], what, env=env)
        rpm = ["rpm", "--root", str(root), "--dbpath", DBPATH]
        if subprocess.run([*rpm, "-q", "gpg-pubkey"], capture_output=True, env=env, check=False).returncode == 0:
            self._run([*rpm, "-e", "--allmatches", "gpg-pubkey"], f"{what}: removing the signing keys", env=env)
        _checkpoint(root / "var/lib/rpm" / "rpmdb.sqlite", root / "var/lib/dnf" / "history.sqlite")
        normalize_databases(root, self.epoch)
        for leftover in ("var/cache/dnf", "var/log/dnf.log", "var/log/dnf.rpm.log", "var/log/dnf.librepo.log",
                         "var/log/hawkey.log"):
            target = root / leftover
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def run(self, container: str, argv: Sequence[str], what: str, volumes: Mapping[str, str] | None = None,
            env: Mapping[str, str] | None = None, network_host: bool = False) -> str:
        """A command in the container (no shell unless ``argv`` asks for one); ``volumes`` maps
        host directories to where they are bind-mounted (read-only unless the target ends in
        ``:rw``): what they hold is never part of a layer."""
        network = ["--network", "host"] if network_host else []
        return self._run(["buildah", "run", "--isolation", "chroot", *network, *_run_options(volumes, env), container,
                          "--", *argv], what)

    def start(self, container: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
              volumes: Mapping[str, str] | None = None) -> subprocess.Popen:
        """A long-running command (a service) on the host's network; the caller stops it."""
        command = ["buildah", "run", "--isolation", "chroot", "--network", "host", *_run_options(volumes, env),
                   container, "--", *argv]
        process = _started(command, None)
        with self._lock:
            self._running.add(process)
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 15) -> tuple[int | None, str]:
        """SIGTERM, then wait; (exit code, output), exit code None when it had to be killed."""
        with self._lock:  # reaped below: cancel() must not signal its group's id after that
            self._running.discard(process)
        _signal_group(process, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=timeout)
            code = process.returncode
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            output, _ = process.communicate()
            code = None
        return code, output

    def copy_from(self, source: str, path: str, container: str, what: str) -> None:
        self._run(["buildah", "copy", "--from", source, container, f"{path.rstrip('/')}/", "/"], what)

    def installed(self, root: Path) -> set[str]:
        output = self._run(["rpm", "--root", str(root), "--dbpath", DBPATH, "-qa", "--qf", "%{NAME}\\n"],
                           f"reading the rpm database of {root}")
        return {line for line in output.split() if line}

    def label(self, container: str, labels: dict[str, str]) -> None:
        flags = [part for key, value in labels.items() for part in ("--label", f"{key}={value}")]
        self._run(["buildah", "config", *flags, container], f"labelling {container}")

    def configure(self, container: str, user: str | None, env: Mapping[str, str], command: Sequence[str]) -> None:
        """The image's start: its user (None: the parent's), environment and default command."""
        flags = [part for key, value in env.items() for part in ("--env", f"{key}={value}")]
        flags += ["--user", user] if user else []
        self._run(["buildah", "config", *flags, "--cmd", json.dumps(list(command)), container],
                  f"configuring {container}")

    def default_command(self, container: str) -> list[str]:
        """The container's image's default command (its Entrypoint, then its Cmd)."""
        output = self._run(["buildah", "inspect", "--type", "container", container], f"reading {container}'s command")
        config = json.loads(output).get("OCIv1", {}).get("config", {})
        entrypoint, command = config.get("Entrypoint") or [], config.get("Cmd") or []
        if not entrypoint and not command:
            raise BuildError(f"{container}: the image has no default command (no Entrypoint, no Cmd)")
        return [*entrypoint, *command]

    def labels(self, ref: str) -> dict[str, str]:
        output = self._run(["podman", "image", "inspect", "--format", "{{json .Labels}}", ref], f"reading {ref}",
                           cleanup=True)
        return json.loads(output) or {}

    def commit(self, container: str, ref: str) -> None:
        # every file of the layer and the image's times at the build's one time: the same lock, the
        # same layer digests
        self._run(["buildah", "commit", "--quiet", "--timestamp", str(self.epoch), container, ref],
                  f"committing {ref}")

    def push(self, ref: str, destination: str, tls_verify: bool = True) -> str:
        """Copy the local image ``ref`` to ``destination`` (``HOST[:PORT]/PATH:TAG``) with skopeo,
        which asks the registry for each blob first and sends only those it lacks; the digest of
        the manifest the registry now holds."""
        with scratch_directory("resolver-push-") as work:
            digest_file = Path(work) / "digest"
            self._run(["skopeo", "copy", "--quiet", f"--dest-tls-verify={'true' if tls_verify else 'false'}",
                       "--digestfile", str(digest_file), f"containers-storage:{ref}", f"docker://{destination}"],
                      f"pushing {ref} to {destination}")
            return digest_file.read_text().strip()

    def tag(self, ref: str, name: str) -> None:
        """Point the name ``name`` (a readable tag) at the image ``ref``, moving it from any other."""
        self._run(["buildah", "tag", ref, name], f"tagging {ref} as {name}")

    def remove(self, container: str) -> None:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)

    def leftovers(self) -> list[str]:
        """Working containers an earlier, killed run left behind: this tool's whose run no longer
        runs (a name without a pid is an older version's)."""
        done = subprocess.run(["buildah", "containers", "--format", "{{.ContainerName}}"],
                              capture_output=True, text=True, check=False)
        return [name for name in done.stdout.split() if name.startswith(PREFIX) and _left_behind(name)]

    def size(self, ref: str) -> int:
        output = self._run(["podman", "image", "inspect", "--format", "{{.Size}}", ref], f"sizing {ref}", cleanup=True)
        return int(output.strip())

    def image_packages(self, ref: str) -> set[str]:
        """Names in the rpm database of a committed image (``podman image mount`` + ``rpm --root``)."""
        root = Path(self._run(["podman", "image", "mount", ref], f"mounting {ref}", cleanup=True).strip())
        try:
            return self.installed(root)
        finally:
            subprocess.run(["podman", "image", "unmount", ref], capture_output=True, check=False)

    def close(self) -> None:
        self._home.cleanup()


def image_layers(ref: str) -> list[str]:
    """The diff ids of an image's layers, root first: the last is the one its own build made."""
    done = subprocess.run(["podman", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"podman image inspect {ref}: {done.stderr.strip()[-300:]}")
    return list(json.loads(done.stdout) or [])


#: set in the environment of every command a build runs: the run's pid, by which the next run
#: finds the commands a killed one (SIGKILL: no chance to stop them) left running
RUN_VARIABLE = "RESOLVER_BUILD_RUN"


def _started(command: list[str], env: Mapping[str, str] | None) -> subprocess.Popen:
    """A command in a process group of its own (with its children: dnf's scriptlets, what buildah
    runs, pip), so stopping the build stops all of them, not only the command itself."""
    marked = {**(env if env is not None else os.environ), RUN_VARIABLE: str(os.getpid())}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=marked,
                            errors="replace", start_new_session=True)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group has ended


def stop_orphans() -> list[int]:
    """Kill the process groups that commands of ended builds left running (a build killed with
    SIGKILL); this user's processes only. The pids of the groups killed."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # ended meanwhile, or another user's
            continue
        for variable in environment.split(b"\0"):
            if variable.startswith(f"{RUN_VARIABLE}=".encode()):
                run = variable.partition(b"=")[2]
                if run.isdigit() and run_ended(int(run)):
                    try:
                        group = os.getpgid(int(entry.name))
                        os.killpg(group, signal.SIGKILL)
                        killed.append(group)
                    except (ProcessLookupError, PermissionError):
                        pass
                break
    return killed


def _run_options(volumes: Mapping[str, str] | None, env: Mapping[str, str] | None) -> list[str]:
    options = []
    for host, target in (volumes or {}).items():
        mode = "rw" if target.endswith(":rw") else "ro"
        options += ["--volume", f"{host}:{target.removesuffix(':rw')}:{mode}"]
    for key, value in (env or {}).items():
        options += ["--env", f"{key}={value}"]
    return options


def _checkpoint(*databases: Path) -> None:
    """Fold SQLite write-ahead logs into their databases: otherwise every layer carries the rpmdb's
    and dnf history's -wal/-shm files (about 0.5 MB a layer, measured here)."""
    for database in databases:
        if database.is_file():
            connection = sqlite3.connect(database)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.execute("PRAGMA journal_mode=DELETE")
            finally:
                connection.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)


def _left_behind(name: str) -> bool:
    """A working container of a run that ended (one without a pid is an older version's)."""
    run = _WORKING.match(name)
    return run is None or run_ended(int(run[1]))
