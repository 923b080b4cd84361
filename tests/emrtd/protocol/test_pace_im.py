"""PACE integrated mapping: every value of ICAO 9303-11 Appendix H.1 (ECDH) and H.2 (DH).

The vectors file marks R(s,t), R_p(s,t) and a few others "checked": false. They are proved here
independently: the checked mapped generators (H.1, and H.2's published one) only come out of
the point encoding / exponentiation when R and R_p are exactly those values, and H.2's checked
session keys only come out of the DH agreement when its shared secret is exactly K.
"""

from __future__ import annotations

from typing import Any

import pytest

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.crypto import KDF_ENC, KDF_MAC, CipherKind
from appliance.emrtd.protocol.domain_parameters import DhGroup, EcGroup, standard_group
from appliance.emrtd.protocol.pace import (
    ID_PACE,
    PacePassword,
    PaceProtocol,
    public_key_data_object,
)
from appliance.emrtd.protocol.pace_im import (
    IntegratedMapping,
    encode_dh,
    encode_point,
    map_nonces,
    nonce_bits,
    pseudo_random,
    pseudo_random_element,
)
from appliance.emrtd.protocol.pace_terminal import PaceTerminal
from appliance.emrtd.session import parse_pace_options
from appliance.errors import ApplianceError, Reason
from tests.support.icao_vectors import hexval

H1 = "pace_h1_ecdh_im_brainpoolp256r1"
H2 = "pace_h2_dh_im_1024_160"
#: Appendix H uses the CAN 123456 (its K_pi is the vectors' k_pi, checked below)
CAN = "123456"

# ICAO 9303-11 Appendix H.2 values the vectors file leaves out (the key pairs of the DH key
# agreement on the mapped generator, and the encrypted nonce), copied from the appendix.
H2_ENCRYPTED_NONCE = bytes.fromhex("9ABB8864CA0FF1551E620D1EF4E13510")
H2_TERMINAL_PRIVATE = int(
    "4BD0E54740F9A028E6A515BFDAF967848C4F5F5FFF65AA0915947FFD1A0DF2FA6981271BC905F355"
    "1457B7E03AC3B8066DE4AA406C1171FB43DD939C4BA16175103BA3DEE16419AA248118F90CC36A3D"
    "6F4C373652E0C3CCE7F0F1D0C5425B3600F0F0D6A67F004C8BBA33F2B4733C7252445C1DFC4F1107"
    "203F71D2EFB28161",
    16,
)
H2_TERMINAL_PUBLIC = bytes.fromhex(
    "0F0CC62945A8029251FB7EF3C094E12EC68E4EF07F27CB9D9CD04C5C4250FAE0E4F8A951557E929A"
    "EB48E5C6DD47F2F5CD7C351A9BD2CD722C07EDE166770F08FFCB370262CF308DD7B07F2E0DA9CAAA"
    "1492344C852906919538C98A4BA4187E76CE9D87832386D319CE2E043C3343AEAE6EDBA1A9894DC5"
    "094D22F7FE1351D5"
)
H2_CHIP_PUBLIC = bytes.fromhex(
    "928D9A0F9DBA450F13FC859C6F290D1D36E42431138A4378500BEB4E0401854CFF111F71CB6DC1D0"
    "335807A11388CC8EAA87B07907AAD9FBA6B169AF6D8C26AF8DDDC39ADC3AD2E3FF882B84D23E9768"
    "E95A80E4746FB07A9767679FE92133B4D379935C771BD7FBED6C7BB4B1708B275EA75679524CDC9C"
    "6A91370CC662A2F3"
)
H2_T_IC = bytes.fromhex("C2F04230187E1525")

ECDH_IM_AES128 = PaceProtocol.from_oid(ID_PACE + ".4.2")
DH_IM_AES128 = PaceProtocol.from_oid(ID_PACE + ".3.2")


def _int(section: str, key: str) -> int:
    return int.from_bytes(hexval(section, key), "big")


def _ec() -> EcGroup:
    group = standard_group(13)
    assert isinstance(group, EcGroup)
    return group


def _dh() -> DhGroup:
    group = standard_group(0)
    assert isinstance(group, DhGroup)
    return group


# -- H.1: ECDH on brainpoolP256r1 ---------------------------------------------------------------


