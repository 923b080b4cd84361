"""`history recover`: after a WAL cut short (power loss) the log is shorter than its signed
checkpoint, verify fails and every append is refused; recovery keeps what verifies, records an
incident and lets appends resume."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.errors import ApplianceError, Reason
from appliance.history.recover import recover
from appliance.history.verify import verify
from tests.history.test_history_verify_gaps import _overwrite_index_page
from tests.support.history_support import Clock, check, gate_event, open_ledger, raw

SIZE = 10


@pytest.fixture
def cut_wal(tmp_path: Path) -> Path:
    """A copy of a live history taken with its WAL, the WAL then cut inside the last append."""
    live = tmp_path / "live"
    copy = tmp_path / "data" / "history"
    with open_ledger(live, Clock(datetime.now(UTC))) as ledger:
        for i in range(SIZE):
            ledger.append(check(n=i) if i % 2 == 0 else gate_event(i))
        page_size = int(ledger.conn.execute("PRAGMA page_size").fetchone()[0])
        shutil.copytree(live, copy, ignore=shutil.ignore_patterns("*-shm"))
    wal = copy / "ledger.sqlite-wal"
    assert wal.stat().st_size > 32, "the appends must still be in the WAL"
    os.truncate(wal, wal.stat().st_size - 2 * (24 + page_size) - 100)
    return copy


def test_a_cut_wal_fails_verify_and_appends_until_recovered(cut_wal: Path) -> None:
    clock = Clock(datetime.now(UTC))
    with open_ledger(cut_wal, clock) as ledger:
        before = verify(ledger)
        assert "log_truncated" in {p.kind for p in before.problems}
        assert before.size < SIZE and before.latest_file_size == SIZE
        with pytest.raises(ApplianceError) as refused:
            ledger.append(gate_event())
        assert refused.value.reason is Reason.HISTORY_TAMPERED

        report = recover(ledger)

        assert report.recovered and report.after.ok, report.to_json()
        assert report.kept == before.size and report.dropped == 0
        incident = ledger.recent(1)[0]
        assert incident.index == before.size and incident.proven
        assert (incident.leaf.type, incident.leaf.outcome) == ("incident", "RECOVERED")
        assert incident.leaf.public["kept_records"] == before.size
        assert "log_truncated" in incident.leaf.public["problems"]
        receipt = ledger.append(check(n=99))
        assert receipt.index == before.size + 1
        assert verify(ledger).ok
        assert recover(ledger).recovered is False  # nothing left to do
    # the damaged database is kept as evidence, without the record keys
    (damaged,) = (cut_wal / "damaged").glob("ledger-*.sqlite")
    assert damaged.stat().st_mode & 0o077 == 0
    evidence = sqlite3.connect(damaged)
    try:
        assert evidence.execute("SELECT COUNT(*) FROM records").fetchone()[0] == before.size
        assert evidence.execute("SELECT COUNT(*) FROM record_keys").fetchone()[0] == 0
    finally:
        evidence.close()


def test_recovery_drops_records_after_the_last_root_that_verifies(tmp_path: Path) -> None:
    """A tail whose records no longer match their signed roots is cut at the last good root."""
    with open_ledger(tmp_path, Clock(datetime.now(UTC))) as ledger:
        for i in range(SIZE):
            ledger.append(gate_event(i))
        conn = raw(tmp_path)
        conn.execute("DELETE FROM records WHERE idx = 7")
        conn.close()
        report = recover(ledger)
        assert report.after.ok and report.kept == 7 and report.dropped == 2
        assert ledger.append(gate_event()).index == 8


def test_recovery_rebuilds_a_damaged_index_and_zeroed_nodes(tmp_path: Path) -> None:
    directory = tmp_path / "h"
    with open_ledger(directory, Clock(datetime.now(UTC))) as ledger:
        for i in range(40):
            ledger.append(check(n=i))
    _overwrite_index_page(directory)
    conn = raw(directory)
    conn.execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2")
    conn.close()
    with open_ledger(directory, Clock(datetime.now(UTC))) as ledger:
        assert {"storage_corrupt", "node_mismatch"} <= {p.kind for p in verify(ledger).problems}
        report = recover(ledger)
        assert report.after.ok, report.to_json()
        assert report.dropped == 0
        ledger.append(check(n=41))
        assert verify(ledger).ok


def test_cli_recover(cut_wal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(cut_wal.parent))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["history", "verify"]).exit_code == 1
    done = runner.invoke(cli, ["history", "recover", "--json"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert body["status"] == "pass" and body["recovered"] is True
    assert "log_truncated" in body["problems_before"] and body["problems_after"] == []
    assert runner.invoke(cli, ["history", "verify"]).exit_code == 0
    again = runner.invoke(cli, ["history", "recover"])
    assert again.exit_code == 0 and "nothing to recover" in again.output


def test_a_damaged_tree_node_page_is_named_and_recovery_keeps_every_record(
    tmp_path: Path,
) -> None:
    """The nodes are a cache: a damaged page there costs no record."""
    directory = tmp_path / "h"
    with open_ledger(directory, Clock(datetime.now(UTC))) as ledger:
        for i in range(60):
            ledger.append(check(n=i))
    conn = raw(directory)
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'nodes'").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(directory / "ledger.sqlite", "r+b") as db:
        db.seek((int(root) - 1) * page_size)
        db.write(bytes(range(256)) * (page_size // 256))
    with open_ledger(directory, Clock(datetime.now(UTC))) as ledger:
        before = verify(ledger)
        assert {p.kind for p in before.problems} == {"storage_corrupt"}
        assert before.size == 60 and before.verified_size == 60
        report = recover(ledger)
        assert report.after.ok and report.kept == 60 and report.dropped == 0
