"""The officer's question to central: where and how often was this document checked."""

from __future__ import annotations

from typing import Any

from appliance.history import DocumentRef
from sync.device.service import central_checks
from tests.sync.conftest import CentralServer

PASSPORT = DocumentRef("UTO", "L898902C3", "P")


def test_a_documents_checks_from_two_devices_come_back_by_pseudonym(
    central: CentralServer, make_device: Any
) -> None:
    gate, handheld = make_device("gate"), make_device("handheld")
    assert central_checks(gate.config, gate.data_dir, PASSPORT)["central"] == "not_enrolled"
    gate.record(2, number="L898902C3")
    gate.record(1, number="X1234567")
    handheld.record(1, number="L898902C3", outcome="REFER")
    for device in (gate, handheld):
        device.enrol(central)
        device.sync()
    answer = central_checks(handheld.config, handheld.data_dir, PASSPORT)
    assert answer["central"] == "ok"
    seen = sorted((c["device_id"], c["outcome"]) for c in answer["checks"])
    assert seen == sorted(
        [(gate.device_id, "OPEN"), (gate.device_id, "OPEN"), (handheld.device_id, "REFER")]
    )
    other = central_checks(gate.config, gate.data_dir, DocumentRef("UTO", "NOBODY000", "P"))
    assert other == {"central": "ok", "checks": []}


def test_central_away_is_offline_not_an_error(central: CentralServer, make_device: Any) -> None:
    device = make_device("away")
    device.enrol(central)
    central.kill()
    answer = central_checks(device.config, device.data_dir, PASSPORT, timeout_s=1.0)
    assert answer == {"central": "offline", "checks": []}
