"""ISO/IEC 7816-4 APDUs: the encodings cards accept, and the channel's 61xx/6Cxx handling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.emrtd.protocol.apdu import (
    ApduChannel,
    ApduError,
    ApduFormatError,
    CommandApdu,
    ResponseApdu,
    sw_name,
)
from appliance.errors import ApplianceError, Reason
from appliance.ports import TransportError
from tests.support.scripted_card import ScriptedCard, Step


@pytest.mark.parametrize(
    ("apdu", "encoded"),
    [
        (CommandApdu(0x00, 0x84, 0, 0), "00840000"),  # case 1
        (CommandApdu(0x00, 0x84, 0, 0, le=8), "0084000008"),  # case 2S (Appendix D GET CHALLENGE)
        (CommandApdu(0x00, 0xB0, 0, 0, le=256), "00B0000000"),  # Le 256 is 00
        (CommandApdu(0x00, 0xA4, 2, 0x0C, b"\x01\x1e"), "00A4020C02011E"),  # case 3S
        (CommandApdu(0x00, 0x82, 0, 0, b"\xaa" * 2, le=40), "0082000002AAAA28"),  # case 4S
        (CommandApdu(0x00, 0xB0, 0, 0, le=0x1000), "00B00000001000"),  # case 2E
        (CommandApdu(0x00, 0xB0, 0, 0, le=65536), "00B00000000000"),  # 2E, Le 65536 is 0000
        (CommandApdu(0x00, 0xDA, 0, 0, bytes(256)), "00DA0000000100" + "00" * 256),  # case 3E
        (
            CommandApdu(0x00, 0x86, 0, 0, bytes(300), le=65536),
            "0086000000012C" + "00" * 300 + "0000",
        ),  # case 4E
    ],
)
def test_encodings_of_the_seven_cases(apdu: CommandApdu, encoded: str) -> None:
    assert apdu.encode().hex().upper() == encoded
    assert CommandApdu.decode(bytes.fromhex(encoded)).encode() == apdu.encode()


def test_forced_extended_length_for_small_le() -> None:
    apdu = CommandApdu(0x0C, 0xB0, 0, 0, b"\x97\x01\x04", le=256, extended=True)
    assert apdu.encode().hex().upper() == "0CB0000000000397010401" + "00"


commands = st.builds(
    CommandApdu,
    cla=st.integers(0, 255),
    ins=st.integers(0, 255),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.binary(max_size=600),
    le=st.none() | st.integers(1, 65536),
    extended=st.booleans(),
)


@given(commands)
def test_command_round_trip(apdu: CommandApdu) -> None:
    decoded = CommandApdu.decode(apdu.encode())
    assert (decoded.cla, decoded.ins, decoded.p1, decoded.p2) == (
        apdu.cla,
        apdu.ins,
        apdu.p1,
        apdu.p2,
    )
    assert decoded.data == apdu.data
    assert decoded.le == apdu.le
    assert decoded.encode() == apdu.encode()


@given(st.binary(max_size=300))
def test_decoding_garbage_gives_a_format_error_or_a_command(raw: bytes) -> None:
    try:
        decoded = CommandApdu.decode(raw)
    except ApduFormatError as exc:
        assert exc.reason is Reason.CHIP_COMMUNICATION
    else:
        assert decoded.encode() == raw


@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_response_round_trip(data: bytes, sw: int) -> None:
    response = ResponseApdu(data, sw)
    assert ResponseApdu.decode(response.encode()) == response


def test_status_words_have_names_and_reasons() -> None:
    assert sw_name(0x9000) == "success"
    assert sw_name(0x6A82) == "file or application not found"
    assert sw_name(0x6110) == "16 more bytes available"
    assert sw_name(0x63C2) == "verification failed, 2 tries left"
    assert ApduError(0x6300).reason is Reason.CHIP_ACCESS_DENIED
    assert ApduError(0x6982).reason is Reason.CHIP_ACCESS_DENIED
    assert ApduError(0x6A82).reason is Reason.CHIP_FILE_NOT_FOUND
    assert ApduError(0x6988).reason is Reason.SM_PROTOCOL
    assert ApduError(0x6F00).reason is Reason.CHIP_COMMUNICATION
    with pytest.raises(ApduError) as caught:
        ResponseApdu(b"", 0x6A82).check("SELECT")
    assert caught.value.sw == 0x6A82
    assert "6A82" in str(caught.value)


def test_get_response_collects_61xx_continuations() -> None:
    card = ScriptedCard(
        [
            Step(bytes.fromhex("00B0000000"), bytes(range(10)) + b"\x61\x05"),
            Step(bytes.fromhex("00C0000005"), bytes(range(10, 15)) + b"\x61\x00"),
            Step(bytes.fromhex("00C0000000"), b"\xee" * 3 + b"\x90\x00"),
        ]
    )
    channel = ApduChannel(card)
    response = channel.send(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    assert response == ResponseApdu(bytes(range(15)) + b"\xee" * 3, 0x9000)
    assert channel.apdus == 3


def test_6cxx_resends_with_the_length_the_card_asked_for() -> None:
    card = ScriptedCard(
        [
            Step(bytes.fromhex("00B0000010"), b"\x6c\x04"),
            Step(bytes.fromhex("00B0000004"), b"\x01\x02\x03\x04\x90\x00"),
        ]
    )
    response = ApduChannel(card).send(CommandApdu(0x00, 0xB0, 0, 0, le=16))
    assert response.data == b"\x01\x02\x03\x04" and response.ok


def test_6cxx_to_a_protected_command_is_left_to_secure_messaging() -> None:
    """Re-sending a protected APDU would replay its send sequence counter."""
    card = ScriptedCard([Step(None, bytes.fromhex("99026C108E080102030405060708") + b"\x6c\x10")])
    response = ApduChannel(card).send(CommandApdu(0x0C, 0xB0, 0, 0, b"\x97\x01\xdf", le=256))
    assert response.sw == 0x6C10 and card.finished


class _FailingTransport(ScriptedCard):
    def __init__(self, removed: bool) -> None:
        super().__init__([])
        self.removed = removed

    def transmit(self, apdu: bytes) -> bytes:
        raise TransportError("gone", removed=self.removed)


@pytest.mark.parametrize(
    ("removed", "reason"), [(True, Reason.CHIP_REMOVED), (False, Reason.CHIP_COMMUNICATION)]
)
def test_transport_failures_become_stable_reasons(removed: bool, reason: Reason) -> None:
    with pytest.raises(ApplianceError) as caught:
        ApduChannel(_FailingTransport(removed)).send(CommandApdu(0, 0x84, 0, 0, le=8))
    assert caught.value.reason is reason


def test_short_response_is_a_format_error() -> None:
    card = ScriptedCard([Step(None, b"\x90")])
    with pytest.raises(ApduFormatError):
        ApduChannel(card).send(CommandApdu(0, 0x84, 0, 0, le=8))
