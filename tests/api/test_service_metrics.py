"""The service's metrics (appliance/api/metrics.py) count chip errors by reason and decisions by
verdict and reason from each check the lane records."""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.api.metrics import LaneMetrics
from appliance.errors import Reason
from appliance.inspection.lane_records import CheckRecord
from appliance.inspection.policy import Decision, Verdict
from appliance.inspection.report import CheckStatus, StepName, StepResult, build_report
from appliance.inspection.workflow import CheckResult
from appliance.ports import GateState


def record(reason: Reason) -> CheckRecord:
    steps = [
        StepResult(name=StepName.DOCUMENT_PRESENCE, status=CheckStatus.PASS, duration_ms=1.0),
        StepResult(
            name=StepName.CHIP_ACCESS, status=CheckStatus.FAIL, reason=reason, duration_ms=12.0
        ),
    ]
    report = build_report(
        steps=steps, started_at=datetime.now(UTC), device_id="gate-1", location="LAB",
        mode="egate", document=None, total_ms=13.0,
    )  # fmt: skip
    decision = Decision(verdict=Verdict.REFER, reasons=(reason,), officer=(), policy_version=1)
    return CheckRecord("c1", 1, "egate", CheckResult(report, decision, None), GateState.CLOSED,
                       13.0, "2026-01-01T00:00:00Z")  # fmt: skip


def test_chip_errors_and_decisions_are_counted_by_reason() -> None:
    metrics = LaneMetrics()
    metrics.observe(record(Reason.CHIP_REMOVED))
    metrics.observe(record(Reason.CHIP_REMOVED))
    metrics.observe(record(Reason.PACE_FAILED))
    text = metrics.render().decode()
    assert 'appliance_chip_errors_total{reason="CHIP_REMOVED"} 2.0' in text
    assert 'appliance_chip_errors_total{reason="PACE_FAILED"} 1.0' in text
    assert 'appliance_decisions_total{reason="CHIP_REMOVED",verdict="REFER"} 2.0' in text
    assert 'appliance_step_duration_seconds_count{step="chip_access"} 3.0' in text
    assert 'appliance_step_duration_seconds_count{step="document_presence"} 3.0' in text
