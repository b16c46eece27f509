"""Proof that a built image runs its service: commands run inside the final image, and services
started in it answering on the loopback interface, then stopped.

A smoke file maps image names to checks:

- ``run: [ARGV]`` (optionally ``expect: TEXT``): runs, exits 0, and prints TEXT;
- ``serve: [ARGV]`` with ``send: TEXT`` (TCP) or ``get: PATH`` (HTTP) and ``expect: TEXT``: started
  on the host's network (``{port}`` in ARGV is a free loopback port), asked until it answers (60 s at
  most), then sent SIGTERM: it must exit within 15 s and its port must be closed.

Each image's checks run in one working container made from the image, removed afterwards.
Containers are started with ``buildah run --isolation chroot``: here podman's OCI runtime cannot
start containers (cgroups, rlimits).
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import BuildError, InputError
from .buildah import Buildah

_WAIT = 60.0
_KEYS = {"run", "serve", "send", "get", "expect", "env"}


@dataclass(frozen=True)
class Check:
    argv: tuple[str, ...]
    serve: bool = False
    send: str | None = None
    get: str | None = None
    expect: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
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
            if not isinstance(item, dict) or set(item) - _KEYS or ("run" in item) == ("serve" in item):
                raise InputError(f"{at}: a check has 'run' or 'serve' (a list of arguments), and optionally "
                                 "'send' or 'get', 'expect', 'env'")
            argv = item.get("run") or item.get("serve") or []
            env = item.get("env") or {}
            texts = [*argv, *env, *env.values(), *(str(item.get(k, "")) for k in ("get", "expect"))] \
                if isinstance(argv, list) and isinstance(env, dict) else None
            if not texts or not all(isinstance(t, str) for t in texts) or any(
                    ord(c) < 32 for t in texts for c in t):
                raise InputError(f"{at}: arguments, env and texts must be strings without control characters")
            if "serve" in item and not (item.get("send") or item.get("get")):
                raise InputError(f"{at}: a 'serve' check needs 'send' (TCP) or 'get' (HTTP) to ask the service")
            parsed.append(Check(tuple(argv), "serve" in item, item.get("send"), item.get("get"), item.get("expect"),
                                {str(k): str(v) for k, v in env.items()}))
        checks[str(image)] = tuple(parsed)
    return checks


def smoke_image(engine: Buildah, image: str, ref: str, checks: Sequence[Check]) -> list[SmokeResult]:
    container = engine.new_container(f"smoke-{image}", ref)
    try:
        return [_one(engine, container, check) for check in checks]
    finally:
        engine.remove(container)


def _one(engine: Buildah, container: str, check: Check) -> SmokeResult:
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
    argv = tuple(part.replace("{port}", str(port)) for part in check.argv)
    process = engine.start(container, argv, check.env)
    answer: str | None = None
    last_error = ""
    deadline = time.monotonic() + _WAIT
    while answer is None and time.monotonic() < deadline and process.poll() is None:
        try:
            answer = _ask(port, check)
        except OSError as problem:
            last_error = str(problem)
            time.sleep(0.3)
    code, output = engine.stop(process)
    closed = not _listening(port)
    seconds = time.perf_counter() - start
    title = f"serve {' '.join(argv)}"
    if answer is None:
        return SmokeResult(title, False, f"no answer on 127.0.0.1:{port} ({last_error}); output: {output[-400:]}",
                           seconds)
    answered = check.expect is None or check.expect in answer
    stopped = code is not None and closed
    first = answer.strip().splitlines()[0] if answer.strip() else ""
    detail = (f"127.0.0.1:{port} answered {first[:80]!r}; stopped by SIGTERM (exit {code}), port closed"
              if answered and stopped else
              f"answer {answer[:200]!r}, exit after SIGTERM {code}, port closed {closed}")
    return SmokeResult(title, answered and stopped, detail, seconds)


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
