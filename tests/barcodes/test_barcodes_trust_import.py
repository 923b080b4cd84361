"""`trust import` takes seal signer certificates, only under a stored CSCA, never as issuers."""

from __future__ import annotations

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.passive import _chain
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import Reason
from hardware_mocks.pki import issue_document_signer
from tests.support.barcode_support import FOREIGN, PKI, SIGNER


def _store_with_csca() -> TrustStore:
    store = TrustStore(":memory:")
    pin = Certificate.fingerprint_of(PKI.csca_der)
    assert import_file(PKI.csca_der, store, "csca.der", anchors=[pin]).ok
    return store


def test_seal_signer_issued_by_a_stored_csca_is_imported() -> None:
    with _store_with_csca() as store:
        report = import_file(SIGNER.certificate_der, store, "signer.der")
        assert (report.ok, report.added) == (True, 1)
        assert "1 signer certificate(s)" in report.detail
        rows = {row.subject: row.is_ca for row in store.certificates()}
        assert rows["Common Name: TS, Country: DE"] is False
        assert store.certificates_by_serial(0x1A2)[0].fingerprint == Certificate.fingerprint_of(
            SIGNER.certificate_der
        )


def test_seal_signer_without_its_csca_is_refused() -> None:
    with TrustStore(":memory:") as store:
        report = import_file(SIGNER.certificate_der, store, "signer.der")
        assert (report.ok, report.reason) == (False, Reason.TRUST_LIST_INVALID)
        assert store.counts() == (0, 0)
    with _store_with_csca() as store:  # a signer of an untrusted (French) CSCA
        report = import_file(FOREIGN.certificate_der, store, "foreign.der")
        assert (report.ok, report.reason) == (False, Reason.TRUST_LIST_INVALID)
        assert store.counts() == (1, 0)


def test_a_stored_seal_signer_issues_nothing() -> None:
    """A certificate 'issued' by the imported signer's key chains to no CSCA."""
    with _store_with_csca() as store:
        assert import_file(SIGNER.certificate_der, store, "signer.der").ok
        ds = issue_document_signer(SIGNER.signer, SIGNER.signer.key, label="under-signer")
        chain, csca = _chain(Certificate.from_der(ds.certificate_der), store)
        assert csca is None and chain.status is CheckStatus.FAIL
        assert chain.reason is Reason.PA_DS_UNTRUSTED
        refused = import_file(ds.certificate_der, store, "ds.der")
        assert refused.ok is False