def test_h1_password_key_and_nonce() -> None:
    k_pi = PacePassword.from_can(CAN).key(CipherKind.AES128)
    assert k_pi == hexval(H1, "k_pi")
    assert crypto.aes_cbc_decrypt(k_pi, hexval(H1, "encrypted_nonce_z")) == hexval(H1, "nonce_s")


def test_h1_pseudo_random_function_and_point_encoding() -> None:
    group = _ec()
    p = int(group.curve.p())
    s, t = hexval(H1, "nonce_s"), hexval(H1, "nonce_t")
    assert pseudo_random(s, t, p, CipherKind.AES128) == hexval(H1, "pseudo_random_R_st")
    r_p = pseudo_random_element(s, t, p, CipherKind.AES128)
    assert r_p.to_bytes(32, "big") == hexval(H1, "R_p_st")
    mapped = encode_point(group, r_p)
    assert group.encode(mapped)[1:] == hexval(H1, "mapped_generator_xy")


def test_h1_key_agreement_session_keys_and_tokens() -> None:
    group = _ec()
    mapped = map_nonces(group, hexval(H1, "nonce_s"), hexval(H1, "nonce_t"), CipherKind.AES128)
    terminal_private = _int(H1, "terminal_ephemeral_private_key")
    terminal_public = group.multiply(terminal_private, mapped)
    assert group.encode(terminal_public)[1:] == hexval(H1, "terminal_ephemeral_public_key_xy")
    chip_public = group.decode(b"\x04" + hexval(H1, "chip_ephemeral_public_key_xy"))
    secret = group.shared_secret(group.multiply(terminal_private, chip_public))
    assert secret == hexval(H1, "shared_secret_K")
    ks_mac = crypto.kdf(secret, KDF_MAC, CipherKind.AES128)
    assert crypto.kdf(secret, KDF_ENC, CipherKind.AES128) == hexval(H1, "ks_enc")
    assert ks_mac == hexval(H1, "ks_mac")
    t_ifd = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(ECDH_IM_AES128, group, chip_public)
    )
    t_ic = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(ECDH_IM_AES128, group, terminal_public)
    )
    assert t_ifd == hexval(H1, "auth_token_T_IFD")
    assert t_ic == hexval(H1, "auth_token_T_IC")


def test_h1_terminal_replays_the_whole_exchange() -> None:
    """The terminal's APDUs, byte for byte, against the appendix's chip answers."""
    randomness = [hexval(H1, "nonce_t"), hexval(H1, "terminal_ephemeral_private_key")]
    terminal = PaceTerminal(
        ECDH_IM_AES128, 13, PacePassword.from_can(CAN), rng=lambda n: randomness.pop(0)
    )
    assert terminal.mse_set_at().data == bytes.fromhex("800A04007F00070202040402830102")
    assert terminal.step1().encode() == bytes.fromhex("10860000027C0000")
    step2 = terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, hexval(H1, "encrypted_nonce_z"))))
    assert step2.encode() == hexval(H1, "ga2_apdu_send_t")
    step3 = terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, b"")))
    sent_key = tlv.find(tlv.parse_one(step3.data).value, 0x83)
    assert sent_key is not None
    assert sent_key.value == b"\x04" + hexval(H1, "terminal_ephemeral_public_key_xy")
    chip_key = b"\x04" + hexval(H1, "chip_ephemeral_public_key_xy")
    step4 = terminal.step4(tlv.encode(0x7C, tlv.encode(0x84, chip_key)))
    assert step4.encode() == (
        bytes.fromhex("008600000C7C0A8508") + hexval(H1, "auth_token_T_IFD") + b"\x00"
    )
    result = terminal.finish(tlv.encode(0x7C, tlv.encode(0x86, hexval(H1, "auth_token_T_IC"))))
    assert result.keys.ks_enc == hexval(H1, "ks_enc")
    assert result.keys.ks_mac == hexval(H1, "ks_mac")
    assert result.protocol.mapping == "IM"


def test_h1_chip_must_send_empty_mapping_data() -> None:
    terminal = PaceTerminal(ECDH_IM_AES128, 13, PacePassword.from_can(CAN), rng=lambda n: bytes(n))
    terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, hexval(H1, "encrypted_nonce_z"))))
    with pytest.raises(ApplianceError) as err:
        terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, b"\x04" + bytes(64))))
    assert err.value.reason is Reason.PACE_FAILED


