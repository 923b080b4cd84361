"""One traveller checked by an officer (handheld mode): the lane's own session, run once.

    outcome = run_handheld_check(config, directory, HandheldRequest(reader="virtual", ...))

It is the e-gate's check session (`CheckSession` over `steps.STEPS`), under the signed
policy's handheld mode, recorded in the history exactly as the lane records a traveller; only
the devices differ: the MRZ comes from the officer (`--mrz` lines, or none), the chip key may
be a CAN or a typed-in number and dates, and there is no gate. `appliance check` and (later)
the service's handheld endpoint both call it.

The policy answers a handheld check with `ADVISE` when it found nothing and `REFER` with its
reasons otherwise (the officer decides, `policy.decide`); the history records that answer.
This module also reports `ADVISE` only when every required step passed and the event is
durable (`positive`), a second look at what the policy already requires, so that the exit
code cannot say "clean" for a check that was not.

Faults before any check (no policy, no reader, no card) raise `ApplianceError`: nothing is
recorded, because no document was checked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.config import Config
from appliance.emrtd.officer_input import wait_for_document
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.session import AccessKey
from appliance.errors import ApplianceError, Reason
from appliance.inspection.face_step import VIRTUAL_CAMERA
from appliance.inspection.lane import face_check, open_lane
from appliance.inspection.policy import Decision, ModePolicy, Verdict, mandatory_check_proven
from appliance.inspection.report import StepName
from appliance.inspection.station import camera_mrz_scanner
from appliance.inspection.steps import STEPS, Lane, Outcome, Step, Transaction
from appliance.inspection.steps import mrz as printed_mrz_step
from appliance.inspection.workflow import CheckResult, CheckSession, DeviceInfo
from appliance.models import use_overlay
from appliance.ports import CardTransport, DecodedSymbol, FramedMrzScanner, MrzScanner
from appliance.wiring import VIRTUAL_READER, open_card_transport

log = logging.getLogger("appliance.check")

#: the product's face step, used for `--camera` when the config names none
PRODUCT_FACE_STEP = "appliance.inspection.face_step:from_config"


@dataclass(frozen=True)
class HandheldRequest:
    """What the officer gave: the reader (None: the configured one), the printed MRZ lines,
    an explicit chip key (None: from the MRZ) and whether to verify the face on a camera."""

    reader: str | None = None
    mrz_lines: tuple[str, ...] = ()
    access_key: AccessKey | None = None
    camera: bool = False
    #: barcodes shown with the document (a visa seal), as the scanner decoded them
    seals: tuple[DecodedSymbol, ...] = ()
    #: read the printed MRZ on the camera (frames fused) instead of taking `mrz_lines`
    mrz_camera: bool = False


@dataclass(frozen=True)
class HandheldOutcome:
    result: CheckResult
    #: ADVISE (nothing against the document) or REFER (see the module docstring)
    verdict: Verdict
    #: the policy's reasons, and the officer's guidance for each
    reasons: tuple[Reason, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.verdict is Verdict.ADVISE

    @property
    def check_id(self) -> int | None:
        receipt = self.result.receipt
        return receipt.index if receipt is not None else None

    def to_json(self) -> dict[str, Any]:
        decision = self.result.decision
        receipt = self.result.receipt
        first = next((r for r in self.reasons if r is not Reason.OK), Reason.OK)
        return {
            "status": "pass" if self.positive else "fail",
            "reason": first.value,
            "decision": self.verdict.value,
            "reasons": [r.value for r in self.reasons],
            "officer": list(decision.officer),
            "policy": decision.to_json(),
            "check_id": self.check_id,
            "event_id": receipt.event_id if receipt is not None else None,
            "recorded": receipt is not None,
            "report": self.result.report.to_json(),
            "timings_ms": self.timings_ms,
        }


class _OfficerMrz:
    """The `MrzScanner` of a handheld check: the lines the officer typed or scanned."""

    def __init__(self, lines: tuple[str, ...]) -> None:
        self._lines = lines

    def lines(self, timeout_s: float) -> list[str] | None:
        return list(self._lines) or None


class _CameraMrz:
    """The `MrzScanner` of a handheld check with `--mrz-camera`: the printed MRZ read once on
    the camera, frames fused until confident (`camera_scanner`), and how many it took."""

    def __init__(self, scanner: MrzScanner, timeout_s: float) -> None:
        self._scanner = scanner
        self._timeout_s = timeout_s
        self._lines: list[str] | None = None
        self._read = False

    def lines(self, timeout_s: float) -> list[str] | None:
        if not self._read:  # the step looks, then reads: one camera read for both
            self._lines = self._scanner.lines(self._timeout_s)
            self._read = True
        return self._lines

    @property
    def frames_used(self) -> int | None:
        scanner = self._scanner
        return scanner.frames_used if isinstance(scanner, FramedMrzScanner) else None

    def close(self) -> None:
        closer = getattr(self._scanner, "close", None)
        if callable(closer):
            closer()


def _open_mrz_camera(config: Config) -> MrzScanner:
    """The MRZ read on the handheld's camera (`face.camera`); `CAMERA_UNAVAILABLE` when there
    is none (the simulated "virtual" camera has no frames in the product) or it fails to open."""
    if config.face.camera == VIRTUAL_CAMERA:
        raise ApplianceError(
            Reason.CAMERA_UNAVAILABLE, 'face.camera is "virtual": no camera to read the MRZ on'
        )
    try:
        return camera_mrz_scanner(config, config.face.camera)
    except ApplianceError:
        raise
    except Exception as exc:  # a driver's own fault: a reason, no traceback
        raise ApplianceError(Reason.CAMERA_UNAVAILABLE, type(exc).__name__) from exc


def _mrz_step(lane: Lane, tx: Transaction) -> Outcome:
    """The lane's MRZ step, or skipped when the officer gave none (the policy then refers:
    the chip cannot be compared with the printed page). An MRZ the camera could not read
    fails the step (MRZ_UNREADABLE)."""
    if isinstance(tx.scanner, _CameraMrz):
        return printed_mrz_step(lane, tx)
    if not tx.scanner.lines(0):
        return Outcome.skipped("no printed MRZ given: the chip is not compared with the page")
    return printed_mrz_step(lane, tx)


#: the lane's steps, with the MRZ taken from the officer
HANDHELD_STEPS: tuple[tuple[StepName, Step], ...] = tuple(
    (name, _mrz_step if name is StepName.MRZ else step) for name, step in STEPS
)


def handheld_config(config: Config, camera: bool = False) -> Config:
    """The config in handheld mode; with `camera`, the product's face step when none is set."""
    device = config.device.model_copy(update={"mode": "handheld"})
    update: dict[str, Any] = {"device": device}
    if camera and not config.inspection.face_verifier:
        update["inspection"] = config.inspection.model_copy(
            update={"face_verifier": PRODUCT_FACE_STEP}
        )
    return config.model_copy(update=update)


