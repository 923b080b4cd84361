"""Faults on the central side: central killed (kill -9) and restarted, PostgreSQL restarted
mid-run. After each, every acknowledged event is stored exactly once and the witness holds."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any

import psycopg

from appliance.history import merkle
from sync.central.pgcluster import TempCluster
from sync.central.simdevice import CentralClient, SimulatedDevice
from tests.support.fault_proxy import FAULTS, FaultProxy
from tests.sync.conftest import CentralServer, enrolled


class Uplink(threading.Thread):
    """A device draining its log through central's cursor: retries on a connection error or
    a 503, resumes from the cursor central names; records every acknowledgement."""

    def __init__(self, client: CentralClient, device: SimulatedDevice, batch: int = 10) -> None:
        super().__init__(daemon=True)
        self.client, self.device, self.batch_size = client, device, batch
        self.acknowledged: list[int] = []
        self.failures: dict[str, int] = {}
        self.error: str | None = None

    def run(self) -> None:
        next_index, witnessed = 0, 0
        deadline = time.monotonic() + 60
        while next_index < self.device.size and time.monotonic() < deadline:
            end = min(next_index + self.batch_size, self.device.size)
            try:
                status, body = self.client.send(self.device.batch(next_index, end, witnessed))
            except (OSError, http.client.HTTPException) as exc:
                self.client.close()
                self._failed(type(exc).__name__)
                continue
            if status == 200:
                self.acknowledged.append(body["next_index"])
                next_index, witnessed = body["next_index"], body["checkpoint_size"]
            elif status == 409 and body["reason"] == "SYNC_CURSOR_STALE":
                cursor: dict[str, Any] = body["cursor"]
                next_index, witnessed = cursor["next_index"], cursor["checkpoint_size"]
            elif status == 503:
                self._failed(body["reason"])
            else:
                self.error = f"{status} {body}"
                return
            time.sleep(0.01)

    def _failed(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1
        time.sleep(0.1)


def _wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _stored_count(database: str, device: SimulatedDevice) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE device_id = %s", (device.device_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _assert_exactly_once(database: str, device: SimulatedDevice) -> None:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT idx, leaf_hash FROM events WHERE device_id = %s ORDER BY idx",
            (device.device_id,),
        ).fetchall()
        witness = conn.execute(
            "SELECT next_index, checkpoint_size, witness FROM devices WHERE device_id = %s",
            (device.device_id,),
        ).fetchone()
    assert [(int(i), bytes(h)) for i, h in rows] == [
        (i, merkle.leaf_hash(leaf)) for i, leaf in enumerate(device.leaves)
    ]
    assert witness == (device.size, device.size, "ok")


def test_central_killed_and_restarted_loses_nothing_acknowledged(central: CentralServer) -> None:
    device, client = enrolled(central, "killed")
    for _ in range(10):
        device.check(30)
    uplink = Uplink(client, device)
    uplink.start()
    _wait_for(lambda: len(uplink.acknowledged) >= 3)
    central.kill()
    killed_after = list(uplink.acknowledged)
    assert _stored_count(central.database, device) >= killed_after[-1]  # every ack durable
    central.start()  # same database, same port
    uplink.join(timeout=90)
    assert uplink.error is None and not uplink.is_alive()
    assert uplink.failures, "the kill was not seen by the uplink"
    assert uplink.acknowledged[: len(killed_after)] == killed_after
    _assert_exactly_once(central.database, device)


def test_postgresql_restarted_mid_run_ingest_resumes(
    central: CentralServer, pg_cluster: TempCluster
) -> None:
    device, client = enrolled(central, "pg-restart")
    for _ in range(10):
        device.check(30)
    uplink = Uplink(client, device)
    uplink.start()
    _wait_for(lambda: len(uplink.acknowledged) >= 3)
    pg_cluster.stop_server("immediate")  # as if the database server crashed
    _wait_for(lambda: bool(uplink.failures))
    pg_cluster.start_server()
    acknowledged = list(uplink.acknowledged)
    assert _stored_count(central.database, device) >= acknowledged[-1]
    uplink.join(timeout=90)
    assert uplink.error is None and not uplink.is_alive()
    assert "SYNC_UNAVAILABLE" in uplink.failures
    _assert_exactly_once(central.database, device)


def test_network_faults_between_device_and_central_lose_and_double_nothing(
    shared_central: CentralServer,
) -> None:
    faults = [f for f in FAULTS if f != "pass"]
    schedule = iter([step for fault in faults * 2 for step in ("pass", fault)])
    proxy = FaultProxy(shared_central.port, schedule).start()
    try:
        device, direct = enrolled(shared_central, "faulty-link")
        for _ in range(10):
            device.check(30)
        client = CentralClient(
            f"http://127.0.0.1:{proxy.port}", device.device_id, device.auth_key, timeout=2
        )
        uplink = Uplink(client, device)
        uplink.start()
        uplink.join(timeout=120)
        assert uplink.error is None and not uplink.is_alive()
        assert set(proxy.seen) == set(FAULTS)  # every fault was played
        _assert_exactly_once(shared_central.database, device)
        # the late copies reached central and changed nothing
        assert direct.cursor()[1]["next_index"] == device.size
    finally:
        proxy.stop()
