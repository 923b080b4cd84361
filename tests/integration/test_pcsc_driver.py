"""The PC/SC driver against real pcscd + vpcd, with a minimal card behind the vpcd bridge."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.errors import ApplianceError, Reason
from appliance.ports import CardEventKind, TransportError
from drivers.pcsc import PcscReader, ReaderNotFound, find_reader, list_readers
from hardware_mocks.pcsc_stack import daemon_pid, interfaces, isolated, listening_sockets
from hardware_mocks.vpcd import VpcdBridge, handle_message

pytestmark = pytest.mark.pcsc

REPO = Path(__file__).resolve().parents[2]
ATR = bytes.fromhex("3B8880014241525431323334B7")


class EchoCard:
    """Answers each APDU with its header and 9000, and counts power cycles."""

    def __init__(self) -> None:
        self.powered = False
        self.seen: list[bytes] = []

    def power_on(self) -> bytes:
        self.powered = True
        return ATR

    def power_off(self) -> None:
        self.powered = False

    def reset(self) -> bytes:
        return self.power_on()

    def process_apdu(self, apdu: bytes) -> bytes:
        self.seen.append(apdu)
        return apdu[:4] + b"\x90\x00"


def test_vpcd_protocol_core() -> None:
    card = EchoCard()
    assert handle_message(card, b"\x04") == ATR
    assert handle_message(card, b"\x00") is None and not card.powered
    assert handle_message(card, b"\x01") is None and card.powered
    assert handle_message(card, bytes.fromhex("00A4040C")) == bytes.fromhex("00A4040C9000")


def test_reader_listing_and_selection(pcsc_stack: str) -> None:
    assert pcsc_stack in list_readers()
    assert find_reader(pcsc_stack) == pcsc_stack
    with pytest.raises(ReaderNotFound):
        find_reader("no such reader")


def test_a_reader_is_selected_by_its_exact_name_only(pcsc_stack: str) -> None:
    # "Virtual PCD 00 0" is a prefix of both virtual readers, "pcd 00 00" a part of one: a gate
    # configured with a name must never end up on some other reader that merely resembles it
    for almost in ("Virtual PCD 00 0", "pcd 00 00", "Virtual PCD", pcsc_stack.lower()):
        with pytest.raises(ReaderNotFound) as info:
            find_reader(almost)
        assert repr(pcsc_stack) in str(info.value)  # says which readers there are
        with pytest.raises(ReaderNotFound):
            PcscReader(almost)


def test_a_virtual_reader_on_the_system_pcscd_is_refused(
    pcsc_stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as on an appliance where vsmartcard-vpcd was left installed: no private pcscd is named
    monkeypatch.delenv("PCSCLITE_CSOCK_NAME")
    with pytest.raises(ReaderNotFound) as info:
        find_reader(pcsc_stack)
    assert "production install must not have vsmartcard-vpcd" in str(info.value)


def test_virtual_cards_can_reach_vpcd_over_loopback_only(pcsc_stack: str) -> None:
    pid = daemon_pid()
    assert pid is not None
    if not isolated():
        pytest.skip("no network namespace can be made here (the stack warned and fell back)")
    vpcd = [(a, p) for a, p in listening_sockets(pid) if p in (35963, 35964)]
    assert {p for _, p in vpcd} == {35963, 35964}
    # vpcd binds every interface of its namespace: that namespace must have loopback only
    assert interfaces(pid) == ["lo"]
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")


def test_exchange_events_and_removal_mid_session(pcsc_stack: str) -> None:
    reader = PcscReader(pcsc_stack)
    card = EchoCard()
    bridge = VpcdBridge(card)
    reader.wait_for_event(0.1)  # learn the current (empty) state
    bridge.insert()
    try:
        event = reader.wait_for_event(5)
        assert event is not None and event.kind is CardEventKind.INSERTED
        transport = reader.transport()
        info = transport.connect()
        assert info.atr == ATR and transport.card_present()
        assert transport.transmit(bytes.fromhex("00B0000004")) == bytes.fromhex("00B000009000")
        assert card.seen[-1] == bytes.fromhex("00B0000004")
    finally:
        bridge.remove()
    with pytest.raises(TransportError) as err:
        transport.transmit(bytes.fromhex("00B0000004"))
    assert err.value.removed
    event = reader.wait_for_event(5)
    assert event is not None and event.kind is CardEventKind.REMOVED
    transport.disconnect()
    transport.disconnect()  # idempotent


def test_connect_without_card_reports_no_card(pcsc_stack: str) -> None:
    transport = PcscReader(pcsc_stack).transport()
    with pytest.raises(TransportError):
        transport.connect()


def test_an_occupied_slot_is_reported_as_busy(pcsc_stack: str) -> None:
    first = VpcdBridge(EchoCard())
    first.insert()
    try:
        started = time.monotonic()
        with pytest.raises(ApplianceError) as info:
            VpcdBridge(EchoCard()).insert()
        assert info.value.reason is Reason.READER_BUSY
        assert "port 35963" in info.value.detail and "occupied" in info.value.detail
        assert time.monotonic() - started < 6
    finally:
        first.remove()
        _wait_absent(pcsc_stack)
    # a slot nobody serves (a stale configuration) is a missing reader, not a timeout
    with pytest.raises(ApplianceError) as info:
        VpcdBridge(EchoCard(), port=35970).insert()
    assert info.value.reason is Reason.READER_NOT_FOUND


_OTHER_RUN = """
import time
from drivers.pcsc import PcscTransport
from hardware_mocks.pcsc_stack import ensure_pcscd, reader_name
from hardware_mocks.vpcd import VpcdBridge
from tests.integration.test_pcsc_driver import EchoCard

ensure_pcscd()
with VpcdBridge(EchoCard()):
    transport = PcscTransport(reader_name(0))
    deadline = time.monotonic() + 5
    while not transport.card_present() and time.monotonic() < deadline:
        time.sleep(0.05)
    print(transport.connect().atr.hex())
    transport.disconnect()
"""


def test_two_runs_on_one_machine_use_their_own_reader_slots(pcsc_stack: str) -> None:
    if not isolated():
        pytest.skip("no network namespace can be made here: one run at a time (see pcsc_stack)")
    mine = VpcdBridge(EchoCard())
    mine.insert()  # this run's card stays on its slot 0 while another run uses its own slot 0
    try:
        other = subprocess.run(
            [sys.executable, "-c", _OTHER_RUN],
            capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        )  # fmt: skip
        assert other.returncode == 0, other.stderr[-2000:]
        assert other.stdout.strip() == ATR.hex()
        transport = PcscReader(pcsc_stack).transport()
        assert transport.connect().atr == ATR
        transport.disconnect()
    finally:
        mine.remove()
        _wait_absent(pcsc_stack)


def _wait_absent(reader: str, timeout_s: float = 5.0) -> None:
    """pcscd notices a card left at its next poll: leave the slot empty for the next test."""
    transport = PcscReader(reader).transport()
    deadline = time.monotonic() + timeout_s
    while transport.card_present() and time.monotonic() < deadline:
        time.sleep(0.05)
