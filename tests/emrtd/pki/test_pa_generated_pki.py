"""Passive Authentication against a generated PKI: one forged defect per test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus, overall_status
from appliance.emrtd.pki.cms import parse_signed_data
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.passive import PA_CHECKS, passive_authentication
from appliance.emrtd.pki.trust_store import Candidate, TrustStore
from appliance.errors import LdsError, Reason
from tests.support import pa_pki
from tests.support.pa_pki import NOW

#: the store fixture is only read by these property tests, so sharing it across examples is fine
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
DGS = {1: pa_pki.dg1("NZL"), 2: b"\x75\x03face", 14: b"\x6e\x02ca"}


_SODS: dict[int, bytes] = {}


def genuine_sod(ds: pa_pki.Issued) -> bytes:
    """One SOD per DS, reused across hypothesis examples (ECDSA signing is randomised)."""
    return _SODS.setdefault(id(ds), pa_pki.sod(DGS, ds))


def by_name(checks: list[Check]) -> dict[CheckName, Check]:
    return {c.name: c for c in checks}


@pytest.fixture(scope="module")
def pki() -> tuple[pa_pki.Issued, pa_pki.Issued]:
    csca = pa_pki.csca("NZ")
    return csca, pa_pki.document_signer(csca, "NZ")


@pytest.fixture
def store(tmp_path: Path, pki: tuple[pa_pki.Issued, pa_pki.Issued]) -> TrustStore:
    trust = TrustStore(tmp_path / "trust.sqlite3")
    assert import_file(pki[0].der, trust, "csca.der", anchors=[pa_pki.pin(pki[0].der)]).ok
    return trust


def test_everything_passes_for_a_genuine_document(store: TrustStore, pki: tuple) -> None:
    _, ds = pki
    crl = pa_pki.crl(pki[0], revoked_serials=[12345])
    assert import_file(crl, store, "ut.crl", at=NOW).ok
    checks = passive_authentication(pa_pki.sod(DGS, ds), store, DGS, [1, 2, 14], at=NOW)
    assert [c.name for c in checks] == list(PA_CHECKS)
    assert all(c.status is CheckStatus.PASS for c in checks), checks
    assert overall_status(checks) is CheckStatus.PASS
    assert all(c.to_dict()["reason"] == "OK" for c in checks)


@pytest.mark.parametrize(
    ("kind", "hash_name", "pss"),
    [
        ("ec", "sha256", False),
        ("ec", "sha1", False),
        ("brainpool384", "sha384", False),
        ("rsa", "sha256", False),
        ("rsa", "sha512", True),
        ("rsa", "sha224", True),
    ],
)
def test_signature_algorithms(
    store: TrustStore, pki: tuple, kind: str, hash_name: str, pss: bool
) -> None:
    ds = pa_pki.document_signer(pki[0], "NZ", kind=kind)
    sod = pa_pki.sod(DGS, ds, hash_name=hash_name, pss=pss)
    checks = by_name(passive_authentication(sod, store, DGS, at=NOW))
    assert checks[CheckName.SOD_SIGNATURE].status is CheckStatus.PASS, checks
    assert checks[CheckName.DS_CERTIFICATE_CHAIN].status is CheckStatus.PASS
    assert checks[CheckName.DG_HASHES].status is CheckStatus.PASS


def test_revoked_ds_fails(store: TrustStore, pki: tuple) -> None:
    csca, ds = pki
    report = import_file(pa_pki.crl(csca, [ds.cert.serial_number]), store, "ut.crl", at=NOW)
    assert report.ok, report.detail
    check = by_name(passive_authentication(pa_pki.sod(DGS, ds), store, at=NOW))[
        CheckName.DS_REVOCATION
    ]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_DS_REVOKED)


def test_out_of_date_crl_is_a_warning(store: TrustStore, pki: tuple) -> None:
    stale = pa_pki.crl(
        pki[0], [], this_update=NOW - timedelta(days=90), next_update=NOW - timedelta(days=60)
    )
    assert import_file(stale, store, "old.crl", at=NOW).ok
    check = by_name(passive_authentication(pa_pki.sod(DGS, pki[1]), store, at=NOW))[
        CheckName.DS_REVOCATION
    ]
    # its own reason, so that the signed policy decides what an overdue CRL means
    assert (check.status, check.reason) == (CheckStatus.WARN, Reason.CRL_STALE)


def test_no_crl_is_a_warning_of_its_own(store: TrustStore, pki: tuple) -> None:
    check = by_name(passive_authentication(pa_pki.sod(DGS, pki[1]), store, at=NOW))[
        CheckName.DS_REVOCATION
    ]
    assert (check.status, check.reason) == (CheckStatus.WARN, Reason.CRL_MISSING)


def test_crl_not_signed_by_its_csca_is_refused(store: TrustStore, pki: tuple) -> None:
    forged = pa_pki.crl(pki[0], [pki[1].cert.serial_number], signer_key=pa_pki.new_key())
    report = import_file(forged, store, "forged.crl", at=NOW)
    assert (report.ok, report.reason) == (False, Reason.TRUST_LIST_INVALID)
    assert store.counts() == (1, 0)


def test_ds_from_an_unknown_csca_is_untrusted(store: TrustStore) -> None:
    stranger = pa_pki.document_signer(pa_pki.csca("NZ"), "NZ")
    check = by_name(passive_authentication(pa_pki.sod(DGS, stranger), store, at=NOW))[
        CheckName.DS_CERTIFICATE_CHAIN
    ]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_DS_UNTRUSTED)


def test_issuer_found_by_dn_when_the_ds_has_no_aki(store: TrustStore, pki: tuple) -> None:
    ds = pa_pki.make_cert(
        pa_pki.name("DS UT", "NZ"), pa_pki.new_key(), pki[0], ca=False, with_aki=False
    )
    checks = by_name(passive_authentication(pa_pki.sod(DGS, ds), store, at=NOW))
    assert checks[CheckName.DS_CERTIFICATE_CHAIN].status is CheckStatus.PASS


def test_expired_csca_fails_validity(tmp_path: Path) -> None:
    old = pa_pki.csca("NZ", not_after=NOW - timedelta(days=1))
    ds = pa_pki.document_signer(old, "NZ", not_after=NOW + timedelta(days=100))
    with TrustStore(tmp_path / "t.sqlite3") as trust:
        assert import_file(old.der, trust, "old.der", anchors=[pa_pki.pin(old.der)]).ok
        checks = by_name(passive_authentication(pa_pki.sod(DGS, ds), trust, at=NOW))
    check = checks[CheckName.CERTIFICATE_VALIDITY]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_CERT_EXPIRED)
    assert "CSCA" in check.detail


def test_signing_outside_the_ds_validity_fails(store: TrustStore, pki: tuple) -> None:
    ds = pa_pki.document_signer(pki[0], "NZ", not_before=NOW - timedelta(days=10))
    sod = pa_pki.sod(DGS, ds, signing_time=NOW - timedelta(days=20))
    check = by_name(passive_authentication(sod, store, at=NOW))[CheckName.CERTIFICATE_VALIDITY]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_CERT_EXPIRED)


def test_signing_outside_the_key_usage_period_warns(store: TrustStore, pki: tuple) -> None:
    period = (NOW - timedelta(days=300), NOW - timedelta(days=200))
    ds = pa_pki.document_signer(pki[0], "NZ", key_usage_period=period)
    sod = pa_pki.sod(DGS, ds, signing_time=NOW - timedelta(days=30))
    check = by_name(passive_authentication(sod, store, at=NOW))[CheckName.CERTIFICATE_VALIDITY]
    assert check.status is CheckStatus.WARN


def test_country_mismatch_between_dg1_and_ds(store: TrustStore, pki: tuple) -> None:
    dgs = {**DGS, 1: pa_pki.dg1("FRA")}
    checks = by_name(passive_authentication(pa_pki.sod(dgs, pki[1]), store, dgs, at=NOW))
    assert checks[CheckName.DG_HASHES].status is CheckStatus.PASS
    country = checks[CheckName.ISSUER_COUNTRY]
    assert (country.status, country.reason) == (CheckStatus.FAIL, Reason.PA_COUNTRY_MISMATCH)


def test_ds_country_must_match_its_csca(store: TrustStore, pki: tuple) -> None:
    ds = pa_pki.document_signer(pki[0], "FR")
    check = by_name(passive_authentication(pa_pki.sod(DGS, ds), store, at=NOW))[
        CheckName.ISSUER_COUNTRY
    ]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_COUNTRY_MISMATCH)


def test_sod_without_the_ds_certificate(store: TrustStore, pki: tuple) -> None:
    sod = pa_pki.sod(DGS, pki[1], include_cert=False)
    checks = passive_authentication(sod, store, DGS, at=NOW)
    assert checks[0].reason is Reason.PA_SIGNATURE_INVALID
    assert overall_status(checks) is CheckStatus.FAIL


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.builds(
        bytes.__add__,
        st.sampled_from([b"", b"\x77\x82\x01\x00", b"\x30\x80\x06\x09", b"\x77\x80\x30\x80"]),
        st.binary(max_size=600),
    )
)
def test_garbage_is_lds_malformed(store: TrustStore, garbage: bytes) -> None:
    with pytest.raises(LdsError) as info:
        parse_signed_data(garbage)
    assert info.value.reason in (Reason.LDS_MALFORMED, Reason.LDS_UNSUPPORTED)
    checks = passive_authentication(garbage, store, DGS, at=NOW)
    assert [c.name for c in checks] == list(PA_CHECKS)
    assert checks[0].status is CheckStatus.FAIL
    assert checks[0].reason in (Reason.LDS_MALFORMED, Reason.LDS_UNSUPPORTED)
    assert all(c.status is CheckStatus.SKIPPED for c in checks[1:])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_corrupted_sod_never_raises(store: TrustStore, pki: tuple, data: st.DataObject) -> None:
    sod = bytearray(genuine_sod(pki[1]))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(sod) - 1))
        sod[at] = data.draw(st.integers(0, 255))
    checks = passive_authentication(bytes(sod), store, DGS, at=NOW)
    assert [c.name for c in checks] == list(PA_CHECKS)


def test_end_entity_certificate_cannot_anchor_a_chain(tmp_path: Path, pki: tuple) -> None:
    ds = pki[1]
    below = pa_pki.make_cert(pa_pki.name("DS NZ 2", "NZ"), pa_pki.new_key(), ds, ca=False)
    with TrustStore(tmp_path / "t.sqlite3") as trust:
        trust.add_certificates([Candidate.of(Certificate.from_der(ds.der))], "smuggled")
        checks = by_name(passive_authentication(pa_pki.sod(DGS, below), trust, at=NOW))
    chain = checks[CheckName.DS_CERTIFICATE_CHAIN]
    assert (chain.status, chain.reason) == (CheckStatus.FAIL, Reason.PA_DS_UNTRUSTED)
    assert "not a CA" in chain.detail


def test_csca_with_key_cert_sign_but_no_ca_flag_is_accepted(tmp_path: Path) -> None:
    """Several real CSCAs (BE, IT, LU, PT, TR) omit cA=TRUE; keyCertSign makes them usable."""
    csca = pa_pki.make_cert(
        pa_pki.name("CSCA NZ", "NZ"), pa_pki.new_key(), None, ca=False, key_cert_sign=True
    )
    ds = pa_pki.document_signer(csca, "NZ")
    with TrustStore(tmp_path / "t.sqlite3") as trust:
        assert import_file(csca.der, trust, "csca.der", anchors=[pa_pki.pin(csca.der)]).ok
        chain = by_name(passive_authentication(pa_pki.sod(DGS, ds), trust, at=NOW))[
            CheckName.DS_CERTIFICATE_CHAIN
        ]
    assert chain.status is CheckStatus.PASS
    assert "keyCertSign" in chain.detail
