"""Proof that a built image runs its service: commands run inside the final image, and services
started in it answering on the loopback interface, then stopped.

A smoke file maps image names to checks:

- ``run: [ARGV]`` (optionally ``expect: TEXT``): runs, exits 0, and prints TEXT;
- ``serve: [ARGV]`` with ``send: TEXT`` (TCP) or ``get: PATH`` (HTTP) and ``expect: TEXT``: started
  on the host's network (``{port}`` in ARGV is a free loopback port), asked until it answers (60 s at
  most), then sent SIGTERM: it must exit within 15 s and its port must be closed;
- ``kolla: CONFIG`` instead of ``serve``: started as kolla-ansible starts it: the image's own default
  command (``kolla_start``), ``KOLLA_CONFIG_STRATEGY=COPY_ALWAYS``, CONFIG written as the service's
  ``config.json`` beside ``files`` (name: text) in a directory mounted read-only at
  /var/lib/kolla/config_files (``{port}`` replaced in both); asked as a ``serve`` check (180 s at
  most: the start may run the service's db_sync); the process listening on the port must run as the
  image's Kolla user; ``healthcheck: [ARGV]`` (Kolla's ``healthcheck_*``) must then exit 0. The
  health check runs in a second container of the image on the host's network (kolla-ansible runs it
  with ``docker exec``; chroot isolation shares the host's processes and sockets, so it sees the
  service's).

Each image's checks run in one working container made from the image, removed afterwards.
Containers are started with ``buildah run --isolation chroot``: here podman's OCI runtime cannot
start containers (cgroups, rlimits).
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import socket
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import BuildError, InputError
from ..names import confined
from .buildah import Buildah
from .kolla import CONFIG_DIR

_WAIT = 60.0
#: a kolla check's start may create the service's database first (keystone-manage db_sync)
_KOLLA_WAIT = 180.0
_KEYS = {"run", "serve", "send", "get", "expect", "env", "kolla", "files", "healthcheck"}


@dataclass(frozen=True)
class Check:
    argv: tuple[str, ...]
    serve: bool = False
    send: str | None = None
    get: str | None = None
    expect: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    #: kolla-ansible's start: the service's config.json, the files it names, Kolla's health check
    kolla: Mapping[str, Any] | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    healthcheck: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        if self.kolla is not None:
            return f"kolla_start {self.kolla.get('command', '')}"
        return ("serve " if self.serve else "run ") + " ".join(self.argv)


@dataclass(frozen=True)
class SmokeResult:
    check: str
    ok: bool
    detail: str
    seconds: float

    def to_json(self) -> dict:
        return {"check": self.check, "ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 2)}


def load_smoke(path: Path) -> dict[str, tuple[Check, ...]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{path}: cannot read the smoke checks ({error})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a table of image name -> list of checks")
    checks = {}
    for image, items in data.items():
        where = f"{path}: {image}"
        if not isinstance(items, list):
            raise InputError(f"{where}: a list of checks")
        parsed = []
        for index, item in enumerate(items):
            at = f"{where}[{index}]"
            kinds = [kind for kind in ("run", "serve", "kolla") if isinstance(item, dict) and kind in item]
            if not isinstance(item, dict) or set(item) - _KEYS or len(kinds) != 1:
                raise InputError(f"{at}: a check has 'run' or 'serve' (a list of arguments) or 'kolla' (a "
                                 "config.json), and optionally 'send' or 'get', 'expect', 'env' ('files' and "
                                 "'healthcheck' with 'kolla')")
            argv = item.get("run") or item.get("serve") or []
            env = item.get("env") or {}
            healthcheck = item.get("healthcheck") or []
            kolla = _kolla_config(item, at)
            texts = [*argv, *env, *env.values(), *healthcheck, *(str(item.get(k, "")) for k in ("get", "expect"))] \
                if isinstance(argv, list) and isinstance(env, dict) and isinstance(healthcheck, list) else None
            if not texts or not all(isinstance(t, str) for t in texts) or any(
                    ord(c) < 32 for t in texts for c in t):
                raise InputError(f"{at}: arguments, env and texts must be strings without control characters")
            if ("serve" in item or kolla is not None) and not (item.get("send") or item.get("get")):
                raise InputError(f"{at}: a 'serve' or 'kolla' check needs 'send' (TCP) or 'get' (HTTP) to ask the "
                                 "service")
            files = item.get("files") or {}
            if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
                raise InputError(f"{at}: 'files' maps file names to their text")
            for name in files:
                confined(Path("/"), str(name))
            parsed.append(Check(tuple(argv), "serve" in item or kolla is not None, item.get("send"), item.get("get"),
                                item.get("expect"), {str(k): str(v) for k, v in env.items()}, kolla,
                                {str(k): v for k, v in files.items()}, tuple(healthcheck)))
        checks[str(image)] = tuple(parsed)
    return checks


def _kolla_config(item: Mapping[str, Any], at: str) -> Mapping[str, Any] | None:
    """A check's config.json (kolla-ansible's shape: command, config_files, permissions)."""
    config = item.get("kolla")
    if config is None:
        return None
    if not isinstance(config, dict) or not isinstance(config.get("command"), str) or set(config) - {
            "command", "config_files", "permissions"}:
        raise InputError(f"{at}: 'kolla' is a config.json: 'command' (a string), 'config_files', 'permissions'")
    return config


def smoke_image(engine: Buildah, image: str, ref: str, checks: Sequence[Check],
                uid: int | None = None) -> list[SmokeResult]:
    """``uid``: the image's Kolla user's, which a kolla check's service must run as."""
    # kolla-ansible's services get the engine's open-files limit (memcached -c 5000 raises its own
    # soft limit to it); buildah's default for a container is lower: give the host's hard limit
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    container = engine.new_container(f"smoke-{image}", ref, ulimits={"nofile": f"{hard}:{hard}"})
    try:
        return [_one(engine, container, check, ref, uid) for check in checks]
    finally:
        engine.remove(container)


