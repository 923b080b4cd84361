"""The uplink: the history itself is the outbox (no second copy that could diverge).

The cursor (`SyncState.cursor`: central's `next_index` and the checkpoint it witnessed) says
where to start. One batch is the events `[next_index, next_index + batch_size)` in index order,
read from the history's own records in one snapshot, with the history's latest signed
checkpoint (size S), the RFC 9162 consistency proof from the checkpoint central witnessed to S,
and the proof from the tree ending at the batch's last event to S (sync/README.md, *A batch*).

The cursor moves only when central answers 200 (its transaction committed): a crash before
that makes the device resend, which central counts as duplicates. A 409 `SYNC_CURSOR_STALE`
carries central's cursor: the device takes it and goes on from there. 5xx, timeouts and cut
connections are `Transient` (backoff with jitter, then again, signed afresh); the other
refusals (revoked, fork, a bad proof) are `Refused` and recorded in `sync status`.

What leaves the device: the leaf (no names, no images, no birth dates: personal data is sealed
in it and the per-record keys never leave) and the document as `national_pseudonym` under the
authority's national key, computed from the report's issuing state and type and the sealed
document number (null when the record was erased, its retention period expired, or the device
has no national key: the check still goes up, only unlinked).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger, merkle
from appliance.history.crypto import PeriodKeys, unseal
from appliance.history.events import DocumentRef, Leaf, decode_leaf
from appliance.history.periods import Period
from sync import protocol
from sync.device.client import CentralClient, Unreachable, refusal
from sync.device.state import Cursor, SyncState


class Transient(Exception):
    """Central unreachable or answering 5xx: try again after a backoff."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Refused(ApplianceError):
    """Central refused for a reason a retry does not cure (revoked, fork, bad proof)."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(max, min * 2^n))."""

    minimum: float = 1.0
    maximum: float = 300.0

    def delay(self, attempt: int, rng: Callable[[float, float], float] = random.uniform) -> float:
        return rng(0.0, min(self.maximum, self.minimum * 2 ** min(attempt, 30)))


def national_document(
    leaf: Leaf, wrapped: bytes | None, keys: PeriodKeys | None
) -> DocumentRef | None:
    """The document a record concerns, as far as the record still tells it (None otherwise)."""
    if leaf.document is None or leaf.personal is None or wrapped is None or keys is None:
        return None
    report = leaf.public.get("report")
    document = report.get("document") if isinstance(report, dict) else None
    if not isinstance(document, dict):
        return None
    try:
        personal = unseal(leaf.personal, wrapped, keys, leaf.event_id)
        ref = DocumentRef(
            str(document["issuing_state"]),
            personal.document_number,
            str(document.get("document_type") or "P"),
        )
        ref.normalised()
    except (ApplianceError, KeyError, ValueError):
        return None
    return ref


