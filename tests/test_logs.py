"""Structured logs: JSON lines with only safe fields (the whole `check` process: see
tests/integration/test_check_logs.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from appliance.errors import ApplianceError, Reason
from appliance.logs import REDACTED, safe, setup_logging
from tests.support.check_support import restore_logging


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
