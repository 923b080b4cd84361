"""`appliance sync status` on the device's own data, without central: an overdue CRL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE, TrustStore
from sync.device.service import status
from tests.support import pa_pki


def test_a_crl_central_did_not_refresh_in_time_is_reported(make_device: Any) -> None:
    device = make_device("crl")
    csca = pa_pki.csca("NZ")
    now = datetime.now(UTC)
    store_path = device.data_dir / DEFAULT_FILE
    with TrustStore(store_path) as store:
        assert import_file(csca.der, store, "csca.der", anchors=[pa_pki.pin(csca.der)]).ok
        old = pa_pki.crl(csca, [], this_update=now - timedelta(days=40),
                         next_update=now - timedelta(days=10), number=1)  # fmt: skip
        assert import_file(old, store, "old.crl", at=now).ok
    body = status(device.config, device.data_dir)
    ((issuer, next_update),) = body["overdue_crls"].items()
    assert "NZ" in issuer
    assert datetime.fromisoformat(next_update).date() == (now - timedelta(days=10)).date()
    assert "CRL_STALE" in [alarm["reason"] for alarm in body["alarms"]]

    # a newer CRL (what central should have brought) clears it; the old one stays stored
    with TrustStore(store_path) as store:
        fresh = pa_pki.crl(csca, [], this_update=now - timedelta(days=1),
                           next_update=now + timedelta(days=20), number=2)  # fmt: skip
        assert import_file(fresh, store, "fresh.crl", at=now).ok
    body = status(device.config, device.data_dir)
    assert body["overdue_crls"] == {}
    assert "CRL_STALE" not in [alarm["reason"] for alarm in body["alarms"]]
