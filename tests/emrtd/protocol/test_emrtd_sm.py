"""Secure Messaging: Appendix D byte for byte, AES sessions, and refusal of bad responses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu, ResponseApdu
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.sm import SecureMessaging, SessionKeys, SmError
from appliance.errors import ApplianceError, Reason
from tests.support.icao_vectors import BAC, hexval
from tests.support.scripted_card import CardSideSm


def _appendix_d_session() -> SecureMessaging:
    return SecureMessaging(
        SessionKeys(
            CipherKind.TDES,
            hexval(BAC, "ks_enc"),
            hexval(BAC, "ks_mac"),
            int.from_bytes(hexval(BAC, "ssc"), "big"),
        )
    )


def test_appendix_d_select_ef_com_pieces() -> None:
    """D.4: DO'87, the MAC input N and the MAC of the protected SELECT EF.COM."""
    sm = _appendix_d_session()
    select = CommandApdu.decode(hexval(BAC, "sm_select_ef_com_unprotected"))
    protected = sm.protect(select)
    do87 = hexval(BAC, "sm_select_ef_com_do87")
    assert protected.data.startswith(do87)
    # N before its final padding: SSC+1 || padded header || DO'87
    n = hexval(BAC, "sm_select_ef_com_mac_input_N")
    assert n == sm.ssc_bytes + crypto.pad(bytes.fromhex("0CA4020C"), 8) + do87
    cc = hexval(BAC, "sm_select_ef_com_cc")
    assert crypto.retail_mac(hexval(BAC, "ks_mac"), crypto.pad(n, 8)) == cc
    assert protected.data.endswith(b"\x8e\x08" + cc)


def test_appendix_d_exchange_byte_for_byte() -> None:
    sm = _appendix_d_session()
    steps = [
        (CommandApdu.decode(hexval(BAC, "sm_select_ef_com_unprotected")), "sm_select_ef_com"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4), "sm_read_binary_4"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x04, le=18), "sm_read_binary_18"),
    ]
    plain = b""
    for command, name in steps:
        assert sm.protect(command).encode() == hexval(BAC, f"{name}_protected_apdu")
        response = sm.unprotect(ResponseApdu.decode(hexval(BAC, f"{name}_rapdu")))
        assert response.sw == 0x9000
        plain += response.data
    assert plain == hexval(BAC, "ef_com_plain")
    # Six increments from the BAC SSC: three commands, three responses.
    assert sm.ssc == int.from_bytes(hexval(BAC, "ssc"), "big") + 6


@pytest.mark.parametrize("cipher", list(CipherKind))
def test_round_trip_with_card_side_every_cipher(cipher: CipherKind) -> None:
    key_len = cipher.key_length
    keys = SessionKeys(cipher, bytes(range(key_len)), bytes(range(1, key_len + 1)), 41)
    terminal = SecureMessaging(keys)
    card = CardSideSm(cipher, keys.ks_enc, keys.ks_mac, keys.ssc)
    command = CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001"))
    assert card.command(terminal.protect(command).encode()) == command
    response = terminal.unprotect(ResponseApdu.decode(card.response(b"hello chip", 0x9000)))
    assert response == ResponseApdu(b"hello chip", 0x9000)


def test_odd_ins_uses_do85_and_extended_length_when_needed() -> None:
    keys = SessionKeys(CipherKind.AES256, bytes(32), bytes(range(32)), 0)
    terminal = SecureMessaging(keys)
    card = CardSideSm(keys.cipher, keys.ks_enc, keys.ks_mac, 0)
    read_far = CommandApdu(0x00, 0xB1, 0x00, 0x00, bytes.fromhex("5403010000"), le=1000)
    protected = terminal.protect(read_far)
    assert protected.data[0] == 0x85
    assert protected.is_extended and protected.encode()[-2:] == b"\x00\x00"
    assert b"\x97\x02\x03\xe8" in protected.data
    assert card.command(protected.encode()) == read_far
    answer = card.response(b"\x53\x03abc", odd=True)
    assert terminal.unprotect(ResponseApdu.decode(answer)).data == b"\x53\x03abc"


