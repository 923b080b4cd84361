"""Full verification of the history: recompute the tree from every leaf, check every signature.

One pass over the records in index order, in one read snapshot: each leaf is rehashed and
decoded, the tree is regrown leaf by leaf (O(log n) memory), and whenever it reaches the size of a
signed checkpoint its root must equal the signed one. The checkpoint file kept outside the
database is read *before* the snapshot, so a concurrent append can never make it look ahead.

What each kind of tampering looks like:
- a record edited (leaf or its stored hash)      -> `record_modified` at that index
- a record deleted                                -> `record_missing` at that index
- records swapped or renumbered                   -> `record_out_of_order` at that index
- an edit whose hashes were all recomputed        -> `checkpoint_mismatch`: the first signed root
  that no longer matches, naming the first record it covers that the previous root did not
- the newest records (and their checkpoints) cut  -> `log_truncated` (the file outside the
  database still has the larger signed size)
- a checkpoint edited or forged                   -> `checkpoint_invalid`
- a checkpoint row deleted                        -> `checkpoint_missing` (the next note's
  signed `prev` line names it)
- a record key deleted, zeroed or swapped, or a period key file deleted, with no erasure or
  retention event that explains it                -> `record_key_missing` / `record_key_invalid`
  / `period_key_missing`
- a stored tree node changed or deleted           -> `node_mismatch` (the nodes are a cache of
  the leaves: rebuilt here and compared)
- damaged database pages                          -> `storage_corrupt` (PRAGMA integrity_check)

`COVERAGE` says, for every column of every table, how it is verified; a test holds the schema
to it, so a new column cannot escape verification.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from appliance.errors import ApplianceError
from appliance.history import checkpoint as cp
from appliance.history import crypto, merkle
from appliance.history.events import EventType, LeafFacts, leaf_facts
from appliance.history.ledger import (
    ERASURE_ACTION,
    RETENTION_ACTION,
    SCHEMA_VERSION,
    Ledger,
)
from appliance.history.periods import Period

MAX_REPORTED = 100
_FETCH = 10_000
_SQLITE_CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)

#: How `verify` covers each column of the history database: "verified" (checked against the
#: signed leaves, checkpoints or keys) or "cache" (derived data that verify rebuilds and
#: compares). docs/history.md lists the same; tests/history/test_history_schema.py holds the
#: schema to it.
COVERAGE: dict[str, dict[str, str]] = {
    "meta": {
        "key": "verified: exactly schema, origin and public_key",
        "value": "verified: schema version, origin of every note, device public key",
    },
    "records": {
        "idx": "verified: no gaps, equals the index signed inside the leaf",
        "leaf": "verified: its hash regrows every signed root",
        "leaf_hash": "cache: SHA-256(0x00 || leaf), recomputed and compared",
        "document": "cache: copy of the leaf's pseudonym, compared",
        "period": "cache: copy of the leaf's personal period, compared",
        "time": "cache: copy of the leaf's time, compared",
    },
    "record_keys": {
        "idx": "verified: a record with sealed personal data",
        "wrapped": (
            "verified: unwraps under the period key and opens the record; missing only after "
            "an erasure or retention event"
        ),
    },
    "nodes": {
        "level": "cache: rebuilt from the leaves and compared",
        "idx": "cache: rebuilt from the leaves and compared",
        "hash": "cache: rebuilt from the leaves and compared",
    },
    "checkpoints": {
        "size": "verified: equals the signed size; the rows form the signed prev chain",
        "note": "verified: strict signed-note form, device signature, root regrown",
    },
}
_META_KEYS = {"schema", "origin", "public_key"}


@dataclass(frozen=True)
class Problem:
    kind: str
    #: the first record concerned (None for problems of the key or a checkpoint alone)
    index: int | None
    detail: str
    checkpoint_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "checkpoint_size": self.checkpoint_size,
            "detail": self.detail,
        }


@dataclass
class VerifyResult:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    latest_file_size: int | None = None
    #: the largest signed size up to which every record and root verified (what `recover`
    #: keeps)
    verified_size: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    @property
    def first_bad_index(self) -> int | None:
        indices = [p.index for p in self.problems if p.index is not None]
        return min(indices) if indices else None

    def add(self, problem: Problem) -> None:
        self.problems_total += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(problem)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root.hex(),
            "checkpoints": self.checkpoints,
            "latest_file_size": self.latest_file_size,
            "verified_size": self.verified_size,
            "first_bad_index": self.first_bad_index,
            "problems_total": self.problems_total,
            "problems": [p.to_json() for p in self.problems],
        }


def verify(ledger: Ledger) -> VerifyResult:
    """Check the whole history; every finding is in the result, nothing is raised for tampering."""
    started = time.perf_counter()
    result = VerifyResult()
    outside = cp.read_latest(ledger.latest_path)
    roots: dict[int, bytes] = {}
    with ledger._lock:  # its own read transaction: a page error must not end the snapshot's
        _check_integrity(ledger, result)
    try:
        with _read_snapshot(ledger):
            _check_meta(ledger, result)
            signed = _signed_roots(ledger, result)
            roots = _regrow(ledger, result, signed, outside_size=_outside_size(ledger, outside))
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode & 0xFF not in _SQLITE_CORRUPT:
            raise
        result.add(Problem("storage_corrupt", None, "the database cannot be read to the end"))
    _check_outside(ledger, result, outside, roots)
    result.elapsed_s = time.perf_counter() - started
    return result


@contextmanager
def _read_snapshot(ledger: Ledger) -> Iterator[None]:
    """One read transaction, rolled back at the end: a damaged page met (and named) inside it
    must not turn into a failed commit."""
    with ledger._lock:
        ledger.conn.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                if ledger.conn.in_transaction:
                    ledger.conn.execute("ROLLBACK")


def _check_integrity(ledger: Ledger, result: VerifyResult) -> None:
    """SQLite's own check of every page, table and index (a damaged index makes appends fail);
    the records are still read afterwards, so the damage is placed when it reaches them."""
    try:
        rows = [str(r[0]) for r in ledger.conn.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode & 0xFF not in _SQLITE_CORRUPT:
            raise
        rows = ["the check itself stopped on a damaged page"]
    if rows != ["ok"]:
        # SQLite's messages name pages, tables and indexes, never the values stored
        result.add(Problem("storage_corrupt", None, f"integrity_check: {rows[0][:120]}"))


def _check_meta(ledger: Ledger, result: VerifyResult) -> None:
    meta = {str(k): str(v) for k, v in ledger.conn.execute("SELECT key, value FROM meta")}
    if meta.get("public_key") != cp.public_bytes(ledger.public_key).hex():
        result.add(Problem("device_key_changed", None, "device key differs from the log's"))
    if set(meta) != _META_KEYS or meta["schema"] != SCHEMA_VERSION:
        result.add(Problem("meta_modified", None, "the meta table holds other keys or values"))


def _signed_roots(ledger: Ledger, result: VerifyResult) -> list[tuple[int, bytes]]:
    """(size, root) of every checkpoint whose signature verifies, by size; each note's signed
    `prev` must name the row before it (a deleted row breaks the chain)."""
    signed: list[tuple[int, bytes]] = []
    previous: int | None = None
    for size, note in ledger.conn.execute("SELECT size, note FROM checkpoints ORDER BY size"):
        result.checkpoints += 1
        row_before, previous = previous, int(size)
        try:
            checkpoint = cp.verify_note(str(note), ledger.public_key, ledger.origin)
        except cp.CheckpointError as exc:
            result.add(Problem("checkpoint_invalid", None, str(exc), checkpoint_size=size))
            continue
        if checkpoint.size != size:
            result.add(
                Problem(
                    "checkpoint_invalid", None, "filed under another size", checkpoint_size=size
                )
            )
            continue
        if checkpoint.prev is not None and checkpoint.prev != row_before:
            result.add(
                Problem(
                    "checkpoint_missing",
                    None,
                    f"the signed checkpoint before this one (size {checkpoint.prev}) is missing",
                    checkpoint_size=size,
                )
            )
        elif checkpoint.prev is None and size != 0 and row_before is None:
            result.add(
                Problem("checkpoint_missing", None, "the empty tree's checkpoint is missing")
            )
        signed.append((checkpoint.size, checkpoint.root))
    return signed


def _outside_size(ledger: Ledger, outside: str | None) -> int | None:
    if outside is None:
        return None
    try:
        return cp.verify_note(outside, ledger.public_key, ledger.origin).size
    except cp.CheckpointError:
        return None


class _Rows:
    """A side table read in index order beside the records. A damaged page in it is named
    once (`storage_corrupt`) and ends only this stream, never the pass over the records."""

    def __init__(
        self, conn: sqlite3.Connection, result: VerifyResult, what: str, sql: str, *params: int
    ) -> None:
        self.result = result
        self.what = what
        self.broken = False
        self.rows: Iterator[tuple[int, bytes]] = iter(())
        self.head: tuple[int, bytes] | None = None
        try:
            self.rows = iter(conn.execute(sql, params))
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
        self.advance()

    def _fail(self, exc: sqlite3.DatabaseError) -> None:
        if exc.sqlite_errorcode & 0xFF not in _SQLITE_CORRUPT:
            raise exc
        self.broken, self.head, self.rows = True, None, iter(())
        self.result.add(Problem("storage_corrupt", None, f"{self.what} cannot be read"))

    def advance(self) -> None:
        try:
            row = next(self.rows, None)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
            return
        self.head = None if row is None else (int(row[0]), bytes(row[1]))

    def take(self, index: int) -> tuple[list[int], bytes | None]:
        """(indices of rows before `index`, the value of the row at `index` or None)."""
        skipped = []
        while self.head is not None and self.head[0] < index:
            skipped.append(self.head[0])
            self.advance()
        if self.head is not None and self.head[0] == index:
            value = self.head[1]
            self.advance()
            return skipped, value
        return skipped, None

    def rest(self) -> list[int]:
        return self.take(2**63 - 1)[0]


class _StoredNodes:
    """The stored subtree hashes, one stream per level in index order: the regrown tree
    completes each level's nodes in that order, so they are compared in one pass."""

    def __init__(self, conn: sqlite3.Connection, result: VerifyResult) -> None:
        self.conn = conn
        self.result = result
        self.levels: dict[int, _Rows] = {}

    def check(self, level: int, index: int, expected: bytes) -> None:
        if level not in self.levels:
            self.levels[level] = _Rows(
                self.conn,
                self.result,
                "the tree nodes",
                "SELECT idx, hash FROM nodes WHERE level = ? ORDER BY idx",
                level,
            )
        rows = self.levels[level]
        if rows.broken:
            return
        extra, stored = rows.take(index)
        self._extra(level, extra)
        if stored == expected or rows.broken:
            return
        first, last = index << level, ((index + 1) << level) - 1
        # a cache fault, not a record's: proofs for these records would be wrong
        self.result.add(
            Problem(
                "node_mismatch",
                None,
                f"tree node {level}/{index} (records {first}..{last}) differs or is missing",
            )
        )

    def _extra(self, level: int, indices: list[int]) -> None:
        if indices:
            self.result.add(
                Problem("node_mismatch", None, f"{len(indices)} stored node(s) too many")
            )

    def finish(self) -> None:
        for level, rows in self.levels.items():
            self._extra(level, rows.rest())
        known = sorted(self.levels) or [0]
        try:
            other = self.conn.execute(
                f"SELECT COUNT(*) FROM nodes WHERE level NOT IN ({','.join('?' * len(known))})",
                known,
            ).fetchone()[0]
        except sqlite3.DatabaseError:
            return  # named by integrity_check already
        if other:
            self.result.add(Problem("node_mismatch", None, f"{other} stored node(s) too many"))


