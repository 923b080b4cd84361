"""The checks a lane keeps for its screens: the live capture for the newest only, as JPEG."""

from __future__ import annotations

import numpy as np

from appliance.errors import Reason
from appliance.inspection.lane_records import CheckRecord, CheckRecords
from appliance.inspection.policy import Decision, Verdict
from appliance.inspection.report import InspectionReport
from appliance.inspection.workflow import CheckResult
from appliance.ports import GateState


def result(live: np.ndarray | None) -> CheckResult:
    report = InspectionReport.model_construct(steps=[])
    decision = Decision(verdict=Verdict.REFER, reasons=(Reason.FACE_NO_MATCH,), officer=(),
                        policy_version=1)  # fmt: skip
    return CheckResult(report, decision, None, live)


def add(records: CheckRecords, live: np.ndarray | None) -> CheckRecord:
    return records.add(
        result(live), mode="egate", gate=GateState.CLOSED, transaction_ms=1.0, ref=None
    )


def test_the_newest_checks_keep_their_live_capture_as_jpeg_the_older_none() -> None:
    records = CheckRecords(keep=10, keep_live=2)
    frame = np.full((480, 640, 3), 128, np.uint8)
    added = [add(records, frame) for _ in range(3)]
    captures = [r.live_capture for r in added]
    assert captures[0] is None  # the third check pushed the first one's capture out
    assert all(c is not None and c[:3] == b"\xff\xd8\xff" for c in captures[1:])
    assert all(len(c or b"") < frame.nbytes // 10 for c in captures)
    assert all(r.result.live_image is None for r in added)  # the pixels are not kept
    assert add(records, None).live_capture is None
