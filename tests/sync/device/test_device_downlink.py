"""The downlink against the real central: signed artefacts published centrally arrive, are
verified and applied; a tampered, unsigned or older one is refused with its reason and the
version in force stays."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE, TrustStore
from appliance.errors import Reason
from appliance.history import DocumentRef
from appliance.inspection.policy import default_policy_toml, load_policy
from appliance.signed.watchlist import build_watchlist, load_watchlist
from hardware_mocks.pki import load_or_create_pki
from tests.sync.conftest import CentralServer
from tests.sync.device.conftest import publish

STOLEN = DocumentRef("UTO", "STOLEN123")


def _watchlist(version: int) -> bytes:
    issued = datetime.now(UTC) - timedelta(minutes=10)
    return build_watchlist([(STOLEN, "stolen")], version, issued)


def _outcomes(result: Any) -> dict[str, tuple[int, bool, str]]:
    return {o.kind: (o.version, o.applied, o.reason.value) for o in result.artefacts}


def test_watchlist_policy_and_crl_arrive_and_are_applied(
    central: CentralServer, make_device: Any
) -> None:
    pki = load_or_create_pki()
    device = make_device("downlink")
    with TrustStore(device.data_dir / DEFAULT_FILE) as store:  # the CSCA, provisioned
        anchor = hashlib.sha256(pki.csca_der).hexdigest()
        assert import_file(pki.csca_der, store, "provisioning", anchors=[anchor]).ok
    device.enrol(central)
    publish(central.database, "watchlist", _watchlist(3))
    publish(central.database, "policy", default_policy_toml(version=4))
    crl = pki.crl_revoking(pki.new_document_signer("revoked-ds").certificate, number=7)
    publish(central.database, "crl", crl)
    result = device.sync()
    assert _outcomes(result) == {
        "watchlist": (1, True, "OK"),
        "policy": (1, True, "OK"),
        "crl": (1, True, "OK"),
    }
    assert load_watchlist(device.data_dir).lookup(STOLEN) == "stolen"
    assert load_policy(device.data_dir).version == 4
    with TrustStore(device.data_dir / DEFAULT_FILE) as store:
        (row,) = store.crl_rows()
        assert (row["source"], row["revoked_count"]) == ("central crl v1", 1)
    assert device.status()["artefacts"] == {"watchlist": 1, "policy": 1, "crl": 1}
    # nothing new: nothing fetched again
    assert {o.applied for o in device.sync().artefacts} == {False}
    # the command line says what it applied, and what it refused (exit 1)
    publish(central.database, "watchlist", _watchlist(5))
    result = device.cli("run", "--once")
    assert result.returncode == 0 and "watchlist v2: applied" in result.stdout, result.stderr
    publish(central.database, "watchlist", _watchlist(6), key=Ed25519PrivateKey.generate())
    result = device.cli("run", "--once", "--json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    (outcome,) = [o for o in body["downlink"] if o["kind"] == "watchlist"]
    assert outcome["reason"] == "SYNC_ARTEFACT_UNSIGNED" and body["artefacts"]["watchlist"] == 2


def test_tampered_unsigned_and_older_artefacts_are_refused_and_the_old_stays(
    central: CentralServer, make_device: Any
) -> None:
    device = make_device("refuser")
    device.enrol(central)
    publish(central.database, "watchlist", _watchlist(1))
    device.sync()
    assert load_watchlist(device.data_dir).version == 1

    # tampered: central's copy of version 2 altered after signing
    publish(central.database, "watchlist", _watchlist(2))
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute(
            "UPDATE artefacts SET content = %s WHERE kind = 'watchlist' AND version = 2",
            (_watchlist(9),),
        )
    assert _outcomes(device.sync())["watchlist"] == (2, False, "SYNC_ARTEFACT_INVALID")
    assert load_watchlist(device.data_dir).version == 1
    status = device.status()
    assert status["artefacts"]["watchlist"] == 1
    assert "SYNC_ARTEFACT_INVALID" in [a["reason"] for a in status["alarms"]]

    # signed by a key the device does not trust
    publish(central.database, "watchlist", _watchlist(3), key=Ed25519PrivateKey.generate())
    assert _outcomes(device.sync())["watchlist"] == (3, False, "SYNC_ARTEFACT_UNSIGNED")
    assert load_watchlist(device.data_dir).version == 1
    with psycopg.connect(central.database, autocommit=True) as conn:  # no signature at all
        conn.execute("UPDATE artefacts SET signature = '' WHERE kind = 'watchlist' AND version = 3")
    assert _outcomes(device.sync())["watchlist"] == (3, False, "SYNC_ARTEFACT_UNSIGNED")

    # a good version 4 is applied; then central offers an older one (rolled back)
    publish(central.database, "watchlist", _watchlist(4))
    assert _outcomes(device.sync())["watchlist"] == (4, True, "OK")
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute("DELETE FROM artefacts WHERE kind = 'watchlist' AND version >= 3")
    assert _outcomes(device.sync())["watchlist"] == (2, False, Reason.SYNC_ARTEFACT_ROLLBACK.value)
    assert load_watchlist(device.data_dir).version == 4
    assert device.status()["artefacts"]["watchlist"] == 4

    # a CRL that no stored CSCA signed vouches for nothing (this device has no CSCA)
    publish(central.database, "crl", load_or_create_pki().crl_revoking(number=3))
    publish(central.database, "policy", default_policy_toml(version=2))
    outcomes = _outcomes(device.sync())
    assert outcomes["crl"][:2] == (1, False) and outcomes["crl"][2] != "OK"
    assert outcomes["policy"] == (1, True, "OK")
    # a signed policy that does not parse leaves the one in force
    publish(central.database, "policy", b"version = 3\nnot toml [")
    assert _outcomes(device.sync())["policy"] == (2, False, Reason.POLICY_INVALID.value)
    assert load_policy(device.data_dir).version == 2
    assert device.status()["artefacts"] == {"watchlist": 4, "policy": 1}


def test_a_deviation_list_arrives_and_a_bad_one_leaves_the_old_in_force(
    central: CentralServer, make_device: Any
) -> None:
    """Known defects of a document series, signed by the authority, reach the lane's
    `deviations.json`; one whose entry names no DS certificate (it would excuse every
    document) is refused although its signature is good."""
    from appliance.emrtd.pki.deviations import DEFAULT_FILE as DEVIATIONS_FILE
    from appliance.emrtd.pki.deviations import DeviationList

    device = make_device("deviations")
    device.enrol(central)
    entry = {
        "issuer": "UTO",
        "ds_fingerprint": "ab" * 32,
        "check": "dg_hashes",
        "reason_code": "PA_DG_HASH_MISMATCH",
        "description": "DG11 hashed with SHA-1",
    }
    publish(central.database, "deviations", json.dumps({"deviations": [entry]}).encode())
    assert _outcomes(device.sync())["deviations"] == (1, True, "OK")
    (installed,) = DeviationList.load(device.data_dir / DEVIATIONS_FILE).entries
    assert installed.ds_fingerprint == "ab" * 32

    loose = {**entry, "ds_fingerprint": ""}
    publish(central.database, "deviations", json.dumps({"deviations": [loose]}).encode())
    assert _outcomes(device.sync())["deviations"] == (2, False, "TRUST_LIST_INVALID")
    assert len(DeviationList.load(device.data_dir / DEVIATIONS_FILE).entries) == 1
    assert device.status()["artefacts"]["deviations"] == 1
