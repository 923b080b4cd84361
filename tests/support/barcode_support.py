"""Shared set-up of the barcode tests: the simulated CSCA, seal signers, a trust store."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from hardware_mocks import barcode_seals as bs
from tests.support.data_support import BARCODE_SPECIMENS

PKI = bs.seal_pki("DE")
SIGNER = bs.issue_seal_signer(PKI, "TS", 0x1A2)
AIRLINE = bs.issue_seal_signer(PKI, "AC", 0x4AC)  # the boarding pass issuer's key (CN = "AC")
EXPIRED = bs.issue_seal_signer(
    PKI,
    "TX",
    0x31,
    not_before=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    not_after=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
)
REVOKED = bs.issue_seal_signer(PKI, "TR", 0x32)
WRONG_COUNTRY = bs.issue_seal_signer(PKI, "TF", 0x33, country="FR")
FOREIGN = bs.issue_seal_signer(bs.seal_pki("FR"), "TS", 0x27)  # CSCA FR is not trusted


def specimens() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BARCODE_SPECIMENS.read_text())
    return data


def trusted_store(*, revoke: bool = True, signers: tuple[bs.SealSigner, ...] = ()) -> TrustStore:
    """An in-memory store with the DE test CSCA, its signers and (optionally) a CRL revoking
    `REVOKED`, imported the way an operator would."""
    store = TrustStore(":memory:")
    pin = Certificate.fingerprint_of(PKI.csca_der)
    assert import_file(PKI.csca_der, store, "csca.der", anchors=[pin]).ok
    for signer in signers or (SIGNER, AIRLINE, EXPIRED, REVOKED, WRONG_COUNTRY):
        assert import_file(signer.certificate_der, store, "signer.der").ok
    if revoke:
        crl = PKI.crl_revoking(REVOKED.signer.certificate)
        assert import_file(crl, store, "crl.der").ok
    return store
