"""Destroying keys on purpose: erasure on request (one document) and retention (whole periods).

The leaves stay, so the log still verifies; what goes is the wrapped record keys (and, for
retention, the period key files: `appliance.history.retention`). Each destruction is logged in
the same transaction by an event whose `public.action` `verify` reads to tell keys destroyed
on purpose from keys someone deleted: `ERASURE_ACTION` names the records, `RETENTION_ACTION`
the periods. Neither names the document or its pseudonym.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.errors import ApplianceError, Reason
from appliance.history.append import LedgerWriter, Prepared, Receipt
from appliance.history.events import DocumentRef, Event, EventType, format_time
from appliance.history.periods import Period

log = logging.getLogger(__name__)

#: `public.action` of the events that destroy record keys (see `verify`)
ERASURE_ACTION = "erasure_on_request"
RETENTION_ACTION = "retention"


@dataclass(frozen=True)
class ErasureResult:
    records: int
    receipt: Receipt


class LedgerErasure(LedgerWriter):
    """Erasure on request and the database half of retention, each with its audit event."""

    def erase(self, document: DocumentRef) -> ErasureResult:
        """Destroy the record keys of every record of `document`; log that an erasure happened.

        The audit event carries only the number of records, not the document or its pseudonym.
        """
        pseudonyms = list(self._pseudonyms(document))
        now = self.clock()
        try:
            with self._transaction():
                indices: list[int] = []
                if pseudonyms:
                    marks = ",".join("?" * len(pseudonyms))
                    indices = [
                        int(row[0])
                        for row in self.conn.execute(
                            f"DELETE FROM record_keys WHERE idx IN "
                            f"(SELECT idx FROM records WHERE document IN ({marks})) "
                            f"RETURNING idx",
                            pseudonyms,
                        ).fetchall()
                    ]
                erased = len(indices)
                audit = Event(
                    type=EventType.OFFICER_ACTION,
                    outcome="ERASED",
                    # which records lost their key (so verify can tell an erasure from a
                    # deleted key), never the document or its pseudonym
                    public={
                        "action": ERASURE_ACTION,
                        "records": erased,
                        "indices": sorted(indices),
                    },
                )
                receipts, note = self._append_locked([Prepared(audit, format_time(now), None)], now)
        except sqlite3.Error as exc:
            raise ApplianceError(Reason.HISTORY_STORAGE, "erasure failed") from exc
        self._publish(note, receipts[0].checkpoint.size)
        self.purge_wal()
        log.info("history: erased the keys of %d record(s)", erased)
        return ErasureResult(erased, receipts[0])

    def forget_period_keys(self, period: Period) -> int:
        """Delete the wrapped keys of a period's records (retention); returns how many.

        Kept for callers of the old API; `forget_periods` also records the retention event
        that `verify` needs to tell expired keys from deleted ones.
        """
        return self.forget_periods([period])[0]

    def forget_periods(self, periods: Sequence[Period]) -> tuple[int, Receipt | None]:
        """Delete the wrapped keys of the periods' records and log a retention event naming the
        periods, in one transaction (before their key files are destroyed)."""
        if not periods:
            return 0, None
        now = self.clock()
        ids = sorted(p.id for p in periods)
        try:
            with self._transaction():
                marks = ",".join("?" * len(ids))
                records = self.conn.execute(
                    f"DELETE FROM record_keys WHERE idx IN "
                    f"(SELECT idx FROM records WHERE period IN ({marks}))",
                    ids,
                ).rowcount
                event = Event(
                    type=EventType.MAINTENANCE,
                    outcome="EXPIRED",
                    public={"action": RETENTION_ACTION, "periods": ids, "records": records},
                )
                receipts, note = self._append_locked([Prepared(event, format_time(now), None)], now)
        except sqlite3.Error as exc:
            raise ApplianceError(Reason.HISTORY_STORAGE, "cannot delete record keys") from exc
        self._publish(note, receipts[0].checkpoint.size)
        return records, receipts[0]

    def purge_wal(self) -> None:
        """Move the WAL into the (secure_delete) database and truncate it, so deleted keys do
        not linger in the write-ahead log."""
        with self._lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
