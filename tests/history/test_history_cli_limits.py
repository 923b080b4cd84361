"""`history show --recent N` with an N no database can hold: a usage error, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.config import Config
from appliance.history.ledger import Ledger
from tests.support.history_support import check


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    with Ledger.open_default(tmp_path, Config()) as ledger:
        ledger.append(check())
    return tmp_path


@pytest.mark.parametrize("count", ["99999999999999999999", "100001", "0", "-3"])
def test_out_of_range_recent_is_a_usage_error(data: Path, count: str) -> None:
    result = CliRunner().invoke(cli, ["history", "show", f"--recent={count}"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "Error:" in result.output


def test_largest_recent_is_served(data: Path) -> None:
    result = CliRunner().invoke(cli, ["history", "show", "--recent", "100000", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["count"] == 1


def test_the_api_clamps_a_huge_count(data: Path) -> None:
    with Ledger.open_default(data, Config()) as ledger:
        assert len(ledger.recent(10**20)) == 1
