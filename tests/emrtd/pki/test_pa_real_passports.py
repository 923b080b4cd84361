"""Passive Authentication on EF.SOD / EF.CardSecurity of real passports from 9 countries.

With the German CSCA master list imported, every SOD must verify: its signature by the DS
certificate it carries, and that DS certificate by a CSCA from the list. These files carry no
data groups, so `dg_hashes` must say "not checked", never "pass".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.pki.cms import OID_SECURITY_OBJECT, parse_signed_data
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.passive import passive_authentication, verify_security_object
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import Reason
from tests.support import pa_pki
from tests.support.data_support import MASTER_LIST
from tests.support.data_support import REAL_SOD as REAL

SODS = ["AT", "DE", "FI", "FR", "PH", "RU", "SG", "UK", "US"]
CARD_SECURITY = ["DE", "FI"]
#: inside every DS and CSCA validity of these documents (the master list's date)
AT = datetime(2026, 5, 28, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    trust = TrustStore(tmp_path_factory.mktemp("trust") / "trust.sqlite3")
    data = MASTER_LIST.read_bytes()
    # the operator pins the German CSCA (in production: the BSI's published fingerprint)
    anchors = [pa_pki.master_list_anchor(data)]
    report = import_file(data, trust, "DE_masterlist", at=AT, anchors=anchors)
    assert report.ok, report.detail
    return trust


def by_name(checks: list[Check]) -> dict[CheckName, Check]:
    return {c.name: c for c in checks}


@pytest.mark.parametrize("country", SODS)
def test_real_sod_verifies_against_the_german_master_list(store: TrustStore, country: str) -> None:
    checks = by_name(passive_authentication((REAL / f"{country}.sod").read_bytes(), store, at=AT))
    for name in (CheckName.SOD_SIGNATURE, CheckName.DS_CERTIFICATE_CHAIN):
        assert checks[name].status is CheckStatus.PASS, checks[name]
    assert checks[CheckName.CERTIFICATE_VALIDITY].status is CheckStatus.PASS
    # no CRL imported: revocation is a warning, not a pass
    assert checks[CheckName.DS_REVOCATION].status is CheckStatus.WARN
    hashes = checks[CheckName.DG_HASHES]
    assert (hashes.status, hashes.reason) == (CheckStatus.SKIPPED, Reason.PA_NOT_CHECKED)
    assert checks[CheckName.SOD_COM_CONSISTENCY].status is CheckStatus.SKIPPED


@pytest.mark.parametrize("country", CARD_SECURITY)
def test_real_card_security_verifies(store: TrustStore, country: str) -> None:
    data = (REAL / f"{country}.cardsecurity").read_bytes()
    result = verify_security_object(data, store, content_type=OID_SECURITY_OBJECT, at=AT)
    checks = by_name(result.checks)
    assert checks[CheckName.SOD_SIGNATURE].status is CheckStatus.PASS
    assert checks[CheckName.DS_CERTIFICATE_CHAIN].status is CheckStatus.PASS
    assert result.verified_content is not None and result.verified_content[:1] == b"\x31"


def test_card_security_is_not_accepted_as_an_sod(store: TrustStore) -> None:
    data = (REAL / "DE.cardsecurity").read_bytes()
    check = by_name(passive_authentication(data, store, at=AT))[CheckName.SOD_SIGNATURE]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.LDS_MALFORMED)


def _flip(data: bytes, needle: bytes) -> bytes:
    """Flip one bit in the middle of the (unique) occurrence of `needle`."""
    at = data.index(needle) + len(needle) // 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize("country", SODS)
def test_flipped_signature_byte_is_an_invalid_signature(store: TrustStore, country: str) -> None:
    data = (REAL / f"{country}.sod").read_bytes()
    forged = _flip(data, parse_signed_data(data).signer.signature)
    checks = by_name(passive_authentication(forged, store, at=AT))
    signature = checks[CheckName.SOD_SIGNATURE]
    assert (signature.status, signature.reason) == (CheckStatus.FAIL, Reason.PA_SIGNATURE_INVALID)
    # the DS certificate itself is untouched and still chains
    assert checks[CheckName.DS_CERTIFICATE_CHAIN].status is CheckStatus.PASS


@pytest.mark.parametrize("country", ["DE", "FR", "UK"])
def test_edited_data_group_hash_breaks_the_message_digest(store: TrustStore, country: str) -> None:
    data = (REAL / f"{country}.sod").read_bytes()
    forged = _flip(data, parse_signed_data(data).content[-20:])
    check = by_name(passive_authentication(forged, store, at=AT))[CheckName.SOD_SIGNATURE]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_SIGNATURE_INVALID)
    assert "message-digest" in check.detail


@pytest.mark.parametrize("country", ["AT", "PH", "US"])
def test_forged_ds_certificate_is_untrusted(store: TrustStore, country: str) -> None:
    data = (REAL / f"{country}.sod").read_bytes()
    ds = parse_signed_data(data).certificates[0]
    forged = _flip(data, ds.signature)
    checks = by_name(passive_authentication(forged, store, at=AT))
    chain = checks[CheckName.DS_CERTIFICATE_CHAIN]
    assert (chain.status, chain.reason) == (CheckStatus.FAIL, Reason.PA_DS_UNTRUSTED)


@pytest.mark.parametrize("country", SODS)
def test_empty_store_means_untrusted_ds(tmp_path: Path, country: str) -> None:
    with TrustStore(tmp_path / "empty.sqlite3") as empty:
        checks = by_name(passive_authentication((REAL / f"{country}.sod").read_bytes(), empty))
    chain = checks[CheckName.DS_CERTIFICATE_CHAIN]
    assert (chain.status, chain.reason) == (CheckStatus.FAIL, Reason.PA_DS_UNTRUSTED)
    assert checks[CheckName.SOD_SIGNATURE].status is CheckStatus.PASS
    assert checks[CheckName.DS_REVOCATION].status is CheckStatus.SKIPPED


def test_certificates_checked_at_inspection_time(store: TrustStore) -> None:
    data = (REAL / "FI.sod").read_bytes()  # DS valid until 2028-10-30
    later = datetime(2029, 1, 1, tzinfo=UTC)
    check = by_name(passive_authentication(data, store, at=later))[CheckName.CERTIFICATE_VALIDITY]
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.PA_CERT_EXPIRED)


@pytest.mark.parametrize(
    ("state", "status", "reason"),
    [
        ("D<<", CheckStatus.PASS, Reason.OK),
        ("FRA", CheckStatus.FAIL, Reason.PA_COUNTRY_MISMATCH),
        ("UTO", CheckStatus.WARN, Reason.PA_NOT_CHECKED),
    ],
)
def test_issuing_state_against_ds_country(
    store: TrustStore, state: str, status: CheckStatus, reason: Reason
) -> None:
    data = (REAL / "DE.sod").read_bytes()
    checks = by_name(passive_authentication(data, store, issuing_state=state, at=AT))
    assert (checks[CheckName.ISSUER_COUNTRY].status, checks[CheckName.ISSUER_COUNTRY].reason) == (
        status,
        reason,
    )


def test_data_group_not_listed_and_forged_data_group(store: TrustStore) -> None:
    data = (REAL / "DE.sod").read_bytes()  # lists DG1, DG2, DG3, DG14
    not_listed = by_name(passive_authentication(data, store, {5: b"\x65\x00"}, at=AT))
    assert not_listed[CheckName.DG_HASHES].reason is Reason.PA_DG_NOT_IN_SOD
    forged = by_name(passive_authentication(data, store, {14: b"\x6e\x00"}, at=AT))
    assert forged[CheckName.DG_HASHES].reason is Reason.PA_DG_HASH_MISMATCH


@pytest.mark.parametrize(
    ("com", "status"), [([1, 2, 3, 14], CheckStatus.PASS), ([1, 2, 14], CheckStatus.FAIL)]
)
def test_sod_against_com_list(store: TrustStore, com: list[int], status: CheckStatus) -> None:
    data = (REAL / "DE.sod").read_bytes()
    check = by_name(passive_authentication(data, store, com_dg_list=com, at=AT))[
        CheckName.SOD_COM_CONSISTENCY
    ]
    assert check.status is status
    if status is CheckStatus.FAIL:
        assert check.reason is Reason.PA_SOD_COM_MISMATCH


def _indefinite(der: bytes, depth: int) -> bytes:
    """Re-encode the outer `depth` levels of constructed DER with BER indefinite lengths."""
    tag_end = 1
    length = der[tag_end]
    if length & 0x80:
        count = length & 0x7F
        start, size = tag_end + 1 + count, int.from_bytes(der[tag_end + 1 : tag_end + 1 + count])
    else:
        start, size = tag_end + 1, length
    if depth == 0 or not der[0] & 0x20:
        return der[: start + size]
    body, children = der[start : start + size], []
    while body:
        child = _indefinite(body, 0)
        children.append(_indefinite(child, depth - 1))
        body = body[len(child) :]
    return der[:1] + b"\x80" + b"".join(children) + b"\x00\x00"


@pytest.mark.parametrize("country", ["DE", "PH", "RU"])
def test_ber_indefinite_lengths_verify_the_same(store: TrustStore, country: str) -> None:
    data = (REAL / f"{country}.sod").read_bytes()
    ber = _indefinite(data, 5)  # 0x77, ContentInfo, [0], SignedData, its SETs and eContent
    assert ber != data and b"\x30\x80" in ber
    checks = by_name(passive_authentication(ber, store, at=AT))
    assert checks[CheckName.SOD_SIGNATURE].status is CheckStatus.PASS
    assert checks[CheckName.DS_CERTIFICATE_CHAIN].status is CheckStatus.PASS


def test_card_security_content_is_withheld_without_a_trusted_chain(tmp_path: Path) -> None:
    data = (REAL / "FI.cardsecurity").read_bytes()
    with TrustStore(tmp_path / "empty.sqlite3") as empty:
        result = verify_security_object(data, empty, content_type=OID_SECURITY_OBJECT, at=AT)
    assert result.signature_valid and result.verified_content is None
