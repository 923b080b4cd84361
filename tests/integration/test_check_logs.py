"""`appliance check` as a process: stdout is the officer's result, stderr the JSON-lines log,
and nothing either of them carries names the holder (#13 item 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.check_support import MRZ, PERSONAL, provisioned, write_config

REPO = Path(__file__).resolve().parents[2]
FORGED = '[hardware]\nvirtual_card = "tests.support.check_support:open_forged_dg"\n'


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
        env["APPLIANCE_CONFIG"] = str(write_config(tmp_path / "c.toml", FORGED))
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
