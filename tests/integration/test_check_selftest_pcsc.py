"""`appliance check` and `appliance selftest` on a PC/SC reader chosen by name: the chip behind
a real pcscd (through vpcd), as on a device with a hardware reader."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from appliance.cli import cli
from appliance.config import Config
from appliance.selftest import run_selftest
from drivers.pcsc import open_reader
from hardware_mocks.virtual_chip import make_chip
from hardware_mocks.vpcd import VpcdBridge
from tests.support.check_support import MRZ, provisioned, restore_logging, write_config

pytestmark = pytest.mark.pcsc

#: vpcd's second slot, as the other chip tests through pcscd use it
PCSC_SLOT, PCSC_PORT = "Virtual PCD 00 01", 35964
MRZ_ARGS = [arg for line in MRZ for arg in ("--mrz", line)]


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    yield
    restore_logging()


def result_json(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_check_through_pcscd_on_a_reader_by_name(data_dir: Path, pcsc_stack: str) -> None:
    provisioned(data_dir)
    with VpcdBridge(make_chip(), port=PCSC_PORT):
        result = CliRunner().invoke(cli, ["check", "--reader", PCSC_SLOT, *MRZ_ARGS, "--json"])
    out = result_json(result)
    assert result.exit_code == 0, out
    assert out["decision"] == "ADVISE" and out["check_id"] == 0
    reader = open_reader(PCSC_SLOT)
    deadline = time.monotonic() + 10
    while reader.card_present() and time.monotonic() < deadline:
        time.sleep(0.05)  # pcscd sees the card leave a moment after the bridge closes
    quick = write_config(data_dir / "quick.toml", "[chip]\npresence_timeout_s = 0.3\n")
    empty = CliRunner(env={"APPLIANCE_CONFIG": str(quick)}).invoke(
        cli, ["check", "--reader", PCSC_SLOT, *MRZ_ARGS, "--json"]
    )
    assert empty.exit_code == 2
    assert result_json(empty)["reason"] == "CHIP_NOT_PRESENT"


def test_selftest_reader_behind_pcscd_answers(data_dir: Path, pcsc_stack: str) -> None:
    provisioned(data_dir)
    report = run_selftest(Config.model_validate({"chip": {"reader": pcsc_stack}}), data_dir)
    check = report.check("card_reader")
    assert check is not None
    assert (check.status.value, check.reason.value) == ("pass", "OK")
    assert "answers" in check.detail
