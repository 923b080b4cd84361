"""The local history: an append-only SQLite log (WAL, synchronous=FULL) of signed Merkle leaves.

Layout of the history directory (`<data dir>/history`, mode 0700, every file 0600):
`ledger.sqlite` (the log), `checkpoint.latest` (the newest signed checkpoint, kept outside the
database so that truncating the database is seen), `device-ed25519.key` and `keys/` (one file
per retention period).

Tables: `records` (idx, leaf bytes, leaf hash, and the pseudonym/period/time copied out of the
leaf for lookups), `record_keys` (the wrapped per-record keys, deleted on erasure), `nodes` (every
perfect subtree hash, so proofs and appends cost O(log n) lookups), `checkpoints` (every signed
note) and `meta`.

`append`/`append_batch` return only after the transaction that holds the events and their
signed checkpoint has committed with fsync, and the latest-checkpoint file is synced: an
acknowledged event survives a crash or power cut, so the workflow may open the gate then.
Several processes may use one history at once: each append runs under `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlite_utils

from appliance.errors import ApplianceError, Reason
from appliance.history import checkpoint as cp
from appliance.history import crypto, files, merkle
from appliance.history.events import (
    DocumentRef,
    Event,
    EventType,
    Leaf,
    PersonalData,
    decode_leaf,
    encode_leaf,
    format_time,
)
from appliance.history.files import private_dir
from appliance.history.periods import Period, RetentionPolicy

if TYPE_CHECKING:
    from appliance.history.verify import VerifyResult

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
_SQLITE_MAX_INT = 2**63 - 1
PersonalStatus = Literal["none", "available", "erased", "expired"]
#: `public.action` of the events that destroy record keys (see `verify`)
ERASURE_ACTION = "erasure_on_request"
RETENTION_ACTION = "retention"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    location: str


@dataclass(frozen=True)
class Receipt:
    """Proof of durability: the event's index, leaf hash and the signed checkpoint covering it."""

    index: int
    event_id: str
    leaf_hash: bytes
    checkpoint: cp.Checkpoint
    note: str


@dataclass(frozen=True)
class RecordView:
    index: int
    leaf: Leaf
    leaf_hash: bytes
    personal_status: PersonalStatus
    personal: PersonalData | None
    #: leaf hash recomputed and its inclusion proven against the latest signed checkpoint
    proven: bool


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    note: str


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    path: tuple[bytes, ...]
    old_note: str
    new_note: str


@dataclass(frozen=True)
class ErasureResult:
    records: int
    receipt: Receipt


@dataclass(frozen=True)
class _Prepared:
    event: Event
    time: str
    keys: crypto.PeriodKeys | None


