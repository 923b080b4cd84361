"""PACE generic mapping: every value of ICAO 9303-11 Appendix G.1 (ECDH) and G.2 (DH)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import CommandApdu, ResponseApdu
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.domain_parameters import EcGroup, Group, standard_group
from appliance.emrtd.protocol.pace import (
    ID_PACE,
    PacePassword,
    PaceProtocol,
    public_key_data_object,
)
from appliance.emrtd.protocol.pace_terminal import PaceTerminal
from appliance.emrtd.session import parse_pace_options
from appliance.errors import ApplianceError, Reason
from tests.support.icao_vectors import G1, G2, hexval, text


def _int(section: str, key: str) -> int:
    return int.from_bytes(hexval(section, key), "big")


def _point(group: Group[Any], section: str, key: str) -> Any:
    return group.decode(b"\x04" + hexval(section, key))


def _g1_terminal() -> PaceTerminal:
    keys = [
        hexval(G1, "terminal_mapping_private_key"),
        hexval(G1, "terminal_ephemeral_private_key"),
    ]
    return PaceTerminal(
        PaceProtocol.from_oid(ID_PACE + ".2.2"),
        13,
        PacePassword.from_mrz(text(G1, "mrz_information")),
        rng=lambda n: keys.pop(0),
    )


def test_g1_password_and_pace_info() -> None:
    password = PacePassword.from_mrz(text(G1, "mrz_information"))
    assert password.material == hexval(G1, "mrz_sha1")
    assert password.key(CipherKind.AES128) == hexval(G1, "k_pi")
    card_access = tlv.encode(0x31, hexval(G1, "pace_info"))
    [option] = parse_pace_options(card_access)
    assert option.protocol.name == "id-PACE-ECDH-GM-AES-CBC-CMAC-128"
    assert option.parameter_id == 13


def test_g1_nonce_and_mapping_arithmetic() -> None:
    group = standard_group(13)
    assert isinstance(group, EcGroup)
    nonce = crypto.aes_cbc_decrypt(hexval(G1, "k_pi"), hexval(G1, "encrypted_nonce_z"))
    assert nonce == hexval(G1, "nonce_s")
    terminal_map = group.multiply(_int(G1, "terminal_mapping_private_key"), group.generator)
    assert group.encode(terminal_map)[1:] == hexval(G1, "terminal_mapping_public_key_xy")
    # chip_mapping_private_key is single-source ('checked': false); it is right: it gives the
    # chip's published mapping key, and both sides reach the same H.
    chip_private = _int(G1, "chip_mapping_private_key")
    chip_map = group.multiply(chip_private, group.generator)
    assert group.encode(chip_map)[1:] == hexval(G1, "chip_mapping_public_key_xy")
    h = group.multiply(_int(G1, "terminal_mapping_private_key"), chip_map)
    assert group.encode(h) == group.encode(group.multiply(chip_private, terminal_map))
    assert group.encode(h)[1:] == hexval(G1, "mapping_shared_point_H_xy")
    mapped = group.combine(group.multiply(int.from_bytes(nonce, "big"), group.generator), h)
    assert group.encode(mapped)[1:] == hexval(G1, "mapped_generator_xy")
    ephemeral = group.multiply(_int(G1, "terminal_ephemeral_private_key"), mapped)
    assert group.encode(ephemeral)[1:] == hexval(G1, "terminal_ephemeral_public_key_xy")
    chip_ephemeral = _point(group, G1, "chip_ephemeral_public_key_xy")
    shared = group.multiply(_int(G1, "terminal_ephemeral_private_key"), chip_ephemeral)
    assert group.shared_secret(shared) == hexval(G1, "shared_secret_K")


def test_g1_session_keys_and_tokens() -> None:
    k = hexval(G1, "shared_secret_K")
    ks_mac = crypto.kdf(k, 2, CipherKind.AES128)
    assert crypto.kdf(k, 1, CipherKind.AES128) == hexval(G1, "ks_enc")
    assert ks_mac == hexval(G1, "ks_mac")
    protocol = PaceProtocol.from_oid(ID_PACE + ".2.2")
    group = standard_group(13)
    chip_pk = public_key_data_object(
        protocol, group, _point(group, G1, "chip_ephemeral_public_key_xy")
    )
    terminal_pk = public_key_data_object(
        protocol, group, _point(group, G1, "terminal_ephemeral_public_key_xy")
    )
    assert crypto.token_mac(CipherKind.AES128, ks_mac, chip_pk) == hexval(G1, "auth_token_T_IFD")
    assert crypto.token_mac(CipherKind.AES128, ks_mac, terminal_pk) == hexval(G1, "auth_token_T_IC")


def test_g1_command_apdus_byte_for_byte() -> None:
    terminal = _g1_terminal()
    assert terminal.mse_set_at().encode() == hexval(G1, "mse_set_at_apdu_icao")
    # The gMRTD variant names the domain parameters in DO'84 ('checked': false; it is the ICAO
    # form plus 84 01 0D, with Lc 0F -> 12).
    assert terminal.mse_set_at(True).encode() == hexval(G1, "mse_set_at_apdu_gmrtd_variant_with_84")
    assert terminal.step1().encode() == hexval(G1, "ga1_apdu")
    step2 = terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, hexval(G1, "encrypted_nonce_z"))))
    assert step2.encode() == hexval(G1, "ga2_apdu_map_nonce")
    step3 = terminal.step3(ResponseApdu.decode(hexval(G1, "ga2_response")).data)
    assert step3.encode() == hexval(G1, "ga3_apdu_key_agreement")
    step4 = terminal.step4(ResponseApdu.decode(hexval(G1, "ga3_response")).data)
    assert step4.encode() == hexval(G1, "ga4_apdu_mutual_auth")
    result = terminal.finish(ResponseApdu.decode(hexval(G1, "ga4_response")).data)
    assert (result.keys.ks_enc, result.keys.ks_mac, result.keys.ssc) == (
        hexval(G1, "ks_enc"),
        hexval(G1, "ks_mac"),
        0,
    )
    assert result.chip_public_key[1:] == hexval(G1, "chip_ephemeral_public_key_xy")


def test_g1_wrong_chip_token_is_refused() -> None:
    terminal = _g1_terminal()
    terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, hexval(G1, "encrypted_nonce_z"))))
    terminal.step3(ResponseApdu.decode(hexval(G1, "ga2_response")).data)
    terminal.step4(ResponseApdu.decode(hexval(G1, "ga3_response")).data)
    with pytest.raises(ApplianceError) as caught:
        terminal.finish(tlv.encode(0x7C, tlv.encode(0x86, bytes(8))))
    assert caught.value.reason is Reason.PACE_FAILED


def test_g1_invalid_chip_points_are_refused() -> None:
    terminal = _g1_terminal()
    terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, hexval(G1, "encrypted_nonce_z"))))
    bad = bytearray(b"\x04" + hexval(G1, "chip_mapping_public_key_xy"))
    bad[-1] ^= 1  # off the curve
    for data in (bytes(bad), b"\x04" + bytes(64), b"\x02" + bytes(32)):
        with pytest.raises(ApplianceError) as caught:
            terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, data)))
        assert caught.value.reason is Reason.PACE_FAILED
    echo = b"\x04" + hexval(G1, "terminal_mapping_public_key_xy")
    with pytest.raises(ApplianceError):
        terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, echo)))


def test_g2_dh_generic_mapping_every_value() -> None:
    """G.2 (RFC 5114 1024-bit group). The single-source values H, G~, the terminal key pair,
    pace_info and the MSE data are confirmed here: from them we recompute the values that are
    independently checked (K, the keys and both tokens)."""
    protocol = PaceProtocol.from_oid(ID_PACE + ".1.2")
    group = standard_group(0)
    [option] = parse_pace_options(tlv.encode(0x31, hexval(G2, "pace_info")))
    assert (option.protocol, option.parameter_id) == (protocol, 0)
    password = PacePassword.from_mrz(text(G1, "mrz_information"))
    terminal = PaceTerminal(protocol, 0, password)
    assert terminal.mse_set_at().data == hexval(G2, "mse_set_at_data")
    nonce = crypto.aes_cbc_decrypt(password.key(protocol.cipher), hexval(G2, "encrypted_nonce_z"))
    assert nonce == hexval(G2, "nonce_s")
    h = group.decode(hexval(G2, "mapping_shared_secret_H"))
    mapped = group.combine(group.multiply(int.from_bytes(nonce, "big"), group.generator), h)
    assert group.encode(mapped) == hexval(G2, "mapped_generator")
    x = _int(G2, "terminal_ephemeral_private_key")
    terminal_public = group.multiply(x, mapped)
    assert group.encode(terminal_public) == hexval(G2, "terminal_ephemeral_public_key")
    chip_public = group.decode(hexval(G2, "chip_ephemeral_public_key"))
    k = group.shared_secret(group.multiply(x, chip_public))
    assert k == hexval(G2, "shared_secret_K")
    ks_mac = crypto.kdf(k, 2, CipherKind.AES128)
    assert crypto.kdf(k, 1, CipherKind.AES128) == hexval(G2, "ks_enc")
    assert ks_mac == hexval(G2, "ks_mac")
    t_ifd = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(protocol, group, chip_public)
    )
    t_ic = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(protocol, group, terminal_public)
    )
    assert t_ifd == hexval(G2, "auth_token_T_IFD")
    assert t_ic == hexval(G2, "auth_token_T_IC")


def test_dh_values_outside_the_subgroup_are_refused() -> None:
    group = standard_group(0)
    for value in (b"\x01", (group.p - 1).to_bytes(128, "big"), (2).to_bytes(128, "big")):  # type: ignore[attr-defined]
        with pytest.raises(ApplianceError) as caught:
            group.decode(value)
        assert caught.value.reason is Reason.PACE_FAILED


def _chip_side(
    protocol: PaceProtocol, group: Group[Any], password: PacePassword, terminal: PaceTerminal
) -> bytes:
    """Run the chip's half with the group arithmetic; return the SM MAC key both sides hold."""
    cipher = protocol.cipher
    nonce = os.urandom(16)
    z = crypto.encrypt(cipher, password.key(cipher), nonce)
    terminal.step1()
    step2 = terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, z)))
    terminal_map = group.decode(tlv.parse_one(step2.data).children()[0].value)
    chip_map_private = group.random_private(os.urandom)
    h = group.multiply(chip_map_private, terminal_map)
    mapped = group.combine(group.multiply(int.from_bytes(nonce, "big"), group.generator), h)
    chip_map = group.encode(group.multiply(chip_map_private, group.generator))
    step3 = terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, chip_map)))
    terminal_public = group.decode(tlv.parse_one(step3.data).children()[0].value)
    chip_private = group.random_private(os.urandom)
    chip_public = group.multiply(chip_private, mapped)
    step4 = terminal.step4(tlv.encode(0x7C, tlv.encode(0x84, group.encode(chip_public))))
    assert step4.cla == 0x00 and step3.cla == 0x10
    k = group.shared_secret(group.multiply(chip_private, terminal_public))
    ks_mac = crypto.kdf(k, 2, cipher)
    pk_ifd = public_key_data_object(protocol, group, terminal_public)
    t_ic = crypto.token_mac(cipher, ks_mac, pk_ifd)
    terminal_token = tlv.parse_one(step4.data).children()[0].value
    assert terminal_token == crypto.token_mac(
        cipher, ks_mac, public_key_data_object(protocol, group, chip_public)
    )
    result = terminal.finish(tlv.encode(0x7C, tlv.encode(0x86, t_ic)))
    assert result.keys.ks_mac == ks_mac
    return ks_mac


