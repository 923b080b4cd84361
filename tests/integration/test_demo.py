"""`appliance demo`: the whole e-gate on simulated hardware, through the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.history import DeviceIdentity, Ledger
from appliance.inspection.policy import POLICY_FILE
from appliance.inspection.report import SCHEMA_FILE
from hardware_mocks.traveller_sim import Kind, TravellerSimulator
from tests.support.config_support import simulated_config

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / SCHEMA_FILE).read_text())


def run(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["demo", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def test_headless_json_run(data_dir: Path) -> None:
    code, lines, stderr = run("--headless", "--travellers", "40", "--seed", "7", "--json")
    assert code == 0, stderr
    *passages, last = lines
    summary = last["summary"]
    assert isinstance(summary, dict)
    assert len(passages) == summary["travellers"] == 40
    assert summary["as_expected"] == 40 and summary["unexpected"] == []
    assert str(data_dir.resolve()) in stderr
    kinds = {p["simulated"] for p in passages}
    assert {"genuine", "expired"} <= kinds and len(kinds) >= 6
    for passage in passages:
        jsonschema.validate(passage["report"], SCHEMA)
        decision = passage["decision"]
        assert isinstance(decision, dict)
        if passage["simulated"] == "genuine":
            assert decision["verdict"] == "OPEN" and passage["gate"] == "open"
        else:
            assert decision["verdict"] == "REFER" and passage["gate"] == "closed"
            assert passage["expected"] in decision["reasons"]
    times = summary["transaction_ms"]
    assert isinstance(times, dict) and 0 < times["p50"] <= times["p95"] <= times["max"]
    # every decision is in the history, which verifies
    with Ledger(data_dir / "history", DeviceIdentity("gate-sim-01", "SIM-CHECKPOINT")) as history:
        assert history.verify().ok
        checks = [r for r in history.recent(500) if r.leaf.type == "check"]
        assert len(checks) == 40


def test_output_holds_no_personal_data(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--headless", "--travellers", "12", "--seed", "2"])
    assert result.exit_code == 0, result.stderr
    simulator = TravellerSimulator(seed=2, run=1)
    travellers = list(simulator.travellers(12))
    output = result.stdout + result.stderr
    for traveller in travellers:
        assert traveller.profile.document_number not in output
        assert traveller.profile.mrz_lines[-1] not in output
    assert "#0012" in result.stdout and "as the simulation expected: 12/12" in result.stdout


def test_second_run_reuses_the_set_up_and_presents_new_documents(data_dir: Path) -> None:
    assert run("--headless", "--travellers", "5", "--json")[0] == 0
    code, lines, stderr = run("--headless", "--travellers", "5", "--json")
    assert code == 0, stderr
    assert "signed and installed" not in stderr  # provisioned once
    assert lines[-1]["summary"]["run"] == 2  # type: ignore[index]


def test_without_headless_runs_five_and_says_why(data_dir: Path) -> None:
    code, lines, stderr = run("--travellers", "50", "--json")
    assert code == 0
    assert "UIs are not there yet" in stderr
    assert len(lines) == 6


def test_tampered_policy_refuses_to_run(data_dir: Path) -> None:
    assert run("--headless", "--travellers", "1")[0] == 0
    policy = data_dir / POLICY_FILE
    policy.write_bytes(policy.read_bytes().replace(b'"watchlist",\n', b""))
    code, lines, _ = run("--headless", "--travellers", "3", "--json")
    assert code == 2
    assert lines == [{"status": "fail", "reason": "POLICY_INVALID",
                      "detail": "policy: signature invalid"}]  # fmt: skip


def test_unsigned_policy_refuses_to_run(data_dir: Path) -> None:
    assert run("--headless", "--travellers", "1")[0] == 0
    (data_dir / (POLICY_FILE + ".sig")).unlink()
    result = CliRunner().invoke(cli, ["demo", "--headless", "--travellers", "1"])
    assert result.exit_code == 2
    assert "POLICY_UNSIGNED" in result.stderr


def every_kind(seed: int = 0, run: int = 0) -> TravellerSimulator:
    """A crowd where every kind of traveller is as frequent as the genuine ones."""
    return TravellerSimulator(seed, run, mix=dict.fromkeys(Kind, 1))


def test_every_exception_case_is_caught_end_to_end(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = simulated_config(
        tmp_path / "appliance.toml",
        hardware={"traveller_simulator": "tests.integration.test_demo:every_kind"},
    )
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    code, lines, stderr = run("--headless", "--travellers", "60", "--seed", "4", "--json")
    assert code == 0, stderr
    *passages, last = lines
    # impostors need real faces (`--faces`, tests/integration/test_demo_faces.py), iris
    # impostors iris data (`--iris`, tests/integration/test_demo_iris.py)
    needs_more = {"impostor", "morphed", "iris_impostor"}
    assert {p["simulated"] for p in passages} == {k.value for k in Kind} - needs_more
    assert last["summary"]["as_expected"] == 60  # type: ignore[index]


@pytest.mark.slow
def test_console_script_with_progress_bar_off_a_tty(data_dir: Path) -> None:
    env = {**os.environ, "APPLIANCE_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "demo", "--headless", "--travellers", "3"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\r[" not in done.stderr  # no progress bar when stdout is not a terminal


@pytest.mark.pcsc
def test_pcsc_reads_each_chip_through_pcscd(data_dir: Path, pcsc_stack: str) -> None:
    code, lines, stderr = run("--headless", "--travellers", "3", "--seed", "5", "--pcsc", "--json")
    assert code == 0, stderr
    *passages, last = lines
    assert last["summary"]["pcsc"] is True  # type: ignore[index]
    for passage in passages:
        chip = next(s for s in passage["report"]["steps"] if s["name"] == "chip_access")  # type: ignore[index]
        assert chip["status"] == "pass" and chip["facts"]["apdus"] > 5


def test_tampered_watchlist_refers_everyone(data_dir: Path) -> None:
    assert run("--headless", "--travellers", "1")[0] == 0
    watchlist = data_dir / "watchlist.json"
    body = json.loads(watchlist.read_bytes())
    body["entries"] = []  # someone empties the list to let a stolen passport through
    watchlist.write_text(json.dumps(body))
    code, lines, _ = run("--headless", "--travellers", "4", "--json")
    assert code == 1  # genuine travellers were not let through: not what the simulation expects
    *passages, _summary = lines
    for passage in passages:
        decision = passage["decision"]
        assert isinstance(decision, dict) and decision["verdict"] == "REFER"
        assert "WATCHLIST_INVALID" in decision["reasons"]


@pytest.mark.pcsc
def test_a_busy_reader_slot_is_named_not_a_timeout(data_dir: Path, pcsc_stack: str) -> None:
    from hardware_mocks.traveller_sim import PCSC_PORT
    from hardware_mocks.vpcd import VpcdBridge
    from tests.integration.test_pcsc_driver import EchoCard

    # someone else's card sits on the demo's reader slot
    with VpcdBridge(EchoCard(), port=PCSC_PORT):
        code, lines, stderr = run("--headless", "--travellers", "2", "--pcsc", "--json")
    assert code == 2, stderr
    assert lines[-1]["status"] == "fail" and lines[-1]["reason"] == "READER_BUSY"
    assert f"port {PCSC_PORT}" in str(lines[-1]["detail"])
    assert "TimeoutError" not in str(lines) + stderr
