"""The check session: run the named steps with a time limit each, decide, record, then act.

    session = CheckSession(lane, device)
    result = session.run(Transaction(transport, scanner))   # report + decision + receipt
    session.act_on(result, gate)                             # opens only a durable OPEN

Order matters for a border authority: the decision is appended to the tamper-evident history
and `act_on` opens the gate only when that append returned its receipt (committed, fsynced,
under a signed checkpoint). If the history cannot take the event the traveller is referred
(`HISTORY_STORAGE`) and the gate stays shut. Once the gate command has completed (or timed
out), a `gate_action` event linked to the check says what the door did: `OPENED`, or
`FAILED_TO_OPEN` with `GATE_FAULT` (a decision to open is not a passage), `KEPT_CLOSED` or
`FAILED_TO_CLOSE`.

Each step runs in a worker thread and is abandoned when it overruns the policy's limit for it
(`STEP_TIMEOUT`); the steps after it are not run, and the report says so. An abandoned thread
cannot be killed, so steps keep to bounded device calls (reads with their own time-outs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from appliance.errors import ApplianceError, LdsError, Reason
from appliance.history import Event, EventType, History, PersonalData, Receipt
from appliance.history.events import JsonValue
from appliance.history.stats import cohort_of
from appliance.inspection.gate_events import GateEvent
from appliance.inspection.policy import Decision, Verdict, decide, guidance
from appliance.inspection.report import (
    DocumentClass,
    InspectionReport,
    StepName,
    StepResult,
    build_report,
)
from appliance.inspection.steps import STEPS, Lane, Outcome, Step, Transaction
from appliance.ports import GateController, GateState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    location: str
    mode: Literal["egate", "handheld"] = "egate"


@dataclass(frozen=True)
class CheckResult:
    report: InspectionReport
    #: the decision acted on: the policy's, or REFER when it could not be recorded
    decision: Decision
    #: proof the event is durable; None when recording failed
    receipt: Receipt | None
    #: the live frame the face step compared (pixels; in memory only, never recorded or logged)
    live_image: Any = field(default=None, repr=False, compare=False)


def _run_with_timeout(step: Step, lane: Lane, tx: Transaction, timeout_s: float) -> Outcome:
    box: list[Outcome] = []

    def target() -> None:
        try:
            box.append(step(lane, tx))
        except ApplianceError as exc:
            box.append(Outcome.failed(exc.reason, exc.detail))
        except Exception as exc:  # a bug or a driver fault: refer, never crash the lane
            log.exception("inspection step failed")
            box.append(Outcome.failed(Reason.INTERNAL_ERROR, type(exc).__name__))

    worker = threading.Thread(target=target, name="inspection-step", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive() or not box:
        return Outcome.failed(Reason.STEP_TIMEOUT, f"no answer within {timeout_s:g} s")
    return box[0]


class CheckSession:
    """Runs one traveller's check at a lane (not thread-safe: one traveller at a time)."""

    def __init__(
        self,
        lane: Lane,
        device: DeviceInfo,
        steps: tuple[tuple[StepName, Step], ...] = STEPS,
        before_check: Callable[[Lane], object] | None = None,
    ) -> None:
        self.lane = lane
        self.device = device
        self.steps = steps
        #: called before each check: a running lane takes the material sync installed
        self.before_check = before_check
        #: told as each step starts (the lane's screens follow the traveller through the steps)
        self.on_step: Callable[[StepName, Transaction], None] | None = None
        #: the id the lane gave the check under way (its screens name it before the record)
        self.name_check: Callable[[], uuid.UUID | None] | None = None
        #: told each step's outcome as it is known (the officer's report fills step by step)
        self.on_step_done: Callable[[StepResult], None] | None = None

    def inspect(self, tx: Transaction) -> InspectionReport:
        """Run every step and build the report (no decision, nothing recorded)."""
        started = self.lane.clock()
        start = time.perf_counter()
        results: list[StepResult] = []
        stopped_by: StepName | None = None
        for name, step in self.steps:
            if stopped_by is not None:
                results.append(
                    StepResult.skipped(
                        name, f"not run: {stopped_by} timed out", blocked_by=stopped_by
                    )
                )
                self._tell_done(results[-1])
                continue
            if self.on_step is not None:
                try:
                    self.on_step(name, tx)
                except Exception:  # an observer's bug must not change the check
                    log.exception("step observer failed")
            t = time.perf_counter()
            out = _run_with_timeout(step, self.lane, tx, self.lane.mode.timeout_s(name))
            duration = (time.perf_counter() - t) * 1000
            if out.reason is Reason.STEP_TIMEOUT:
                stopped_by = name
            results.append(
                StepResult(
                    name=name,
                    status=out.status,
                    reason=out.reason,
                    detail=out.detail,
                    duration_ms=round(duration, 3),
                    attempts=out.attempts,
                    facts=out.facts,
                    checks=out.checks,
                    timings_ms=out.timings_ms,
                )
            )
            self._tell_done(results[-1])
        fields = tx.fields
        document = (
            DocumentClass(
                issuing_state=fields.issuing_state, document_type=fields.document_code[:1]
            )
            if fields is not None
            else None
        )
        return build_report(
            steps=results,
            started_at=started,
            device_id=self.device.device_id,
            location=self.device.location,
            mode=self.device.mode,
            document=document,
            total_ms=(time.perf_counter() - start) * 1000,
        )

    def _tell_done(self, result: StepResult) -> None:
        if self.on_step_done is not None:
            try:
                self.on_step_done(result)
            except Exception:  # an observer's bug must not change the check
                log.exception("step observer failed")

    def run(self, tx: Transaction, *, event_id: uuid.UUID | None = None) -> CheckResult:
        """Inspect, decide under the lane's policy, and record the event durably (as
        `event_id` when given: the lane names the check before it starts, for its screens)."""
        if self.before_check is not None:
            self.before_check(self.lane)
        report = self.inspect(tx)
        decision = decide(report, self.lane.policy)
        if event_id is None and self.name_check is not None:
            event_id = self.name_check()
        try:
            event = _check_event(report, decision, tx)
            if event_id is not None:
                event = dataclasses.replace(event, event_id=event_id)
            receipt = self.lane.history.append(event)
        except ApplianceError as exc:
            log.error("history append failed: %s", exc.reason.value)
            return CheckResult(report, _unrecorded(decision), None, tx.live_image)
        return CheckResult(report, decision, receipt, tx.live_image)

    def act_on(self, result: CheckResult, gate: GateController | None) -> GateState:
        """Drive the exit door (see `act_on`) and record what it did, linked to the check."""
        return act_on(result, gate, self.lane.history)

    def record_gate_action(self, result: CheckResult, state: GateState) -> Receipt | None:
        """Record what the door did after `act_on` (for callers that time the command first)."""
        return record_gate_action(self.lane.history, result, state)

    def record_gate_events(self, events: list[GateEvent]) -> list[Receipt]:
        """Append gate-controller events (alarms outside a check included) to the history."""
        if not events:
            return []
        return self.lane.history.append_batch(
            [
                Event(
                    EventType.GATE_EVENT,
                    e.kind.value,
                    reasons=[e.reason.value],
                    public={"raw": e.raw} if e.raw else {},
                )
                for e in events
            ]
        )