@pytest.mark.parametrize("parameter_id", [0, 1, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18])
def test_every_standard_group_completes_pace(parameter_id: int) -> None:
    group = standard_group(parameter_id)
    agreement = "ECDH" if isinstance(group, EcGroup) else "DH"
    protocol = PaceProtocol.build(agreement, "GM", CipherKind.AES128)
    password = PacePassword.from_can("123456")
    terminal = PaceTerminal(protocol, parameter_id, password)
    _chip_side(protocol, group, password, terminal)


@pytest.mark.parametrize("cipher", list(CipherKind))
def test_every_cipher_suite_completes_pace(cipher: CipherKind) -> None:
    protocol = PaceProtocol.build("ECDH", "GM", cipher)
    assert protocol.oid.startswith(ID_PACE + ".2.")
    password = PacePassword.from_mrz(text(G1, "mrz_information"))
    ks_mac = _chip_side(
        protocol, standard_group(12), password, PaceTerminal(protocol, 12, password)
    )
    assert len(ks_mac) == cipher.key_length


def test_can_password_and_large_dh_uses_extended_length() -> None:
    password = PacePassword.from_can("123456")
    assert password.material == b"123456" and password.reference == 2
    assert password.key(CipherKind.AES256) == hashlib.sha256(b"123456" + b"\0\0\0\3").digest()
    terminal = PaceTerminal(PaceProtocol.build("DH", "GM", CipherKind.AES128), 2, password)
    assert isinstance(terminal.step1(), CommandApdu) and terminal.step1().is_extended


def test_unsupported_oids_and_groups() -> None:
    with pytest.raises(ApplianceError) as caught:
        PaceProtocol.from_oid("0.4.0.127.0.7.2.2.3.2.1")  # Chip Authentication, not PACE
    assert caught.value.reason is Reason.CHIP_PROTOCOL_UNSUPPORTED
    with pytest.raises(ApplianceError) as caught:
        standard_group(5)  # reserved id
    assert caught.value.reason is Reason.CHIP_PROTOCOL_UNSUPPORTED
    with pytest.raises(ApplianceError):
        PaceTerminal(
            PaceProtocol.build("DH", "GM", CipherKind.AES128), 13, PacePassword.from_can("1")
        )
