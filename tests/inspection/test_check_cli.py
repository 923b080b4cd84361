"""`appliance check`: one document's whole inspection in handheld mode, recorded in the history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from appliance.cli import cli
from appliance.inspection.report import SCHEMA_FILE
from tests.support.check_support import MRZ, MRZ_INFO, provisioned, restore_logging, write_config

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / SCHEMA_FILE).read_text())
MRZ_ARGS = [arg for line in MRZ for arg in ("--mrz", line)]


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    yield
    restore_logging()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def result_json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def recent(count: int = 10) -> list[dict[str, Any]]:
    shown = run("history", "show", "--recent", str(count), "--json")
    assert shown.exit_code == 0, shown.output
    records: list[dict[str, Any]] = json.loads(shown.stdout)["records"]
    return records


@pytest.fixture
def ready(data_dir: Path) -> Path:
    return provisioned(data_dir)


def test_genuine_document_is_advised_and_recorded(ready: Path) -> None:
    result = run("check", "--reader", "virtual", *MRZ_ARGS, "--json")
    out = result_json(result)
    assert result.exit_code == 0, out
    assert out["decision"] == "ADVISE" and out["reasons"] == ["OK"]
    assert out["status"] == "pass" and out["recorded"] is True
    assert out["policy"]["verdict"] == "ADVISE" and out["policy"]["policy_version"] == 1
    report = out["report"]
    jsonschema.validate(report, SCHEMA)
    assert report["mode"] == "handheld"
    steps = {s["name"]: s["status"] for s in report["steps"]}
    for name in ("chip_access", "authenticity", "document_validity", "watchlist", "repeated_use"):
        assert steps[name] == "pass", steps
    assert steps["gate_sensors"] == "skipped"
    assert {"setup", "check", "total"} <= set(out["timings_ms"])
    # the check is in the history under its id, with the policy's handheld verdict
    records = recent()
    mine = [r for r in records if r["index"] == out["check_id"]]
    assert len(mine) == 1 and mine[0]["type"] == "check"
    assert mine[0]["outcome"] == "ADVISE" and mine[0]["reasons"] == ["OK"]
    assert mine[0]["public"]["report"]["report_id"] == report["report_id"]


def test_human_output_names_the_decision_and_the_record(ready: Path) -> None:
    result = run("check", "--reader", "virtual", *MRZ_ARGS)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Decision: ADVISE")
    assert "Recorded in the history as record #0" in result.stdout
    assert "MUSTERMANN" not in result.stdout


def test_forged_data_group_is_referred_with_its_reason(ready: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "forged.toml",
        '[hardware]\nvirtual_card = "tests.support.check_support:open_forged_dg"\n',
    )
    result = CliRunner(env={"APPLIANCE_CONFIG": str(config)}).invoke(
        cli, ["check", "--reader", "virtual", *MRZ_ARGS, "--json"]
    )
    out = result_json(result)
    assert result.exit_code == 1, out
    assert out["decision"] == "REFER" and out["status"] == "fail"
    assert "PA_DG_HASH_MISMATCH" in out["reasons"]
    assert any("altered" in line for line in out["officer"])
    auth = next(s for s in out["report"]["steps"] if s["name"] == "authenticity")
    assert auth["status"] == "fail"
    # a refused document is recorded too
    assert [r["index"] for r in recent()] == [out["check_id"]]
    assert "PA_DG_HASH_MISMATCH" in recent()[0]["reasons"]


def test_no_document_on_the_reader_is_a_fault_and_records_nothing(
    ready: Path, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "empty.toml",
        "[chip]\npresence_timeout_s = 0.2\n"
        '[hardware]\nvirtual_card = "tests.support.check_support:open_empty_reader"\n',
    )
    result = CliRunner(env={"APPLIANCE_CONFIG": str(config)}).invoke(
        cli, ["check", "--reader", "virtual", *MRZ_ARGS, "--json"]
    )
    out = result_json(result)
    assert result.exit_code == 2, out
    assert out["reason"] == "CHIP_NOT_PRESENT" and out["decision"] is None
    assert out["check_id"] is None
    assert recent() == []


def test_no_such_reader_is_a_fault_with_its_reason(ready: Path) -> None:
    result = run("check", "--reader", "No Such Reader 00 00", *MRZ_ARGS, "--json")
    out = result_json(result)
    assert result.exit_code == 2, out
    assert out["reason"] == "READER_NOT_FOUND"
    assert "Traceback" not in result.output
    assert recent() == []


def test_without_a_signed_policy_no_check_is_made(data_dir: Path) -> None:
    result = run("check", "--reader", "virtual", *MRZ_ARGS, "--json")
    out = result_json(result)
    assert result.exit_code == 2, out
    assert out["reason"] == "POLICY_UNSIGNED"


def test_chip_key_without_the_printed_mrz_is_not_a_clean_check(ready: Path) -> None:
    """The chip opens with the typed-in key, but nothing compares it with the printed page."""
    result = run("check", "--reader", "virtual", "--mrz-info", MRZ_INFO, "--json")
    out = result_json(result)
    assert result.exit_code == 1, out
    assert out["decision"] == "REFER"
    steps = {s["name"]: s for s in out["report"]["steps"]}
    assert steps["chip_access"]["status"] == "pass"
    assert steps["mrz"]["status"] == "skipped"
    assert {"STEP_MISSING", "PA_NOT_CHECKED"} <= set(out["reasons"])


def test_can_and_mrz_info_together_or_no_key_are_usage_errors(ready: Path) -> None:
    both = run("check", "--reader", "virtual", "--mrz-info", MRZ_INFO, "--can", "123456")
    assert both.exit_code == 2
    none = run("check", "--reader", "virtual")
    assert none.exit_code == 2 and "--mrz" in none.output
    bad = run("check", "--reader", "virtual", "--mrz", "NOT AN MRZ")
    assert bad.exit_code == 2


def test_camera_on_a_virtual_config_is_refused(ready: Path) -> None:
    result = run("check", "--reader", "virtual", *MRZ_ARGS, "--camera", "--json")
    out = result_json(result)
    assert result.exit_code == 2, out
    assert out["reason"] == "CAMERA_UNAVAILABLE"
    assert recent() == []


@pytest.mark.slow  # the face step looks for a face until its capture time-out (~8 s)
def test_camera_face_step_runs_and_fails_closed_without_a_face(ready: Path, tmp_path: Path) -> None:
    """With --camera the face step runs on the configured camera; black frames hold no face,
    so the officer is told to refer."""
    config = write_config(
        tmp_path / "camera.toml",
        '[face]\ncamera = "0"\n[hardware]\ncamera = "tests.support.check_support:open_hd_camera"\n',
    )
    result = CliRunner(env={"APPLIANCE_CONFIG": str(config)}).invoke(
        cli, ["check", "--reader", "virtual", *MRZ_ARGS, "--camera", "--json"]
    )
    out = result_json(result)
    assert result.exit_code == 1, out
    face = next(s for s in out["report"]["steps"] if s["name"] == "biometrics")
    assert face["status"] == "fail"
    assert out["decision"] == "REFER" and face["reason"] in out["reasons"]
    assert out["recorded"] is True
