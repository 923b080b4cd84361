"""Queries: a document's checks across devices, the fleet's status, `central stats --json`."""

from __future__ import annotations

import json
from pathlib import Path

from sync.central.simdevice import TEST_NATIONAL_KEY, national_pseudonym
from tests.sync.conftest import CentralServer, central_cli, enrolled


def test_document_checks_across_two_devices(central: CentralServer, tmp_path: Path) -> None:
    airport, airport_client = enrolled(central, "airport", location="terminal-2")
    harbour, harbour_client = enrolled(central, "harbour", location="pier-7")
    passport = national_pseudonym("UTO", "L898902C3")
    other = national_pseudonym("UTO", "X00000000")
    airport.check(2)
    airport.check(1, document=passport)
    harbour.check(1, document=other)
    harbour.check(2, document=passport, outcome="REFER")
    reported = {"backlog": 0, "artefacts": {"watchlist": 12, "crl": 4}}
    assert airport_client.send(airport.batch(0, 3, 0, **reported))[0] == 200
    assert harbour_client.send(harbour.batch(0, 3, 0))[0] == 200

    status, body = harbour_client.signed("GET", f"/api/v1/documents/{passport}/checks")
    assert status == 200
    where = [(c["device_id"], c["location"], c["outcome"]) for c in body["checks"]]
    assert sorted(where) == sorted(
        [
            (airport.device_id, "terminal-2", "OPEN"),
            (harbour.device_id, "pier-7", "REFER"),
            (harbour.device_id, "pier-7", "REFER"),
        ]
    )
    assert all(c["time"] for c in body["checks"])
    status, body = airport_client.signed("GET", f"/api/v1/documents/{'0' * 64}/checks")
    assert status == 200 and body["checks"] == []
    status, body = airport_client.signed("GET", "/api/v1/documents/L898902C3/checks")
    assert (status, body["reason"]) == (422, "SYNC_BATCH_INVALID")  # never a raw number

    # the operator at central asks by document number, with the national key
    key = tmp_path / "national.key"
    key.write_bytes(TEST_NATIONAL_KEY)
    ask = ("checks", "--issuer", "UTO", "--document", "L898 902C3<", "--national-key", str(key))
    result = json.loads(central_cli(central.database, *ask, "--json").stdout)
    assert result["document"] == passport
    assert sorted(c["device_id"] for c in result["checks"]) == sorted(
        [airport.device_id, harbour.device_id, harbour.device_id]
    )
    text = central_cli(central.database, *ask).stdout
    assert text.endswith("3 checks\n") and "pier-7" in text

    status, body = airport_client.signed("GET", "/api/v1/devices")
    assert status == 200
    fleet = {d["device_id"]: d for d in body["devices"]}
    assert fleet[harbour.device_id]["events"] == 3
    assert fleet[harbour.device_id]["checkpoint_size"] == 3
    assert fleet[harbour.device_id]["witness"] == "ok"
    assert fleet[harbour.device_id]["location"] == "pier-7"
    assert fleet[airport.device_id]["last_seen"]
    assert fleet[airport.device_id]["artefacts"] == {"watchlist": 12, "crl": 4}
    assert fleet[airport.device_id]["backlog"] == 0


def test_stats_json_has_exactly_the_documented_keys(central: CentralServer) -> None:
    device, client = enrolled(central, "stats")
    device.check(3)
    assert client.send(device.batch(0, 2, 0, artefacts={"crl": 4}))[0] == 200
    fresh, _ = enrolled(central, "never-seen")
    result = central_cli(central.database, "stats", "--json")
    stats = json.loads(result.stdout)
    assert list(stats) == ["devices"]
    by_id = {d["device_id"]: d for d in stats["devices"]}
    assert set(by_id) == {device.device_id, fresh.device_id}
    for entry in stats["devices"]:
        assert set(entry) == {"device_id", "events", "checkpoint_size", "witness", "last_seen"}
    assert by_id[device.device_id]["events"] == 2
    assert by_id[device.device_id]["checkpoint_size"] == 3
    assert by_id[device.device_id]["witness"] == "ok"
    assert by_id[device.device_id]["last_seen"]
    assert by_id[fresh.device_id] == {
        "device_id": fresh.device_id,
        "events": 0,
        "checkpoint_size": 0,
        "witness": "ok",
        "last_seen": None,
    }
