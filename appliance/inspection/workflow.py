"""The check session: run the named steps with a time limit each, decide, record, then act.

    session = CheckSession(lane, device)
    result = session.run(Transaction(transport, scanner))   # report + decision + receipt
    act_on(result, gate)                                     # opens only a durable OPEN

Order matters for a border authority: the decision is appended to the tamper-evident history
and `act_on` opens the gate only when that append returned its receipt (committed, fsynced,
under a signed checkpoint). If the history cannot take the event the traveller is referred
(`HISTORY_STORAGE`) and the gate stays shut.

Each step runs in a worker thread and is abandoned when it overruns the policy's limit for it
(`STEP_TIMEOUT`); the steps after it are not run, and the report says so. An abandoned thread
cannot be killed, so steps keep to bounded device calls (reads with their own time-outs).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal

from appliance.emrtd.lds import dg2 as dg2_file
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.history import Event, EventType, PersonalData, Receipt
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
    ) -> None:
        self.lane = lane
        self.device = device
        self.steps = steps

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
                continue
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

    def run(self, tx: Transaction) -> CheckResult:
        """Inspect, decide under the lane's policy, and record the event durably."""
        report = self.inspect(tx)
        decision = decide(report, self.lane.policy)
        try:
            receipt = self.lane.history.append(_check_event(report, decision, tx))
        except ApplianceError as exc:
            log.error("history append failed: %s", exc.reason.value)
            return CheckResult(report, _unrecorded(decision), None)
        return CheckResult(report, decision, receipt)

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
    verdict = Verdict.ADVISE if decision.verdict is Verdict.ADVISE else Verdict.REFER
    return Decision(
        verdict=verdict,
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
    return Event(
        EventType.CHECK,
        decision.verdict.value,
        reasons=[r.value for r in decision.reasons],
        public={"report": report.to_json(), "decision": decision.to_json()},
        document=tx.document_ref(),
        personal=personal,
    )


def _face_bytes(tx: Transaction) -> bytes | None:
    data = tx.document.files.get("DG2.bin") if tx.document is not None else None
    if data is None:
        return None
    try:
        return dg2_file.parse(data).face.data
    except (LdsError, IndexError):
        return None


def act_on(result: CheckResult, gate: GateController | None) -> GateState:
    """Drive the exit door: open only for a durable OPEN; anything else keeps it closed."""
    if gate is None:
        return GateState.UNKNOWN
    if result.decision.verdict is Verdict.OPEN and result.receipt is not None:
        gate.open()
    else:
        gate.close()
    return gate.state()
