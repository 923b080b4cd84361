"""The checks a lane has finished, as its API shows them: newest first, bounded, in memory.

The result of a check stays here (codes, timings, the whole report for an officer's screen);
what is durable is the history event the check wrote before the gate moved. Kept apart from
the lane loop so the loop is about travellers and devices, and this about what observers read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from appliance.inspection.workflow import CheckResult
from appliance.ports import GateState


@dataclass
class CheckRecord:
    """One finished check as the lane keeps it for its API (the result stays in memory)."""

    check_id: str
    sequence: int
    mode: str
    result: CheckResult
    gate: GateState
    transaction_ms: float
    finished_at: str
    #: the station's reference of the presentation (the simulator's traveller), not shown
    ref: str | None = None
    gate_events: list[str] = field(default_factory=list)

    @property
    def history_index(self) -> int | None:
        return self.result.receipt.index if self.result.receipt else None

    def timings_ms(self) -> dict[str, float]:
        return {s.name.value: s.duration_ms for s in self.result.report.steps}

    def summary(self) -> dict[str, Any]:
        """Codes and timings only: what the kiosk, the list of recent checks and the CLI see."""
        decision = self.result.decision
        return {
            "check_id": self.check_id,
            "sequence": self.sequence,
            "mode": self.mode,
            "decision": decision.verdict.value,
            "reasons": [r.value for r in decision.reasons],
            "gate": self.gate.value,
            "durable": self.result.receipt is not None,
            "history_index": self.history_index,
            "transaction_ms": round(self.transaction_ms, 3),
            "timings_ms": self.timings_ms(),
            "finished_at": self.finished_at,
        }

    def to_json(self) -> dict[str, Any]:
        """The whole report (`docs/inspection-report.schema.json`), for an officer's screen."""
        return {
            **self.summary(),
            "gate_events": self.gate_events,
            "decision_detail": self.result.decision.to_json(),
            "report": self.result.report.to_json(),
        }


class CheckRecords:
    """The last `keep` finished checks by check id (thread-safe: the API reads while the lane
    loop adds)."""

    def __init__(self, keep: int = 500) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._records: OrderedDict[str, CheckRecord] = OrderedDict()
        self._sequence = 0

    @property
    def count(self) -> int:
        """Checks finished since the lane started (not only those kept)."""
        with self._lock:
            return self._sequence

    def add(
        self,
        result: CheckResult,
        *,
        mode: str,
        gate: GateState,
        transaction_ms: float,
        ref: str | None,
    ) -> CheckRecord:
        with self._lock:
            self._sequence += 1
            check_id = result.receipt.event_id if result.receipt else f"unrecorded-{self._sequence}"
            record = CheckRecord(
                check_id=check_id,
                sequence=self._sequence,
                mode=mode,
                result=result,
                gate=gate,
                transaction_ms=transaction_ms,
                finished_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                ref=ref,
            )
            self._records[check_id] = record
            while len(self._records) > self._keep:
                self._records.popitem(last=False)
        return record

    def recent(self, count: int) -> list[CheckRecord]:
        with self._lock:
            return list(reversed(self._records.values()))[: max(count, 0)]

    def get(self, check_id: str) -> CheckRecord | None:
        with self._lock:
            return self._records.get(check_id)

    def find_ref(self, ref: str) -> CheckRecord | None:
        """The newest check of the presentation `ref` (the simulator's traveller)."""
        with self._lock:
            for record in reversed(self._records.values()):
                if record.ref == ref:
                    return record
        return None
