"""The decision policy: a pure function of the report and the signed configuration, fail closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.emrtd.pki.checks import GATE_MANDATORY_CHECKS, CheckName, CheckStatus
from appliance.errors import Reason
from appliance.inspection.policy import PolicyConfig, Verdict, decide, guidance
from appliance.inspection.report import (
    InspectionReport,
    StepName,
    StepResult,
    SubCheck,
    build_report,
)

POLICY = PolicyConfig(version=3)
ALL = list(StepName)


def proven(status: CheckStatus = CheckStatus.PASS) -> tuple[SubCheck, ...]:
    """The authenticity step's mandatory sub-checks, all with `status`."""
    return tuple(
        SubCheck(name=n.value, status=status, reason=Reason.OK) for n in GATE_MANDATORY_CHECKS
    )


def step(
    name: StepName,
    status: CheckStatus = CheckStatus.PASS,
    reason: Reason = Reason.OK,
    checks: tuple[SubCheck, ...] | None = None,
    **facts: str,
) -> StepResult:
    """A step result; an authenticity step carries its mandatory sub-checks, passed."""
    if checks is None:
        checks = proven() if name is StepName.AUTHENTICITY else ()
    return StepResult(
        name=name, status=status, reason=reason, duration_ms=1.0, facts=facts, checks=checks
    )


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


def test_handheld_refers_with_the_same_reasons_and_advises_only_a_clean_check() -> None:
    failed = all_pass(watchlist=step(StepName.WATCHLIST, CheckStatus.FAIL, Reason.WATCHLIST_HIT))
    decision = decide(report(failed, "handheld"), POLICY)
    assert decision.verdict is Verdict.REFER
    assert decision.reasons == (Reason.WATCHLIST_HIT,)
    clean = decide(report(all_pass(), "handheld"), POLICY)
    assert clean.verdict is Verdict.ADVISE and clean.reasons == (Reason.OK,)


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


def test_authenticity_step_without_its_mandatory_checks_never_opens() -> None:
    """A chip without EF.SOD once passed as "genuine" with every PA check skipped."""
    bare = all_pass(authenticity=step(StepName.AUTHENTICITY, checks=()))
    assert decide(report(bare), POLICY).reasons == (Reason.PA_NOT_CHECKED,)
    skipped = all_pass(authenticity=step(StepName.AUTHENTICITY, checks=proven(CheckStatus.SKIPPED)))
    assert decide(report(skipped), POLICY).verdict is Verdict.REFER


mandatory_outcomes = st.fixed_dictionaries(
    {n: st.one_of(st.none(), statuses) for n in GATE_MANDATORY_CHECKS}
)


@settings(max_examples=1000)
@given(
    st.sampled_from([CheckStatus.PASS, CheckStatus.WARN]),
    st.sampled_from([Reason.OK, *POLICY.egate.accepted_warnings, Reason.PA_NOT_CHECKED]),
    mandatory_outcomes,
    st.lists(st.tuples(st.sampled_from(list(CheckName)), statuses), max_size=4),
)
def test_no_skipped_missing_or_failed_mandatory_check_opens(
    step_status: CheckStatus,
    step_reason: Reason,
    outcomes: dict[CheckName, CheckStatus | None],
    extra: list[tuple[CheckName, CheckStatus]],
) -> None:
    """Property: whatever the authenticity step claims, OPEN needs every mandatory check
    (signature, DS chain, validity, DG hashes, DG1 = print) present and passed, or warned
    for a reason the signed policy accepts."""
    checks = [
        SubCheck(name=n.value, status=s, reason=Reason.OK if s is CheckStatus.PASS else step_reason)
        for n, s in outcomes.items()
        if s is not None
    ]
    # extra entries: a second sod_signature that passes cannot outvote one that did not
    checks += [
        SubCheck(name=n.value, status=s, reason=Reason.OK if s is CheckStatus.PASS else step_reason)
        for n, s in extra
    ]
    auth = step(StepName.AUTHENTICITY, step_status, step_reason, checks=tuple(checks))
    decision = decide(report(all_pass(authenticity=auth)), POLICY)
    accepted = step_reason in POLICY.egate.accepted_warnings

    def proven_status(status: CheckStatus | None) -> bool:
        return status is CheckStatus.PASS or (status is CheckStatus.WARN and accepted)

    entries = {n: [c.status for c in checks if c.name == n.value] for n in GATE_MANDATORY_CHECKS}
    all_proven = all(e and all(proven_status(s) for s in e) for e in entries.values())
    if decision.verdict is Verdict.OPEN:
        assert all_proven
    if not all_proven:
        assert decision.verdict is Verdict.REFER


