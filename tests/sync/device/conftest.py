"""A device for the device-side sync tests: a real data directory with a real history
(`appliance.history.Ledger`), the authority's artefact key trusted, the national key file in
a `[sync]` config section, enrolled at the real central (tests/sync/conftest.py) on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config import Config
from appliance.history import DocumentRef, Event, EventType, Ledger, PersonalData
from appliance.signed.artefacts import install_trusted_key
from sync.central.simdevice import TEST_NATIONAL_KEY
from sync.device import service
from tests.sync.conftest import REPO, CentralServer, issue_token

_names = itertools.count()
#: the border authority that signs artefacts (central publishes with it; devices trust it)
AUTHORITY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)


def check_event(number: str = "L898902C3", issuer: str = "UTO", outcome: str = "OPEN") -> Event:
    """A check as the lane records it: the report's document class in clear, the number sealed."""
    report = {"document": {"issuing_state": issuer, "document_type": "P"}, "steps": []}
    return Event(
        EventType.CHECK,
        outcome,
        reasons=["OK"] if outcome == "OPEN" else ["WATCHLIST_HIT"],
        public={"report": report},
        document=DocumentRef(issuer, number),
        personal=PersonalData(surname="ERIKSSON", document_number=number, nationality=issuer),
    )


@dataclass
class Device:
    root: Path
    device_id: str
    sync_options: dict[str, Any]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_path(self) -> Path:
        return self.root / "appliance.toml"

    @property
    def config(self) -> Config:
        return Config.model_validate(self._raw())

    def _raw(self) -> dict[str, Any]:
        return {
            "device": {"device_id": self.device_id, "location": f"lane-{self.device_id[-2:]}"},
            "sync": {"national_key_file": str(self.root / "national.key"), **self.sync_options},
            "data_dir": str(self.data_dir),
        }

    def write(self) -> Device:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / "national.key").write_bytes(TEST_NATIONAL_KEY)
        self.config_path.write_bytes(tomli_w.dumps(self._raw()).encode())
        install_trusted_key(self.data_dir, AUTHORITY.public_key(), "authority")
        return self

    def record(self, count: int = 1, **event: str) -> None:
        with Ledger.open_default(self.data_dir, self.config) as ledger:
            ledger.append_batch([check_event(**event) for _ in range(count)])

    def enrol(self, server: CentralServer, url: str | None = None) -> None:
        token = issue_token(server.database, self.device_id)
        service.enrol(self.config, self.data_dir, url or server.url, token)

    def sync(self, attempts: int = 3) -> service.RoundResult:
        return service.run_round(self.config, self.data_dir, attempts=attempts)

    def status(self) -> dict[str, Any]:
        return service.status(self.config, self.data_dir)

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "APPLIANCE_CONFIG": str(self.config_path)}
        env["APPLIANCE_DATA_DIR"] = str(self.data_dir)
        cmd = [sys.executable, "-m", "appliance.cli", "sync", *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "APPLIANCE_CONFIG": str(self.config_path)}
        env["APPLIANCE_DATA_DIR"] = str(self.data_dir)
        cmd = [sys.executable, "-m", "appliance.cli", "sync", *args]
        return subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


FAST = {"backoff_min_s": 0.05, "backoff_max_s": 0.3, "timeout_s": 3.0, "batch_size": 50}


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[Any]:
    def make(name: str = "dev", **options: Any) -> Device:
        device_id = f"{name}-{os.getpid()}-{next(_names):02d}"
        root = tmp_path / device_id
        root.mkdir()
        return Device(root, device_id, {**FAST, **options}).write()

    yield make


def central_rows(database: str, device_id: str) -> list[int]:
    """The indexes central stores for a device (sorted, duplicates kept)."""
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT idx FROM events WHERE device_id = %s ORDER BY idx", (device_id,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def assert_exactly_once(database: str, device: Device, expected: int) -> None:
    assert central_rows(database, device.device_id) == list(range(expected))


def publish(database: str, kind: str, content: bytes, key: Ed25519PrivateKey = AUTHORITY) -> int:
    from sync.central import artefacts

    with psycopg.connect(database, autocommit=True) as conn:
        return artefacts.publish(conn, kind, content, key)
