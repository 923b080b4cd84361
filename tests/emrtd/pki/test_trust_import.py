"""Trust store imports: master lists (real and generated), CSCA/link certificates, CRLs."""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.pki.importer import ImportKind, detect, import_file
from appliance.emrtd.pki.masterlist import parse_master_list
from appliance.emrtd.pki.passive import passive_authentication
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import LdsError, Reason
from tests.support import pa_pki
from tests.support.data_support import MASTER_LIST, REAL_SOD
from tests.support.pa_pki import NOW


@pytest.fixture
def store(tmp_path: Path) -> TrustStore:
    return TrustStore(tmp_path / "trust.sqlite3")


def de_anchor() -> list[str]:
    """The German CSCA's fingerprint (in production: the BSI's published value)."""
    return [pa_pki.master_list_anchor(MASTER_LIST.read_bytes())]


def test_german_master_list_imports_every_csca(store: TrustStore, tmp_path: Path) -> None:
    report = import_file(MASTER_LIST.read_bytes(), store, "DE.ml", at=NOW, anchors=de_anchor())
    assert (report.kind, report.status) == (ImportKind.MASTER_LIST, CheckStatus.PASS)
    assert (report.total, report.added, report.unparseable) == (588, 588, [])
    assert "Master List Signer" in report.detail
    again = import_file(
        MASTER_LIST.read_bytes(), store, "DE.ml", at=NOW
    )  # now anchored in the store
    assert (again.ok, again.added) == (True, 0)
    store.close()
    with TrustStore(tmp_path / "trust.sqlite3") as reopened:
        rows = list(reopened.certificates())
    assert len(rows) == 588
    assert {"DE", "FR", "US", "GB"} <= {r.country for r in rows}
    assert all(r.parse_error is None for r in rows)


def test_each_imported_master_list_is_recorded_with_its_version(store: TrustStore) -> None:
    """The maintenance page's master list versions: ICAO lists carry only version 0, so the
    record is the file's sha256 and the CMS signing time, written with the certificates."""
    data = MASTER_LIST.read_bytes()
    assert import_file(data, store, "DE.ml", at=NOW, anchors=de_anchor()).ok
    assert import_file(data, store, "DE-again.ml", at=NOW).ok
    (record,) = store.master_lists()  # the same file twice is one master list
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["signer_country"] == "DE" and record["entries"] == 588
    assert str(record["signed_at"]).startswith("20")
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 1
    with contextlib.suppress(LdsError):
        import_file(bytes(tampered), store, "bad.ml", at=NOW)
    assert len(store.master_lists()) == 1  # a refused list leaves no record


def test_tampered_master_list_imports_nothing(store: TrustStore) -> None:
    data = bytearray(MASTER_LIST.read_bytes())
    entry = parse_master_list(bytes(data)).entries[100].der
    at = bytes(data).index(entry) + len(entry) // 2
    data[at] ^= 0x01
    report = import_file(bytes(data), store, "DE.ml", at=NOW, anchors=de_anchor())
    assert (report.status, report.reason) == (CheckStatus.FAIL, Reason.TRUST_LIST_INVALID)
    assert store.counts() == (0, 0)


def _signer(issuer: pa_pki.Issued) -> pa_pki.Issued:
    return pa_pki.make_cert(pa_pki.name("ML Signer", "NZ"), pa_pki.new_key(), issuer, ca=False)


def test_unparseable_entries_are_stored_and_reported(store: TrustStore) -> None:
    csca = pa_pki.csca("NZ")
    not_a_cert = bytes.fromhex("3003020105")
    ml = pa_pki.master_list([csca.der, not_a_cert], _signer(csca))
    report = import_file(ml, store, "nz.ml", at=NOW, anchors=[pa_pki.pin(csca.der)])
    assert report.ok, report.detail
    assert (report.total, report.added, len(report.unparseable)) == (2, 2, 1)
    rows = list(store.certificates())
    assert sorted(r.parse_error is not None for r in rows) == [False, True]
    assert len(store.anchors()) == 1  # only the parsed one can anchor a chain