@pytest.mark.parametrize("dropped", [StepName.AUTHENTICITY, StepName.CHIP_ACCESS, StepName.MRZ])
def test_a_signed_policy_cannot_let_the_gate_skip_the_document_checks(dropped: StepName) -> None:
    import tomli_w

    from appliance.errors import ApplianceError
    from appliance.inspection.policy import default_policy_toml, parse_policy

    data = parse_policy(default_policy_toml()).model_dump(mode="json")
    data["egate"]["required_steps"] = [s for s in data["egate"]["required_steps"] if s != dropped]
    with pytest.raises(ApplianceError) as refused:
        parse_policy(tomli_w.dumps(data).encode())
    assert refused.value.reason is Reason.POLICY_INVALID
    assert dropped.value in refused.value.detail


def test_an_accepted_warning_does_not_hide_another_one_inside_the_step() -> None:
    """The step names its first warning; one the policy does not accept still refers."""
    policy = PolicyConfig(
        version=1,
        egate=POLICY.egate.model_copy(
            update={"accepted_warnings": (Reason.SOD_CONTENT_TYPE_NONSTANDARD,)}
        ),
    )
    nonstandard = SubCheck(
        name="sod_signature", status=CheckStatus.WARN, reason=Reason.SOD_CONTENT_TYPE_NONSTANDARD
    )
    others = tuple(c for c in proven() if c.name != "sod_signature")
    accepted = step(
        StepName.AUTHENTICITY,
        CheckStatus.WARN,
        Reason.SOD_CONTENT_TYPE_NONSTANDARD,
        checks=(nonstandard, *others),
    )
    assert decide(report(all_pass(authenticity=accepted)), policy).verdict is Verdict.OPEN
    assert decide(report(all_pass(authenticity=accepted)), POLICY).verdict is Verdict.REFER
    no_crl = SubCheck(name="ds_revocation", status=CheckStatus.WARN, reason=Reason.PA_NOT_CHECKED)
    both = step(
        StepName.AUTHENTICITY,
        CheckStatus.WARN,
        Reason.SOD_CONTENT_TYPE_NONSTANDARD,
        checks=(nonstandard, *others, no_crl),
    )
    decision = decide(report(all_pass(authenticity=both)), policy)
    assert decision.verdict is Verdict.REFER
    assert Reason.PA_NOT_CHECKED in decision.reasons


@pytest.mark.parametrize("reason", [Reason.CRL_STALE, Reason.CRL_MISSING])
def test_the_signed_policy_decides_what_an_overdue_or_missing_crl_means(reason: Reason) -> None:
    """By default a DS whose revocation could not be checked refers; an authority that
    accepts an overdue CRL (central unreachable for days) says so in its signed policy."""
    overdue = SubCheck(name="ds_revocation", status=CheckStatus.WARN, reason=reason)
    others = tuple(c for c in proven() if c.name != "ds_revocation")
    authenticity = step(StepName.AUTHENTICITY, CheckStatus.WARN, reason, checks=(*others, overdue))
    refused = decide(report(all_pass(authenticity=authenticity)), POLICY)
    assert (refused.verdict, refused.reasons) == (Verdict.REFER, (reason,))
    assert "revocation" in refused.officer[0].lower()
    lenient = PolicyConfig(
        version=2,
        egate=POLICY.egate.model_copy(update={"accepted_warnings": (reason,)}),
    )
    assert decide(report(all_pass(authenticity=authenticity)), lenient).verdict is Verdict.OPEN