def test_h1_wrong_chip_token_fails_closed() -> None:
    randomness = [hexval(H1, "nonce_t"), hexval(H1, "terminal_ephemeral_private_key")]
    terminal = PaceTerminal(
        ECDH_IM_AES128, 13, PacePassword.from_can(CAN), rng=lambda n: randomness.pop(0)
    )
    terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, hexval(H1, "encrypted_nonce_z"))))
    terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, b"")))
    chip_key = b"\x04" + hexval(H1, "chip_ephemeral_public_key_xy")
    terminal.step4(tlv.encode(0x7C, tlv.encode(0x84, chip_key)))
    forged = bytearray(hexval(H1, "auth_token_T_IC"))
    forged[0] ^= 1
    with pytest.raises(ApplianceError) as err:
        terminal.finish(tlv.encode(0x7C, tlv.encode(0x86, bytes(forged))))
    assert err.value.reason is Reason.PACE_FAILED


# -- H.2: DH on the 1024-bit MODP group with 160-bit subgroup -----------------------------------


def test_h2_nonce_pseudo_random_function_and_mapped_generator() -> None:
    group = _dh()
    k_pi = PacePassword.from_can(CAN).key(CipherKind.AES128)
    assert crypto.aes_cbc_decrypt(k_pi, H2_ENCRYPTED_NONCE) == hexval(H2, "nonce_s")
    s, t = hexval(H2, "nonce_s"), hexval(H2, "nonce_t")
    r_p = pseudo_random_element(s, t, group.p, CipherKind.AES128)
    assert r_p.to_bytes(128, "big") == hexval(H2, "R_p_st")
    mapped = encode_dh(group, r_p)
    assert mapped.to_bytes(128, "big") == hexval(H2, "mapped_generator")
    assert pow(mapped, group.order, group.p) == 1


def test_h2_key_agreement_session_keys_and_tokens() -> None:
    group = _dh()
    mapped = map_nonces(group, hexval(H2, "nonce_s"), hexval(H2, "nonce_t"), CipherKind.AES128)
    terminal_public = group.multiply(H2_TERMINAL_PRIVATE, mapped)
    assert group.encode(terminal_public) == H2_TERMINAL_PUBLIC
    chip_public = group.decode(H2_CHIP_PUBLIC)
    secret = group.shared_secret(group.multiply(H2_TERMINAL_PRIVATE, chip_public))
    assert secret == hexval(H2, "shared_secret_K")
    ks_mac = crypto.kdf(secret, KDF_MAC, CipherKind.AES128)
    assert crypto.kdf(secret, KDF_ENC, CipherKind.AES128) == hexval(H2, "ks_enc")
    assert ks_mac == hexval(H2, "ks_mac")
    t_ifd = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(DH_IM_AES128, group, chip_public)
    )
    t_ic = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(DH_IM_AES128, group, terminal_public)
    )
    apdu = CommandApdu(0x00, 0x86, 0x00, 0x00, tlv.encode(0x7C, tlv.encode(0x85, t_ifd)), le=256)
    assert apdu.encode() == hexval(H2, "ga4_apdu_T_IFD")
    assert t_ic == H2_T_IC


# -- the mapping as a plug-in, and its limits ---------------------------------------------------


def test_pace_info_with_integrated_mapping_is_offered() -> None:
    pace_info = tlv.encode(
        0x30,
        tlv.encode(0x06, ECDH_IM_AES128.oid_bytes)
        + tlv.encode(0x02, b"\x02")
        + tlv.encode(0x02, b"\x0d"),
    )
    [option] = parse_pace_options(tlv.encode(0x31, pace_info))
    assert option.protocol.name == "id-PACE-ECDH-IM-AES-CBC-CMAC-128"


