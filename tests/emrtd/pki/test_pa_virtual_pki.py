"""Interoperability: EF.SODs from the virtual chip's test PKI (hardware_mocks.pki) verify here.

The simulated passports must pass Passive Authentication exactly as real ones do, so the
end-to-end chip tests can rely on it; and a DS revoked by that PKI's CRL must be caught.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from appliance.emrtd.lds.sod import LdsSecurityObject, encode_security_object
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.passive import PA_CHECKS, passive_authentication
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import Reason
from hardware_mocks.pki import PkiAlgorithm, Signer, load_or_create_pki, sign_sod
from tests.support import pa_pki

DGS = {1: pa_pki.dg1("D<<"), 2: b"\x75\x03abc", 14: b"\x6e\x03def"}


def sod_for(signer: Signer, signer_identifier: str = "issuer_serial") -> bytes:
    hashes = {n: hashlib.sha256(data).digest() for n, data in DGS.items()}
    lso = encode_security_object(LdsSecurityObject("sha256", hashes))
    return sign_sod(lso, signer, signer_identifier=signer_identifier)


@pytest.mark.parametrize(
    "algorithm",
    [PkiAlgorithm.ECDSA_BRAINPOOL_P256, PkiAlgorithm.ECDSA_NIST_P256, PkiAlgorithm.RSA_PSS],
)
@pytest.mark.parametrize("sid", ["issuer_serial", "ski"])
def test_virtual_pki_passes_every_check(tmp_path: Path, algorithm: PkiAlgorithm, sid: str) -> None:
    pki = load_or_create_pki("DE", algorithm)
    with TrustStore(tmp_path / "t.sqlite3") as store:
        assert import_file(pki.csca_der, store, "csca.der", anchors=[pa_pki.pin(pki.csca_der)]).ok
        assert import_file(pki.crl_der, store, "de.crl").ok
        checks = passive_authentication(sod_for(pki.document_signer, sid), store, DGS, sorted(DGS))
    assert [c.name for c in checks] == list(PA_CHECKS)
    assert all(c.status is CheckStatus.PASS for c in checks), [c.to_dict() for c in checks]


def test_virtual_pki_revoked_document_signer(tmp_path: Path) -> None:
    pki = load_or_create_pki("DE", PkiAlgorithm.ECDSA_BRAINPOOL_P256)
    revoked = pki.new_document_signer("revoked")
    with TrustStore(tmp_path / "t.sqlite3") as store:
        assert import_file(pki.csca_der, store, "csca.der", anchors=[pa_pki.pin(pki.csca_der)]).ok
        assert import_file(pki.crl_revoking(revoked.certificate), store, "de.crl").ok
        checks = {c.name: c for c in passive_authentication(sod_for(revoked), store, DGS)}
    revocation = checks[CheckName.DS_REVOCATION]
    assert (revocation.status, revocation.reason) == (CheckStatus.FAIL, Reason.PA_DS_REVOKED)
