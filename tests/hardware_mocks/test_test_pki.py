"""The one CMS SignedData builder of the test PKIs (hardware_mocks/pki.py), as
tests/support/pa_pki.py uses it: signing time, extra certificates and RSA-PSS signers verify
with the product's code."""

from __future__ import annotations

from datetime import timedelta

from asn1crypto import cms

from appliance.emrtd.pki.cms import find_signer_certificate, parse_signed_data, verify_signer
from tests.support import pa_pki
from tests.support.pa_pki import NOW


def test_signed_data_carries_signing_time_and_extra_certificates() -> None:
    root = pa_pki.csca(kind="rsa")
    ds = pa_pki.document_signer(root, kind="rsa")
    when = NOW - timedelta(days=3)
    der = pa_pki.signed_data(b"\x30\x00", "2.23.136.1.1.1", ds, pss=True, extra_certs=(root,),
                             signing_time=when)  # fmt: skip
    info = cms.ContentInfo.load(der)["content"]
    attrs = {
        a["type"].native: a["values"][0].native for a in info["signer_infos"][0]["signed_attrs"]
    }
    assert attrs["signing_time"] == when
    assert [c.dump() for c in info["certificates"]] == [ds.der, root.der]
    assert info["signer_infos"][0]["signature_algorithm"]["algorithm"].native == "rsassa_pss"
    signed = parse_signed_data(der)
    assert signed.signer.signing_time == when
    signer_cert = find_signer_certificate(signed)
    assert signer_cert is not None and signer_cert.der == ds.der
    assert verify_signer(signed, signer_cert).valid


def test_a_signed_data_without_certificates_has_none() -> None:
    ds = pa_pki.document_signer(pa_pki.csca())
    der = pa_pki.signed_data(b"\x30\x00", "2.23.136.1.1.1", ds, include_cert=False,
                             signing_time=None)  # fmt: skip
    info = cms.ContentInfo.load(der)["content"]
    assert not info["certificates"]
    names = [a["type"].native for a in info["signer_infos"][0]["signed_attrs"]]
    assert sorted(names) == ["content_type", "message_digest"]
