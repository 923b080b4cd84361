"""A real `appliance serve` process on a free loopback port, for the end-to-end service tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.config import SIMULATED_CONFIG

_READY = re.compile(r"API on (http://127\.0\.0\.1:\d+)/api/v1")


@dataclass
class ServiceProcess:
    proc: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)
    data_dir: Path | None = None
    #: the session cookie and CSRF token after `log_in` (sent by hand: the cookie is Secure)
    auth: dict[str, str] = field(default_factory=dict)

    def log_in(self, role: str = "supervisor") -> dict[str, Any]:
        """Create a test account of `role` in the service's data directory and log in."""
        from tests.support.auth_support import PASSWORD, ensure_account

        assert self.data_dir is not None
        name = f"test-{role}"
        ensure_account(self.data_dir, name, role)
        request = urllib.request.Request(
            self.url + "/api/v1/session",
            json.dumps({"username": name, "password": PASSWORD}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body: dict[str, Any] = json.loads(response.read())
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        self.auth = {"Cookie": cookie, "X-CSRF-Token": body["csrf_token"]}
        return body

    def get(self, path: str, timeout_s: float = 30) -> Any:
        request = urllib.request.Request(self.url + path, headers=self.auth)
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict[str, Any], timeout_s: float = 60) -> Any:
        request = urllib.request.Request(
            self.url + path,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", **self.auth},
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def start_service(
    data_dir: Path,
    config: Path = SIMULATED_CONFIG,
    *args: str,
    timeout_s: float = 60,
    env: Mapping[str, str] | None = None,
) -> ServiceProcess:
    """`appliance serve` on a free loopback port; `env` adds to this process's environment for
    the service only (e.g. `APPLIANCE_SIM_FACES`)."""
    env = {**os.environ, **(env or {}), "APPLIANCE_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "serve", "--config", str(config), "--port", "0",
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    service = ServiceProcess(proc, data_dir=data_dir)
    found = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            service.lines.append(line.rstrip("\n"))
            match = _READY.search(line)
            if match:
                service.url = match.group(1)
                found.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not found.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"service did not become ready:\n{service.output}")
    return service


@contextmanager
def running_service(data_dir: Path, config: Path = SIMULATED_CONFIG) -> Iterator[ServiceProcess]:
    service = start_service(data_dir, config)
    try:
        yield service
    finally:
        if service.proc.poll() is None:
            service.proc.terminate()
            try:
                service.proc.wait(15)
            except subprocess.TimeoutExpired:
                service.proc.kill()
