"""Which CRL the store consults when several of one CSCA are stored."""

from __future__ import annotations

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.crl import Crl
from appliance.emrtd.pki.trust_store import TrustStore
from tests.support import pa_pki


def test_same_this_update_is_ordered_by_crl_number() -> None:
    issuer = pa_pki.csca()
    ds = pa_pki.document_signer(issuer)
    stamp = pa_pki.NOW - pa_pki.timedelta(hours=1)
    older = pa_pki.crl(issuer, [], this_update=stamp, number=7)
    newer = pa_pki.crl(issuer, [ds.cert.serial_number], this_update=stamp, number=8)
    anchor = Certificate.from_der(issuer.der)
    for order in ((older, newer), (newer, older)):
        with TrustStore(":memory:") as store:
            for der in order:
                store.add_crl(Crl.from_der(der), "test")
            latest = store.latest_crl(anchor)
            assert latest is not None and latest.crl_number == 8
            assert latest.revocation_date(ds.cert.serial_number) is not None
