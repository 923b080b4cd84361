"""`appliance central`: loaded lazily (a device without sync/ still runs), a first run on a
throwaway PostgreSQL cluster, a clear failure when the database is unreachable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from sync.central.pgcluster import TempCluster
from tests.sync.conftest import REPO, free_port


def test_without_sync_the_group_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sync.central.cli", None)  # as if sync/ were absent
    result = CliRunner().invoke(cli, ["central", "stats"])
    assert result.exit_code == 2
    assert "not available in this build" in result.output


def test_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"postgresql://nobody@/none?host={tmp_path}&connect_timeout=1"
    cmd = [sys.executable, "-m", "appliance.cli", "central", "stats", "--json", "--database", url]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert json.loads(result.stdout)["reason"] == "SYNC_UNAVAILABLE"
    assert "Traceback" not in result.stderr


def test_throwaway_database_first_run(pg_cluster: TempCluster) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "appliance.cli", "central", "serve", "--throwaway-db"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("central: throwaway database postgresql://"), line
        cluster_dir = Path(line.rsplit("host=", 1)[1].strip())
        assert cluster_dir.is_dir()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as r:
                    assert json.load(r)["schema_version"] == 1
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not cluster_dir.exists()  # removed on exit
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
