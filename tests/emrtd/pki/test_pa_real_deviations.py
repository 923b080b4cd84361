"""Passive Authentication of EF.SODs shaped like real passports that deviate from 9303.

Liberal in what is read, strict in what is trusted: a SignerInfo that names the DS issuer with
its attributes in another order, or an eContentType of id-data, must still verify when the
signature is good, and must still fail when it is not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asn1crypto import x509 as asn1_x509

from appliance.emrtd.lds import sod as sod_file
from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus, overall_status
from appliance.emrtd.pki.cms import find_signer_certificate, parse_signed_data
from appliance.emrtd.pki.crl import Crl
from appliance.emrtd.pki.passive import PA_CHECKS, passive_authentication
from appliance.errors import LdsError, Reason
from tests.support import pa_pki
from tests.support.pa_pki import NOW

DGS = {1: pa_pki.dg1("NZL"), 2: b"\x75\x03face", 14: b"\x6e\x02ca"}
ID_DATA = "1.2.840.113549.1.7.1"


class Anchors:
    """A trust store holding one CSCA and its CRL (the PA `TrustAnchors` protocol)."""

    def __init__(self, csca: pa_pki.Issued) -> None:
        self.csca = Certificate.from_der(csca.der)
        self.crl = Crl.from_der(pa_pki.crl(csca, revoked_serials=[]))

    def issuer_candidates(
        self, authority_key_id: bytes | None, issuer_key: str
    ) -> Iterator[Certificate]:
        if issuer_key == self.csca.subject_key or authority_key_id == self.csca.subject_key_id:
            yield self.csca

    def latest_crl(self, issuer: Certificate) -> Crl | None:
        return self.crl if issuer == self.csca else None


@pytest.fixture(scope="module")
def pki() -> tuple[pa_pki.Issued, pa_pki.Issued]:
    csca = pa_pki.csca("NZ")
    return csca, pa_pki.document_signer(csca, "NZ")


@pytest.fixture(scope="module")
def anchors(pki: tuple[pa_pki.Issued, pa_pki.Issued]) -> Anchors:
    return Anchors(pki[0])


def by_name(checks: list[Check]) -> dict[CheckName, Check]:
    return {c.name: c for c in checks}


def wrap(content_info: bytes) -> bytes:
    return sod_file.wrap_sod(content_info)


def reorder_signer_issuer(sod: bytes, ds: pa_pki.Issued) -> bytes:
    """The same EF.SOD with the SignerInfo's issuer RDNs in reverse order (C,O,CN -> CN,O,C).

    The SignerIdentifier is outside the signed attributes, so the signature stays valid.
    """
    issuer = asn1_x509.Certificate.load(ds.der).issuer
    rdns = [rdn.dump() for rdn in issuer.chosen]
    assert len(rdns) == 3
    reordered = issuer.dump()[: -sum(map(len, rdns))] + b"".join(reversed(rdns))
    at = sod.rfind(issuer.dump())  # the last occurrence: the SignerInfo, after the certificate
    assert at > 0 and reordered != issuer.dump()
    return sod[:at] + reordered + sod[at + len(reordered) :]


def forge_signature(sod: bytes) -> bytes:
    """Flip the last byte of the ECDSA signature (the last byte of EF.SOD)."""
    return sod[:-1] + bytes([sod[-1] ^ 0x01])


def test_signer_issuer_in_another_attribute_order_passes(
    pki: tuple[pa_pki.Issued, pa_pki.Issued], anchors: Anchors
) -> None:
    _, ds = pki
    sod = reorder_signer_issuer(pa_pki.sod(DGS, ds), ds)
    signed = parse_signed_data(sod)
    (cert,) = signed.certificates
    assert signed.signer.sid_issuer_key != cert.issuer_key  # the issuer really is reordered
    assert find_signer_certificate(signed) == cert
    checks = passive_authentication(sod, anchors, DGS, sorted(DGS), at=NOW)
    assert [c.name for c in checks] == list(PA_CHECKS)
    assert overall_status(checks) is CheckStatus.PASS, [c.to_dict() for c in checks]


def test_reordered_issuer_with_a_forged_signature_still_fails(
    pki: tuple[pa_pki.Issued, pa_pki.Issued], anchors: Anchors
) -> None:
    _, ds = pki
    sod = forge_signature(reorder_signer_issuer(pa_pki.sod(DGS, ds), ds))
    signature = by_name(passive_authentication(sod, anchors, DGS, sorted(DGS), at=NOW))[
        CheckName.SOD_SIGNATURE
    ]
    assert (signature.status, signature.reason) == (CheckStatus.FAIL, Reason.PA_SIGNATURE_INVALID)
    assert "does not verify" in signature.detail


def test_signer_naming_another_issuer_or_serial_is_not_matched(
    pki: tuple[pa_pki.Issued, pa_pki.Issued],
) -> None:
    """Set comparison relaxes the order of the attributes, nothing else."""
    csca, ds = pki
    serial = ds.cert.serial_number
    other_serial = pa_pki.make_cert(ds.cert.subject, ds.key, csca, ca=False, serial=serial + 1)
    other_issuer = pa_pki.make_cert(
        ds.cert.subject, ds.key, pa_pki.csca("AU"), ca=False, serial=serial
    )
    for named in (other_serial, other_issuer):
        content = pa_pki.lds_security_object(DGS)
        # the SignerInfo names `named`; the only certificate carried is `ds` (same key)
        info = pa_pki.signed_data(
            content, pa_pki.OID_LDS_SECURITY_OBJECT, named, include_cert=False, extra_certs=(ds,)
        )
        assert find_signer_certificate(parse_signed_data(wrap(info))) is None


def test_sod_with_content_type_id_data_passes_with_a_warning(
    pki: tuple[pa_pki.Issued, pa_pki.Issued], anchors: Anchors
) -> None:
    _, ds = pki
    sod = wrap(pa_pki.signed_data(pa_pki.lds_security_object(DGS), ID_DATA, ds))
    checks = by_name(passive_authentication(sod, anchors, DGS, sorted(DGS), at=NOW))
    signature = checks.pop(CheckName.SOD_SIGNATURE)
    assert (signature.status, signature.reason) == (
        CheckStatus.WARN,
        Reason.SOD_CONTENT_TYPE_NONSTANDARD,
    )
    assert "signature valid" in signature.detail and "id-data" in signature.detail
    assert all(c.status is CheckStatus.PASS for c in checks.values()), checks
    # the LDS parser reads it too, and says which content type it found
    parsed = sod_file.parse(sod)
    assert parsed.content_type == ID_DATA and parsed.nonstandard_content_type
    assert set(parsed.security_object.dg_hashes) == set(DGS)


def test_sod_with_content_type_id_data_and_a_forged_signature_fails(
    pki: tuple[pa_pki.Issued, pa_pki.Issued], anchors: Anchors
) -> None:
    _, ds = pki
    sod = forge_signature(wrap(pa_pki.signed_data(pa_pki.lds_security_object(DGS), ID_DATA, ds)))
    checks = passive_authentication(sod, anchors, DGS, sorted(DGS), at=NOW)
    signature = by_name(checks)[CheckName.SOD_SIGNATURE]
    assert (signature.status, signature.reason) == (CheckStatus.FAIL, Reason.PA_SIGNATURE_INVALID)
    assert overall_status(checks) is CheckStatus.FAIL


def test_id_data_with_a_forged_data_group_fails(
    pki: tuple[pa_pki.Issued, pa_pki.Issued], anchors: Anchors
) -> None:
    _, ds = pki
    sod = wrap(pa_pki.signed_data(pa_pki.lds_security_object(DGS), ID_DATA, ds))
    forged = {**DGS, 1: pa_pki.dg1("AUS")}
    hashes = by_name(passive_authentication(sod, anchors, forged, sorted(DGS), at=NOW))[
        CheckName.DG_HASHES
    ]
    assert (hashes.status, hashes.reason) == (CheckStatus.FAIL, Reason.PA_DG_HASH_MISMATCH)


@pytest.mark.parametrize("oid", ["1.2.840.113549.1.7.5", "2.23.136.1.1.2"])
def test_other_content_types_are_still_refused(
    pki: tuple[pa_pki.Issued, pa_pki.Issued], anchors: Anchors, oid: str
) -> None:
    _, ds = pki
    sod = wrap(pa_pki.signed_data(pa_pki.lds_security_object(DGS), oid, ds))
    signature = by_name(passive_authentication(sod, anchors, DGS, sorted(DGS), at=NOW))[
        CheckName.SOD_SIGNATURE
    ]
    assert (signature.status, signature.reason) == (CheckStatus.FAIL, Reason.LDS_MALFORMED)
    with pytest.raises(LdsError):
        sod_file.parse(sod)
