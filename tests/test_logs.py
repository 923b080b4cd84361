"""Structured logs: JSON lines with only safe fields, and no traveller's data in anything logged."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ApplianceError, Reason
from appliance.logs import REDACTED, safe, setup_logging
from tests.check_support import MRZ, PERSONAL, provisioned, restore_logging, write_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    yield
    restore_logging()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging("DEBUG", stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_the_stable_keys(captured: io.StringIO) -> None:
    logging.getLogger("appliance.test").info(
        "check decided", extra={"decision": "REFER", "reason": Reason.PA_DG_HASH_MISMATCH,
                                "check_id": 7, "reasons": ["PA_DG_HASH_MISMATCH"]},
    )  # fmt: skip
    (line,) = lines(captured)
    assert line["level"] == "INFO" and line["logger"] == "appliance.test"
    assert line["event"] == "check decided" and line["reason"] == "PA_DG_HASH_MISMATCH"
    assert line["decision"] == "REFER" and line["check_id"] == 7
    assert line["time"].endswith("+00:00")


def test_personal_data_in_arguments_extras_or_exceptions_is_not_emitted(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("appliance.test")
    log.info("holder %s born %s", "MUSTERMANN", "640812")
    log.info("chip read", extra={"surname": "MUSTERMANN", "document_number": "C01X00T47"})
    log.warning("reason %s after %d tries on %s", "CHIP_REMOVED", 2, safe("ttyUSB0"))
    try:
        raise ValueError("MUSTERMANN ERIKA C01X00T47")
    except ValueError:
        log.exception("step failed")
    try:
        raise ApplianceError(Reason.PA_DS_REVOKED, "signer revoked")
    except ApplianceError:
        log.exception("check failed")
    text = captured.getvalue()
    for value in ("MUSTERMANN", "ERIKA", "C01X00T47", "640812"):
        assert value not in text
    first, second, third, fourth, fifth = lines(captured)
    assert first["event"] == f"holder {REDACTED} born {REDACTED}"
    assert "surname" not in second and "document_number" not in second
    assert third["event"] == "reason CHIP_REMOVED after 2 tries on ttyUSB0"
    assert fourth["exception"] == "ValueError" and fourth["where"].startswith("test_logs:")
    assert fifth["reason"] == "PA_DS_REVOKED"


def _appliance(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("chip", ["genuine", "forged_dg"])
def test_check_logs_nothing_of_the_holder(data_dir: Path, tmp_path: Path, chip: str) -> None:
    provisioned(data_dir)
    env = {"APPLIANCE_DATA_DIR": str(data_dir), "APPLIANCE_LOG_LEVEL": "DEBUG"}
    if chip == "forged_dg":
        config = write_config(
            tmp_path / "c.toml", '[hardware]\nvirtual_card = "tests.check_support:open_forged_dg"\n'
        )
        env["APPLIANCE_CONFIG"] = str(config)
    mrz = [arg for line in MRZ for arg in ("--mrz", line)]
    done = _appliance(["check", "--reader", "virtual", *mrz, "--json"], env)
    assert done.returncode == (0 if chip == "genuine" else 1), done.stderr
    # stdout is the officer's result, one JSON object; stderr is the log, JSON lines only
    result = json.loads(done.stdout)
    assert result["check_id"] == 0
    logged = [json.loads(line) for line in done.stderr.splitlines()]
    events = {line["event"] for line in logged}
    assert {"check started", "step done", "check decided"} <= events
    assert any(line.get("check_id") == 0 for line in logged)
    for value in PERSONAL:
        assert value not in done.stderr, value
        assert value not in done.stdout, value
