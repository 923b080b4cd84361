"""The read path: a document's records, the newest records, and inclusion/consistency proofs.

Every record shown is rehashed and its inclusion proven against the latest signed checkpoint
(`RecordView.proven`); personal data is opened only when asked (`reveal`) and only while its
record key and period key exist. Reads run in one snapshot, so appends by others do not tear
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from appliance.errors import ApplianceError, Reason
from appliance.history import crypto, merkle
from appliance.history.events import DocumentRef, Leaf, PersonalData, decode_leaf, format_time
from appliance.history.periods import Period
from appliance.history.store import LedgerStore

_SQLITE_MAX_INT = 2**63 - 1
PersonalStatus = Literal["none", "available", "erased", "expired"]


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


class LedgerQueries(LedgerStore):
    """Lookups and proofs over the stored log (nothing here writes)."""

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
