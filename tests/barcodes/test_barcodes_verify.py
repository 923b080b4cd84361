"""Seal signatures against the trust store: valid, invalid, untrusted, expired, not_signed,
revoked, another country's signer, wrong signature lengths, `at`, extra certificates."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from appliance.barcodes.model import SignatureStatus
from appliance.barcodes.payload import parse_payload
from appliance.barcodes.verify import TrustContext, verify_symbol
from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import Reason
from hardware_mocks import barcode_seals as bs
from tests.support.barcode_support import (
    AIRLINE,
    EXPIRED,
    FOREIGN,
    REVOKED,
    SIGNER,
    WRONG_COUNTRY,
    specimens,
    trusted_store,
)

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def store() -> Iterator[TrustStore]:
    with trusted_store() as opened:
        yield opened


def _check(
    store: TrustStore, payload: bytes, extra: tuple[Certificate, ...] = (), at: dt.datetime = NOW
) -> tuple[SignatureStatus, Reason]:
    symbol = parse_payload(payload)
    signature = verify_symbol(symbol, TrustContext(store, extra, at))
    return signature.status, signature.reason


VALID = (SignatureStatus.VALID, Reason.OK)


@pytest.mark.parametrize(
    "payload",
    [
        bs.make_vds(SIGNER),
        bs.make_vds(SIGNER, "arrival_attestation", version=3),
        bs.make_vds(SIGNER, "residence_permit_supplementary_sheet"),
        bs.make_vdsnc(SIGNER),
        bs.make_hc1(SIGNER).encode(),
        bs.make_bcbp(AIRLINE).encode(),
    ],
    ids=["visa", "arrival-v3", "supplementary-sheet", "vds-nc", "hc1", "bcbp"],
)
def test_valid_signatures(store: TrustStore, payload: bytes) -> None:
    assert _check(store, payload) == VALID


@pytest.mark.parametrize(
    "payload",
    [
        bs.make_vds(SIGNER, tamper=True),
        bs.make_vdsnc(SIGNER, tamper=True),
        bs.make_hc1(SIGNER, tamper=True).encode(),
        bs.make_bcbp(AIRLINE, tamper=True).encode(),
    ],
    ids=["vds", "vds-nc", "hc1", "bcbp"],
)
def test_tampered_payloads_are_invalid(store: TrustStore, payload: bytes) -> None:
    assert _check(store, payload) == (SignatureStatus.INVALID, Reason.SEAL_SIGNATURE_INVALID)


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_signature_of_the_wrong_length_is_invalid(store: TrustStore, length: int) -> None:
    seal = bs.make_vds(SIGNER, signature=bytes(range(length % 256))[:length] or b"")
    assert _check(store, seal) == (SignatureStatus.INVALID, Reason.SEAL_SIGNATURE_INVALID)


def test_unsigned_boarding_pass_is_not_signed(store: TrustStore) -> None:
    assert _check(store, bs.make_bcbp(None).encode()) == (
        SignatureStatus.NOT_SIGNED,
        Reason.SEAL_NOT_SIGNED,
    )


def test_vdsnc_without_signature_is_not_signed(store: TrustStore) -> None:
    document = json.loads(bs.make_vdsnc(SIGNER))
    del document["sig"]
    payload = json.dumps(document).encode()
    assert _check(store, payload) == (SignatureStatus.NOT_SIGNED, Reason.SEAL_NOT_SIGNED)


def test_unknown_signer_is_untrusted(store: TrustStore) -> None:
    other = bs.issue_seal_signer(bs.seal_pki(), "ZZ", 0x99)  # valid, but never imported
    assert _check(store, bs.make_vds(other)) == (
        SignatureStatus.UNTRUSTED,
        Reason.SEAL_SIGNER_UNKNOWN,
    )
    # the same signer given for this call only (--trust) chains to the stored CSCA
    extra = (Certificate.from_der(other.certificate_der),)
    assert _check(store, bs.make_vds(other), extra) == VALID


def test_bsi_specimens_have_no_signer_here(store: TrustStore) -> None:
    for hex_seal in specimens()["vds"].values():
        status, reason = _check(store, bytes.fromhex(hex_seal))
        assert (status, reason) == (SignatureStatus.UNTRUSTED, Reason.SEAL_SIGNER_UNKNOWN)


def test_signer_of_an_untrusted_csca(store: TrustStore) -> None:
    extra = (Certificate.from_der(FOREIGN.certificate_der),)
    assert _check(store, bs.make_vdsnc(FOREIGN, country="FRA"), extra) == (
        SignatureStatus.UNTRUSTED,
        Reason.SEAL_SIGNER_UNTRUSTED,
    )
    # VDS-NC carries its certificate: even without --trust it is looked at, and refused
    assert _check(store, bs.make_vdsnc(FOREIGN, country="FRA")) == (
        SignatureStatus.UNTRUSTED,
        Reason.SEAL_SIGNER_UNTRUSTED,
    )


def test_revoked_signer(store: TrustStore) -> None:
    assert _check(store, bs.make_vds(REVOKED)) == (
        SignatureStatus.UNTRUSTED,
        Reason.SEAL_SIGNER_REVOKED,
    )
    with trusted_store(revoke=False) as no_crl:
        assert _check(no_crl, bs.make_vds(REVOKED)) == VALID


def test_expired_signer_and_verification_as_of_a_past_time(store: TrustStore) -> None:
    seal = bs.make_vds(EXPIRED, signed=dt.date(2025, 1, 6))
    assert _check(store, seal) == (SignatureStatus.EXPIRED, Reason.SEAL_CERT_EXPIRED)
    assert _check(store, seal, at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC)) == VALID
    # signed after the signer's certificate ended: expired whatever the time checked
    late = bs.make_vds(EXPIRED, signed=dt.date(2025, 7, 1))
    at = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    assert _check(store, late, at=at) == (SignatureStatus.EXPIRED, Reason.SEAL_CERT_EXPIRED)


def test_country_mismatch(store: TrustStore) -> None:
    # a French signer certificate issued by the German CSCA
    assert _check(store, bs.make_vds(WRONG_COUNTRY, country="FRA")) == (
        SignatureStatus.UNTRUSTED,
        Reason.SEAL_COUNTRY_MISMATCH,
    )
    # a German signer on a seal that names France as its issuer
    assert _check(store, bs.make_vds(SIGNER, country="FRA")) == (
        SignatureStatus.UNTRUSTED,
        Reason.SEAL_COUNTRY_MISMATCH,
    )


def test_malformed_payload_is_never_valid(store: TrustStore) -> None:
    status, reason = _check(store, bs.make_vds(SIGNER)[:30])
    assert status is SignatureStatus.INVALID and reason is Reason.BARCODE_MALFORMED


def test_too_many_symbols_in_one_image_fail(store: TrustStore) -> None:
    from appliance.barcodes.reader import MAX_SYMBOLS, outcome, read_symbols
    from appliance.ports import DecodedSymbol

    decoded = [DecodedSymbol("datamatrix", bs.make_vds(SIGNER))] * (MAX_SYMBOLS + 1)
    symbols = read_symbols(decoded, TrustContext(store, (), NOW))
    assert len(symbols) == MAX_SYMBOLS
    assert outcome(decoded, symbols).reason is Reason.BARCODE_TOO_MANY_SYMBOLS
    assert outcome(decoded[:2], symbols[:2]).reason is Reason.OK
