"""`verify`'s pass over the tree: the `records` and `nodes` tables, with the record keys beside.

One pass in index order: each leaf is rehashed and decoded, the tree is regrown leaf by leaf
(O(log n) memory), and whenever it reaches the size of a signed checkpoint its root must equal
the signed one. The stored nodes (a cache) are compared with the regrown ones as they complete,
and each record's key is handed to `KeyAudit` as the record passes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from appliance.history import merkle
from appliance.history.events import LeafFacts, leaf_facts
from appliance.history.store import LedgerStore
from appliance.history.verify_keys import KeyAudit
from appliance.history.verify_result import Problem, VerifyResult, is_corrupt

_FETCH = 10_000


class Rows:
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
        if not is_corrupt(exc):
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


class StoredNodes:
    """The stored subtree hashes, one stream per level in index order: the regrown tree
    completes each level's nodes in that order, so they are compared in one pass."""

    def __init__(self, conn: sqlite3.Connection, result: VerifyResult) -> None:
        self.conn = conn
        self.result = result
        self.levels: dict[int, Rows] = {}

    def check(self, level: int, index: int, expected: bytes) -> None:
        if level not in self.levels:
            self.levels[level] = Rows(
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


def regrow(
    ledger: LedgerStore,
    result: VerifyResult,
    signed: list[tuple[int, bytes]],
    outside_size: int | None,
) -> dict[int, bytes]:
    """Rehash every leaf and compare the regrown tree with each signed root, the stored nodes
    with the regrown ones, and every record key with its record."""
    builder = merkle.TreeBuilder()
    nodes = StoredNodes(ledger.conn, result)
    keys = KeyAudit(ledger, result)
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
    wrapped_keys = Rows(
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
