"""`appliance demo --iris SHARE`: chips carry DG4 behind Terminal Authentication, a virtual NIR
camera shows each traveller's eye, and the signed policy requires the lane's iris step: genuine
holders pass it and go through, iris impostors are referred with IRIS_NO_MATCH, travellers
whose chip has no DG4 with IRIS_REFERENCE_MISSING."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from appliance.cli import cli
from appliance.inspection.policy import load_policy
from appliance.inspection.report import SCHEMA_FILE, StepName

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / SCHEMA_FILE).read_text())


def _iris_step(passage: dict) -> dict:  # type: ignore[type-arg]
    steps = passage["report"]["steps"]
    return next(s for s in steps if s["name"] == StepName.IRIS.value)


def test_holders_pass_the_iris_step_and_iris_impostors_fail_it(data_dir: Path) -> None:
    args = ["demo", "--headless", "--travellers", "10", "--seed", "3", "--iris", "1", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    *passages, last = [json.loads(line) for line in result.stdout.splitlines()]
    summary = last["summary"]
    assert summary["as_expected"] == 10 and summary["iris_share"] == 1.0
    assert "iris required" in result.stderr
    assert StepName.IRIS in load_policy(data_dir).egate.required_steps
    kinds = {p["simulated"] for p in passages}
    assert {"genuine", "iris_impostor"} <= kinds
    for passage in passages:
        jsonschema.validate(passage["report"], SCHEMA)
        step = _iris_step(passage)
        if passage["simulated"] == "genuine":
            assert passage["decision"]["verdict"] == "OPEN"
            assert step["status"] == "pass", step
            assert step["facts"]["terminal_authentication"] == "pass"
            assert step["facts"]["score"] <= step["facts"]["threshold"]
        if passage["simulated"] == "iris_impostor":
            assert passage["decision"]["verdict"] == "REFER"
            assert passage["decision"]["reasons"] == ["IRIS_NO_MATCH"]
            assert (step["status"], step["reason"]) == ("fail", "IRIS_NO_MATCH")
            assert step["facts"]["score"] > step["facts"]["threshold"]


def test_a_chip_without_dg4_is_referred_when_the_policy_requires_iris(data_dir: Path) -> None:
    args = ["demo", "--headless", "--travellers", "8", "--seed", "3", "--iris", "0.3", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    *passages, last = [json.loads(line) for line in result.stdout.splitlines()]
    assert last["summary"]["as_expected"] == 8
    missing = [p for p in passages if p["expected"] == "IRIS_REFERENCE_MISSING"]
    assert missing, "no traveller without DG4 in this crowd"
    for passage in missing:
        assert passage["decision"]["verdict"] == "REFER"
        step = _iris_step(passage)
        assert (step["status"], step["reason"]) == ("fail", "IRIS_REFERENCE_MISSING")
