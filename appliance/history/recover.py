"""`appliance history recover`: after damage (a WAL cut short by a power loss, a lost tail,
damaged indexes or tree nodes) keep what still verifies, say what happened, and append again.

Without it, a log shorter than its signed `checkpoint.latest` refuses every append, and the lane
refers every traveller for good. Recovery, run by a technician with the lane stopped:
1. runs `verify` and keeps the longest prefix that verifies: every record up to the largest
   signed checkpoint whose root the records regrow (`VerifyResult.verified_size`);
2. copies the damaged database aside (`damaged/ledger-<UTC>.sqlite`, record keys removed) as
   evidence;
3. copies every table's rows into a fresh database file and builds its indexes there (a
   damaged index page is never read; no WAL) and puts it in place of the old one;
4. in one transaction: drops the records, keys and checkpoints after the prefix, rebuilds the
   tree nodes from the leaves, and appends an `incident` event saying what was lost (sizes, the
   problems found) under a checkpoint chained to the last kept one;
5. replaces `checkpoint.latest` with that checkpoint, on purpose smaller than the lost one.

The signed tree no longer extends the checkpoints that covered the lost records, so a witness
sees the break; the incident event, signed, is the explanation it can check.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir
from appliance.history import checkpoint as cp
from appliance.history import merkle
from appliance.history.append import Prepared, Receipt
from appliance.history.events import Event, EventType, format_time
from appliance.history.ledger import Ledger
from appliance.history.verify import VerifyResult, verify

log = logging.getLogger(__name__)

DAMAGED_DIR = "damaged"


@dataclass(frozen=True)
class RecoveryReport:
    before: VerifyResult
    after: VerifyResult
    #: records kept (the verified prefix) and dropped after it
    kept: int
    dropped: int
    receipt: Receipt | None
    damaged_copy: Path | None

    @property
    def recovered(self) -> bool:
        return self.receipt is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "recovered": self.recovered,
            "kept_records": self.kept,
            "dropped_records": self.dropped,
            "incident_index": None if self.receipt is None else self.receipt.index,
            "problems_before": sorted({p.kind for p in self.before.problems}),
            "problems_after": sorted({p.kind for p in self.after.problems}),
            "damaged_copy": None if self.damaged_copy is None else self.damaged_copy.name,
        }


def recover(ledger: Ledger) -> RecoveryReport:
    """Keep the verified prefix, record an incident, resume; nothing to do on a sound log."""
    before = verify(ledger)
    if before.ok:
        return RecoveryReport(before, before, before.size, 0, None, None)
    keep = before.verified_size
    copy = _copy_aside(ledger)
    _rebuild_file(ledger)
    now = ledger.clock()
    try:
        with ledger._transaction():
            conn = ledger.conn
            dropped = conn.execute("DELETE FROM records WHERE idx >= ?", (keep,)).rowcount
            conn.execute("DELETE FROM record_keys WHERE idx >= ?", (keep,))
            conn.execute("DELETE FROM checkpoints WHERE size > ?", (keep,))
            builder = _rebuild_nodes(conn, keep)
            incident = Event(
                EventType.INCIDENT,
                "RECOVERED",
                reasons=[Reason.HISTORY_TAMPERED.value],
                public={
                    "action": "history_recover",
                    "kept_records": keep,
                    "dropped_records": dropped,
                    "log_size_found": before.size,
                    "latest_file_size": before.latest_file_size,
                    "problems": sorted({p.kind for p in before.problems}),
                    "first_bad_index": before.first_bad_index,
                },
            )
            receipts, note = ledger._grow(
                builder, [Prepared(incident, format_time(now), None)], now
            )
    except sqlite3.Error as exc:
        raise ApplianceError(Reason.HISTORY_STORAGE, "the history cannot be repaired") from exc
    try:
        cp.write_latest(ledger.latest_path, note)  # smaller than the lost one, on purpose
    except OSError as exc:
        raise ApplianceError(Reason.HISTORY_STORAGE, "cannot write the checkpoint") from exc
    ledger.purge_wal()
    log.warning("history recovered: kept %d record(s), dropped %d", keep, dropped)
    return RecoveryReport(before, verify(ledger), keep, dropped, receipts[0], copy)


def _rebuild_file(ledger: Ledger) -> None:
    """Copy every table's rows into a fresh file, then build its indexes there (a damaged index
    page is never read), and put it in place of the old one. The tree nodes are not copied:
    they are rebuilt from the leaves."""
    fresh = ledger.directory / ".ledger.sqlite.recovering.tmp"
    fresh.unlink(missing_ok=True)
    os.close(os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = ledger.conn
    try:
        with ledger._lock:
            schema = conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "ORDER BY type = 'index', rowid"
            ).fetchall()
            conn.execute("ATTACH DATABASE ? AS fresh", (str(fresh),))
            try:
                conn.execute("BEGIN")
                for kind, name, sql in schema:
                    conn.execute(
                        str(sql).replace(
                            f"CREATE {kind.upper()} ", f"CREATE {kind.upper()} fresh.", 1
                        )
                    )
                    if kind == "table" and name != "nodes":
                        conn.execute(f'INSERT INTO fresh."{name}" SELECT * FROM main."{name}"')
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute("DETACH DATABASE fresh")
        with open(fresh, "rb+") as handle:
            os.fsync(handle.fileno())
        ledger.replace_database(fresh)
    except sqlite3.Error as exc:
        fresh.unlink(missing_ok=True)
        raise ApplianceError(
            Reason.HISTORY_STORAGE, "the history's tables cannot be read to rebuild it"
        ) from exc
    except OSError as exc:
        fresh.unlink(missing_ok=True)
        raise ApplianceError(Reason.HISTORY_STORAGE, "cannot write the rebuilt history") from exc


def _rebuild_nodes(conn: sqlite3.Connection, size: int) -> merkle.TreeBuilder:
    """The tree nodes are a cache of the leaves: rebuild them for the kept records."""
    conn.execute("DELETE FROM nodes")
    builder = merkle.TreeBuilder()
    cursor = conn.execute("SELECT leaf FROM records WHERE idx < ? ORDER BY idx", (size,))
    while rows := cursor.fetchmany(10_000):
        nodes = []
        for (leaf,) in rows:
            nodes.extend(builder.append(merkle.leaf_hash(bytes(leaf))))
        conn.executemany("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    return builder


def _copy_aside(ledger: Ledger) -> Path | None:
    """The damaged database as evidence, without its record keys (an erasure on request could
    not reach a copy that kept them). Best effort: a copy that fails does not stop recovery."""
    target_dir = private_dir(ledger.directory / DAMAGED_DIR)
    stamp = ledger.clock().strftime("%Y%m%dT%H%M%S%fZ")
    target = target_dir / f"ledger-{stamp}.sqlite"
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            ledger.conn.backup(copy)
            with contextlib.suppress(sqlite3.Error):
                copy.execute("PRAGMA secure_delete=ON")
                copy.execute("DELETE FROM record_keys")
        finally:
            copy.close()
    except (OSError, sqlite3.Error) as exc:
        log.warning("history recover: no copy of the damaged log (%s)", type(exc).__name__)
        with contextlib.suppress(OSError):
            target.unlink()
        return None
    return target
