"""The history's storage: one SQLite database (WAL, synchronous=FULL) and the files beside it.

Layout of the history directory (`<data dir>/history`, mode 0700, every file 0600):
`ledger.sqlite` (the log), `checkpoint.latest` (the newest signed checkpoint, kept outside the
database so that truncating the database is seen), `device-ed25519.key` and `keys/` (one file
per retention period).

Tables: `records` (idx, leaf bytes, leaf hash, and the pseudonym/period/time copied out of the
leaf for lookups), `record_keys` (the wrapped per-record keys, deleted on erasure), `nodes` (every
perfect subtree hash, so proofs and appends cost O(log n) lookups), `checkpoints` (every signed
note) and `meta`.

`LedgerStore` is the lowest layer of `Ledger`: opening and creating the database, transactions,
the tree nodes, the signed checkpoints (read and published) and the pseudonym lookups that both
the read path (`queries`) and erasure need. `verify` works on this layer alone, so it never
needs the `Ledger` that offers it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import sqlite_utils

from appliance.errors import ApplianceError, Reason
from appliance.files import fsync_dir, private_dir
from appliance.history import checkpoint as cp
from appliance.history import crypto, files, merkle
from appliance.history.events import DocumentRef, format_time
from appliance.history.periods import Period, RetentionPolicy

SCHEMA_VERSION = "1"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    location: str


class LedgerStore:
    """The open database and keys of one device's history. Use as a context manager or call
    `close`."""

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
            fsync_dir(self.directory)
            self._connect()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
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

    def _pseudonyms(self, document: DocumentRef) -> dict[str, Period]:
        document.normalised()  # refuse a malformed reference even when no period exists
        found: dict[str, Period] = {}
        for period in self.keys.periods():
            keys = self.keys.load(period)
            if keys is not None:
                found[crypto.pseudonym(keys, document)] = period
        return found

    # ------------------------------------------------------------------ the checkpoint file

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


def _origin_safe(device_id: str) -> str:
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in device_id
    )
    return safe or "device"
