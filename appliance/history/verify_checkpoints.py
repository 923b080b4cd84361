"""`verify`'s checks of the signatures: the `meta` table, the `checkpoints` table (every note's
signature and its signed `prev` chain) and the `checkpoint.latest` file kept outside the
database (truncation, a root the log no longer regrows)."""

from __future__ import annotations

from appliance.errors import ApplianceError
from appliance.history import checkpoint as cp
from appliance.history.store import SCHEMA_VERSION, LedgerStore
from appliance.history.verify_result import Problem, VerifyResult

_META_KEYS = {"schema", "origin", "public_key"}


def check_meta(ledger: LedgerStore, result: VerifyResult) -> None:
    meta = {str(k): str(v) for k, v in ledger.conn.execute("SELECT key, value FROM meta")}
    if meta.get("public_key") != cp.public_bytes(ledger.public_key).hex():
        result.add(Problem("device_key_changed", None, "device key differs from the log's"))
    if set(meta) != _META_KEYS or meta["schema"] != SCHEMA_VERSION:
        result.add(Problem("meta_modified", None, "the meta table holds other keys or values"))


def signed_roots(ledger: LedgerStore, result: VerifyResult) -> list[tuple[int, bytes]]:
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


def outside_size(ledger: LedgerStore, outside: str | None) -> int | None:
    """The signed size of the checkpoint file, or None (absent or not a valid note)."""
    if outside is None:
        return None
    try:
        return cp.verify_note(outside, ledger.public_key, ledger.origin).size
    except cp.CheckpointError:
        return None


def check_outside(
    ledger: LedgerStore, result: VerifyResult, outside: str | None, roots: dict[int, bytes]
) -> None:
    """The checkpoint file against the regrown log (`roots`: the root at the file's size)."""
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
