"""The device's uplink against the real central on PostgreSQL: every check recorded in the
history arrives exactly once, whatever happens to the device, central or the link."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from appliance.errors import Reason
from sync.central.simdevice import CentralClient as SimClient
from sync.central.simdevice import national_pseudonym
from sync.device.service import Refused, Transient
from sync.device.state import Cursor, SyncState
from tests.support.fault_proxy import FAULTS, FaultProxy
from tests.sync.conftest import CentralServer, central_cli, issue_token
from tests.sync.device.conftest import assert_exactly_once, central_rows


def test_checks_arrive_centrally_exactly_once_and_link_across_devices(
    shared_central: CentralServer, make_device: Any
) -> None:
    gate, handheld = make_device("gate"), make_device("handheld")
    gate.record(30, number="L898902C3")
    gate.record(12, number="X1234567", outcome="REFER")
    handheld.record(3, number="L898902C3")
    for device in (gate, handheld):
        device.enrol(shared_central)
    assert gate.status()["backlog"] == 42
    assert gate.sync().acknowledged == 42  # batches of 50 or less: one batch here
    assert handheld.sync().acknowledged == 3
    assert_exactly_once(shared_central.database, gate, 42)
    assert_exactly_once(shared_central.database, handheld, 3)
    status = gate.status()
    assert (status["backlog"], status["acknowledged"], status["alarms"]) == (0, 41, [])
    # a second round sends nothing: the cursor is durable
    gate.record(5)
    assert gate.sync().acknowledged == 5
    assert gate.sync().acknowledged == 0
    assert_exactly_once(shared_central.database, gate, 47)
    # one document's checks from both devices in one query, under the national pseudonym
    probe = SimClient(shared_central.url, gate.device_id, SyncState(gate.data_dir).key())  # type: ignore[arg-type]
    pseudonym = national_pseudonym("UTO", "L898902C3")
    code, body = probe.signed("GET", f"/api/v1/documents/{pseudonym}/checks?limit=1000")
    assert code == 200
    devices = [c["device_id"] for c in body["checks"]]
    assert devices.count(gate.device_id) == 35 and devices.count(handheld.device_id) == 3


def test_what_leaves_the_device_holds_no_names(
    shared_central: CentralServer, make_device: Any
) -> None:
    device = make_device("private")
    device.record(2)
    device.enrol(shared_central)
    uplink_batch: dict[str, Any] = {}
    from appliance.history import Ledger
    from sync.device.client import CentralClient
    from sync.device.uplink import Uplink

    state = SyncState(device.data_dir)
    with Ledger.open_default(device.data_dir, device.config) as ledger:
        client = CentralClient(shared_central.url, device.device_id, state.key())
        uplink = Uplink(ledger, client, state, national_key=b"k" * 32)
        uplink_batch = uplink.build_batch(state.cursor()) or {}
    text = json.dumps(uplink_batch)
    assert "ERIKSSON" not in text and "L898902C3" not in text
    assert all(len(e["document"]) == 64 for e in uplink_batch["events"])


def test_a_stale_cursor_resumes_from_centrals(
    shared_central: CentralServer, make_device: Any
) -> None:
    device = make_device("stale")
    device.record(20)
    device.enrol(shared_central)
    device.sync()
    state = SyncState(device.data_dir)
    state.save_cursor(Cursor(5, 5, ""))  # as if the device lost its last acknowledgements
    device.record(3)
    device.sync()
    assert_exactly_once(shared_central.database, device, 23)
    assert state.cursor().next_index == 23


def test_kill_9_mid_upload_then_restart_loses_and_doubles_nothing(
    shared_central: CentralServer, make_device: Any
) -> None:
    device = make_device("killed", batch_size=20)
    device.record(2000)
    device.enrol(shared_central)
    proc = device.popen("run", "--once")
    deadline = time.monotonic() + 60
    while not central_rows(shared_central.database, device.device_id):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.01)
    proc.kill()
    proc.wait(timeout=10)
    stored = len(central_rows(shared_central.database, device.device_id))
    assert 0 < stored < 2000, "the kill did not land mid-upload"
    result = device.cli("run", "--once", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backlog"] == 0
    assert_exactly_once(shared_central.database, device, 2000)


def test_central_down_device_restarted_offline_keeps_backlog(
    central: CentralServer, make_device: Any
) -> None:
    device = make_device("offline")
    device.record(10)
    device.enrol(central)
    device.sync()
    central.kill()
    device.record(25)
    with pytest.raises(Transient):
        device.sync(attempts=2)
    # a new process (the device restarted while offline) sees the whole backlog
    result = device.cli("status", "--json")
    body = json.loads(result.stdout)
    assert (body["backlog"], body["acknowledged"]) == (25, 9)
    assert body["last_error"]["reason"] == Reason.SYNC_UNREACHABLE.value
    failed = device.cli("run", "--once", "--attempts", "1")
    assert failed.returncode == 2 and "SYNC_UNREACHABLE" in failed.stderr
    central.start()
    result = device.cli("run", "--once", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["last_error"] is None
    assert_exactly_once(central.database, device, 35)


def test_network_faults_lose_and_double_nothing(
    shared_central: CentralServer, make_device: Any
) -> None:
    faults = [f for f in FAULTS if f != "pass"]
    schedule = iter([step for fault in faults for step in ("pass", fault)])
    proxy = FaultProxy(shared_central.port, schedule).start()
    try:
        device = make_device("faulty", batch_size=10, timeout_s=1.0)
        device.record(120)
        device.enrol(shared_central)
        url = f"http://127.0.0.1:{proxy.port}"
        state = SyncState(device.data_dir)
        enrolment = state.enrolment()
        assert enrolment is not None
        enrolment.url = url
        state.save_enrolment(enrolment)
        for _ in range(10):
            try:
                device.sync(attempts=20)
                if device.status()["backlog"] == 0:
                    break
            except Transient:
                continue
        assert device.status()["backlog"] == 0
        assert set(proxy.seen) == set(FAULTS)
        assert_exactly_once(shared_central.database, device, 120)
    finally:
        proxy.stop()


def test_a_revoked_device_is_refused_and_says_so(
    shared_central: CentralServer, make_device: Any
) -> None:
    device = make_device("revoked")
    device.record(3)
    device.enrol(shared_central)
    central_cli(shared_central.database, "revoke", "--device", device.device_id)
    with pytest.raises(Refused) as refused:
        device.sync()
    assert refused.value.reason is Reason.SYNC_DEVICE_REVOKED
    status = device.status()
    assert status["revoked"] and status["backlog"] == 3
    assert Reason.SYNC_DEVICE_REVOKED.value in [a["reason"] for a in status["alarms"]]
    result = device.cli("run", "--once")
    assert result.returncode == 1 and "SYNC_DEVICE_REVOKED" in result.stderr


def test_backlog_over_the_cap_raises_an_alarm_and_drops_nothing(
    shared_central: CentralServer, make_device: Any
) -> None:
    device = make_device("capped", backlog_alarm=5)
    device.record(8)
    device.enrol(shared_central)
    (alarm,) = device.status()["alarms"]
    assert alarm["reason"] == Reason.SYNC_BACKLOG_ALARM.value
    device.sync()
    assert device.status()["alarms"] == []
    assert_exactly_once(shared_central.database, device, 8)


def test_not_enrolled_is_a_clear_refusal(make_device: Any) -> None:
    result = make_device("new").cli("run", "--once")
    assert result.returncode == 2 and "SYNC_NOT_ENROLLED" in result.stderr
    assert "Traceback" not in result.stderr


def test_selftest_reports_the_backlog_alarm_and_revocation(
    shared_central: CentralServer, make_device: Any
) -> None:
    from appliance.selftest import run_selftest

    device = make_device("selftest", backlog_alarm=2)
    assert run_selftest(device.config, device.data_dir).check("sync").status.value == "skipped"
    device.record(3)
    device.enrol(shared_central)
    check = run_selftest(device.config, device.data_dir).check("sync")
    assert (check.status.value, check.reason) == ("warn", Reason.SYNC_BACKLOG_ALARM)
    device.sync()
    check = run_selftest(device.config, device.data_dir).check("sync")
    assert (check.status.value, check.reason) == ("pass", Reason.OK)
    central_cli(shared_central.database, "revoke", "--device", device.device_id)
    with pytest.raises(Refused):
        device.sync()
    check = run_selftest(device.config, device.data_dir).check("sync")
    assert (check.status.value, check.reason) == ("fail", Reason.SYNC_DEVICE_REVOKED)


def test_enrol_with_a_bad_token_is_refused_and_leaves_the_device_unenrolled(
    shared_central: CentralServer, make_device: Any
) -> None:
    device = make_device("badtoken")
    result = device.cli("enrol", shared_central.url, "--token", "t" * 43)
    assert result.returncode == 1 and "SYNC_TOKEN_INVALID" in result.stderr, result.stderr
    assert device.status()["enrolled"] is False
    token = issue_token(shared_central.database, device.device_id)
    result = device.cli("enrol", shared_central.url, "--token", token, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["device_id"] == device.device_id
    again = device.cli("enrol", shared_central.url, "--token", token)
    assert again.returncode == 2 and "already enrolled" in again.stderr
