"""The local API (appliance/api/app.py) over a running simulated lane, through FastAPI's
TestClient: health 503 before the lane is ready, lane state and its event stream (ordered, no
personal data), simulated travellers, recent checks and reports, history, metrics, validation
errors as clear 4xx with a reason code, handheld checks, and a product (PC/SC) station."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from appliance.api.app import create_app
from appliance.api.lane_service import LaneService
from appliance.config import Config
from hardware_mocks import sim_authority
from hardware_mocks.sim_lane import SimulatedStation
from hardware_mocks.traveller_sim import TravellerSimulator
from tests.support.auth_support import local_client, log_in
from tests.support.lane_support import sim_config, wait_ready


@pytest.fixture
def service(data_dir: Path, tmp_path: Path) -> Iterator[LaneService]:
    lane = LaneService(sim_config(tmp_path), data_dir)
    yield lane
    assert lane.stop(10)


def started(client: TestClient, service: LaneService, timeout_s: float = 30) -> None:
    wait_ready(client, service, timeout_s)
    log_in(client, service.directory)  # a supervisor: checks, history and self-test


def events(client: TestClient, limit: int, since: int = 0) -> list[dict[str, Any]]:
    found = []
    with client.stream("GET", f"/api/v1/lane/events?since={since}&limit={limit}") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
    return found


def test_health_is_503_until_the_lane_is_ready(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        before = client.get("/api/v1/health")
        assert before.status_code == 503 and before.json()["status"] == "starting"
        assert client.get("/api/v1/lane").status_code == 503
        started(client, service)
        health = client.get("/api/v1/health").json()
        assert health["status"] == "ok" and health["lane"] == "ready" and health["simulated"]
        assert client.get("/api/v1/lane").json()["state"] == "ready"
        spec = client.get("/api/v1/openapi.json").json()
        for path in ("/api/v1/health", "/api/v1/lane/events", "/api/v1/checks/{check_id}"):
            assert path in spec["paths"]


def test_travellers_checks_history_and_events(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        placed = {}
        for kind in ("genuine", "forged_dg", "watchlisted", "expired"):
            answer = client.post("/api/v1/sim/travellers", json={"kind": kind})
            assert answer.status_code == 200, answer.text
            placed[kind] = answer.json()
        assert placed["genuine"]["decision"] == "OPEN" and placed["genuine"]["gate"] == "open"
        forged = placed["forged_dg"]
        assert forged["decision"] == "REFER" and "PA_DG_HASH_MISMATCH" in forged["reasons"]
        assert "WATCHLIST_HIT" in placed["watchlisted"]["reasons"]
        recent = client.get("/api/v1/checks?recent=10").json()["checks"]
        assert [c["check_id"] for c in recent] == [
            placed[k]["check_id"] for k in ("expired", "watchlisted", "forged_dg", "genuine")
        ]
        report = client.get(f"/api/v1/checks/{forged['check_id']}").json()
        assert report["report"]["steps"][0]["name"] == "document_presence"
        assert client.get("/api/v1/checks/no-such-check").status_code == 404
        records = client.get("/api/v1/history?recent=50").json()["records"]
        assert {"check", "gate_action"} <= {r["type"] for r in records}
        assert all(r["proven"] for r in records)
        stream = _all_events(client, service)
        decisions = [e for e in stream if e["type"] == "decision"]
        assert [d["check_id"] for d in decisions] == [placed[k]["check_id"] for k in placed]
        text = json.dumps(stream) + json.dumps(recent)
        station = service.runtime.station if service.runtime else None
        assert isinstance(station, SimulatedStation)
        for answer in placed.values():
            traveller = station.traveller(answer["ref"])
            assert traveller is not None
            profile = traveller.profile
            for value in (profile.document_number, profile.surname, profile.date_of_birth):
                assert value not in text


def _all_events(client: TestClient, service: LaneService) -> list[dict[str, Any]]:
    return events(client, limit=service.events.last_seq)


def test_event_stream_resumes_after_the_last_event_seen(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        first = events(client, limit=2)
        assert [e["seq"] for e in first] == [1, 2]
        client.post("/api/v1/sim/travellers", json={"kind": "genuine"})
        more = events(client, limit=3, since=2)
        assert [e["seq"] for e in more] == [3, 4, 5]
        assert more[0] == {**more[0], "type": "state", "state": "checking"}


def test_metrics_expose_decisions_steps_chip_errors_state_uptime(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        client.post("/api/v1/sim/travellers", json={"kind": "genuine"})
        client.post("/api/v1/sim/travellers", json={"kind": "forged_dg"})
        text = client.get("/metrics").text
    assert 'appliance_decisions_total{reason="OK",verdict="OPEN"} 1.0' in text
    assert 'appliance_decisions_total{reason="PA_DG_HASH_MISMATCH",verdict="REFER"} 1.0' in text
    assert 'appliance_step_duration_seconds_count{step="chip_access"} 2.0' in text
    assert "appliance_transaction_duration_seconds_count 2.0" in text
    assert 'appliance_lane_state{state="ready"} 1.0' in text
    assert "appliance_uptime_seconds " in text
    assert 'appliance_model_load_seconds{part="lane"}' in text
    assert "# TYPE appliance_chip_errors_total counter" in text
    assert "appliance_sync_enrolled 0.0" in text  # sync's metrics in the same page


def test_chip_errors_are_counted_by_reason(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        station = service.runtime.station if service.runtime else None
        assert isinstance(station, SimulatedStation)
        traveller = station.source.traveller(station.source.kinds()[0])
        traveller.chip.fail_after = 0 if hasattr(traveller.chip, "fail_after") else None
        client.post("/api/v1/sim/reader", json={"plugged": False})
        assert _wait_lane(client, "out_of_service")
        text = client.get("/metrics").text
        assert (
            'appliance_lane_faults_total{component="reader",reason="READER_NOT_FOUND"} 1.0' in text
        )
        assert 'appliance_lane_state{state="out_of_service"} 1.0' in text


def _wait_lane(client: TestClient, state: str, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get("/api/v1/lane").json().get("state") == state:
            return True
        time.sleep(0.05)
    return False


def test_reader_pulled_through_the_api_and_back(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        assert client.post("/api/v1/sim/reader", json={"plugged": False}).status_code == 200
        assert _wait_lane(client, "out_of_service")
        health = client.get("/api/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "out_of_service"
        assert health.json()["fault"]["reason"] == "READER_NOT_FOUND"
        client.post("/api/v1/sim/reader", json={"plugged": True})
        assert _wait_lane(client, "ready")
        assert client.get("/api/v1/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"kind": "Not A Kind!"}, 422, "body.kind"),
        ({"kind": "genuine", "colour": "red"}, 422, "body.colour"),
        ({"kind": "genuine", "timeout_s": -1}, 422, "body.timeout_s"),
        ({}, 422, "body.kind"),
        ({"kind": "nobody"}, 400, "unknown traveller kind"),
    ],
)
def test_bad_input_is_a_clear_4xx_with_a_reason(
    service: LaneService, body: dict[str, Any], status: int, detail: str
) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        answer = client.post("/api/v1/sim/travellers", json=body)
        assert answer.status_code == status
        assert answer.json()["reason"] == "USAGE" and detail in answer.json()["detail"]
        assert client.get("/api/v1/checks?recent=0").status_code == 422
        assert client.post("/api/v1/checks", json={}).status_code == 400  # e-gate: no button


def test_handheld_checks_start_busy_and_cancel(data_dir: Path, tmp_path: Path) -> None:
    service = LaneService(sim_config(tmp_path, device={"mode": "handheld"}), data_dir)
    with local_client(create_app(service)) as client:
        started(client, service)
        assert client.post("/api/v1/checks").status_code == 202
        busy = client.post("/api/v1/checks")
        assert busy.status_code == 409 and busy.json()["reason"] == "LANE_BUSY"
        assert client.post("/api/v1/checks/current/cancel").json() == {"cancelled": True}
        assert _wait_lane(client, "ready")
        assert client.post("/api/v1/checks").status_code == 202
        assert _wait_lane(client, "waiting_document")
        answer = client.post("/api/v1/sim/travellers", json={"kind": "genuine"}).json()
        assert answer["mode"] == "handheld" and answer["gate"] == "unknown"
    assert service.stop(10)


# ---------------------------------------------------------------- a product (PC/SC) station

READER = {"plugged": True}


class _EmptyReader:
    """A PC/SC reader with nothing on it."""

    def card_present(self) -> bool:
        return False

    def disconnect(self) -> None:
        pass


def fake_reader(name: str) -> _EmptyReader:
    """Stands in for `drivers.pcsc:open_reader` (`hardware.pcsc_card`)."""
    if not READER["plugged"]:
        raise RuntimeError(f"no PC/SC reader named exactly {name!r}")
    return _EmptyReader()


def fake_scanner(port: str) -> object:
    return object()


def test_product_station_service_has_no_sim_routes_and_watches_its_reader(
    data_dir: Path, tmp_path: Path
) -> None:
    config = sim_config(
        tmp_path,
        hardware={
            "station": "appliance.inspection.station:open_station",
            "pcsc_card": f"{__name__}:fake_reader",
            "mrz_scanner": f"{__name__}:fake_scanner",
        },
        chip={"reader": "ACME Reader 0"},
    )
    # the real authority's policy and watchlist, installed beforehand (here: simulated ones)
    sim_authority.provision(
        data_dir, TravellerSimulator(), require_biometrics=False, now=datetime.now().astimezone()
    )
    service = LaneService(config, data_dir)
    READER["plugged"] = True
    with local_client(create_app(service)) as client:
        started(client, service)
        assert client.get("/api/v1/health").json()["simulated"] is False
        refused = client.post("/api/v1/sim/travellers", json={"kind": "genuine"})
        assert refused.status_code == 404 and refused.json()["detail"] == "not a simulated service"
        READER["plugged"] = False
        assert _wait_lane(client, "out_of_service")
        READER["plugged"] = True
        assert _wait_lane(client, "ready")
    assert service.stop(10)


def test_product_without_a_policy_does_not_start(data_dir: Path, tmp_path: Path) -> None:
    config: Config = sim_config(
        tmp_path,
        hardware={
            "station": "appliance.inspection.station:open_station",
            "pcsc_card": f"{__name__}:fake_reader",
            "mrz_scanner": f"{__name__}:fake_scanner",
        },
    )
    service = LaneService(config, data_dir)
    with local_client(create_app(service)) as client:
        service.start()
        assert service.finished.wait(20)
        health = client.get("/api/v1/health")
        assert health.status_code == 503 and health.json()["reason"] == "POLICY_UNSIGNED"


def test_selftest_through_the_service(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        started(client, service)
        report = client.get("/api/v1/selftest").json()
    assert report["status"] == "pass", report
    checks = {c["name"]: c for c in report["checks"]}
    # the lane owns the gate's serial line: the self-test reads the lane's last answer
    assert checks["gate_controller"]["status"] == "pass"
    assert "answers: closed" in checks["gate_controller"]["detail"]
    assert checks["policy"]["status"] == "pass" and checks["history"]["status"] == "pass"


def test_the_technician_reads_what_set_up_did(
    service: LaneService, caplog: pytest.LogCaptureFixture
) -> None:
    """The station's set-up notes reach the journal as words (they hold no traveller data),
    not as `<redacted>` the way an unvetted argument is."""
    from appliance.logs import JsonLineFormatter

    caplog.set_level("INFO", logger="appliance.api.lane_service")
    with local_client(create_app(service)) as client:
        started(client, service)
    lines = [
        json.loads(JsonLineFormatter().format(r))["event"]
        for r in caplog.records
        if r.name == "appliance.api.lane_service" and r.msg == "set-up: %s"
    ]
    assert lines and not any("<redacted>" in line for line in lines)
    assert any("trust store" in line for line in lines), lines
