"""Chip genuineness inside a whole read: the virtual chip (card side written by other hands),
`ChipSession` and `verify_document`, down to the clone verdict.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.chip.genuineness import apply_clone_verdict
from appliance.emrtd.document import read_chip, verify_document
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.session import ChipSession, MrzKey, ReaderOptions
from appliance.errors import Reason
from hardware_mocks.virtual_chip import (
    TravellerProfile,
    VirtualCardTransport,
    VirtualChip,
    make_profile,
)
from tests.support import pa_pki


def _key(profile: TravellerProfile) -> MrzKey:
    return MrzKey(profile.document_number, profile.date_of_birth, profile.date_of_expiry)


def _checks(session: ChipSession) -> dict[CheckName, Check]:
    return {c.name: c for c in session.genuineness}


@pytest.fixture
def store(tmp_path: Path) -> TrustStore:
    profile = make_profile()
    trust = TrustStore(tmp_path / "trust.sqlite3")
    assert import_file(
        profile.pki.csca_der, trust, "csca.der", anchors=[pa_pki.pin(profile.pki.csca_der)]
    ).ok
    assert import_file(profile.pki.crl_der, trust, "csca.crl").ok
    return trust


def _chip(profile: TravellerProfile, **contents: object) -> VirtualCardTransport:
    return VirtualCardTransport(VirtualChip(replace(profile.chip_contents(), **contents)))


def test_genuine_chip_passes_ca_and_files_after_it_travel_on_ca_keys() -> None:
    profile = make_profile()
    transport = VirtualCardTransport(VirtualChip(profile), record=True)
    session = ChipSession(transport, _key(profile))
    session.open()
    result = session.read_all()
    checks = _checks(session)
    assert checks[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.PASS
    assert checks[CheckName.ACTIVE_AUTHENTICATION].status is CheckStatus.SKIPPED
    assert transport.chip.chip_authenticated
    assert result.contents == {
        name: data for name, data in profile.build_chip_files().by_name.items()
        if name in result.contents
    }  # fmt: skip
    assert "DG2.bin" in result.contents and "EF_SOD.bin" in result.contents


def test_clone_with_copied_files_but_another_ca_key_is_suspected(store: TrustStore) -> None:
    profile = make_profile()
    clone_key = ec.derive_private_key(424242, ec.BrainpoolP256R1())
    transport = _chip(profile, chip_authentication_key=clone_key)
    document = read_chip(transport, _key(profile))
    assert "DG2.bin" in document.files  # reading went on in a fresh session after CA failed
    checks = {c.name: c for c in verify_document(document, store)}
    assert checks[CheckName.DG_HASHES].status is CheckStatus.PASS
    ca = checks[CheckName.CHIP_AUTHENTICATION]
    assert (ca.status, ca.reason) == (CheckStatus.FAIL, Reason.CHIP_CLONE_SUSPECTED)


def test_chip_refusing_the_ca_its_dg14_offers_is_suspected(store: TrustStore) -> None:
    profile = make_profile()
    document = read_chip(_chip(profile, chip_authentication_key=None), _key(profile))
    checks = {c.name: c for c in verify_document(document, store)}
    # the chip has DG14 CA info but refuses CA: that is a failure, not a fallback to AA
    assert checks[CheckName.CHIP_AUTHENTICATION].reason is Reason.CHIP_CLONE_SUSPECTED


def test_aa_only_chip_signs_the_challenge(store: TrustStore) -> None:
    profile = make_profile(chip_authentication=False)
    document = read_chip(VirtualCardTransport(VirtualChip(profile)), _key(profile))
    checks = {c.name: c for c in verify_document(document, store)}
    assert checks[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.SKIPPED
    aa = checks[CheckName.ACTIVE_AUTHENTICATION]
    assert aa.status is CheckStatus.PASS, aa
    assert all(c.status is not CheckStatus.FAIL for c in checks.values()), checks


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_aa_clone_with_another_key_is_suspected(store: TrustStore, kind: str) -> None:
    profile = make_profile(chip_authentication=False, active_authentication=kind)
    other = make_profile(seed=None, chip_authentication=False, active_authentication=kind)
    wrong = (
        ec.derive_private_key(777, ec.BrainpoolP256R1())
        if kind == "ec"
        else replace(other, seed=99).active_authentication_key
    )
    document = read_chip(_chip(profile, active_authentication_key=wrong), _key(profile))
    checks = {c.name: c for c in verify_document(document, store)}
    aa = checks[CheckName.ACTIVE_AUTHENTICATION]
    assert (aa.status, aa.reason) == (CheckStatus.FAIL, Reason.CHIP_CLONE_SUSPECTED), aa


def test_genuineness_can_be_switched_off() -> None:
    profile = make_profile()
    transport = VirtualCardTransport(VirtualChip(profile))
    session = ChipSession(transport, _key(profile), ReaderOptions(authenticate_chip=False))
    session.open()
    session.read_all()
    assert session.genuineness == [] and not transport.chip.chip_authenticated


def test_clone_verdict_needs_valid_data() -> None:
    data = [
        Check.passed(CheckName.SOD_SIGNATURE),
        Check.passed(CheckName.DS_CERTIFICATE_CHAIN),
        Check.passed(CheckName.DG_HASHES),
        Check.failed(CheckName.CHIP_AUTHENTICATION, Reason.CA_FAILED, "x"),
    ]
    assert apply_clone_verdict(data)[-1].reason is Reason.CHIP_CLONE_SUSPECTED
    forged = [data[0], data[1], Check.failed(CheckName.DG_HASHES, Reason.PA_DG_HASH_MISMATCH, ""),
              data[3]]  # fmt: skip
    assert apply_clone_verdict(forged)[-1].reason is Reason.CA_FAILED
    unsupported = [
        *data[:3],
        Check.warned(CheckName.ACTIVE_AUTHENTICATION, Reason.LDS_UNSUPPORTED, ""),
    ]
    assert apply_clone_verdict(unsupported)[-1].status is CheckStatus.WARN