def _opens(leaf: LeafFacts, wrapped: bytes, keys: crypto.PeriodKeys) -> bool:
    try:
        sealed = leaf.sealed_personal()
    except ValueError:
        return False
    return crypto.opens(sealed, wrapped, keys, leaf.event_id)


@dataclass
class _Keys:
    """What the record keys and period key files must agree with: the records that hold sealed
    personal data, the erasure and retention events that destroyed keys on purpose."""

    ledger: Ledger
    result: VerifyResult
    loaded: dict[str, crypto.PeriodKeys | None] = field(default_factory=dict)
    #: records of a live period without a key: erased on request, or a deleted key
    keyless: list[tuple[int, str]] = field(default_factory=list)
    #: periods whose key file is gone -> first record in them
    gone: dict[str, int] = field(default_factory=dict)
    erased: set[int] = field(default_factory=set)
    retired: set[str] = field(default_factory=set)
    #: erasure events written before they named their records: (event index, count)
    legacy: list[tuple[int, int]] = field(default_factory=list)

    def period_keys(self, period_id: str, idx: int) -> crypto.PeriodKeys | None:
        if period_id not in self.loaded:
            try:
                self.loaded[period_id] = self.ledger.keys.load(Period.parse(period_id))
            except ValueError:
                self.loaded[period_id] = None
            except ApplianceError:
                self.loaded[period_id] = None
                self.result.add(Problem("period_key_damaged", idx, f"period {period_id}"))
                return None
            if self.loaded[period_id] is None:
                self.gone.setdefault(period_id, idx)
        return self.loaded[period_id]

    def record(self, idx: int, leaf: LeafFacts, wrapped: bytes | None) -> None:
        self._events(idx, leaf)
        if leaf.period is None:
            if wrapped is not None:
                self.result.add(Problem("record_key_unexpected", idx, "key of a keyless record"))
            return
        keys = self.period_keys(leaf.period, idx)
        if keys is None:
            return  # judged per period in `finish`
        if wrapped is None:
            self.keyless.append((idx, leaf.period))
        elif not _opens(leaf, wrapped, keys):
            self.result.add(Problem("record_key_invalid", idx, "record key does not open it"))

    def _events(self, idx: int, leaf: LeafFacts) -> None:
        action = leaf.public.get("action")
        if leaf.type == EventType.OFFICER_ACTION and action == ERASURE_ACTION:
            indices = leaf.public.get("indices")
            if isinstance(indices, list):
                self.erased.update(i for i in indices if isinstance(i, int) and 0 <= i < idx)
            elif isinstance(leaf.public.get("records"), int):
                self.legacy.append((idx, int(leaf.public["records"])))
        elif leaf.type == EventType.MAINTENANCE and action == RETENTION_ACTION:
            periods = leaf.public.get("periods")
            if isinstance(periods, list):
                self.retired.update(p for p in periods if isinstance(p, str))

    def _expired(self, period_id: str) -> bool:
        """Past retention: the job would destroy it now anyway (also covers logs from before
        the retention event existed)."""
        try:
            return self.ledger.policy.expired(Period.parse(period_id), self.ledger.clock())
        except ValueError:
            return False

    def finish(self) -> None:
        for period_id, first in self.gone.items():
            if period_id not in self.retired and not self._expired(period_id):
                self.result.add(
                    Problem(
                        "period_key_missing",
                        first,
                        f"key file of period {period_id} is gone with no retention event",
                    )
                )
        unexplained = [
            idx
            for idx, period_id in self.keyless
            if idx not in self.erased
            and period_id not in self.retired
            and not self._expired(period_id)
        ]
        for event_idx, count in self.legacy:  # old erasure events: trust their count
            covered = [i for i in unexplained if i < event_idx][:count]
            unexplained = [i for i in unexplained if i not in covered]
        for idx in unexplained:
            self.result.add(
                Problem("record_key_missing", idx, "record key gone with no erasure event")
            )

    def orphans(self, indices: list[int]) -> None:
        for idx in indices:
            self.result.add(Problem("record_key_unexpected", idx, "key of no record"))


