"""Fixtures of the sync tests: one real throwaway PostgreSQL cluster per test session, a fresh
database per use, and the central service run as its own process (`appliance central serve`).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sync.central.pgcluster import ClusterUnavailable, TempCluster

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[TempCluster]:
    """A PostgreSQL cluster in a temporary directory, on a unix socket only (no TCP port)."""
    try:
        cluster = TempCluster().start()
    except ClusterUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unavailable in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield cluster
    cluster.stop()


def fresh_database(cluster: TempCluster) -> str:
    """A new, empty database in the session's cluster; returns its URL."""
    name = f"t{os.getpid()}_{next(_names)}"
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.url.replace(f"/{cluster.database}?", f"/{name}?")


@pytest.fixture
def database_url(pg_cluster: TempCluster) -> str:
    return fresh_database(pg_cluster)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def central_cli(database: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "appliance.cli", "central", *args, "--database", database]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)
    if check and result.returncode != 0:
        raise AssertionError(f"{args}: exit {result.returncode}: {result.stderr}")
    return result


@dataclass
class CentralServer:
    """`appliance central serve` as a child process (so a test can kill -9 it)."""

    database: str
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CentralServer:
        cmd = [sys.executable, "-m", "appliance.cli", "central", "serve"]
        cmd += ["--database", self.database, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=REPO)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"central exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2) as r:
                    if json.load(r)["status"] == "ok":
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("central did not start")

    def kill(self) -> None:
        """kill -9: no shutdown handler runs."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def shared_central(pg_cluster: TempCluster) -> Iterator[CentralServer]:
    """One central for the tests that only need their own devices (named per test)."""
    server = CentralServer(fresh_database(pg_cluster), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def central(database_url: str) -> Iterator[CentralServer]:
    """A central of this test alone (its own database): to kill, restart or count."""
    server = CentralServer(database_url, free_port()).start()
    yield server
    server.stop()


def issue_token(database: str, device_id: str) -> str:
    """What `appliance central token --device NAME` prints (in-process: faster)."""
    from sync.central import auth

    with psycopg.connect(database, autocommit=True) as conn:
        return auth.issue_token(conn, device_id)


def enrolled(server: CentralServer, name: str, location: str = "lane-1") -> tuple[Any, Any]:
    """A simulated device enrolled at `server`, and its signed client."""
    from sync.central.simdevice import CentralClient, SimulatedDevice

    device = SimulatedDevice(f"{name}-{os.getpid()}-{next(_names)}", location)
    client = CentralClient(server.url, device.device_id, device.auth_key)
    status, body = client.enrol(device, issue_token(server.database, device.device_id))
    assert status == 201, body
    return device, client
