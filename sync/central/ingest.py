"""Ingest of a device's batch, and the witness over its log.

Central keeps, per device, the last checkpoint it verified (size C, root) and the events it
stored (a contiguous prefix 0..A-1, A <= C) with the right edge of their Merkle tree. A batch
carries events A'..B-1 (A' <= A: a resend overlaps harmlessly), the device's latest signed
checkpoint (size S >= B) and two RFC 9162 consistency proofs: C -> S (the witness: the log only
grew) and B -> S (the tree central regrows from its stored edge plus the new leaves is a prefix
of the signed one, so every new event is in the signed log, at its index).

All checks and writes run in one transaction holding the device's row lock, committed before
the answer: a 200 means durable. A checkpoint that does not extend the one witnessed is a fork:
the alarm is committed on its own, the device is marked `fork`, and the upload is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg.types.json import Jsonb

from appliance.errors import ApplianceError, Reason
from appliance.history import checkpoint as cp
from appliance.history import merkle
from appliance.history.events import decode_leaf, parse_time
from sync import protocol
from sync.central.auth import Conn
from sync.central.db import Database

_COPY = (
    "COPY events (device_id, idx, time, event_id, type, location, document, outcome, reasons,"
    " leaf_hash) FROM STDIN"
)


@dataclass(frozen=True)
class DecodedEvent:
    index: int
    leaf_hash: bytes
    time: datetime
    event_id: uuid.UUID
    type: str
    location: str
    document: str | None
    outcome: str
    reasons: list[str]


class ForkDetected(ApplianceError):
    def __init__(self, detail: str, witnessed_size: int, witnessed_root: bytes, note: str) -> None:
        super().__init__(Reason.SYNC_FORK_DETECTED, detail)
        self.witnessed_size = witnessed_size
        self.witnessed_root = witnessed_root
        self.note = note


def _invalid(detail: str) -> ApplianceError:
    return ApplianceError(Reason.SYNC_BATCH_INVALID, detail)


def _hashes(encoded: list[str], what: str) -> list[bytes]:
    try:
        hashes = [protocol.b64d(h) for h in encoded]
    except ValueError as exc:
        raise _invalid(f"{what}: not base64") from exc
    if any(len(h) != merkle.HASH_SIZE for h in hashes):
        raise _invalid(f"{what}: not SHA-256 hashes")
    return hashes


def decode_events(device_id: str, batch: protocol.Batch) -> list[DecodedEvent]:
    """Rehash and decode each leaf; the leaf must sit at its index and name this device."""
    decoded: list[DecodedEvent] = []
    first = batch.events[0].index if batch.events else 0
    for offset, event in enumerate(batch.events):
        if event.index != first + offset:
            raise _invalid("events must be contiguous and in index order")
        try:
            raw = protocol.b64d(event.leaf)
            leaf = decode_leaf(raw)
            moment = parse_time(leaf.time)
            event_id = uuid.UUID(leaf.event_id)
        except ValueError as exc:
            raise _invalid(f"event {event.index}: malformed leaf") from exc
        if leaf.index != event.index:
            raise _invalid(f"event {event.index}: the leaf is signed at index {leaf.index}")
        if leaf.device_id != device_id:
            raise _invalid(f"event {event.index}: the leaf names another device")
        decoded.append(
            DecodedEvent(
                index=event.index,
                leaf_hash=merkle.leaf_hash(raw),
                time=moment,
                event_id=event_id,
                type=leaf.type,
                location=leaf.location,
                document=event.document,
                outcome=leaf.outcome,
                reasons=list(leaf.reasons),
            )
        )
    return decoded


def ingest(
    db: Database, device_id: str, batch: protocol.Batch, events: list[DecodedEvent]
) -> dict[str, Any]:
    """Store a batch (see the module docstring); return the answer's JSON."""
    db.ensure_partitions(e.time for e in events)
    with db.connection() as conn:
        try:
            with conn.transaction():
                return _ingest_locked(conn, device_id, batch, events)
        except ForkDetected as fork:
            with conn.transaction():
                conn.execute(
                    "UPDATE devices SET witness = 'fork', last_seen = now() WHERE device_id = %s",
                    (device_id,),
                )
                conn.execute(
                    "INSERT INTO fork_alarms (device_id, detail, witnessed_size, witnessed_root,"
                    " presented_note) VALUES (%s, %s, %s, %s, %s)",
                    (device_id, fork.detail, fork.witnessed_size, fork.witnessed_root, fork.note),
                )
            raise