def _regrow(
    ledger: Ledger,
    result: VerifyResult,
    signed: list[tuple[int, bytes]],
    outside_size: int | None,
) -> dict[int, bytes]:
    """Rehash every leaf and compare the regrown tree with each signed root, the stored nodes
    with the regrown ones, and every record key with its record."""
    builder = merkle.TreeBuilder()
    nodes = _StoredNodes(ledger.conn, result)
    keys = _Keys(ledger, result)
    roots: dict[int, bytes] = {}
    pending = iter(signed)
    next_signed = next(pending, None)
    last_match = 0
    diverged = False

    def reached(size: int) -> None:
        nonlocal next_signed, last_match, diverged
        if size == outside_size:
            roots[size] = builder.root()
        while next_signed is not None and next_signed[0] <= size:
            signed_size, signed_root = next_signed
            if signed_size == size:
                if builder.root() == signed_root:
                    last_match = size
                    if not diverged and clean:
                        result.verified_size = size
                elif not diverged:
                    diverged = True
                    result.add(
                        Problem(
                            "checkpoint_mismatch",
                            last_match,
                            f"records {last_match}..{size - 1} differ from what was signed",
                            checkpoint_size=size,
                        )
                    )
            next_signed = next(pending, None)

    # only a bad record shortens the verified prefix (keys and nodes are repaired elsewhere)
    clean = True
    reached(0)
    wrapped_keys = _Rows(
        ledger.conn,
        result,
        "the record keys",
        "SELECT idx, wrapped FROM record_keys ORDER BY idx",
    )
    cursor = ledger.conn.execute(
        "SELECT idx, leaf, leaf_hash, document, period, time FROM records ORDER BY idx"
    )
    while rows := cursor.fetchmany(_FETCH):
        for idx, leaf_bytes, stored_hash, document, period, stamp in rows:
            before = result.problems_total
            expected = builder.size
            if idx != expected:
                result.add(
                    Problem("record_missing", expected, f"records {expected}..{idx - 1} missing")
                )
            digest = merkle.leaf_hash(leaf_bytes)
            leaf = None
            if digest != stored_hash:
                result.add(Problem("record_modified", idx, "leaf differs from its hash"))
            else:
                leaf = _check_leaf(result, idx, leaf_bytes, (document, period, stamp))
            clean = clean and result.problems_total == before
            orphans, wrapped = wrapped_keys.take(idx)
            keys.orphans(orphans)
            if leaf is not None and not wrapped_keys.broken:
                keys.record(idx, leaf, wrapped)
            for level, index, value in builder.append(digest):
                nodes.check(level, index, value)
            reached(builder.size)
    nodes.finish()
    keys.orphans(wrapped_keys.rest())
    keys.finish()
    result.size = builder.size
    result.root = builder.root()
    if signed and signed[-1][0] > result.size:
        result.add(
            Problem(
                "log_truncated",
                result.size,
                f"signed size {signed[-1][0]}, log holds {result.size}",
                checkpoint_size=signed[-1][0],
            )
        )
    elif not signed or signed[-1][0] < result.size:
        first = signed[-1][0] if signed else 0
        result.add(Problem("unsigned_records", first, "records after the last signed checkpoint"))
    return roots


