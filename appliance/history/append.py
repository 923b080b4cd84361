"""The write path: events become leaves, the tree grows, and one signed checkpoint covers them.

`append`/`append_batch` return only after the transaction that holds the events and their
signed checkpoint has committed with fsync, and the latest-checkpoint file is synced: an
acknowledged event survives a crash or power cut, so the workflow may open the gate then.
Several processes may use one history at once: each append runs under `BEGIN IMMEDIATE`.
A log that no longer matches its latest signature (or was cut below the checkpoint file) is
never grown.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from appliance.errors import ApplianceError, Reason
from appliance.history import checkpoint as cp
from appliance.history import crypto, merkle
from appliance.history.events import Event, encode_leaf, format_time
from appliance.history.store import LedgerStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """Proof of durability: the event's index, leaf hash and the signed checkpoint covering it."""

    index: int
    event_id: str
    leaf_hash: bytes
    checkpoint: cp.Checkpoint
    note: str


@dataclass(frozen=True)
class Prepared:
    """An event ready to be written: its time fixed and its period's keys loaded (outside the
    transaction: key files are created before it begins)."""

    event: Event
    time: str
    keys: crypto.PeriodKeys | None


class LedgerWriter(LedgerStore):
    """Appending events under signed checkpoints (the only way records enter the log)."""

    def append(self, event: Event) -> Receipt:
        """Append one event; returns once it is durable (see the module docstring)."""
        return self.append_batch([event])[0]

    def append_batch(self, events: Sequence[Event]) -> list[Receipt]:
        """Append events atomically under one signed checkpoint; durable on return."""
        if not events:
            raise ApplianceError(Reason.USAGE, "nothing to append")
        now = self.clock()
        prepared = [self._prepare(event, now) for event in events]
        try:
            with self._transaction():
                receipts, note = self._append_locked(prepared, now)
        except sqlite3.Error as exc:
            raise ApplianceError(Reason.HISTORY_STORAGE, "append failed") from exc
        self._publish(note, receipts[-1].checkpoint.size)
        log.info(
            "history: appended %d event(s), tree size %d", len(receipts), receipts[-1].index + 1
        )
        return receipts

    def _prepare(self, event: Event, now: datetime) -> Prepared:
        moment = event.time or now
        keys = None
        if event.personal is not None or event.document is not None:
            period = self.policy.period_of(moment)
            if self.policy.expired(period, now):
                raise ApplianceError(Reason.USAGE, "event is older than the retention time")
            keys = self.keys.load_or_create(period)
        return Prepared(event, format_time(moment), keys)

    def _tree_for_append(self) -> merkle.TreeBuilder:
        """The right edge of the tree, refusing to grow a log that no longer matches its
        latest signature (or that was truncated below the checkpoint file)."""
        latest, _ = self.latest_checkpoint()
        size = self._record_count()
        if size != latest.size:
            raise ApplianceError(Reason.HISTORY_TAMPERED, "log size differs from its checkpoint")
        frontier = [self.node(level, i) for level, i in merkle.frontier_positions(size)]
        builder = merkle.TreeBuilder(size, frontier)
        if builder.root() != latest.root:
            raise ApplianceError(Reason.HISTORY_TAMPERED, "log root differs from its checkpoint")
        outside = cp.read_latest(self.latest_path)
        if outside is None and size > 0:
            raise ApplianceError(Reason.HISTORY_TAMPERED, "latest checkpoint file missing")
        if outside is not None and self.verify_note(outside).size > size:
            raise ApplianceError(Reason.HISTORY_TAMPERED, "log is shorter than its checkpoint")
        return builder

    def _append_locked(
        self, prepared: Sequence[Prepared], now: datetime
    ) -> tuple[list[Receipt], str]:
        builder = self._tree_for_append()
        return self._grow(builder, prepared, now)

    def _grow(
        self, builder: merkle.TreeBuilder, prepared: Sequence[Prepared], now: datetime
    ) -> tuple[list[Receipt], str]:
        """Add the records to a tree whose right edge `builder` holds, under one checkpoint
        chained to the one before it (whose size is the tree's size on entry)."""
        previous = builder.size
        records: list[tuple[int, bytes, bytes, str | None, str | None, str]] = []
        wrapped_keys: list[tuple[int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        pending: list[tuple[int, str, bytes]] = []
        for item in prepared:
            index = builder.size
            event_id = str(item.event.event_id)
            document = sealed = None
            if item.keys is not None and item.event.document is not None:
                document = crypto.pseudonym(item.keys, item.event.document)
            if item.keys is not None and item.event.personal is not None:
                sealed, wrapped = crypto.seal(item.event.personal, item.keys, event_id)
                wrapped_keys.append((index, wrapped))
            leaf = encode_leaf(
                index=index,
                event=item.event,
                time=item.time,
                device_id=self.device.device_id,
                location=self.device.location,
                document=document,
                personal=sealed,
            )
            leaf_hash = merkle.leaf_hash(leaf)
            nodes.extend(builder.append(leaf_hash))
            period = sealed.period if sealed is not None else None
            records.append((index, leaf, leaf_hash, document, period, item.time))
            pending.append((index, event_id, leaf_hash))
        checkpoint = cp.Checkpoint(
            self.origin, builder.size, builder.root(), format_time(now), previous
        )
        note = cp.sign(checkpoint, self._signing_key)
        self.conn.executemany(
            "INSERT INTO records (idx, leaf, leaf_hash, document, period, time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            records,
        )
        self.conn.executemany("INSERT INTO record_keys (idx, wrapped) VALUES (?, ?)", wrapped_keys)
        self.conn.executemany("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
        self.conn.execute(
            "INSERT INTO checkpoints (size, note) VALUES (?, ?)", (checkpoint.size, note)
        )
        receipts = [Receipt(i, e, h, checkpoint, note) for i, e, h in pending]
        return receipts, note