def _ingest_locked(
    conn: Conn, device_id: str, batch: protocol.Batch, events: list[DecodedEvent]
) -> dict[str, Any]:
    row = conn.execute(
        "SELECT next_index, frontier, checkpoint_size, checkpoint_root, witness,"
        " revoked_at IS NOT NULL, history_key, origin FROM devices"
        " WHERE device_id = %s FOR UPDATE",
        (device_id,),
    ).fetchone()
    if row is None:
        raise ApplianceError(Reason.SYNC_NOT_FOUND, "unknown device")
    stored = int(row[0])  # type: ignore[call-overload]
    frontier = [bytes(h) for h in row[1]]  # type: ignore[attr-defined]
    witnessed_size = int(row[2])  # type: ignore[call-overload]
    witnessed_root = bytes(row[3])  # type: ignore[call-overload]
    if row[5]:
        raise ApplianceError(Reason.SYNC_DEVICE_REVOKED, "device revoked")
    if row[4] == "fork":
        raise ApplianceError(Reason.SYNC_FORK_DETECTED, "device is under a fork alarm")
    key = Ed25519PublicKey.from_public_bytes(bytes(row[6]))  # type: ignore[call-overload]
    try:
        checkpoint = cp.verify_note(batch.checkpoint, key, str(row[7]))
    except cp.CheckpointError as exc:
        raise ApplianceError(Reason.SYNC_CHECKPOINT_INVALID, str(exc)) from exc

    def fork(detail: str) -> ForkDetected:
        return ForkDetected(detail, witnessed_size, witnessed_root, batch.checkpoint)

    size, root = checkpoint.size, checkpoint.root
    if size == witnessed_size and root != witnessed_root:
        raise fork(f"checkpoint {size} has another root than the one witnessed")
    if size < witnessed_size:
        earlier = conn.execute(
            "SELECT root FROM checkpoints WHERE device_id = %s AND size = %s", (device_id, size)
        ).fetchone()
        if earlier is not None and bytes(earlier[0]) != root:  # type: ignore[call-overload]
            raise fork(f"checkpoint {size} has another root than the one witnessed")
        raise ApplianceError(Reason.SYNC_CURSOR_STALE, "checkpoint older than the one witnessed")
    if batch.from_size != witnessed_size:
        raise ApplianceError(Reason.SYNC_CURSOR_STALE, "from_size is not the witnessed size")
    consistency = _hashes(batch.consistency, "consistency")
    if size > witnessed_size and not merkle.verify_consistency(
        witnessed_size, size, witnessed_root, root, consistency
    ):
        raise fork(f"checkpoint {size} is not an extension of checkpoint {witnessed_size}")

    first = events[0].index if events else stored
    end = events[-1].index + 1 if events else stored
    if first > stored:
        raise ApplianceError(Reason.SYNC_CURSOR_STALE, f"events must start at or before {stored}")
    if end > size:
        raise ApplianceError(Reason.SYNC_PROOF_INVALID, "events beyond the signed checkpoint")
    duplicates = [e for e in events if e.index < stored]
    fresh = [e for e in events if e.index >= stored]
    if duplicates:
        known: dict[object, object] = dict(
            conn.execute(  # type: ignore[arg-type]
                "SELECT idx, leaf_hash FROM events WHERE device_id = %s AND idx >= %s AND idx < %s",
                (device_id, duplicates[0].index, duplicates[-1].index + 1),
            ).fetchall()
        )
        for event in duplicates:
            if bytes(known.get(event.index, b"")) != event.leaf_hash:  # type: ignore[call-overload]
                raise ApplianceError(
                    Reason.SYNC_PROOF_INVALID, f"event {event.index} differs from the one stored"
                )
    if fresh:
        frontier = _grow(stored, frontier, fresh, size, root, _hashes(batch.inclusion, "inclusion"))
        with conn.cursor() as cur, cur.copy(_COPY) as copy:
            for e in fresh:
                row = (e.index, e.time, e.event_id, e.type, e.location, e.document, e.outcome)
                copy.write_row((device_id, *row, e.reasons, e.leaf_hash))
    next_index = max(stored, end)
    status = batch.status
    conn.execute(
        "UPDATE devices SET next_index = %s, frontier = %s, checkpoint_size = %s,"
        " checkpoint_root = %s, checkpoint_note = %s, last_seen = now(),"
        " location = coalesce(%s, location), backlog = coalesce(%s, backlog),"
        " artefacts = artefacts || %s WHERE device_id = %s",
        (
            next_index,
            frontier,
            size,  # >= witnessed_size: an older checkpoint was refused above
            root,
            batch.checkpoint,
            fresh[-1].location if fresh else None,
            None if status is None else status.backlog,
            Jsonb({} if status is None else dict(status.artefacts)),
            device_id,
        ),
    )
    if size > witnessed_size:
        conn.execute(
            "INSERT INTO checkpoints (device_id, size, root, note) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (device_id, size, root, batch.checkpoint),
        )
    return {
        **cursor_json(device_id, next_index, size, root, "ok"),
        "stored": len(fresh),
        "duplicates": len(duplicates),
    }


def _grow(
    stored: int,
    frontier: list[bytes],
    fresh: list[DecodedEvent],
    size: int,
    root: bytes,
    inclusion: list[bytes],
) -> list[bytes]:
    """Regrow the tree from the stored right edge with the new leaves; the result must be a
    prefix of the signed tree. Returns the new right edge."""
    try:
        builder = merkle.TreeBuilder(stored, frontier)
    except ValueError as exc:  # the stored edge does not match the stored count
        raise ApplianceError(Reason.INTERNAL_ERROR, "stored tree edge is damaged") from exc
    known = dict(zip(merkle.frontier_positions(stored), frontier, strict=True))
    for event in fresh:
        known[(0, event.index)] = event.leaf_hash
        for level, index, value in builder.append(event.leaf_hash):
            known[(level, index)] = value
    end = builder.size
    if not merkle.verify_consistency(end, size, builder.root(), root, inclusion):
        raise ApplianceError(
            Reason.SYNC_PROOF_INVALID, "the events are not the signed log's (inclusion proof)"
        )
    return [known[position] for position in merkle.frontier_positions(end)]


def cursor_json(
    device_id: str, next_index: int, size: int, root: bytes, witness: str
) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "next_index": next_index,
        "acknowledged": next_index - 1 if next_index else None,
        "checkpoint_size": size,
        "checkpoint_root": protocol.b64e(root),
        "witness": witness,
    }


def cursor(conn: Conn, device_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT next_index, checkpoint_size, checkpoint_root, witness FROM devices"
        " WHERE device_id = %s",
        (device_id,),
    ).fetchone()
    if row is None:
        raise ApplianceError(Reason.SYNC_NOT_FOUND, "unknown device")
    return cursor_json(device_id, int(row[0]), int(row[1]), bytes(row[2]), str(row[3]))  # type: ignore[call-overload]