def test_master_list_signer_must_chain_to_a_known_csca(store: TrustStore) -> None:
    listed, outsider = pa_pki.csca("NZ"), pa_pki.csca("NZ")
    ml = pa_pki.master_list([listed.der], _signer(outsider), extra_certs=(outsider,))
    report = import_file(ml, store, "nz.ml", at=NOW)
    assert (report.ok, report.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    # once the outsider is trusted (imported on its own), the same list is accepted
    assert import_file(outsider.der, store, "outsider.der", anchors=[pa_pki.pin(outsider.der)]).ok
    accepted = import_file(ml, store, "nz.ml", at=NOW)
    assert accepted.ok and "in the trust store" in accepted.detail


@pytest.mark.parametrize("pem", [False, True])
def test_single_csca_in_der_or_pem(store: TrustStore, pem: bool) -> None:
    csca = pa_pki.csca("NZ")
    report = import_file(
        csca.pem if pem else csca.der, store, "csca", anchors=[pa_pki.pin(csca.der)]
    )
    assert (report.kind, report.ok, report.added) == (ImportKind.CERTIFICATE, True, 1)
    (row,) = store.certificates()
    assert (row.country, row.is_ca, row.serial) == ("NZ", True, str(csca.cert.serial_number))


def test_link_certificate_needs_its_issuer(store: TrustStore) -> None:
    old = pa_pki.csca("NZ")
    link = pa_pki.make_cert(pa_pki.name("CSCA NZ", "NZ"), pa_pki.new_key(), old, ca=True)
    refused = import_file(link.der, store, "link.der")
    assert (refused.ok, refused.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert import_file(old.der, store, "old.der", anchors=[pa_pki.pin(old.der)]).ok
    accepted = import_file(link.der, store, "link.der")
    assert accepted.ok and "1 link" in accepted.detail
    # a DS issued under the new key chains to the link certificate
    ds = pa_pki.document_signer(link, "NZ")
    sod = pa_pki.sod({1: b"\x61\x00", 2: b"\x75\x00"}, ds)
    chain = passive_authentication(sod, store, at=NOW)[1]
    assert (chain.name, chain.status) == (CheckName.DS_CERTIFICATE_CHAIN, CheckStatus.PASS)


def test_bundle_of_csca_and_link_imports_together(store: TrustStore) -> None:
    old = pa_pki.csca("NZ")
    link = pa_pki.make_cert(pa_pki.name("CSCA NZ", "NZ"), pa_pki.new_key(), old, ca=True)
    report = import_file(old.pem + link.pem, store, "bundle.pem", anchors=[pa_pki.pin(old.der)])
    assert (report.ok, report.total, report.added) == (True, 2, 2)


def test_document_signer_certificate_is_not_a_trust_anchor(store: TrustStore) -> None:
    csca = pa_pki.csca("NZ")
    store.close()
    ds = pa_pki.document_signer(csca, "NZ")
    with TrustStore(":memory:") as fresh:
        report = import_file(ds.der, fresh, "ds.der")
        assert (report.ok, report.reason) == (False, Reason.TRUST_LIST_INVALID)
        assert fresh.counts() == (0, 0)


def test_forged_self_signed_csca_is_refused(store: TrustStore) -> None:
    der = bytearray(pa_pki.csca("NZ").der)
    der[-5] ^= 0x01  # inside the signature
    report = import_file(bytes(der), store, "forged.der", anchors=[pa_pki.pin(bytes(der))])
    assert (report.ok, report.reason) == (False, Reason.TRUST_LIST_INVALID)


def test_crl_needs_its_csca_in_the_store(store: TrustStore) -> None:
    csca = pa_pki.csca("NZ")
    crl = pa_pki.crl(csca, [1, 2, 3])
    assert detect(crl) is ImportKind.CRL
    refused = import_file(crl, store, "nz.crl")
    assert (refused.ok, refused.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert import_file(csca.der, store, "csca.der", anchors=[pa_pki.pin(csca.der)]).ok
    accepted = import_file(crl, store, "nz.crl")
    assert (accepted.ok, accepted.added) == (True, 1)
    assert "3 revoked" in accepted.detail


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        bytes.fromhex("3003020105"),
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
)
def test_unreadable_files_raise_lds_errors(store: TrustStore, data: bytes) -> None:
    with pytest.raises(LdsError):
        import_file(data, store, "junk")
    assert store.counts() == (0, 0)


def test_sod_is_not_a_master_list(store: TrustStore) -> None:
    with pytest.raises(LdsError, match="not a CSCA master list"):
        import_file((REAL_SOD / "DE.sod").read_bytes(), store, "DE.sod")


def test_certificates_pyca_refuses_still_parse_and_verify() -> None:
    """Negative serials, explicit EC parameters, trailing TBS bytes: real CSCAs pyca rejects."""
    master_list = parse_master_list(MASTER_LIST.read_bytes())
    certificates = master_list.certificates
    refused = []
    for cert in certificates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pyca warns about negative serials
                x509.load_der_x509_certificate(cert.der).public_key()
        except (ValueError, UnsupportedAlgorithm):
            refused.append(cert)
    assert len(refused) >= 100
    assert any(c.serial < 0 for c in certificates)
    verified = 0
    for cert in refused:
        issuers = [i for i in certificates if cert.might_be_issued_by(i)]
        if any(_verifies(cert, issuer) for issuer in issuers):
            verified += 1
        else:
            assert not issuers, cert.subject  # an issuer in the list must verify it
    assert verified >= 95


def _verifies(cert: Certificate, issuer: Certificate) -> bool:
    try:
        return cert.is_signed_by(issuer)
    except LdsError:
        return False