@pytest.mark.parametrize(
    ("cipher", "bits"),
    [
        (CipherKind.TDES, 128),
        (CipherKind.AES128, 128),
        (CipherKind.AES192, 256),
        (CipherKind.AES256, 256),
    ],
)
def test_every_cipher_maps_onto_the_curve(cipher: CipherKind, bits: int) -> None:
    """3DES counts as a 128-bit key, AES-192 keys are truncated from 256-bit blocks."""
    assert nonce_bits(cipher) == bits
    group = _ec()
    s, t = bytes(range(bits // 8)), bytes(range(100, 100 + cipher.key_length))
    point: Any = map_nonces(group, s, t, cipher)
    assert group.curve.contains_point(point.x(), point.y())
    assert map_nonces(group, s, t, cipher) == point  # deterministic: both sides agree
    other: Any = map_nonces(group, s, bytes(cipher.key_length), cipher)
    assert group.encode(other) != group.encode(point)


def test_short_nonce_or_terminal_nonce_is_refused() -> None:
    group = _ec()
    with pytest.raises(ApplianceError) as err:
        map_nonces(group, bytes(16), bytes(32), CipherKind.AES256)  # s shorter than the key
    assert err.value.reason is Reason.PACE_FAILED
    with pytest.raises(ApplianceError):
        pseudo_random(bytes(16), bytes(8), int(group.curve.p()), CipherKind.AES128)


def test_curves_with_p_1_mod_4_are_unsupported_not_wrong() -> None:
    group = standard_group(10)  # NIST P-224: p = 1 mod 4, outside Appendix B's encoding
    assert isinstance(group, EcGroup)
    with pytest.raises(ApplianceError) as err:
        encode_point(group, 12345)
    assert err.value.reason is Reason.CHIP_PROTOCOL_UNSUPPORTED


def test_mapping_object_sends_t_and_needs_the_protocol() -> None:
    mapping = IntegratedMapping(_ec(), bytes(16), lambda n: b"\x11" * n, ECDH_IM_AES128)
    assert mapping.terminal_data() == b"\x11" * 16
    with pytest.raises(ApplianceError):
        IntegratedMapping(_ec(), bytes(16), lambda n: b"\x11" * n)


def test_chip_session_chooses_im_and_opens_with_the_h1_keys() -> None:
    """ChipSession reads EF.CardAccess, runs Appendix H.1 and continues under its SM keys."""
    from appliance.emrtd.session import CanKey, ChipSession
    from tests.support.scripted_card import CardSideSm, ScriptedCard, Step

    pace_info = tlv.encode(
        0x30,
        tlv.encode(0x06, ECDH_IM_AES128.oid_bytes)
        + tlv.encode(0x02, b"\x02")
        + tlv.encode(0x02, b"\x0d"),
    )
    card_access = tlv.encode(0x31, pace_info)
    sm = CardSideSm(CipherKind.AES128, hexval(H1, "ks_enc"), hexval(H1, "ks_mac"), 0)

    def protected(expected_ins: int, data: bytes, sw: int) -> Any:
        def answer(raw: bytes) -> bytes:
            assert sm.command(raw).ins == expected_ins
            return sm.response(data, sw)

        return answer

    chip_key = b"\x04" + hexval(H1, "chip_ephemeral_public_key_xy")
    card = ScriptedCard(
        [
            Step(bytes.fromhex("00B09C00DF"), card_access + b"\x90\x00", "EF.CardAccess"),
            Step(bytes.fromhex("0022C1A40F800A04007F00070202040402830102"), b"\x90\x00", "MSE"),
            Step(
                bytes.fromhex("10860000027C0000"),
                tlv.encode(0x7C, tlv.encode(0x80, hexval(H1, "encrypted_nonce_z"))) + b"\x90\x00",
            ),
            Step(hexval(H1, "ga2_apdu_send_t"), bytes.fromhex("7C0282009000")),
            Step(None, tlv.encode(0x7C, tlv.encode(0x84, chip_key)) + b"\x90\x00"),
            Step(
                bytes.fromhex("008600000C7C0A8508") + hexval(H1, "auth_token_T_IFD") + b"\x00",
                tlv.encode(0x7C, tlv.encode(0x86, hexval(H1, "auth_token_T_IC"))) + b"\x90\x00",
            ),
            Step(None, protected(0xB0, b"", 0x6A82), "EF.CardSecurity absent"),
            Step(None, protected(0xA4, b"", 0x9000), "SELECT eMRTD application"),
        ]
    )
    randomness = [hexval(H1, "nonce_t"), hexval(H1, "terminal_ephemeral_private_key")]
    session = ChipSession(card, CanKey(CAN), rng=lambda n: randomness.pop(0))
    access = session.open()
    assert card.finished
    assert (access.protocol, access.mapping, access.parameter_id) == ("PACE", "IM", 13)
