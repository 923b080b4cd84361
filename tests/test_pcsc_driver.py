"""The PC/SC driver against real pcscd + vpcd, with a minimal card behind the vpcd bridge."""

from __future__ import annotations

import pytest

from appliance.ports import CardEventKind, TransportError
from drivers.pcsc import PcscReader, ReaderNotFound, find_reader, list_readers
from hardware_mocks.vpcd import VpcdBridge, handle_message

pytestmark = pytest.mark.pcsc

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
    assert find_reader("pcd 00 00") == pcsc_stack
    with pytest.raises(ReaderNotFound):
        find_reader("no such reader")


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
