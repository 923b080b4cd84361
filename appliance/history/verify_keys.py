"""`verify`'s checks of the keys: the `record_keys` table and the period key files.

A record with sealed personal data must have a record key that opens it, unless an erasure
event names the record or a retention event (or the retention time itself) retired its period;
a key of no record, or of a record without personal data, is out of place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.errors import ApplianceError
from appliance.history import crypto
from appliance.history.erasure import ERASURE_ACTION, RETENTION_ACTION
from appliance.history.events import EventType, LeafFacts
from appliance.history.periods import Period
from appliance.history.store import LedgerStore
from appliance.history.verify_result import Problem, VerifyResult


def _opens(leaf: LeafFacts, wrapped: bytes, keys: crypto.PeriodKeys) -> bool:
    try:
        sealed = leaf.sealed_personal()
    except ValueError:
        return False
    return crypto.opens(sealed, wrapped, keys, leaf.event_id)


@dataclass
class KeyAudit:
    """What the record keys and period key files must agree with: the records that hold sealed
    personal data, the erasure and retention events that destroyed keys on purpose."""

    ledger: LedgerStore
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
