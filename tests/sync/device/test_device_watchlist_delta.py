"""Watchlist deltas through the real central: applied only on exactly the list in force and
checked against the signed result; a base that does not match brings the full list; a tampered,
unsigned, older or wrong delta is refused with its reason and the old list stays in force."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.history import DocumentRef
from appliance.signed.watchlist import WATCHLIST_FILE, build_watchlist, load_watchlist
from tests.sync.conftest import CentralServer, central_cli
from tests.sync.device.conftest import AUTHORITY, publish

KEY = b"\x11" * 32  # the list key: a delta keeps the base's
LOST, STOLEN, GONE = (
    DocumentRef("UTO", "LOST1"),
    DocumentRef("UTO", "STOLEN2"),
    DocumentRef("D", "X9"),
)
ISSUED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def _list(version: int, *documents: DocumentRef, key: bytes = KEY) -> bytes:
    entries = [(d, "lost" if d is LOST else "stolen") for d in documents]
    return build_watchlist(entries, version, ISSUED + timedelta(seconds=version), key)


def _outcomes(result: Any) -> dict[str, tuple[int, bool, str]]:
    return {o.kind: (o.version, o.applied, o.reason.value) for o in result.artefacts}


def _stored(database: str, kind: str, version: int) -> bytes:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT content FROM artefacts WHERE kind = %s AND version = %s", (kind, version)
        ).fetchone()
    assert row is not None
    return bytes(row[0])


def test_a_delta_applies_on_exactly_the_list_in_force(
    central: CentralServer, make_device: Any, tmp_path: Path
) -> None:
    device = make_device("delta")
    device.enrol(central)
    publish(central.database, "watchlist", _list(1, LOST, GONE))
    assert _outcomes(device.sync())["watchlist"] == (1, True, "OK")

    # the authority publishes the next list as a delta (the command line's kind)
    key_file, new_list = tmp_path / "authority.pem", tmp_path / "list-2.json"
    key_file.write_bytes(
        AUTHORITY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    new_list.write_bytes(_list(2, LOST, STOLEN))
    args = ("publish", "watchlist-delta", str(new_list), "--key", str(key_file))
    assert "published watchlist-delta version 2" in central_cli(central.database, *args).stdout
    delta = json.loads(_stored(central.database, "watchlist-delta", 2))
    assert (delta["base"]["artefact"], len(delta["add"]), len(delta["remove"])) == (1, 1, 1)

    outcomes = _outcomes(device.sync())
    assert outcomes["watchlist-delta"] == (2, True, "OK")
    assert outcomes["watchlist"] == (2, False, "OK")  # already in force: not fetched whole
    installed = load_watchlist(device.data_dir)
    assert (installed.version, installed.lookup(STOLEN), installed.lookup(GONE)) == (
        2,
        "stolen",
        None,
    )
    # the rebuilt list is byte for byte the full list central published for version 2
    assert (device.data_dir / WATCHLIST_FILE).read_bytes() == _stored(
        central.database, "watchlist", 2
    )
    assert device.status()["artefacts"]["watchlist"] == 2

    # a device on no list, and one a version behind, take the full list instead
    late = make_device("late")
    late.enrol(central)
    outcomes = _outcomes(late.sync())
    assert outcomes["watchlist-delta"] == (2, False, "OK")
    assert outcomes["watchlist"] == (2, True, "OK")
    publish(central.database, "watchlist-delta", _list(3, STOLEN))
    publish(central.database, "watchlist-delta", _list(4, STOLEN, GONE))
    outcomes = _outcomes(late.sync())  # at 2, the delta's base is 3
    assert outcomes["watchlist-delta"][1:] == (False, "OK")
    assert outcomes["watchlist"] == (4, True, "OK")
    assert load_watchlist(late.data_dir).lookup(GONE) == "stolen"
    assert _outcomes(device.sync())["watchlist"] == (4, True, "OK")


def test_a_bad_delta_is_refused_and_the_list_in_force_stays(
    central: CentralServer, make_device: Any
) -> None:
    device = make_device("baddelta")
    device.enrol(central)
    publish(central.database, "watchlist", _list(1, LOST))
    device.sync()
    in_force = (device.data_dir / WATCHLIST_FILE).read_bytes()

    def still_v1(outcomes: dict[str, tuple[int, bool, str]], reason: str) -> None:
        assert outcomes["watchlist-delta"][1:] == (False, reason)
        assert "watchlist" not in outcomes  # the full list is not taken instead this round
        assert (device.data_dir / WATCHLIST_FILE).read_bytes() == in_force
        assert device.status()["artefacts"]["watchlist"] == 1
        assert reason in [a["reason"] for a in device.status()["alarms"]]

    # tampered at central after signing
    publish(central.database, "watchlist-delta", _list(2, LOST, STOLEN))
    tampered = _stored(central.database, "watchlist-delta", 2).replace(b"stolen", b"lost")
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute(
            "UPDATE artefacts SET content = %s WHERE kind = 'watchlist-delta'", (tampered,)
        )
    still_v1(_outcomes(device.sync()), "SYNC_ARTEFACT_INVALID")

    # signed by a key the device does not trust
    publish(central.database, "watchlist-delta", _list(3, STOLEN), key=Ed25519PrivateKey.generate())
    still_v1(_outcomes(device.sync()), "SYNC_ARTEFACT_UNSIGNED")

    # signed by the authority, but the list it gives is not the signed result
    from sync.central import artefacts

    delta = json.loads(_stored(central.database, "watchlist-delta", 3))
    delta["base"] = {
        "artefact": 1,
        "version": 1,
        "sha256": hashlib.sha256(in_force).hexdigest(),
    }
    delta["remove"] = []
    with psycopg.connect(central.database, autocommit=True) as conn:
        artefacts._insert(conn, "watchlist-delta", 4, json.dumps(delta).encode(), AUTHORITY)
    still_v1(_outcomes(device.sync()), "WATCHLIST_INVALID")

    # a good delta applies and clears the alarm; then central offers an older one
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute("DELETE FROM artefacts WHERE kind LIKE 'watchlist%' AND version > 1")
    publish(central.database, "watchlist-delta", _list(5, LOST, GONE))
    assert _outcomes(device.sync())["watchlist-delta"] == (2, True, "OK")
    assert device.status()["alarms"] == []
    publish(central.database, "watchlist-delta", _list(6, GONE))
    assert _outcomes(device.sync())["watchlist-delta"] == (3, True, "OK")
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute("DELETE FROM artefacts WHERE kind LIKE 'watchlist%' AND version = 3")
    outcomes = _outcomes(device.sync())
    assert outcomes["watchlist-delta"] == (2, False, "SYNC_ARTEFACT_ROLLBACK")
    assert load_watchlist(device.data_dir).version == 6


def test_central_refuses_a_delta_it_cannot_express(central: CentralServer) -> None:
    import pytest

    from appliance.errors import ApplianceError

    with pytest.raises(ApplianceError, match="publish the first list"):
        publish(central.database, "watchlist-delta", _list(1, LOST))
    publish(central.database, "watchlist", _list(1, LOST))
    with pytest.raises(ApplianceError, match="another list key"):
        publish(central.database, "watchlist-delta", _list(2, LOST, key=b"\x22" * 32))
    with pytest.raises(ApplianceError, match="not above"):
        publish(central.database, "watchlist-delta", _list(1, STOLEN))
