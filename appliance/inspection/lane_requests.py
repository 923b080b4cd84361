"""What an officer or a technician asks of a running lane, beside the travellers.

`LaneRequests` is the part of `LaneLoop` that takes these requests from the API's threads (it
shares the loop's lock and state): a handheld check started or cancelled by the officer, and the
technician's gate test, which the lane thread runs between travellers (`_maintenance_turn`).

- `OfficerInput`: what the officer typed when starting a handheld check (the printed MRZ, or a
  chip key: CAN, or number and dates); `officer_transaction` builds the check's transaction
  from it, once.
- `GateTests`: the technician's gate test cycle. The lane thread owns the gate's serial line,
  so the API thread only queues the request (`request`) and waits; the lane takes it between
  travellers (`take`), goes out of service (`LANE_MAINTENANCE`), and `run` opens the gate,
  reads its state, holds it, closes it and reads it again; the lane then comes back by itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance.emrtd.session import AccessKey
from appliance.errors import ApplianceError, Reason
from appliance.inspection.lane_events import LaneState
from appliance.inspection.steps import Transaction
from appliance.ports import CardTransport, GateController, MrzScanner


@dataclass(frozen=True)
class OfficerInput:
    """The printed MRZ lines (empty: the station's MRZ scanner reads them) and a chip key
    (None: from the MRZ). Neither is ever logged (`repr` hides them)."""

    mrz_lines: tuple[str, ...] = field(default=(), repr=False)
    access_key: AccessKey | None = field(default=None, repr=False)


class _TypedMrz:
    """An `MrzScanner` answering the lines the officer typed."""

    def __init__(self, lines: tuple[str, ...]) -> None:
        self._lines = list(lines)

    def lines(self, timeout_s: float) -> list[str] | None:
        return list(self._lines)


def officer_transaction(
    officer: OfficerInput | None, transport: CardTransport, scanner: MrzScanner
) -> Transaction:
    if officer is None:
        return Transaction(transport, scanner)
    typed: MrzScanner = _TypedMrz(officer.mrz_lines) if officer.mrz_lines else scanner
    return Transaction(transport, typed, access_key=officer.access_key)


class GateTest:
    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.done = threading.Event()
        self.result: dict[str, Any] = {}

    def run(self, gate: GateController) -> None:
        """Open, state, hold, close, state; the result says what the controller answered."""
        steps: list[dict[str, str]] = []
        try:
            for action in ("open", "close"):
                try:
                    getattr(gate, action)()
                    steps.append({"action": action, "gate": gate.state().value})
                    if action == "open":
                        time.sleep(self.hold_s)
                except Exception as exc:  # the controller refused: a finding, not a crash
                    steps.append({"action": action, "error": type(exc).__name__})
        finally:
            passed = [s.get("gate") for s in steps] == ["open", "closed"]
            self.result = {"status": "pass" if passed else "fail", "steps": steps}


class GateTests:
    """At most one gate test waiting for the lane thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: GateTest | None = None

    def request(self, timeout_s: float, hold_s: float) -> dict[str, Any]:
        job = GateTest(hold_s)
        with self._lock:
            if self._pending is not None:
                raise ApplianceError(Reason.LANE_BUSY, "a gate test is already running")
            self._pending = job
        if not job.done.wait(timeout_s):
            with self._lock:
                if self._pending is job:
                    self._pending = None
            raise ApplianceError(Reason.LANE_BUSY, "the lane is busy with a traveller")
        return job.result

    def take(self) -> GateTest | None:
        """The waiting test, if any (the lane thread runs it, then calls `done`)."""
        with self._lock:
            return self._pending

    def done(self, job: GateTest) -> None:
        with self._lock:
            if self._pending is job:
                self._pending = None
        job.done.set()


class LaneRequests:
    """The requests half of `LaneLoop` (a base class: the attributes are the loop's)."""

    mode: str
    gate: Any
    _lock: threading.RLock
    _state: LaneState
    _requested: threading.Event
    _cancelled: threading.Event
    _officer: OfficerInput | None
    _awaiting_removal: bool
    gate_tests: GateTests

    if TYPE_CHECKING:

        def _fault_text(self) -> str: ...
        def _out_of_service(self, component: str, reason: Reason, detail: str) -> None: ...
        def _close_gate(self) -> None: ...

    def start_check(self, officer: OfficerInput | None = None) -> None:
        """Handheld: ask for a check of the next document (`LANE_BUSY`, `LANE_OUT_OF_SERVICE`),
        with what the officer typed, if anything."""
        with self._lock:
            if self.mode != "handheld":
                raise ApplianceError(Reason.USAGE, "checks are started by documents in e-gate mode")
            if self._state is LaneState.OUT_OF_SERVICE:
                raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, self._fault_text())
            if self._state is not LaneState.READY or self._requested.is_set():
                raise ApplianceError(Reason.LANE_BUSY, f"lane is {self._state.value}")
            self._cancelled.clear()
            self._officer = officer
            self._requested.set()

    def cancel_check(self) -> bool:
        """Handheld: give up waiting for the document; False when no check is waiting (a
        document being read is checked to the end and recorded: a half check is no answer)."""
        with self._lock:
            waiting = self._requested.is_set() or self._state is LaneState.WAITING_DOCUMENT
            if waiting:
                self._cancelled.set()
                self._requested.clear()
            return waiting

    def _officer_transaction(self, transport: CardTransport, scanner: MrzScanner) -> Transaction:
        """The check's transaction, with what the officer typed (used once)."""
        with self._lock:
            officer, self._officer = self._officer, None
        return officer_transaction(officer, transport, scanner)

    def gate_test(self, timeout_s: float = 20.0, hold_s: float = 0.5) -> dict[str, Any]:
        """Maintenance: between travellers the lane goes out of service (`LANE_MAINTENANCE`)
        while the gate opens and closes once."""
        if self.gate is None:
            raise ApplianceError(Reason.USAGE, "no gate at this lane")
        return self.gate_tests.request(timeout_s, hold_s)

    def _maintenance_turn(self) -> bool:
        """Lane thread, when ready: run a waiting gate test; True when one ran (the lane is out
        of service now; its next iteration brings it back)."""
        with self._lock:
            ready = self._state is LaneState.READY and not self._awaiting_removal
        job = self.gate_tests.take() if ready and self.gate is not None else None
        if job is None:
            return False
        self._out_of_service("maintenance", Reason.LANE_MAINTENANCE, "gate test cycle")
        try:
            job.run(self.gate)
        finally:
            self._close_gate()
            self.gate_tests.done(job)
        return True
