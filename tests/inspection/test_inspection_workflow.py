"""The check session on virtual chips: named steps, time limits, the decision made durable in
the history before the gate opens, and each Frontex ABC exception case referred."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import Reason
from appliance.history import DocumentRef, Event, EventType
from appliance.history.stats import age_band
from appliance.inspection.policy import PolicyConfig, Verdict
from appliance.inspection.report import StepName
from appliance.inspection.steps import STEPS, Transaction
from appliance.inspection.workflow import CheckSession, DeviceInfo, act_on
from appliance.ports import GateState
from appliance.signed.watchlist import build_watchlist, parse_watchlist
from hardware_mocks.traveller_sim import StaticMrzScanner
from hardware_mocks.virtual_chip import VirtualCardTransport, VirtualChip, make_profile
from hardware_mocks.virtual_chip.defects import Defect, defective_contents
from tests.support.history_support import FakeHistory
from tests.support.inspection_support import lane, transaction

DEVICE = DeviceInfo("gate-t", "TEST")
NO_FACE = PolicyConfig(version=1).egate.model_copy(
    update={
        "required_steps": tuple(
            n
            for n, _ in STEPS
            if n
            not in (
                StepName.BIOMETRICS,
                StepName.GATE_SENSORS,
                StepName.SEAL,
                StepName.IRIS,
                StepName.MORPH,
            )
        )
    }
)
POLICY = PolicyConfig(version=1, egate=NO_FACE)
TRAVELLER = make_profile(11)


class Gate:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def open(self) -> None:
        self.calls.append("open")

    def close(self) -> None:
        self.calls.append("close")

    def state(self) -> GateState:
        return GateState.OPEN if self.calls[-1:] == ["open"] else GateState.CLOSED


def watchlist_of(*documents: DocumentRef):  # type: ignore[no-untyped-def]
    content = build_watchlist([(d, "stolen") for d in documents], 1, datetime.now(UTC))
    return parse_watchlist(content)


def clean_watchlist():  # type: ignore[no-untyped-def]
    return watchlist_of(DocumentRef("UTO", "X0000000", "P"))


def test_genuine_traveller_opens_after_the_event_is_durable(tmp_path: Path) -> None:
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
        assert result.decision.verdict is Verdict.OPEN, result.report.steps
        assert result.receipt is not None
        assert [s.name for s in result.report.steps] == [n for n, _ in STEPS]
        chip = result.report.step(StepName.CHIP_ACCESS)
        assert chip is not None and chip.facts["protocol"] == "PACE" and chip.duration_ms > 0
        auth = result.report.step(StepName.AUTHENTICITY)
        assert auth is not None and {c.name for c in auth.checks} >= {"sod_signature", "dg_hashes"}
        # the history holds the check under the document's pseudonym, personal data sealed
        ref = DocumentRef("D", TRAVELLER.document_number, "P")
        records = ln.history.checks_of(ref, reveal=True)
        assert [r.leaf.outcome for r in records] == ["OPEN"]
        assert records[0].personal is not None
        assert records[0].personal.surname == TRAVELLER.surname
        assert TRAVELLER.document_number not in json.dumps(dict(records[0].leaf.public))
        gate = Gate()
        assert act_on(result, gate) is GateState.OPEN


def test_check_event_carries_coarse_groups_for_monitoring_not_the_birth_date(
    tmp_path: Path,
) -> None:
    """`history stats` counts face failures per sex, age band and nationality from the public
    part of the check event; the date of birth itself stays sealed."""
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
        ref = DocumentRef("D", TRAVELLER.document_number, "P")
        public = dict(ln.history.checks_of(ref)[0].leaf.public)
    born = datetime.strptime(TRAVELLER.date_of_birth, "%y%m%d").date()
    assert public["cohort"] == {
        "sex": TRAVELLER.sex,
        "age_band": age_band(born.isoformat(), result.report.started_at.date()),
        "nationality": "D",
    }
    text = json.dumps(public)
    assert TRAVELLER.date_of_birth not in text and born.isoformat() not in text


def test_history_failure_refers_and_keeps_the_gate_shut(tmp_path: Path) -> None:
    history = FakeHistory(appends_before_failure=0)  # a full disk: nothing can be recorded
    with lane(tmp_path, POLICY, watchlist=clean_watchlist(), history=history) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
        assert result.receipt is None
        assert result.decision.verdict is Verdict.REFER
        assert result.decision.reasons == (Reason.HISTORY_STORAGE,)
        gate = Gate()
        assert act_on(result, gate, ln.history) is GateState.CLOSED
        assert gate.calls == ["close"]
    assert history.events == []


def test_a_history_that_fails_after_the_check_does_not_undo_the_passage(tmp_path: Path) -> None:
    """The check was recorded, the door opened; the gate-action event then cannot be written.
    The lane logs it and carries on: the door already acted and the check is durable."""
    history = FakeHistory(appends_before_failure=1)
    with lane(tmp_path, POLICY, watchlist=clean_watchlist(), history=history) as ln:
        session = CheckSession(ln, DEVICE)
        result = session.run(transaction(TRAVELLER))
        assert result.decision.verdict is Verdict.OPEN and result.receipt is not None
        gate = Gate()
        assert session.act_on(result, gate) is GateState.OPEN
    assert gate.calls == ["open"]
    assert [e.type for e in history.events] == [EventType.CHECK]


def test_a_history_that_cannot_be_searched_refers(tmp_path: Path) -> None:
    """Repeated use cannot be ruled out when the lookup fails: fail closed."""
    history = FakeHistory(lookups_fail=True)
    with lane(tmp_path, POLICY, watchlist=clean_watchlist(), history=history) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons == (Reason.HISTORY_STORAGE,)
    step = result.report.step(StepName.REPEATED_USE)
    assert step is not None and step.status is CheckStatus.FAIL
    assert [e.outcome for e in history.events] == ["REFER"]


def test_an_earlier_passage_in_the_history_refers_the_document(tmp_path: Path) -> None:
    ref = DocumentRef("D", TRAVELLER.document_number, "P")
    history = FakeHistory()
    history.append(Event(EventType.CHECK, "OPEN", reasons=["OK"], document=ref))
    with lane(tmp_path, POLICY, watchlist=clean_watchlist(), history=history) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
    assert result.decision.reasons == (Reason.DOCUMENT_REUSED,)
    step = result.report.step(StepName.REPEATED_USE)
    assert step is not None and step.facts["earlier_passages"] == 1


def test_second_passage_with_the_same_document_is_refused(tmp_path: Path) -> None:
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        session = CheckSession(ln, DEVICE)
        assert session.run(transaction(TRAVELLER)).decision.verdict is Verdict.OPEN
        again = session.run(transaction(TRAVELLER))
        assert again.decision.reasons == (Reason.DOCUMENT_REUSED,)
        step = again.report.step(StepName.REPEATED_USE)
        assert step is not None and step.facts["earlier_passages"] == 1
        # a referred check is not a passage: a third try is still "reused once", not twice
        third = session.run(transaction(TRAVELLER))
        step = third.report.step(StepName.REPEATED_USE)
        assert step is not None and step.facts["earlier_passages"] == 1
        assert step.facts["earlier_checks"] == 2


def test_watchlisted_document_is_referred(tmp_path: Path) -> None:
    ref = DocumentRef("D", TRAVELLER.document_number, "P")
    with lane(tmp_path, POLICY, watchlist=watchlist_of(ref)) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
        assert result.decision.reasons == (Reason.WATCHLIST_HIT,)
        assert "lost or stolen" in result.decision.officer[0]


def test_stale_watchlist_fails_closed(tmp_path: Path) -> None:
    old = parse_watchlist(build_watchlist([], 1, datetime(2020, 1, 1, tzinfo=UTC)))
    with lane(tmp_path, POLICY, watchlist=old) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
        assert result.decision.reasons == (Reason.WATCHLIST_STALE,)


def test_missing_watchlist_is_a_missing_required_step(tmp_path: Path) -> None:
    with lane(tmp_path, POLICY) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
        assert result.decision.reasons == (Reason.STEP_MISSING,)


@pytest.mark.parametrize(
    ("defect", "reason"),
    [
        (Defect.FORGED_DG, Reason.PA_DG_HASH_MISMATCH),
        (Defect.UNKNOWN_CSCA, Reason.PA_DS_UNTRUSTED),
        (Defect.REVOKED_DS, Reason.PA_DS_REVOKED),
        (Defect.CLONED, Reason.CHIP_CLONE_SUSPECTED),
        (Defect.NO_SOD, Reason.PA_SOD_MISSING),
        (Defect.STRIPPED_CHIP_KEYS, Reason.CHIP_CLONE_SUSPECTED),
    ],
)
def test_falsified_or_cloned_document_is_referred(
    tmp_path: Path, defect: Defect, reason: Reason
) -> None:
    chip = VirtualChip(defective_contents(TRAVELLER, defect))
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER, chip))
        assert result.decision.verdict is Verdict.REFER
        assert result.decision.reasons[0] is reason


@pytest.mark.parametrize("bac_only", [False, True])
def test_forged_chip_without_sod_or_chip_keys_is_referred(tmp_path: Path, bac_only: bool) -> None:
    """A forger's chip: any holder's DG1 (equal to the forged print), DG2, no EF.SOD, and
    neither DG14 nor DG15 that a genuineness check could use. It once opened the gate."""
    forged = make_profile(
        13,
        chip_authentication=False,
        active_authentication=None,
        pace_options=() if bac_only else TRAVELLER.pace_options,
    )
    chip = VirtualChip(defective_contents(forged, Defect.NO_SOD))
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(forged, chip))
    assert result.decision.verdict is Verdict.REFER
    assert Reason.PA_SOD_MISSING in result.decision.reasons
    step = result.report.step(StepName.AUTHENTICITY)
    assert step is not None and step.status is CheckStatus.FAIL
    by_name = {c.name: c for c in step.checks}
    for name in ("sod_signature", "ds_certificate_chain", "dg_hashes"):
        assert by_name[name].status is CheckStatus.FAIL, name


def test_expired_document_is_referred(tmp_path: Path) -> None:
    expired = make_profile(12, date_of_expiry="230101")
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(expired))
        assert result.decision.reasons == (Reason.DOCUMENT_EXPIRED,)
        step = result.report.step(StepName.DOCUMENT_VALIDITY)
        assert step is not None and int(step.facts["days_expired"] or 0) > 0  # type: ignore[arg-type]


def test_a_step_that_hangs_times_out_and_stops_the_check(tmp_path: Path) -> None:
    release = threading.Event()

    class HangingScanner:
        def lines(self, timeout_s: float) -> list[str] | None:
            release.wait(10)
            return None

    policy = POLICY.model_copy(
        update={"egate": NO_FACE.model_copy(update={"step_timeouts_s": {StepName.MRZ: 0.2}})}
    )
    with lane(tmp_path, policy, watchlist=clean_watchlist()) as ln:
        tx = Transaction(VirtualCardTransport(VirtualChip(TRAVELLER)), HangingScanner())
        result = CheckSession(ln, DEVICE).run(tx)
        release.set()
    mrz = result.report.step(StepName.MRZ)
    assert mrz is not None and mrz.reason is Reason.STEP_TIMEOUT
    later = [s for s in result.report.steps if s.name is not StepName.DOCUMENT_PRESENCE][1:]
    assert all(s.status is CheckStatus.SKIPPED for s in later)
    assert result.decision.reasons == (Reason.STEP_TIMEOUT,)


def test_card_pulled_away_is_retried_then_referred(tmp_path: Path) -> None:
    transport = VirtualCardTransport(VirtualChip(TRAVELLER), remove_after=6)
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(
            Transaction(transport, StaticMrzScanner(TRAVELLER.mrz_lines))
        )
    chip = result.report.step(StepName.CHIP_ACCESS)
    assert chip is not None and chip.attempts == 2
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons[0] in (Reason.CHIP_REMOVED, Reason.CHIP_NOT_PRESENT)


def test_unreadable_mrz_refers_and_blocks_the_chip(tmp_path: Path) -> None:
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        tx = Transaction(VirtualCardTransport(VirtualChip(TRAVELLER)), StaticMrzScanner(()))
        result = CheckSession(ln, DEVICE).run(tx)
    assert result.decision.reasons == (Reason.MRZ_UNREADABLE,)
    chip = result.report.step(StepName.CHIP_ACCESS)
    assert chip is not None and chip.status is CheckStatus.SKIPPED


def test_a_bug_in_a_step_refers_instead_of_crashing(tmp_path: Path) -> None:
    def broken(lane: object, tx: object) -> object:
        raise KeyError("bug")

    steps = tuple((n, broken if n is StepName.WATCHLIST else f) for n, f in STEPS)
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE, steps).run(transaction(TRAVELLER))  # type: ignore[arg-type]
    assert result.decision.reasons == (Reason.INTERNAL_ERROR,)


class Face:
    def __init__(self, status: str, reason: Reason) -> None:
        self.status, self.reason, self.score, self.threshold = status, reason, 0.2, 0.4

    def __call__(self, reference: bytes) -> Face:
        assert reference[:2] == b"\xff\xd8"  # the DG2 JPEG reaches the verifier
        return self


def test_face_step_plugs_in(tmp_path: Path) -> None:
    policy = PolicyConfig(
        version=1,
        egate=NO_FACE.model_copy(
            update={"required_steps": (*NO_FACE.required_steps, StepName.BIOMETRICS)}
        ),
    )
    with lane(
        tmp_path, policy, watchlist=clean_watchlist(), face=Face("fail", Reason.FACE_NO_MATCH)
    ) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
    assert result.decision.reasons == (Reason.FACE_NO_MATCH,)
    with lane(tmp_path / "b", policy, watchlist=clean_watchlist()) as ln:
        result = CheckSession(ln, DEVICE).run(transaction(TRAVELLER))
    assert result.decision.reasons == (Reason.STEP_MISSING,)  # required but no verifier


def test_handheld_refers_an_expired_document(tmp_path: Path) -> None:
    expired = make_profile(13, date_of_expiry="200101")
    with lane(tmp_path, POLICY, watchlist=clean_watchlist(), mode="handheld") as ln:
        result = CheckSession(ln, DeviceInfo("hh", "TEST", "handheld")).run(transaction(expired))
    assert result.decision.verdict is Verdict.REFER
    assert Reason.DOCUMENT_EXPIRED in result.decision.reasons