def test_status_in_do99_wins_over_the_outer_status() -> None:
    keys = SessionKeys(CipherKind.AES128, bytes(16), bytes(16), 0)
    terminal = SecureMessaging(keys)
    card = CardSideSm(keys.cipher, keys.ks_enc, keys.ks_mac, 0)
    terminal.protect(CommandApdu(0, 0xB0, 0, 0, le=4))
    card.ssc += 1
    response = terminal.unprotect(ResponseApdu.decode(card.response(b"", 0x6A82)))
    assert response.sw == 0x6A82


def test_tampered_response_mac_is_refused() -> None:
    sm = _appendix_d_session()
    sm.protect(CommandApdu.decode(hexval(BAC, "sm_select_ef_com_unprotected")))
    tampered = bytearray(hexval(BAC, "sm_select_ef_com_rapdu"))
    tampered[3] ^= 0x01  # DO'99 now says 9001
    with pytest.raises(SmError) as caught:
        sm.unprotect(ResponseApdu.decode(bytes(tampered)))
    assert caught.value.reason is Reason.SM_MAC_INVALID


def test_replayed_response_is_refused() -> None:
    """The SSC moves on, so yesterday's valid response no longer verifies."""
    sm = _appendix_d_session()
    rapdu = ResponseApdu.decode(hexval(BAC, "sm_select_ef_com_rapdu"))
    sm.protect(CommandApdu.decode(hexval(BAC, "sm_select_ef_com_unprotected")))
    sm.unprotect(rapdu)
    sm.protect(CommandApdu(0, 0xB0, 0, 0, le=4))
    with pytest.raises(SmError) as caught:
        sm.unprotect(rapdu)
    assert caught.value.reason is Reason.SM_MAC_INVALID


def test_missing_do99_or_do8e_is_a_protocol_error() -> None:
    sm = _appendix_d_session()
    with pytest.raises(SmError) as caught:
        sm.unprotect(ResponseApdu(bytes.fromhex("99029000"), 0x9000))
    assert caught.value.reason is Reason.SM_PROTOCOL
    with pytest.raises(SmError) as caught:
        sm.unprotect(ResponseApdu(bytes.fromhex("8E080102030405060708"), 0x9000))
    assert caught.value.reason is Reason.SM_PROTOCOL
    with pytest.raises(SmError) as caught:
        sm.unprotect(ResponseApdu(b"", 0x9000))
    assert caught.value.reason is Reason.SM_PROTOCOL


def test_plain_error_from_the_card_keeps_its_status_word() -> None:
    sm = _appendix_d_session()
    with pytest.raises(ApduError) as caught:
        sm.unprotect(ResponseApdu(b"", 0x6988))
    assert caught.value.sw == 0x6988 and caught.value.reason is Reason.SM_PROTOCOL


@given(
    st.binary(min_size=1, max_size=400), st.integers(0, 0xFFFF), st.sampled_from(list(CipherKind))
)
def test_random_responses_give_sm_reasons_only(data: bytes, sw: int, cipher: CipherKind) -> None:
    sm = SecureMessaging(SessionKeys(cipher, bytes(cipher.key_length), bytes(cipher.key_length), 7))
    with pytest.raises(ApplianceError) as caught:
        sm.unprotect(ResponseApdu(data, sw))
    assert caught.value.reason in (Reason.SM_MAC_INVALID, Reason.SM_PROTOCOL)


@given(st.binary(min_size=0, max_size=64), st.integers(0, 0xFFFF))
def test_random_responses_with_plausible_shape_give_sm_reasons(body: bytes, sw: int) -> None:
    """Well-formed DO'87/'99/'8E with wrong contents still only yield SM reasons."""
    sm = SecureMessaging(SessionKeys(CipherKind.AES128, bytes(16), bytes(16), 0))
    data = (
        b"\x87" + bytes([len(body) + 1, 1]) + body + b"\x99\x02" + sw.to_bytes(2, "big")
        + b"\x8e\x08" + bytes(8)
    )  # fmt: skip
    with pytest.raises(ApplianceError) as caught:
        sm.unprotect(ResponseApdu(data, 0x9000))
    assert caught.value.reason in (Reason.SM_MAC_INVALID, Reason.SM_PROTOCOL)