def positive(result: CheckResult, mode: ModePolicy) -> bool:
    """Nothing against the document: the policy found no reason, every required step passed
    (or warned as the policy accepts), and the event is durable."""
    if result.receipt is None or result.decision.reasons != (Reason.OK,):
        return False
    steps = {s.name: s for s in result.report.steps}
    for name in mode.required_steps:
        step = steps.get(name)
        if step is None or not mandatory_check_proven(step.status, step.reason, mode):
            return False
    return all(s.status is not CheckStatus.FAIL for s in result.report.steps)


def _verdict(result: CheckResult, mode: ModePolicy) -> tuple[Verdict, tuple[Reason, ...]]:
    decision: Decision = result.decision
    if positive(result, mode):
        return Verdict.ADVISE, (Reason.OK,)
    reasons = tuple(r for r in decision.reasons if r is not Reason.OK)
    return Verdict.REFER, reasons or (Reason.STEP_MISSING,)


def _open_reader(config: Config, reader: str | None) -> CardTransport:
    """The transport, with a driver's own errors turned into reason codes."""
    try:
        return open_card_transport(config, reader)
    except ApplianceError:
        raise
    except Exception as exc:  # a driver fault: a reason code, never a traceback
        if type(exc).__name__ == "ReaderNotFound":
            raise ApplianceError(Reason.READER_NOT_FOUND, str(exc)) from exc
        raise ApplianceError(Reason.READER_NOT_FOUND, type(exc).__name__) from exc


def run_handheld_check(
    config: Config, directory: Path, request: HandheldRequest
) -> HandheldOutcome:
    """Check one document in handheld mode and record it; raises `ApplianceError` for faults
    before the check (policy refused, no reader, no document, camera refused)."""
    started = time.perf_counter()
    use_overlay(directory)  # models sync installed come before the shipped ones
    cfg = handheld_config(config, request.camera)
    name = request.reader or cfg.chip.reader
    log.info(
        "check started",
        extra={"mode": "handheld", "reader_kind": "virtual" if name == VIRTUAL_READER else "pcsc"},
    )
    lane = open_lane(cfg, directory, face=face_check(cfg))
    scanner: MrzScanner = _OfficerMrz(request.mrz_lines)
    try:
        if request.mrz_camera:
            scanner = _CameraMrz(_open_mrz_camera(cfg), lane.mrz_timeout_s)
        transport = _open_reader(cfg, request.reader)
        try:
            wait_for_document(transport, cfg.chip.presence_timeout_s)
            ready = time.perf_counter()
            device = DeviceInfo(cfg.device.device_id, cfg.device.location, "handheld")
            session = CheckSession(lane, device, HANDHELD_STEPS)
            tx = Transaction(
                transport,
                scanner,
                access_key=request.access_key,
                seals=request.seals,
            )
            result = session.run(tx)
        finally:
            transport.disconnect()
    finally:
        lane.history.close()
        if isinstance(scanner, _CameraMrz):
            scanner.close()
    for step in result.report.steps:
        log.debug(
            "step done",
            extra={"step": step.name, "status": step.status, "reason": step.reason,
                   "duration_ms": step.duration_ms},
        )  # fmt: skip
    verdict, reasons = _verdict(result, lane.mode)
    timings = {
        "setup": round((ready - started) * 1000, 3),
        "check": round(result.report.total_ms, 3),
        "total": round((time.perf_counter() - started) * 1000, 3),
    }
    log.info(
        "check decided",
        extra={"decision": verdict, "reasons": [r.value for r in reasons],
               "check_id": result.receipt.index if result.receipt else None,
               "policy_version": result.decision.policy_version, "total_ms": timings["total"]},
    )  # fmt: skip
    return HandheldOutcome(result, verdict, reasons, timings)
