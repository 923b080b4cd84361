"""The inspection's `seal` step: a visa seal shown with the passport, required by nationality."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.barcodes.verify import TrustContext
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import Reason
from appliance.inspection.policy import PolicyConfig, Verdict, decide
from appliance.inspection.report import StepName
from appliance.inspection.steps import STEPS, Lane, seal
from appliance.inspection.trust import TrustSnapshot
from appliance.inspection.workflow import CheckSession, DeviceInfo
from appliance.ports import DecodedSymbol
from hardware_mocks import barcode_seals as bs
from hardware_mocks.virtual_chip import make_profile
from tests.support.barcode_support import SIGNER, trusted_store
from tests.support.inspection_support import lane, transaction

TRAVELLER = make_profile(11)
NO_FACE = PolicyConfig(version=1).egate.model_copy(
    update={
        "required_steps": tuple(
            n for n, _ in STEPS if n not in (StepName.BIOMETRICS, StepName.GATE_SENSORS)
        )
    }
)


def _visa(number: str | None = None) -> DecodedSymbol:
    features = bs.visa_for(
        number or TRAVELLER.document_number,
        TRAVELLER.nationality,
        TRAVELLER.date_of_birth,
        TRAVELLER.surname,
        TRAVELLER.given_names,
    )
    return DecodedSymbol("datamatrix", bs.make_vds(SIGNER, features=features))


@pytest.fixture(scope="module")
def seal_trust() -> Iterator[TrustContext]:
    with trusted_store() as store:
        yield TrustContext(TrustSnapshot.of(store))


@pytest.fixture
def visa_lane(tmp_path: Path, seal_trust: TrustContext) -> Iterator[Lane]:
    policy = PolicyConfig(
        version=1, egate=NO_FACE, seal_required_nationalities=(TRAVELLER.nationality,)
    )
    with lane(tmp_path, policy, seal_trust=seal_trust) as ln:
        yield ln


def _run(ln: Lane, *seals: DecodedSymbol):  # type: ignore[no-untyped-def]
    tx = transaction(TRAVELLER)
    tx.seals = seals
    return CheckSession(ln, DeviceInfo("gate-t", "TEST")).run(tx)


def test_visa_required_and_shown_opens(visa_lane: Lane) -> None:
    result = _run(visa_lane, _visa())
    step = result.report.step(StepName.SEAL)
    assert step is not None and step.status is CheckStatus.PASS, step
    assert step.facts == {"symbols": 1, "required": True}
    seal_reasons = [r for r in result.decision.reasons if r.value.startswith(("SEAL", "BARCODE"))]
    assert seal_reasons == []


@pytest.mark.parametrize(
    ("seals", "reason"),
    [
        ((), Reason.BARCODE_NOT_FOUND),
        ((DecodedSymbol("datamatrix", b"\xdc\x03"),), Reason.BARCODE_MALFORMED),
        ((DecodedSymbol("datamatrix", bs.make_vds(SIGNER, tamper=True)),), None),
    ],
    ids=["none-shown", "unreadable", "tampered"],
)
def test_visa_required_refers_when_not_verified(
    visa_lane: Lane, seals: tuple[DecodedSymbol, ...], reason: Reason | None
) -> None:
    result = _run(visa_lane, *seals)
    step = result.report.step(StepName.SEAL)
    assert step is not None and step.status is CheckStatus.FAIL
    assert step.reason is (reason or Reason.SEAL_SIGNATURE_INVALID)
    assert result.decision.verdict is Verdict.REFER and step.reason in result.decision.reasons


def test_visa_of_another_passport_refers(visa_lane: Lane) -> None:
    result = _run(visa_lane, _visa("X99999999"))
    step = result.report.step(StepName.SEAL)
    assert step is not None and step.reason is Reason.SEAL_MRZ_MISMATCH
    assert decide(result.report, visa_lane.policy).verdict is Verdict.REFER


def test_no_seal_needed_is_skipped_and_a_lane_without_seal_trust_fails_closed(
    tmp_path: Path,
) -> None:
    with lane(tmp_path, PolicyConfig(version=1, egate=NO_FACE)) as ln:
        assert seal(ln, transaction(TRAVELLER)).status is CheckStatus.SKIPPED
        tx = transaction(TRAVELLER)
        tx.seals = (_visa(),)
        out = seal(ln, tx)
        assert (out.status, out.reason) == (CheckStatus.FAIL, Reason.SEAL_SIGNER_UNKNOWN)


def test_report_holds_no_personal_data_from_the_seal(visa_lane: Lane) -> None:
    result = _run(visa_lane, _visa())
    text = result.report.model_dump_json()
    for value in (TRAVELLER.document_number, TRAVELLER.surname, "V12345678"):
        assert value not in text