class Uplink:
    def __init__(
        self,
        ledger: Ledger,
        client: CentralClient,
        state: SyncState,
        *,
        national_key: bytes | None,
        batch_size: int = 1000,
    ) -> None:
        self.ledger = ledger
        self.client = client
        self.state = state
        self.national_key = national_key
        self.batch_size = batch_size
        self._keys: dict[str, PeriodKeys | None] = {}

    def backlog(self) -> int:
        checkpoint, _ = self.ledger.latest_checkpoint()
        return max(0, checkpoint.size - self.state.cursor().next_index)

    def _period_keys(self, period: str) -> PeriodKeys | None:
        if period not in self._keys:
            try:
                self._keys[period] = self.ledger.keys.load(Period.parse(period))
            except (ValueError, ApplianceError):
                self._keys[period] = None
        return self._keys[period]

    def _document(self, leaf: Leaf, wrapped: bytes | None) -> str | None:
        if self.national_key is None or leaf.personal is None:
            return None
        ref = national_document(leaf, wrapped, self._period_keys(leaf.personal.period))
        return None if ref is None else protocol.national_pseudonym(self.national_key, ref)

    def build_batch(self, cursor: Cursor) -> dict[str, Any] | None:
        """The next batch from `cursor`, or None when central has everything."""
        ledger = self.ledger
        with ledger.snapshot():
            checkpoint, note = ledger.latest_checkpoint()
            size = checkpoint.size
            start = cursor.next_index
            if start >= size:
                return None
            end = min(start + self.batch_size, size)
            rows = ledger.conn.execute(
                "SELECT r.idx, r.leaf, k.wrapped FROM records r "
                "LEFT JOIN record_keys k ON k.idx = r.idx "
                "WHERE r.idx >= ? AND r.idx < ? ORDER BY r.idx",
                (start, end),
            ).fetchall()
            witnessed = cursor.checkpoint_size
            consistency = (
                merkle.consistency_proof(ledger.node, witnessed, size) if witnessed <= size else []
            )
            inclusion = merkle.consistency_proof(ledger.node, end, size)
        if [int(r[0]) for r in rows] != list(range(start, end)):
            raise ApplianceError(Reason.HISTORY_TAMPERED, "history records are not contiguous")
        events = []
        for index, leaf_bytes, wrapped in rows:
            raw = bytes(leaf_bytes)
            try:
                leaf = decode_leaf(raw)
            except ValueError as exc:
                raise ApplianceError(Reason.HISTORY_TAMPERED, f"record {index} malformed") from exc
            document = self._document(leaf, None if wrapped is None else bytes(wrapped))
            events.append({"index": int(index), "leaf": protocol.b64e(raw), "document": document})
        return {
            "events": events,
            "checkpoint": note,
            "from_size": witnessed,
            "consistency": [protocol.b64e(h) for h in consistency],
            "inclusion": [protocol.b64e(h) for h in inclusion],
            "status": {"backlog": size - end, "artefacts": self.state.artefacts()},
        }

    def _post(self, batch: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        target = f"{protocol.API_PREFIX}/devices/{self.client.device_id}/batches"
        try:
            return self.client.request("POST", target, batch)
        except Unreachable as exc:
            raise Transient(Reason.SYNC_UNREACHABLE, f"central unreachable ({exc})") from exc

    def fetch_cursor(self) -> Cursor:
        """Central's cursor for this device (GET .../cursor), saved as the device's own."""
        target = f"{protocol.API_PREFIX}/devices/{self.client.device_id}/cursor"
        try:
            status, body = self.client.request("GET", target)
        except Unreachable as exc:
            raise Transient(Reason.SYNC_UNREACHABLE, f"central unreachable ({exc})") from exc
        self._check(status, body)
        return self._take(body)

    def _take(self, body: dict[str, Any]) -> Cursor:
        cursor = Cursor(
            int(body["next_index"]), int(body["checkpoint_size"]), str(body["checkpoint_root"])
        )
        self.state.save_cursor(cursor)
        return cursor

    @staticmethod
    def _check(status: int, body: dict[str, Any]) -> None:
        if status == 200:
            return
        reason, detail = refusal(status, body)
        if status >= 500:
            raise Transient(reason, detail)
        raise Refused(reason, detail)

    def send_one(self) -> int | None:
        """Send the next batch; the number of events central now acknowledges beyond the old
        cursor, or None when there was nothing to send."""
        cursor = self.state.cursor()
        batch = self.build_batch(cursor)
        if batch is None:
            return None
        status, body = self._post(batch)
        if status == 409 and body.get("reason") == Reason.SYNC_CURSOR_STALE.value:
            fresh = body.get("cursor")
            if isinstance(fresh, dict):
                return self._take(fresh).next_index - cursor.next_index
            return self.fetch_cursor().next_index - cursor.next_index
        self._check(status, body)
        return self._take(body).next_index - cursor.next_index

    def drain(self, *, max_batches: int | None = None) -> int:
        """Send until central has every event (or `max_batches`); events acknowledged."""
        total = 0
        stale_rounds = 0
        sent = 0
        while max_batches is None or sent < max_batches:
            moved = self.send_one()
            sent += 1
            if moved is None:
                break
            total += max(moved, 0)
            # a stale cursor that does not move forward twice running is not progress
            stale_rounds = stale_rounds + 1 if moved <= 0 else 0
            if stale_rounds >= 3:
                raise Refused(Reason.SYNC_CURSOR_STALE, "central's cursor does not advance")
        return total


def with_backoff(
    action: Callable[[], int],
    backoff: Backoff,
    attempts: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[Transient], None] | None = None,
) -> int:
    """Run `action`, retrying `Transient` failures up to `attempts` times in all."""
    for attempt in range(attempts):
        try:
            return action()
        except Transient as exc:
            if attempt + 1 >= attempts:
                raise
            if on_retry is not None:
                on_retry(exc)
            sleep(backoff.delay(attempt))
    raise AssertionError("unreachable")
