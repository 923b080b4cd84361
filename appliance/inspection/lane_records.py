"""The checks a lane has finished, as its API shows them: newest first, bounded, in memory.

The result of a check stays here (codes, timings, the whole report for an officer's screen);
what is durable is the history event the check wrote before the gate moved. Kept apart from
the lane loop so the loop is about travellers and devices, and this about what observers read.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2

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
    #: the live capture as JPEG, for the officer's screen beside the chip photo; only the
    #: newest `CheckRecords.keep_live` checks keep it, in memory (gone at restart)
    live_capture: bytes | None = field(default=None, repr=False)

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


def _jpeg(image: Any) -> bytes | None:
    """A live frame as JPEG (a few tens of KB, where the pixels take about a megabyte)."""
    if image is None or getattr(image, "size", 0) == 0:
        return None
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return data.tobytes() if ok else None


class CheckRecords:
    """The last `keep` finished checks by check id (thread-safe: the API reads while the lane
    loop adds)."""

    def __init__(self, keep: int = 500, keep_live: int = 50) -> None:
        self._keep = keep
        self.keep_live = keep_live
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
                # the pixels go (about a megabyte a check); the JPEG stays for the newest only
                result=dataclasses.replace(result, live_image=None),
                gate=gate,
                transaction_ms=transaction_ms,
                finished_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                ref=ref,
                live_capture=_jpeg(result.live_image),
            )
            self._records[check_id] = record
            while len(self._records) > self._keep:
                self._records.popitem(last=False)
            records = list(self._records.values())
            for old in records[: max(len(records) - self.keep_live, 0)]:
                old.live_capture = None
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
