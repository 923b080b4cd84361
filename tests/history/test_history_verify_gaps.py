"""Damage that `history verify` used to miss: each is named, and the CLI exits 1 with
HISTORY_TAMPERED and one line saying what is wrong (no personal data in it)."""

from __future__ import annotations

import base64
import json
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.history.verify import verify
from tests.support.history_support import Clock, check, gate_event, open_ledger, person, raw

SIZE = 40


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A history dated today (so no period is past retention), in `<data dir>/history`."""
    directory = tmp_path / "data" / "history"
    clock = Clock(datetime.now(UTC))
    with open_ledger(directory, clock) as ledger:
        for i in range(SIZE):
            ledger.append(check(n=i) if i % 2 == 0 else gate_event(i))
        assert verify(ledger).ok
    return directory


def _sql(*statements: str) -> Callable[[Path], None]:
    def damage(directory: Path) -> None:
        conn = raw(directory)
        for statement in statements:
            conn.execute(statement)
        conn.close()

    return damage


def _delete_period_key(directory: Path) -> None:
    (keyfile,) = (directory / "keys").glob("period-*.key")
    keyfile.unlink()


def _overwrite_index_page(directory: Path) -> None:
    conn = raw(directory)
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' "
        "AND sql LIKE '%document%'"
    ).fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    noise = random.Random(7).randbytes(page_size)
    with open(directory / "ledger.sqlite", "r+b") as db:
        db.seek((int(root) - 1) * page_size)
        db.write(noise)
        db.flush()
        os.fsync(db.fileno())


def _note(directory: Path, size: int) -> str:
    conn = raw(directory)
    try:
        return str(
            conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()[0]
        )
    finally:
        conn.close()


def _set_note(directory: Path, size: int, note: str) -> None:
    conn = raw(directory)
    conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size))
    conn.close()


def _note_with_second_signature_line(directory: Path) -> None:
    note = _note(directory, 7)
    _set_note(directory, 7, note + "\u2014 someone-else AAAA\n")


def _note_with_noncanonical_base64(directory: Path) -> None:
    """The last base64 digit carries two unused bits: flipping them keeps the decoded bytes."""
    note = _note(directory, 7)
    body, _, line = note.rstrip("\n").rpartition(" ")
    assert line.endswith("=") and base64.b64decode(line)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(line[-2])
    sibling = line[:-2] + alphabet[last ^ 1] + "="
    assert base64.b64decode(sibling) == base64.b64decode(line)
    _set_note(directory, 7, f"{body} {sibling}\n")


def _note_with_crlf(directory: Path) -> None:
    _set_note(directory, 7, _note(directory, 7)[:-1] + "\r\n")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "edited time column": (
        _sql("UPDATE records SET time = '2020-01-01T00:00:00.000000Z' WHERE idx = 6"),
        "record_modified",
    ),
    "deleted record key": (_sql("DELETE FROM record_keys WHERE idx = 4"), "record_key_missing"),
    "zeroed record key": (
        _sql("UPDATE record_keys SET wrapped = zeroblob(40) WHERE idx = 4"),
        "record_key_invalid",
    ),
    "swapped record keys": (
        _sql(
            "UPDATE record_keys SET wrapped = (SELECT wrapped FROM record_keys WHERE idx = 2) "
            "WHERE idx = 4"
        ),
        "record_key_invalid",
    ),
    "deleted period key file": (_delete_period_key, "period_key_missing"),
    "zeroed tree node": (
        _sql("UPDATE nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 3"),
        "node_mismatch",
    ),
    "deleted tree node": (_sql("DELETE FROM nodes WHERE level = 1 AND idx = 0"), "node_mismatch"),
    "deleted intermediate checkpoint": (
        _sql("DELETE FROM checkpoints WHERE size = 20"),
        "checkpoint_missing",
    ),
    "deleted empty-tree checkpoint": (
        _sql("DELETE FROM checkpoints WHERE size = 0"),
        "checkpoint_missing",
    ),
    "random page over an index": (_overwrite_index_page, "storage_corrupt"),
    "note with a second signature line": (_note_with_second_signature_line, "checkpoint_invalid"),
    "note with non-canonical base64": (_note_with_noncanonical_base64, "checkpoint_invalid"),
    "note with CR LF": (_note_with_crlf, "checkpoint_invalid"),
    "unknown meta key": (_sql("INSERT INTO meta VALUES ('x', 'y')"), "meta_modified"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damage_is_named_and_the_cli_exits_1(
    history: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    damage, kind = DAMAGE[name]
    damage(history)
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(history.parent))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    runner = CliRunner()
    report = runner.invoke(cli, ["history", "verify", "--json"])
    assert report.exit_code == 1, report.output
    body = json.loads(report.output)
    assert body["status"] == "fail" and body["reason"] == "HISTORY_TAMPERED"
    assert kind in {p["kind"] for p in body["problems"]}, body["problems"]
    text = runner.invoke(cli, ["history", "verify"])
    assert text.exit_code == 1
    line = next(ln for ln in text.output.splitlines() if ln.strip().startswith(f"{kind}:"))
    sample = person()
    for secret in (sample.surname, sample.given_names, sample.document_number):
        assert secret not in text.output
    assert line


def test_erasure_and_retention_explain_missing_keys(tmp_path: Path) -> None:
    """The keys that erasure and retention destroy on purpose are not reported."""
    from appliance.history.retention import run_retention
    from tests.support.history_support import ANNA, OTHER

    clock = Clock(datetime.now(UTC))
    with open_ledger(tmp_path, clock, retention_days=30) as ledger:
        ledger.append(check(ANNA))
        ledger.append(check(OTHER))
        ledger.erase(ANNA)
        assert verify(ledger).ok
        clock.advance(days=40)
        ledger.append(check(OTHER))
        assert run_retention(ledger).records == 1
        result = verify(ledger)
        assert result.ok, [p.to_json() for p in result.problems]


def test_an_erasure_event_without_record_indices_still_explains_its_count(tmp_path: Path) -> None:
    """Erasure events written before they named their records: their count is trusted."""
    from appliance.history.events import Event, EventType
    from tests.support.history_support import ANNA

    with open_ledger(tmp_path, Clock(datetime.now(UTC))) as ledger:
        ledger.append(check(ANNA))
        ledger.append(check(ANNA))
        conn = raw(tmp_path)
        conn.execute("DELETE FROM record_keys WHERE idx = 0")
        conn.close()
        assert {p.kind for p in verify(ledger).problems} == {"record_key_missing"}
        ledger.append(
            Event(
                EventType.OFFICER_ACTION,
                "ERASED",
                public={"action": "erasure_on_request", "records": 1},
            )
        )
        assert verify(ledger).ok