class Ledger:
    """One device's history. Use as a context manager or call `close`."""

    def __init__(
        self,
        directory: Path,
        device: DeviceIdentity,
        policy: RetentionPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.directory = private_dir(directory)
        self.device = device
        self.policy = policy or RetentionPolicy()
        self.clock = clock
        self.keys = crypto.KeyStore(self.directory / "keys")
        self.latest_path = self.directory / "checkpoint.latest"
        self._lock = threading.RLock()
        db_path = self.directory / "ledger.sqlite"
        files.remove_stale_temporaries(self.directory)
        self._signing_key = cp.load_or_create_device_key(
            self.directory / "device-ed25519.key", create=not db_path.exists()
        )
        self.public_key = self._signing_key.public_key()
        self.db_path = db_path
        self._connect()

    def _connect(self) -> None:
        try:
            if not self.db_path.exists():
                os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")
            self.origin = self._initialise()
        except sqlite3.Error as exc:
            raise ApplianceError(Reason.HISTORY_STORAGE, "cannot open the history") from exc

    def replace_database(self, fresh: Path) -> None:
        """Put a rebuilt database file in place of this one and reopen it (`recover` only: the
        lane must be stopped, no other process may hold the history open)."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            os.replace(fresh, self.db_path)
            for stale in ("-wal", "-shm"):  # the old WAL must never be applied to the new file
                Path(f"{self.db_path}{stale}").unlink(missing_ok=True)
            files.fsync_dir(self.directory)
            self._connect()

    @classmethod
    def open_default(cls, data_dir: Path, config: Any) -> Ledger:
        """Open the history in `data_dir` with the device and retention of an appliance config."""
        history_cfg = getattr(config, "history", None)
        policy = (
            RetentionPolicy(history_cfg.retention_days, history_cfg.period_days)
            if history_cfg is not None
            else RetentionPolicy()
        )
        device = DeviceIdentity(config.device.device_id, config.device.location)
        return cls(data_dir / "history", device, policy)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[None]:
        with self._lock:
            try:
                self.conn.execute(f"BEGIN {mode}")
            except sqlite3.Error as exc:
                raise ApplianceError(Reason.HISTORY_STORAGE, "history is busy") from exc
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise ApplianceError(Reason.HISTORY_STORAGE, "commit failed") from exc

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: one consistent view of the log, even while others append."""
        return self._transaction("DEFERRED")

    def verify(self) -> VerifyResult:
        """Full verification (see `appliance.history.verify`); never raises for tampering."""
        from appliance.history.verify import verify

        return verify(self)

    def _initialise(self) -> str:
        """Create the schema and the signed empty-tree checkpoint on first open."""
        with self._transaction():
            if "meta" not in self.db.table_names():
                self.db.table("meta").create({"key": str, "value": str}, pk="key")
                self.db.table("records").create(
                    {
                        "idx": int,
                        "leaf": bytes,
                        "leaf_hash": bytes,
                        "document": str,
                        "period": str,
                        "time": str,
                    },
                    pk="idx",
                    not_null={"leaf", "leaf_hash", "time"},
                )
                self.db.table("records").create_index(["document"])
                self.db.table("records").create_index(["period"])
                self.db.table("record_keys").create({"idx": int, "wrapped": bytes}, pk="idx")
                self.db.execute(
                    "CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
                    "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID"
                )
                self.db.table("checkpoints").create({"size": int, "note": str}, pk="size")
                origin = f"appliance.history/{_origin_safe(self.device.device_id)}"
                self.db.table("meta").insert_all(
                    [
                        {"key": "schema", "value": SCHEMA_VERSION},
                        {"key": "origin", "value": origin},
                        {"key": "public_key", "value": cp.public_bytes(self.public_key).hex()},
                    ]
                )
                genesis = cp.Checkpoint(origin, 0, merkle.EMPTY_ROOT, format_time(self.clock()))
                self.db.table("checkpoints").insert(
                    {"size": 0, "note": cp.sign(genesis, self._signing_key)}
                )
            meta = {str(row["key"]): str(row["value"]) for row in self.db.table("meta").rows}
        if meta.get("schema") != SCHEMA_VERSION:
            raise ApplianceError(Reason.HISTORY_STORAGE, "unknown history schema")
        origin = meta["origin"]
        if self.latest_path.exists():
            return origin
        # Only an empty log may lack the file (a crash right after creating the database).
        if self._record_count() == 0:
            note = self._latest_note()
            if note is not None:
                self._publish(note, 0)
        return origin

    # ------------------------------------------------------------------ reading helpers

    def _record_count(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM records").fetchone()
        return int(row[0])

    def _latest_note(self) -> str | None:
        row = self.conn.execute(
            "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def node(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree at (level, index): the ledger's `merkle.NodeSource`."""
        if level == 0:
            row = self.conn.execute(
                "SELECT leaf_hash FROM records WHERE idx = ?", (index,)
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, index)
            ).fetchone()
        if row is None:
            raise ApplianceError(Reason.HISTORY_TAMPERED, f"tree node {level}/{index} missing")
        return bytes(row[0])

    def verify_note(self, note: str) -> cp.Checkpoint:
        try:
            return cp.verify_note(note, self.public_key, self.origin)
        except cp.CheckpointError as exc:
            raise ApplianceError(Reason.HISTORY_TAMPERED, f"checkpoint: {exc}") from exc

    def latest_checkpoint(self) -> tuple[cp.Checkpoint, str]:
        note = self._latest_note()
        if note is None:
            raise ApplianceError(Reason.HISTORY_TAMPERED, "no signed checkpoint")
        return self.verify_note(note), note

    def _checkpoint_at(self, size: int) -> tuple[cp.Checkpoint, str]:
        row = self.conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
        if row is None:
            raise ApplianceError(Reason.USAGE, f"no checkpoint at tree size {size}")
        return self.verify_note(str(row[0])), str(row[0])

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

    # ------------------------------------------------------------------ appending

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

    def _prepare(self, event: Event, now: datetime) -> _Prepared:
        moment = event.time or now
        keys = None
        if event.personal is not None or event.document is not None:
            period = self.policy.period_of(moment)
            if self.policy.expired(period, now):
                raise ApplianceError(Reason.USAGE, "event is older than the retention time")
            keys = self.keys.load_or_create(period)
        return _Prepared(event, format_time(moment), keys)

    def _append_locked(
        self, prepared: Sequence[_Prepared], now: datetime
    ) -> tuple[list[Receipt], str]:
        builder = self._tree_for_append()
        return self._grow(builder, prepared, now)

    def _grow(
        self, builder: merkle.TreeBuilder, prepared: Sequence[_Prepared], now: datetime
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

    def _publish(self, note: str, size: int) -> None:
        """Write the latest checkpoint file, never replacing a newer one (several writers)."""
        lock_path = self.directory / "checkpoint.lock"
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = cp.read_latest(self.latest_path)
            if current is not None:
                try:
                    if self.verify_note(current).size >= size and current != note:
                        return
                except ApplianceError:
                    pass  # a damaged file is replaced by a good one; verify() reports the rest
            cp.write_latest(self.latest_path, note)
        except OSError as exc:
            raise ApplianceError(Reason.HISTORY_STORAGE, "cannot write the checkpoint") from exc
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ reading

    def _pseudonyms(self, document: DocumentRef) -> dict[str, Period]:
        document.normalised()  # refuse a malformed reference even when no period exists
        found: dict[str, Period] = {}
        for period in self.keys.periods():
            keys = self.keys.load(period)
            if keys is not None:
                found[crypto.pseudonym(keys, document)] = period
        return found

    def checks_of(
        self, document: DocumentRef, *, since: datetime | None = None, reveal: bool = False
    ) -> list[RecordView]:
        """Every record of this document still within retention (or since `since`), oldest
        first: where and how often it was checked, and the input to the repeated-use check."""
        pseudonyms = self._pseudonyms(document)
        if not pseudonyms:
            return []
        marks = ",".join("?" * len(pseudonyms))
        after = format_time(since) if since is not None else ""
        with self.snapshot():
            rows = self.conn.execute(
                f"SELECT idx FROM records WHERE document IN ({marks}) AND time >= ? ORDER BY idx",
                [*pseudonyms, after],
            ).fetchall()
            views = self._views([int(r[0]) for r in rows], reveal)
        return [v for v in views if v.leaf.document in pseudonyms and v.leaf.time >= after]

    def recent(self, count: int = 20, *, reveal: bool = False) -> list[RecordView]:
        """The newest `count` records, newest first."""
        with self.snapshot():
            rows = self.conn.execute(
                "SELECT idx FROM records ORDER BY idx DESC LIMIT ?",
                (min(max(count, 0), _SQLITE_MAX_INT),),
            ).fetchall()
            return self._views([int(r[0]) for r in rows], reveal)

    def _views(self, indices: Sequence[int], reveal: bool) -> list[RecordView]:
        if not indices:
            return []
        latest, _ = self.latest_checkpoint()
        views = []
        for index in indices:
            row = self.conn.execute(
                "SELECT r.leaf, r.leaf_hash, k.wrapped FROM records r "
                "LEFT JOIN record_keys k ON k.idx = r.idx WHERE r.idx = ?",
                (index,),
            ).fetchone()
            leaf_bytes, stored_hash, wrapped = bytes(row[0]), bytes(row[1]), row[2]
            try:
                leaf = decode_leaf(leaf_bytes)
            except ValueError as exc:
                raise ApplianceError(
                    Reason.HISTORY_TAMPERED, f"record {index} is malformed"
                ) from exc
            leaf_hash = merkle.leaf_hash(leaf_bytes)
            proven = (
                leaf_hash == stored_hash
                and leaf.index == index
                and index < latest.size
                and merkle.verify_inclusion(
                    leaf_hash,
                    index,
                    latest.size,
                    merkle.inclusion_proof(self.node, index, latest.size),
                    latest.root,
                )
            )
            status, personal = self._personal(leaf, wrapped, reveal)
            views.append(RecordView(index, leaf, leaf_hash, status, personal, proven))
        return views

    def _personal(
        self, leaf: Leaf, wrapped: bytes | None, reveal: bool
    ) -> tuple[PersonalStatus, PersonalData | None]:
        if leaf.personal is None:
            return "none", None
        try:
            keys = self.keys.load(Period.parse(leaf.personal.period))
        except ValueError:
            return "expired", None
        if keys is None:
            return "expired", None
        if wrapped is None:
            return "erased", None
        if not reveal:
            return "available", None
        return "available", crypto.unseal(leaf.personal, bytes(wrapped), keys, leaf.event_id)

    # ------------------------------------------------------------------ proofs

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Proof that record `index` is in the signed tree of `size` (default: the latest)."""
        with self.snapshot():
            checkpoint, note = (
                self.latest_checkpoint() if size is None else self._checkpoint_at(size)
            )
            if not 0 <= index < checkpoint.size:
                raise ApplianceError(Reason.USAGE, "record not covered by that checkpoint")
            leaf = self.node(0, index)
            path = merkle.inclusion_proof(self.node, index, checkpoint.size)
        if not merkle.verify_inclusion(leaf, index, checkpoint.size, path, checkpoint.root):
            raise ApplianceError(Reason.HISTORY_TAMPERED, f"record {index} not in the signed tree")
        return InclusionProof(index, checkpoint.size, leaf, tuple(path), note)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """Proof that the signed tree of `new_size` extends the one of `old_size`."""
        with self.snapshot():
            old, old_note = self._checkpoint_at(old_size)
            new, new_note = (
                self.latest_checkpoint() if new_size is None else self._checkpoint_at(new_size)
            )
            if old.size > new.size:
                raise ApplianceError(Reason.USAGE, "old size exceeds new size")
            path = merkle.consistency_proof(self.node, old.size, new.size)
        if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
            raise ApplianceError(Reason.HISTORY_TAMPERED, "signed trees are not consistent")
        return ConsistencyProof(old.size, new.size, tuple(path), old_note, new_note)

    # ------------------------------------------------------------------ erasure

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
                receipts, note = self._append_locked(
                    [_Prepared(audit, format_time(now), None)], now
                )
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
                receipts, note = self._append_locked(
                    [_Prepared(event, format_time(now), None)], now
                )
        except sqlite3.Error as exc:
            raise ApplianceError(Reason.HISTORY_STORAGE, "cannot delete record keys") from exc
        self._publish(note, receipts[0].checkpoint.size)
        return records, receipts[0]

    def purge_wal(self) -> None:
        """Move the WAL into the (secure_delete) database and truncate it, so deleted keys do
        not linger in the write-ahead log."""
        with self._lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _origin_safe(device_id: str) -> str:
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in device_id
    )
    return safe or "device"