def _check_leaf(
    result: VerifyResult,
    idx: int,
    leaf_bytes: bytes,
    columns: tuple[str | None, str | None, str | None],
) -> LeafFacts | None:
    try:
        leaf = leaf_facts(leaf_bytes)
    except ValueError:
        result.add(Problem("record_modified", idx, "leaf is malformed"))
        return None
    if leaf.index != idx:
        result.add(Problem("record_out_of_order", idx, f"holds the record signed as {leaf.index}"))
    if columns != (leaf.document, leaf.period, leaf.time):
        result.add(Problem("record_modified", idx, "lookup columns differ from the leaf"))
    return leaf


def _check_outside(
    ledger: Ledger, result: VerifyResult, outside: str | None, roots: dict[int, bytes]
) -> None:
    if outside is None:
        if result.size > 0 or result.checkpoints > 1:
            result.add(Problem("latest_checkpoint_missing", None, "checkpoint file is missing"))
        return
    try:
        checkpoint = ledger.verify_note(outside)
    except ApplianceError as exc:
        result.add(Problem("checkpoint_invalid", None, f"checkpoint file: {exc.detail}"))
        return
    result.latest_file_size = checkpoint.size
    if checkpoint.size > result.size:
        result.add(
            Problem(
                "log_truncated",
                result.size,
                f"checkpoint file signed size {checkpoint.size}, log holds {result.size}",
                checkpoint_size=checkpoint.size,
            )
        )
    elif roots.get(checkpoint.size) != checkpoint.root:
        result.add(
            Problem(
                "checkpoint_mismatch",
                None,
                "checkpoint file root differs from the log",
                checkpoint_size=checkpoint.size,
            )
        )
