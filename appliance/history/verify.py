"""Full verification of the history: recompute the tree from every leaf, check every signature.

One pass over the records in index order, in one read snapshot: each leaf is rehashed and
decoded, the tree is regrown leaf by leaf (O(log n) memory), and whenever it reaches the size of a
signed checkpoint its root must equal the signed one. The checkpoint file kept outside the
database is read *before* the snapshot, so a concurrent append can never make it look ahead.
The checks of each part live beside this entry point: `verify_checkpoints` (meta, checkpoints,
the checkpoint file), `verify_tree` (records, nodes), `verify_keys` (record keys, period key
files); `verify_result` holds what they find.

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

from appliance.history import checkpoint as cp
from appliance.history.store import LedgerStore
from appliance.history.verify_checkpoints import (
    check_meta,
    check_outside,
    outside_size,
    signed_roots,
)
from appliance.history.verify_result import Problem, VerifyResult, is_corrupt
from appliance.history.verify_tree import regrow

__all__ = ["COVERAGE", "Problem", "VerifyResult", "verify"]

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


def verify(ledger: LedgerStore) -> VerifyResult:
    """Check the whole history; every finding is in the result, nothing is raised for tampering."""
    started = time.perf_counter()
    result = VerifyResult()
    outside = cp.read_latest(ledger.latest_path)
    roots: dict[int, bytes] = {}
    with ledger._lock:  # its own read transaction: a page error must not end the snapshot's
        _check_integrity(ledger, result)
    try:
        with _read_snapshot(ledger):
            check_meta(ledger, result)
            signed = signed_roots(ledger, result)
            roots = regrow(ledger, result, signed, outside_size=outside_size(ledger, outside))
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
        result.add(Problem("storage_corrupt", None, "the database cannot be read to the end"))
    check_outside(ledger, result, outside, roots)
    result.elapsed_s = time.perf_counter() - started
    return result


@contextmanager
def _read_snapshot(ledger: LedgerStore) -> Iterator[None]:
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


def _check_integrity(ledger: LedgerStore, result: VerifyResult) -> None:
    """SQLite's own check of every page, table and index (a damaged index makes appends fail);
    the records are still read afterwards, so the damage is placed when it reaches them."""
    try:
        rows = [str(r[0]) for r in ledger.conn.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
        rows = ["the check itself stopped on a damaged page"]
    if rows != ["ok"]:
        # SQLite's messages name pages, tables and indexes, never the values stored
        result.add(Problem("storage_corrupt", None, f"integrity_check: {rows[0][:120]}"))
