"""The decision policy: a pure function of the report and the signed configuration, fail closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.emrtd.auth.checks import CheckStatus
from appliance.errors import Reason
from appliance.inspection.policy import PolicyConfig, Verdict, decide, guidance
from appliance.inspection.report import InspectionReport, StepName, StepResult, build_report

POLICY = PolicyConfig(version=3)
ALL = list(StepName)


def step(
    name: StepName, status: CheckStatus = CheckStatus.PASS, reason: Reason = Reason.OK, **facts: str
) -> StepResult:
    return StepResult(name=name, status=status, reason=reason, duration_ms=1.0, facts=facts)


def report(steps: list[StepResult], mode: str = "egate") -> InspectionReport:
    return build_report(
        steps=steps,
        started_at=datetime(2026, 5, 1, tzinfo=UTC),
        device_id="g",
        location="L",
        mode=mode,
        document=None,
        total_ms=1.0,
    )  # type: ignore[arg-type]


def all_pass(**override: StepResult) -> list[StepResult]:
    return [override.get(n.value, step(n)) for n in ALL]


def test_every_required_step_passed_opens() -> None:
    decision = decide(report(all_pass()), POLICY)
    assert decision.verdict is Verdict.OPEN
    assert decision.reasons == (Reason.OK,)
    assert decision.officer == ()
    assert decision.policy_version == 3


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (StepName.AUTHENTICITY, Reason.PA_DG_HASH_MISMATCH),
        (StepName.AUTHENTICITY, Reason.CHIP_CLONE_SUSPECTED),
        (StepName.WATCHLIST, Reason.WATCHLIST_HIT),
        (StepName.REPEATED_USE, Reason.DOCUMENT_REUSED),
        (StepName.BIOMETRICS, Reason.FACE_NO_MATCH),
        (StepName.GATE_SENSORS, Reason.TAILGATING),
        (StepName.GATE_SENSORS, Reason.GATE_MANUAL_OPEN),
        (StepName.DOCUMENT_VALIDITY, Reason.DOCUMENT_EXPIRED),
        (StepName.CHIP_ACCESS, Reason.STEP_TIMEOUT),
    ],
)
def test_each_exception_case_refers_with_its_reason_and_officer_line(
    name: StepName, reason: Reason
) -> None:
    decision = decide(
        report(all_pass(**{name.value: step(name, CheckStatus.FAIL, reason)})), POLICY
    )
    assert decision.verdict is Verdict.REFER
    assert decision.reasons == (reason,)
    assert decision.officer == (guidance(reason),)
    assert "Refer to an officer" not in decision.officer[0]  # a specific line, not the fallback


def test_warning_refers_unless_the_policy_accepts_it() -> None:
    warned = all_pass(mrz=step(StepName.MRZ, CheckStatus.WARN, Reason.MRZ_COUNTRY_UNKNOWN))
    assert decide(report(warned), POLICY).reasons == (Reason.MRZ_COUNTRY_UNKNOWN,)
    accepted = all_pass(mrz=step(StepName.MRZ, CheckStatus.WARN, Reason.MRZ_NAME_TRUNCATED))
    assert decide(report(accepted), POLICY).verdict is Verdict.OPEN


def test_required_step_skipped_or_absent_refers_as_missing() -> None:
    skipped = all_pass(biometrics=StepResult.skipped(StepName.BIOMETRICS, "no verifier"))
    assert decide(report(skipped), POLICY).reasons == (Reason.STEP_MISSING,)
    absent = [s for s in all_pass() if s.name is not StepName.WATCHLIST]
    assert decide(report(absent), POLICY).reasons == (Reason.STEP_MISSING,)
    assert decide(report([]), POLICY).verdict is Verdict.REFER


def test_policy_without_biometrics_lets_the_skipped_step_pass() -> None:
    policy = PolicyConfig(
        version=1,
        egate=POLICY.egate.model_copy(
            update={"required_steps": tuple(n for n in ALL if n is not StepName.BIOMETRICS)}
        ),
    )
    skipped = all_pass(biometrics=StepResult.skipped(StepName.BIOMETRICS, "no verifier"))
    assert decide(report(skipped), policy).verdict is Verdict.OPEN


def test_steps_blocked_by_a_failure_show_the_cause_only() -> None:
    steps = all_pass(
        chip_access=step(StepName.CHIP_ACCESS, CheckStatus.FAIL, Reason.CHIP_ACCESS_DENIED),
        data_groups=StepResult.skipped(StepName.DATA_GROUPS, "x", blocked_by=StepName.CHIP_ACCESS),
        authenticity=StepResult.skipped(
            StepName.AUTHENTICITY, "x", blocked_by=StepName.DATA_GROUPS
        ),
    )
    assert decide(report(steps), POLICY).reasons == (Reason.CHIP_ACCESS_DENIED,)


def test_a_blocked_by_claim_that_is_not_true_still_counts_as_missing() -> None:
    steps = all_pass(
        authenticity=StepResult.skipped(StepName.AUTHENTICITY, "x", blocked_by=StepName.MRZ)
    )
    assert decide(report(steps), POLICY).reasons == (Reason.STEP_MISSING,)


def test_handheld_advises_with_the_same_reasons() -> None:
    failed = all_pass(watchlist=step(StepName.WATCHLIST, CheckStatus.FAIL, Reason.WATCHLIST_HIT))
    decision = decide(report(failed, "handheld"), POLICY)
    assert decision.verdict is Verdict.ADVISE
    assert decision.reasons == (Reason.WATCHLIST_HIT,)
    assert decide(report(all_pass(), "handheld"), POLICY).verdict is Verdict.ADVISE


statuses = st.sampled_from(list(CheckStatus))
reasons = st.sampled_from([r for r in Reason if r is not Reason.OK])


@given(st.lists(st.tuples(st.sampled_from(ALL), statuses, reasons), max_size=12))
def test_fail_closed_opens_only_when_nothing_speaks_against(
    items: list[tuple[StepName, CheckStatus, Reason]],
) -> None:
    steps = [step(n, s, Reason.OK if s is CheckStatus.PASS else r) for n, s, r in items]
    decision = decide(report(steps), POLICY)
    if decision.verdict is Verdict.OPEN:
        assert not any(s.status is CheckStatus.FAIL for s in steps)
        assert not any(
            s.status is CheckStatus.WARN and s.reason not in POLICY.egate.accepted_warnings
            for s in steps
        )
        for required in POLICY.egate.required_steps:
            ran = [s for s in steps if s.name is required]
            assert ran and all(s.status is not CheckStatus.SKIPPED for s in ran)
    else:
        assert decision.reasons and Reason.OK not in decision.reasons
    assert decide(report(steps), POLICY) == decision  # pure: same inputs, same answer