def _one(engine: Buildah, container: str, check: Check, ref: str, uid: int | None) -> SmokeResult:
    start = time.perf_counter()
    if not check.serve:
        try:
            output = engine.run(container, check.argv, check.title, env=check.env)
        except BuildError as error:
            return SmokeResult(check.title, False, str(error), time.perf_counter() - start)
        ok = check.expect is None or check.expect in output
        detail = output.strip().splitlines()[0] if ok and output.strip() else f"output: {output.strip()[-300:]}"
        return SmokeResult(check.title, ok, detail, time.perf_counter() - start)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="resolver-kolla-config-") as config_dir:
        if check.kolla is not None:
            argv = tuple(engine.default_command(container))
            volumes = {config_dir: CONFIG_DIR}
            env = {**check.env, "KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS"}
            _write_config(Path(config_dir), check, port)
            title = f"kolla_start ({check.kolla['command'].replace('{port}', str(port))})"
        else:
            argv = tuple(part.replace("{port}", str(port)) for part in check.argv)
            volumes, env, title = {}, dict(check.env), f"serve {' '.join(argv)}"
        process = engine.start(container, argv, env, volumes)
        answer: str | None = None
        last_error = ""
        deadline = time.monotonic() + (_KOLLA_WAIT if check.kolla is not None else _WAIT)
        while answer is None and time.monotonic() < deadline and process.poll() is None:
            try:
                answer = _ask(port, check)
            except OSError as problem:
                last_error = str(problem)
                time.sleep(0.3)
        notes = []
        ok = True
        if answer is not None and check.kolla is not None:
            owner = _listener_uid(port)
            notes.append(f"runs as uid {owner}")
            ok = uid is None or owner == uid
            if not ok:
                notes.append(f"not the image's Kolla user's uid {uid}")
            if check.healthcheck:
                healthcheck = [part.replace("{port}", str(port)) for part in check.healthcheck]
                ok = _healthcheck(engine, ref, healthcheck, notes) and ok
        code, output = engine.stop(process)
    closed = not _listening(port)
    seconds = time.perf_counter() - start
    if answer is None:
        return SmokeResult(title, False, f"no answer on 127.0.0.1:{port} ({last_error}); output: {output[-400:]}",
                           seconds)
    answered = check.expect is None or check.expect in answer
    stopped = code is not None and closed
    first = answer.strip().splitlines()[0] if answer.strip() else ""
    detail = (f"127.0.0.1:{port} answered {first[:80]!r}; {'; '.join([*notes, ''])}stopped by SIGTERM "
              f"(exit {code}), port closed" if answered and stopped and ok else
              f"answer {answer[:200]!r}, {'; '.join([*notes, ''])}exit after SIGTERM {code}, port closed {closed}")
    return SmokeResult(title, answered and stopped and ok, detail, seconds)


def _write_config(directory: Path, check: Check, port: int) -> None:
    """The service's config.json and its files, as kolla-ansible's role leaves them on the host
    (readable by the container's root: kolla_set_configs copies them, with owner and mode)."""
    assert check.kolla is not None
    text = json.dumps(check.kolla, indent=4).replace("{port}", str(port))
    (directory / "config.json").write_text(text + "\n")
    for name, content in check.files.items():
        confined(directory, name).write_text(content.replace("{port}", str(port)))
    directory.chmod(0o755)


def _healthcheck(engine: Buildah, ref: str, argv: Sequence[str], notes: list[str]) -> bool:
    container = engine.new_container("smoke-healthcheck", ref)
    try:
        engine.run(container, argv, f"health check {' '.join(argv)}", network_host=True)
    except BuildError as error:
        notes.append(f"{' '.join(argv)} failed: {str(error).splitlines()[-1][-200:]}")
        return False
    finally:
        engine.remove(container)
    notes.append(f"{' '.join(argv)} passed")
    return True


def _listener_uid(port: int) -> int | None:
    """The uid of the process listening on 127.0.0.1:PORT (its socket's inode in /proc/net/tcp,
    then the process holding it)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in descriptors):
                return os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
    return None


def _ask(port: int, check: Check) -> str:
    if check.get is not None:
        web = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            web.request("GET", check.get)
            response = web.getresponse()
            return f"HTTP {response.status}\n{response.read(4000).decode('utf-8', 'replace')}"
        finally:
            web.close()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall((check.send or "").encode())
        return connection.recv(4000).decode("utf-8", "replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False
