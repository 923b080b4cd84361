"""The product's lane loop: one traveller after another, faults as states, never a crash.

E-gate mode: wait for a document on the station → the check session (every step, the policy's
decision, the event durable in the history) → the gate (opens only for a durable OPEN) → the
document taken back, the passage or a timeout → ready. Handheld mode: an officer starts a check
(`start_check`), the lane waits for the document, checks it and advises; there is no gate.

Faults are states: a station that cannot see its reader (unplugged, pcscd gone) or a gate
controller that stops answering puts the lane OUT_OF_SERVICE with a reason, the gate is told to
close, and the loop keeps asking until the device is back, then goes READY by itself. A camera
that is gone fails the face step closed (REFER, `CAMERA_UNAVAILABLE`) and the lane reports
itself degraded until a check sees the camera again. A traveller who walks away (document left
on the reader, nobody through the open gate) times out: the gate closes and the lane waits for
the reader to be empty before it takes the next document.

Observers read the ordered `EventLog` (states, instructions, decisions, faults; no personal
data). `on_beat` is called on every iteration: the service's watchdog heartbeat, so a hung loop
stops the pings even when the HTTP threads still answer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from appliance.errors import ApplianceError, Reason
from appliance.inspection.gate_events import GateEventSource, parse_events
from appliance.inspection.lane_events import EventLog, EventType, Instruction, LaneState
from appliance.inspection.lane_records import CheckRecord, CheckRecords
from appliance.inspection.lane_requests import GateTests, LaneRequests, OfficerInput
from appliance.inspection.policy import Verdict
from appliance.inspection.report import StepName
from appliance.inspection.station import DocumentStation, StationFault
from appliance.inspection.steps import FaceCheck, FaceOutcome
from appliance.inspection.workflow import CheckSession, act_on
from appliance.ports import GateController, GateState

log = logging.getLogger(__name__)

#: steps whose failure reasons count as chip errors (metrics)
CHIP_STEPS = (StepName.CHIP_ACCESS, StepName.DATA_GROUPS)


class LaneGate(GateController, GateEventSource, Protocol):
    def wait_event(self, name: str, timeout_s: float) -> list[str]: ...


def _announcing(face: FaceCheck, loop: LaneLoop) -> FaceCheck:
    def check(reference: bytes) -> FaceOutcome:
        loop._instruct(Instruction.LOOK_AT_CAMERA)
        return face(reference)

    return check


class LaneLoop(LaneRequests):
    """Runs one lane (not re-entrant: one loop thread; the API reads under the lock)."""

    def __init__(
        self,
        session: CheckSession,
        station: DocumentStation,
        gate: LaneGate | None,
        *,
        mode: Literal["egate", "handheld"] = "egate",
        traveller_timeout_s: float = 20.0,
        events: EventLog | None = None,
        on_beat: Callable[[], None] | None = None,
        on_check: Callable[[CheckRecord], None] | None = None,
        poll_s: float = 0.05,
        gate_check_s: float = 2.0,
        retry_s: float = 0.5,
        keep: int = 500,
    ) -> None:
        self.session = session
        self.station = station
        self.gate = gate
        self.mode = mode
        self.traveller_timeout_s = traveller_timeout_s
        self.events = events or EventLog()
        self.on_beat = on_beat or (lambda: None)
        self.on_check = on_check
        self.poll_s = poll_s
        self.gate_check_s = gate_check_s
        self.retry_s = retry_s
        self._lock = threading.RLock()
        self._state = LaneState.STARTING
        self._fault: dict[str, str] | None = None
        self._degraded: dict[str, str] = {}
        self.records = CheckRecords(keep)
        self._requested = threading.Event()
        self._officer: OfficerInput | None = None
        self.gate_tests = GateTests()
        self._cancelled = threading.Event()
        self._awaiting_removal = False
        self._last_gate_check = 0.0
        #: what the gate controller answered at the lane's last status query (the self-test
        #: of a running service reads this instead of talking to the controller itself)
        self.last_gate_state = GateState.UNKNOWN
        self.started_at = time.monotonic()
        face = session.lane.face
        if face is not None:  # the kiosk asks the traveller to look up when the capture starts
            if hasattr(face, "show") and face.show is None:  # and relays the liveness challenge
                face.show = self._show
            session.lane.face = _announcing(face, self)

    # ------------------------------------------------------------------ what observers read

    @property
    def state(self) -> LaneState:
        with self._lock:
            return self._state

    def status(self) -> dict[str, Any]:
        """The lane's state for the API and health: no personal data."""
        with self._lock:
            health = (
                "out_of_service"
                if self._state in (LaneState.OUT_OF_SERVICE, LaneState.STOPPED)
                else "degraded"
                if self._degraded
                else "ok"
            )
            return {
                "state": self._state.value,
                "mode": self.mode,
                "health": health,
                "fault": dict(self._fault) if self._fault else None,
                "degraded": dict(self._degraded),
                "checks": self.records.count,
                "last_event": self.events.last_seq,
            }

    def recent(self, count: int) -> list[CheckRecord]:
        return self.records.recent(count)

    def check(self, check_id: str) -> CheckRecord | None:
        return self.records.get(check_id)

    def find_ref(self, ref: str) -> CheckRecord | None:
        return self.records.find_ref(ref)

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Serve travellers until `stop` is set; leaves the gate closed."""
        self._set_state(LaneState.READY)
        self._ready_instruction()
        try:
            while not stop.is_set():
                try:
                    self.serve_one(stop, self.poll_s)
                except ApplianceError as exc:  # a device refused (a busy reader slot...)
                    self._out_of_service("lane", exc.reason, exc.detail)
                except Exception as exc:  # a bug or a driver fault: a state, never a crash
                    log.exception("lane loop iteration failed")
                    self._out_of_service("lane", Reason.INTERNAL_ERROR, type(exc).__name__)
        finally:
            self._close_gate()
            self._set_state(LaneState.STOPPED)

    def serve_one(self, stop: threading.Event, timeout_s: float) -> CheckRecord | None:
        """One iteration: recover, watch, and check a document if one comes within
        `timeout_s`; returns the check made, if any (the demo drives the lane with this)."""
        self.on_beat()
        if self.state is LaneState.STARTING:
            self._set_state(LaneState.READY)
        if self._maintenance_turn():  # a technician's gate test (lane_requests.py)
            return None
        if self.state is LaneState.OUT_OF_SERVICE and not self._recover():
            stop.wait(self.retry_s)
            return None
        self._between_travellers()
        if self.state is LaneState.OUT_OF_SERVICE:
            return None
        if self._awaiting_removal:
            self._check_removed(stop, timeout_s)
            if not self._awaiting_removal and self.state is not LaneState.OUT_OF_SERVICE:
                self._set_state(LaneState.READY)
                self._ready_instruction()
            return None
        if self.mode == "handheld":
            try:  # idle, but the reader must still be there (the officer sees it at once)
                self.station.document_present()
            except StationFault as exc:
                self._out_of_service("reader", exc.reason, exc.detail)
                return None
            if not self._requested.wait(timeout_s):
                return None
            return self._handheld(stop)
        try:
            present = self.station.wait_document(timeout_s)
        except StationFault as exc:
            self._out_of_service("reader", exc.reason, exc.detail)
            return None
        return self._process(stop) if present else None

    # ------------------------------------------------------------------ one traveller

    def _handheld(self, stop: threading.Event) -> CheckRecord | None:
        self._set_state(LaneState.WAITING_DOCUMENT)
        self._instruct(Instruction.PLACE_DOCUMENT)
        deadline = time.monotonic() + self.traveller_timeout_s
        try:
            while not stop.is_set() and not self._cancelled.is_set():
                self.on_beat()
                if self.station.wait_document(min(self.poll_s, 0.2)):
                    self._requested.clear()
                    return self._process(stop)
                if time.monotonic() >= deadline:
                    self.events.emit(EventType.FAULT, component="traveller",
                                     reason=Reason.TRAVELLER_TIMEOUT.value)  # fmt: skip
                    break
        except StationFault as exc:
            self._requested.clear()
            self._out_of_service("reader", exc.reason, exc.detail)
            return None
        if self._cancelled.is_set():
            self.events.emit(EventType.FAULT, component="check",
                             reason=Reason.CHECK_CANCELLED.value)  # fmt: skip
        self._requested.clear()
        self._cancelled.clear()
        self._set_state(LaneState.READY)
        return None

    def _process(self, stop: threading.Event) -> CheckRecord | None:
        self._set_state(LaneState.CHECKING)
        self._instruct(Instruction.KEEP_DOCUMENT)
        try:
            presented = self.station.open_document()
        except StationFault as exc:
            self._out_of_service("reader", exc.reason, exc.detail)
            return None
        start = time.perf_counter()
        try:
            tx = self._officer_transaction(presented.transport, presented.scanner)
            result = self.session.run(tx)
            gate_state = act_on(result, self.gate)
            transaction_ms = (time.perf_counter() - start) * 1000
            # what the door did, linked to the check (a decision to open is not a passage)
            self.session.record_gate_action(result, gate_state)
        finally:
            self.station.release(presented)
        record = self.records.add(
            result,
            mode=self.mode,
            gate=gate_state,
            transaction_ms=transaction_ms,
            ref=presented.ref,
        )
        self._after_decision(record)
        self._take_back(stop)
        if gate_state is GateState.OPEN:
            self._passage(stop, record)
        if self._awaiting_removal:  # the document is still on the reader: no next traveller yet
            if self.state is not LaneState.OUT_OF_SERVICE:
                self._set_state(LaneState.REMOVE_DOCUMENT)
        elif self.state is not LaneState.OUT_OF_SERVICE:
            self._set_state(LaneState.READY)
            self._ready_instruction()
        return record

    def _after_decision(self, record: CheckRecord) -> None:
        summary = record.summary()
        self.events.emit(
            EventType.DECISION,
            **{k: summary[k] for k in ("check_id", "decision", "reasons", "gate", "durable")},
            transaction_ms=summary["transaction_ms"],
        )
        self._camera_health(record)
        if self.on_check is not None:
            try:
                self.on_check(record)
            except Exception:  # an observer's bug must not stop the lane
                log.exception("lane observer failed")
        if record.result.decision.verdict is Verdict.REFER:
            self._instruct(Instruction.SEE_OFFICER)

    def _camera_health(self, record: CheckRecord) -> None:
        face = next((s for s in record.result.report.steps if s.name is StepName.BIOMETRICS), None)
        if face is None or face.status.value == "skipped":
            return
        with self._lock:
            if face.reason is Reason.CAMERA_UNAVAILABLE:
                new = "camera" not in self._degraded
                self._degraded["camera"] = Reason.CAMERA_UNAVAILABLE.value
            else:
                new = False
                self._degraded.pop("camera", None)
        if new:
            self.events.emit(EventType.FAULT, component="camera",
                             reason=Reason.CAMERA_UNAVAILABLE.value)  # fmt: skip

    def _take_back(self, stop: threading.Event) -> None:
        self._set_state(LaneState.REMOVE_DOCUMENT)
        self._instruct(Instruction.REMOVE_DOCUMENT)
        self._awaiting_removal = True
        self._check_removed(stop, self.traveller_timeout_s)
        if self._awaiting_removal and self.state is not LaneState.OUT_OF_SERVICE:
            self.events.emit(EventType.FAULT, component="traveller",
                             reason=Reason.TRAVELLER_TIMEOUT.value,
                             detail="document left on the reader")  # fmt: skip

    def _check_removed(self, stop: threading.Event, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        try:
            while not stop.is_set():
                if not self.station.document_present():
                    self._awaiting_removal = False
                    return
                if time.monotonic() >= deadline:
                    return
                self.on_beat()
                time.sleep(min(self.poll_s, 0.05))
        except StationFault as exc:
            self._out_of_service("reader", exc.reason, exc.detail)

    def _passage(self, stop: threading.Event, record: CheckRecord) -> None:
        assert self.gate is not None
        self._set_state(LaneState.PASSAGE)
        self._instruct(Instruction.WALK_THROUGH)
        deadline = time.monotonic() + self.traveller_timeout_s
        collected: list[str] = []
        while "passed" not in collected and not stop.is_set() and time.monotonic() < deadline:
            self.on_beat()
            collected += self.gate.wait_event("passed", min(0.25, self.traveller_timeout_s))
        record.gate_events = collected
        self._record_gate_events(collected)
        if "passed" not in collected:
            # nobody walked through (or the service is stopping): the door closes again
            self._close_gate()
            reason = Reason.TRAVELLER_TIMEOUT if not stop.is_set() else Reason.CHECK_CANCELLED
            self.events.emit(EventType.FAULT, component="traveller", reason=reason.value,
                             detail="no passage through the open gate")  # fmt: skip

    # ------------------------------------------------------------------ devices between travellers

    def _between_travellers(self) -> None:
        if self.gate is None:
            return
        # alarms between travellers are recorded as gate events, not held against the next
        try:
            events = self.gate.poll_events()
        except Exception as exc:
            self._out_of_service("gate", Reason.GATE_FAULT, type(exc).__name__)
            return
        self._record_gate_events(events)
        now = time.monotonic()
        if now - self._last_gate_check >= self.gate_check_s:
            self._last_gate_check = now
            if not self._gate_answers():
                self._out_of_service("gate", Reason.GATE_FAULT, "gate controller does not answer")

    def _gate_answers(self) -> bool:
        assert self.gate is not None
        try:
            self.last_gate_state = self.gate.state()
        except Exception:
            self.last_gate_state = GateState.FAULT
        return self.last_gate_state in (GateState.CLOSED, GateState.OPEN)

    def _recover(self) -> bool:
        """Out of service: is every device back? Then READY (the gate closed first)."""
        with self._lock:
            component = (self._fault or {}).get("component")
        try:
            if component == "gate" and (self.gate is None or not self._gate_answers()):
                return False
            self.station.document_present()  # raises while the reader is gone
        except StationFault:
            return False
        self._close_gate()
        with self._lock:
            self._fault = None
        self.events.emit(EventType.FAULT, component=component or "lane", reason=Reason.OK.value,
                         detail="back in service")  # fmt: skip
        self._set_state(LaneState.READY)
        self._ready_instruction()
        return True

    def _out_of_service(self, component: str, reason: Reason, detail: str) -> None:
        self._close_gate()
        with self._lock:
            same = self._fault is not None and self._fault.get("component") == component
            self._fault = {"component": component, "reason": reason.value, "detail": detail[:200]}
        if not same:
            log.warning("lane out of service: %s %s", component, reason.value)
            self.events.emit(EventType.FAULT, component=component, reason=reason.value)
        self._set_state(LaneState.OUT_OF_SERVICE, reason=reason.value)
        self._instruct(Instruction.LANE_CLOSED)

    def _close_gate(self) -> None:
        if self.gate is not None:
            with contextlib.suppress(Exception):
                self.gate.close()

    def _record_gate_events(self, names: list[str]) -> None:
        if not names:
            return
        self.events.emit(EventType.GATE, events=list(names))
        self.session.record_gate_events(parse_events(names))

    # ------------------------------------------------------------------ events

    def _fault_text(self) -> str:
        fault = self._fault or {}
        return f"{fault.get('component', 'lane')}: {fault.get('reason', '')}"

    def _set_state(self, state: LaneState, **data: Any) -> None:
        with self._lock:
            if self._state is state:
                return
            self._state = state
        self.events.emit(EventType.STATE, state=state.value, **data)

    def _instruct(self, instruction: Instruction) -> None:
        self.events.emit(EventType.INSTRUCTION, instruction=instruction.value)

    def _show(self, text: str) -> None:
        """The face step's words for the traveller, as the kiosk's codes."""
        instruction = Instruction.for_prompt(text)
        if instruction is not None:
            self._instruct(instruction)

    def _ready_instruction(self) -> None:
        if self.mode == "egate":
            self._instruct(Instruction.PLACE_DOCUMENT)