def _unrecorded(decision: Decision) -> Decision:
    reasons = (*tuple(r for r in decision.reasons if r is not Reason.OK), Reason.HISTORY_STORAGE)
    return Decision(
        verdict=Verdict.REFER,  # an unrecorded check is never a clean one, in either mode
        reasons=reasons,
        officer=tuple(guidance(r) for r in reasons),
        policy_version=decision.policy_version,
    )


def _check_event(report: InspectionReport, decision: Decision, tx: Transaction) -> Event:
    """The history event: report and decision in clear (no personal data in them), the
    holder's data sealed per record, the document as a keyed pseudonym."""
    fields = tx.fields
    personal = None
    if fields is not None:
        personal = PersonalData(
            surname=fields.surname,
            given_names=fields.given_names,
            date_of_birth=fields.date_of_birth,
            document_number=fields.document_number,
            nationality=fields.nationality,
            face_image=_face_bytes(tx),
        )
    public: dict[str, JsonValue] = {"report": report.to_json(), "decision": decision.to_json()}
    if fields is not None:  # coarse groups for `history stats`: no birth date, name or number
        public["cohort"] = cohort_of(
            fields.sex, fields.date_of_birth_iso, fields.nationality, report.started_at.date()
        )
    return Event(
        EventType.CHECK,
        decision.verdict.value,
        reasons=[r.value for r in decision.reasons],
        public=public,
        document=tx.document_ref(),
        personal=personal,
    )


def _face_bytes(tx: Transaction) -> bytes | None:
    """The chip portrait for the personal part of the record, from the document's one DG2 model."""
    if tx.document is None or "DG2.bin" not in tx.document.files:
        return None
    try:
        return tx.document.dg2().face.data
    except (LdsError, IndexError):
        return None


class GateAction(StrEnum):
    """What the exit door did after a check (the outcome of a `gate_action` event)."""

    OPENED = "OPENED"
    FAILED_TO_OPEN = "FAILED_TO_OPEN"
    KEPT_CLOSED = "KEPT_CLOSED"
    FAILED_TO_CLOSE = "FAILED_TO_CLOSE"


def _opens(result: CheckResult) -> bool:
    return result.decision.verdict is Verdict.OPEN and result.receipt is not None


def act_on(
    result: CheckResult, gate: GateController | None, history: History | None = None
) -> GateState:
    """Drive the exit door: open only for a durable OPEN; anything else keeps it closed.

    With `history`, a `gate_action` event then records what the door did (see the module
    docstring). A controller that raises is a fault: the door is told to close again.
    """
    if gate is None:
        return GateState.UNKNOWN
    try:
        if _opens(result):
            gate.open()
        else:
            gate.close()
        state = gate.state()
    except Exception as exc:  # a driver fault must not crash the lane, nor count as open
        log.warning("gate: command failed (%s); closing", type(exc).__name__)
        with contextlib.suppress(Exception):
            gate.close()
        state = GateState.FAULT
    if history is not None:
        record_gate_action(history, result, state)
    return state


def gate_action_event(result: CheckResult, state: GateState) -> Event:
    """The `gate_action` event: what the door did, linked to the check's history record."""
    opening = _opens(result)
    if opening:
        action = GateAction.OPENED if state is GateState.OPEN else GateAction.FAILED_TO_OPEN
    else:
        action = GateAction.KEPT_CLOSED if state is GateState.CLOSED else GateAction.FAILED_TO_CLOSE
    failed = action in (GateAction.FAILED_TO_OPEN, GateAction.FAILED_TO_CLOSE)
    receipt = result.receipt
    check: JsonValue = (
        None if receipt is None else {"index": receipt.index, "event_id": receipt.event_id}
    )
    return Event(
        EventType.GATE_ACTION,
        action.value,
        reasons=[Reason.GATE_FAULT.value if failed else Reason.OK.value],
        public={"command": "open" if opening else "close", "state": state.value, "check": check},
    )


def record_gate_action(history: History, result: CheckResult, state: GateState) -> Receipt | None:
    """Append the `gate_action` event; a history that fails is logged, the door already acted."""
    try:
        return history.append(gate_action_event(result, state))
    except ApplianceError as exc:
        log.error("history append of the gate action failed: %s", exc.reason.value)
        return None
