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
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from appliance.errors import ApplianceError
from appliance.history import checkpoint as cp
from appliance.history import merkle
from appliance.history.events import leaf_position
from appliance.history.ledger import Ledger

MAX_REPORTED = 100
_FETCH = 10_000


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
            "first_bad_index": self.first_bad_index,
            "problems_total": self.problems_total,
            "problems": [p.to_json() for p in self.problems],
        }


def verify(ledger: Ledger) -> VerifyResult:
    """Check the whole history; every finding is in the result, nothing is raised for tampering."""
    started = time.perf_counter()
    result = VerifyResult()
    outside = cp.read_latest(ledger.latest_path)
    with ledger.snapshot():
        _check_device_key(ledger, result)
        signed = _signed_roots(ledger, result)
        roots = _regrow(ledger, result, signed, outside_size=_outside_size(ledger, outside))
    _check_outside(ledger, result, outside, roots)
    result.elapsed_s = time.perf_counter() - started
    return result


def _check_device_key(ledger: Ledger, result: VerifyResult) -> None:
    row = ledger.conn.execute("SELECT value FROM meta WHERE key = 'public_key'").fetchone()
    if row is None or row[0] != cp.public_bytes(ledger.public_key).hex():
        result.add(Problem("device_key_changed", None, "device key differs from the log's"))


def _signed_roots(ledger: Ledger, result: VerifyResult) -> list[tuple[int, bytes]]:
    """(size, root) of every checkpoint whose signature verifies, by size."""
    signed: list[tuple[int, bytes]] = []
    for size, note in ledger.conn.execute("SELECT size, note FROM checkpoints ORDER BY size"):
        result.checkpoints += 1
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
        signed.append((checkpoint.size, checkpoint.root))
    return signed


def _outside_size(ledger: Ledger, outside: str | None) -> int | None:
    if outside is None:
        return None
    try:
        return cp.verify_note(outside, ledger.public_key, ledger.origin).size
    except cp.CheckpointError:
        return None


def _regrow(
    ledger: Ledger,
    result: VerifyResult,
    signed: list[tuple[int, bytes]],
    outside_size: int | None,
) -> dict[int, bytes]:
    """Rehash every leaf and compare the regrown tree with each signed root."""
    builder = merkle.TreeBuilder()
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

    reached(0)
    cursor = ledger.conn.execute(
        "SELECT idx, leaf, leaf_hash, document, period FROM records ORDER BY idx"
    )
    while rows := cursor.fetchmany(_FETCH):
        for idx, leaf_bytes, stored_hash, document, period in rows:
            expected = builder.size
            if idx != expected:
                result.add(
                    Problem("record_missing", expected, f"records {expected}..{idx - 1} missing")
                )
            digest = merkle.leaf_hash(leaf_bytes)
            if digest != stored_hash:
                result.add(Problem("record_modified", idx, "leaf differs from its hash"))
            else:
                _check_leaf(result, idx, leaf_bytes, document, period)
            builder.append(digest)
            reached(builder.size)
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
    result: VerifyResult, idx: int, leaf_bytes: bytes, document: str | None, period: str | None
) -> None:
    try:
        index, leaf_document, leaf_period = leaf_position(leaf_bytes)
    except ValueError:
        result.add(Problem("record_modified", idx, "leaf is malformed"))
        return
    if index != idx:
        result.add(Problem("record_out_of_order", idx, f"holds the record signed as {index}"))
    if leaf_document != document or period != leaf_period:
        result.add(Problem("record_modified", idx, "lookup columns differ from the leaf"))


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
