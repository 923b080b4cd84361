"""`appliance serve` with simulated hardware as a real process, and `appliance sim traveller`
against it: genuine travellers open the gate, forged ones are referred with their reason;
usage errors and a service that is not simulated exit 2; SIGTERM stops it cleanly within 10 s;
SIGKILL in the middle of a run loses no acknowledged check and the restarted service carries on.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from hardware_mocks import sim_authority
from hardware_mocks.traveller_sim import Kind, TravellerSimulator
from tests.support.config_support import simulated_config
from tests.support.service_support import running_service, start_service

pytestmark = pytest.mark.slow


def sim(url: str, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, ["sim", "traveller", "--url", url, "--json", *args])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def test_genuine_opens_forged_is_referred_through_the_service(data_dir: Path) -> None:
    with running_service(data_dir) as service:
        assert "with simulated hardware" in service.output
        assert service.get("/api/v1/health")["status"] == "ok"
        code, genuine = sim(service.url, "--kind", "genuine")
        assert code == 0 and genuine["decision"] == "OPEN" and genuine["reasons"] == ["OK"]
        assert genuine["timings_ms"]["chip_access"] > 0
        code, forged = sim(service.url, "--kind", "forged_dg")
        assert code == 1 and forged["decision"] == "REFER"
        assert "PA_DG_HASH_MISMATCH" in forged["reasons"]
        service.log_in()
        recent = service.get("/api/v1/checks?recent=5")["checks"]
        assert [c["check_id"] for c in recent] == [forged["check_id"], genuine["check_id"]]
        code, kinds = sim(service.url, "--kind", "list")
        assert code == 0 and {"genuine", "forged_dg", "cloned"} <= set(kinds["kinds"])
        code, refusal = sim(service.url, "--kind", "nobody")
        assert code == 2 and refusal["reason"] == "USAGE"
        count = service.get("/api/v1/lane")["last_event"]
        url = f"{service.url}/api/v1/lane/events?limit={count}"
        with urllib.request.urlopen(url, timeout=30) as stream:
            events = stream.read().decode()
        assert "Traceback" not in service.output
    # the first run of this data directory: the simulator's travellers, as the service made them
    simulator = TravellerSimulator(seed=0, run=1)
    travellers = [simulator.traveller(Kind(k)) for k in ("genuine", "forged_dg")]
    said = service.output + events + json.dumps([genuine, forged])
    assert '"type":"decision"' in events
    for traveller in travellers:
        profile = traveller.profile
        for value in (profile.document_number, profile.surname, profile.given_names,
                      profile.date_of_birth, profile.mrz_lines[-1]):  # fmt: skip
            assert value not in said


def test_no_service_is_exit_2(tmp_path: Path) -> None:
    code, refusal = sim("http://127.0.0.1:9", "--kind", "genuine")
    assert (
        code == 2 and refusal["reason"] == "USAGE" and "no appliance service" in refusal["detail"]
    )


def test_a_service_that_is_not_simulated_is_exit_2(data_dir: Path, tmp_path: Path) -> None:
    config = simulated_config(
        tmp_path / "product.toml",
        hardware={
            "station": "appliance.inspection.station:open_station",
            "pcsc_card": "tests.integration.test_service_api:fake_reader",
            "mrz_scanner": "tests.integration.test_service_api:fake_scanner",
        },
    )
    sim_authority.provision(
        data_dir, TravellerSimulator(), require_biometrics=False, now=datetime.now().astimezone()
    )
    with running_service(data_dir, config) as service:
        assert "simulated hardware" not in service.output
        code, refusal = sim(service.url, "--kind", "genuine")
    assert code == 2 and "not a simulated service" in refusal["detail"]


def test_non_loopback_host_is_refused(data_dir: Path, tmp_path: Path) -> None:
    product = simulated_config(
        tmp_path / "product.toml",
        hardware={"station": "appliance.inspection.station:open_station"},
    )
    done = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "serve", "--config", str(product),
         "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2  # beyond loopback: TLS only, and no device certificate here
    assert "TLS_REQUIRED" in done.stderr and "no device certificate" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_mid_traveller_exits_0_within_10_s_and_the_history_verifies(data_dir: Path) -> None:
    service = start_service(data_dir)
    answer = service.post("/api/v1/sim/travellers", {"kind": "genuine", "wait": False})
    service.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = service.proc.wait(15)
    assert code == 0 and time.monotonic() - started < 10, service.output
    assert "appliance: stopped" in service.output
    # whatever the lane decided before it stopped is durable and verifies; it carries on
    with running_service(data_dir) as again:
        again.log_in()
        recent = again.get("/api/v1/checks?recent=5")["checks"]
        assert len(recent) <= 1 and answer["ref"]
        code, genuine = sim(again.url, "--kind", "genuine")
        assert code == 0 and genuine["decision"] == "OPEN"
    verify = CliRunner().invoke(cli, ["history", "verify", "--json"])
    assert verify.exit_code == 0, verify.output


def test_kill_9_loses_no_acknowledged_check_and_the_restart_carries_on(data_dir: Path) -> None:
    service = start_service(data_dir)
    acknowledged: list[str] = []
    stop = threading.Event()

    def travellers() -> None:
        while not stop.is_set():
            try:
                answer = service.post("/api/v1/sim/travellers", {"kind": "genuine"}, 30)
            except OSError:
                return  # the service died under us: that answer never came
            acknowledged.append(answer["check_id"])

    worker = threading.Thread(target=travellers, daemon=True)
    worker.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.037)  # somewhere inside the next traveller
    service.proc.send_signal(signal.SIGKILL)
    service.proc.wait(10)
    stop.set()
    worker.join(30)
    assert len(acknowledged) >= 5
    with running_service(data_dir) as again:
        again.log_in()
        stored = {c["check_id"] for c in again.get("/api/v1/checks?recent=500")["checks"]}
        assert set(acknowledged) <= stored
        code, genuine = sim(again.url, "--kind", "genuine")
        assert code == 0 and genuine["decision"] == "OPEN"
    verify = CliRunner().invoke(cli, ["history", "verify", "--json"])
    assert verify.exit_code == 0, verify.output


def test_a_lane_that_cannot_open_stops_the_service_with_exit_2(
    data_dir: Path, tmp_path: Path
) -> None:
    config = simulated_config(
        tmp_path / "product.toml",
        hardware={
            "station": "appliance.inspection.station:open_station",
            "pcsc_card": "tests.integration.test_service_api:fake_reader",
            "mrz_scanner": "tests.integration.test_service_api:fake_scanner",
        },
    )  # a product station: nobody provisions a policy, and an unsigned lane must not run
    done = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "serve", "--config", str(config), "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "lane not opened: POLICY_UNSIGNED" in done.stderr and "Traceback" not in done.stderr
