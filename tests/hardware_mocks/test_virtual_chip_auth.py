"""Active Authentication and Chip Authentication, card side: the chip proves it holds the
private keys whose public halves DG15 and DG14 carry (what tells a genuine chip from a clone)."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from appliance.emrtd.lds import dg14
from appliance.emrtd.lds.security_infos import ChipAuthenticationPublicKeyInfo
from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu, ResponseApdu
from appliance.emrtd.protocol.bac import BacTerminal
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.sm import SecureMessaging, SessionKeys
from hardware_mocks.virtual_chip import VirtualChip, make_chip, make_profile

SELECT_APP = CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001"))
CA_AES128_OID = bytes.fromhex("04007F00070202030202")  # id-CA-ECDH-AES-CBC-CMAC-128


def open_bac(chip: VirtualChip) -> SecureMessaging:
    chip.power_on()
    assert chip.process_apdu(SELECT_APP.encode())[-2:] == b"\x90\x00"
    terminal = BacTerminal(chip.contents.mrz_information)
    rnd_ic = ResponseApdu.decode(chip.process_apdu(bytes.fromhex("0084000008"))).check()
    answer = chip.process_apdu(terminal.external_authenticate(rnd_ic).encode())
    return SecureMessaging(terminal.complete(ResponseApdu.decode(answer).check()))


def exchange(chip: VirtualChip, sm: SecureMessaging, command: CommandApdu) -> ResponseApdu:
    return sm.unprotect(ResponseApdu.decode(chip.process_apdu(sm.protect(command).encode())))


def internal_authenticate(challenge: bytes, le: int = 256) -> CommandApdu:
    return CommandApdu(0x00, 0x88, 0x00, 0x00, challenge, le=le)


def dg_public_key(chip: VirtualChip, number: int) -> bytes:
    return chip.contents.lds_files[0x0100 + number]


def test_active_authentication_ec_signature_verifies_with_dg15() -> None:
    chip = make_chip(3)
    sm = open_bac(chip)
    challenge = os.urandom(8)
    signature = exchange(chip, sm, internal_authenticate(challenge)).check()
    public = serialization.load_der_public_key(tlv.parse_one(dg_public_key(chip, 15)).value)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert len(signature) == 64  # plain r || s on brainpoolP256r1
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public.verify(encode_dss_signature(r, s), challenge, ec.ECDSA(hashes.SHA256()))


def test_active_authentication_rsa_is_iso9796_2_scheme_1() -> None:
    chip = make_chip(3, active_authentication="rsa")
    sm = open_bac(chip)
    challenge = bytes.fromhex("0011223344556677")
    # a 2048-bit signature does not fit a short protected response: the chip says so
    assert exchange(chip, sm, internal_authenticate(challenge)).sw == 0x6700
    signature = exchange(chip, sm, internal_authenticate(challenge, le=65536)).check()
    public = serialization.load_der_public_key(tlv.parse_one(dg_public_key(chip, 15)).value)
    assert isinstance(public, rsa.RSAPublicKey)
    numbers = public.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    block = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(size, "big")
    assert block[0] == 0x6A and block[-1] == 0xBC
    m1, digest = block[1:-21], block[-21:-1]
    assert hashlib.sha1(m1 + challenge).digest() == digest
    # the same recovery with another challenge fails: the signature binds the challenge
    assert hashlib.sha1(m1 + bytes(8)).digest() != digest


def test_active_authentication_needs_access_and_an_8_byte_challenge() -> None:
    chip = make_chip(3)
    chip.power_on()
    assert chip.process_apdu(internal_authenticate(bytes(8)).encode()) == b"\x69\x82"
    sm = open_bac(chip)
    assert exchange(chip, sm, internal_authenticate(bytes(7))).sw == 0x6700
    no_aa = make_chip(3, active_authentication=None)
    sm = open_bac(no_aa)
    assert exchange(no_aa, sm, internal_authenticate(bytes(8))).sw == 0x6D00


def chip_ca_public_key(chip: VirtualChip) -> ec.EllipticCurvePublicKey:
    infos = dg14.parse(dg_public_key(chip, 14)).security_infos.infos
    info = next(i for i in infos if isinstance(i, ChipAuthenticationPublicKeyInfo))
    public = serialization.load_der_public_key(info.public_key)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


def terminal_ca_keys(chip: VirtualChip, cipher: CipherKind) -> tuple[bytes, SessionKeys]:
    chip_public = chip_ca_public_key(chip)
    ephemeral = ec.generate_private_key(chip_public.curve)
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    secret = ephemeral.exchange(ec.ECDH(), chip_public)
    keys = SessionKeys(
        cipher,
        crypto.kdf(secret, crypto.KDF_ENC, cipher),
        crypto.kdf(secret, crypto.KDF_MAC, cipher),
    )
    return point, keys


def test_chip_authentication_restarts_sm_with_keys_only_the_genuine_chip_has() -> None:
    chip = make_chip(5)
    sm = open_bac(chip)
    point, keys = terminal_ca_keys(chip, CipherKind.AES128)
    mse = CommandApdu(0x00, 0x22, 0x41, 0xA4, tlv.encode(0x80, CA_AES128_OID))
    assert exchange(chip, sm, mse).sw == 0x9000
    ga = CommandApdu(0x00, 0x86, 0x00, 0x00, tlv.encode(0x7C, tlv.encode(0x80, point)), le=256)
    answer = exchange(chip, sm, ga)  # still protected with the BAC keys
    assert (answer.sw, answer.data) == (0x9000, b"\x7c\x00")
    assert chip.chip_authenticated
    new_sm = SecureMessaging(keys)
    dg1 = exchange(chip, new_sm, CommandApdu(0x00, 0xB0, 0x81, 0x00, le=256))
    assert dg1.data == dg_public_key(chip, 1)
    # the BAC session is gone
    with pytest.raises(ApduError) as info:
        exchange(chip, sm, CommandApdu(0x00, 0xB0, 0x81, 0x00, le=4))
    assert info.value.sw == 0x6988


def test_chip_authentication_3des_with_mse_set_kat() -> None:
    chip = make_chip(5)
    sm = open_bac(chip)
    point, keys = terminal_ca_keys(chip, CipherKind.TDES)
    kat = CommandApdu(0x00, 0x22, 0x41, 0xA6, tlv.encode(0x91, point))
    assert exchange(chip, sm, kat).sw == 0x9000
    new_sm = SecureMessaging(keys)
    assert exchange(chip, new_sm, CommandApdu(0, 0xB0, 0x81, 0, le=256)).data == dg_public_key(
        chip, 1
    )


def test_chip_authentication_refuses_a_point_off_the_curve() -> None:
    chip = make_chip(5)
    sm = open_bac(chip)
    assert exchange(chip, sm, CommandApdu(0, 0x22, 0x41, 0xA4, tlv.encode(0x80, CA_AES128_OID))).ok
    bogus = b"\x04" + bytes(64)
    ga = CommandApdu(0, 0x86, 0, 0, tlv.encode(0x7C, tlv.encode(0x80, bogus)), le=256)
    assert exchange(chip, sm, ga).sw == 0x6A80
    assert not chip.chip_authenticated
    # the old session still works after a refused CA
    assert exchange(chip, sm, CommandApdu(0, 0xB0, 0x81, 0, le=4)).ok


def test_chip_authentication_needs_bac_or_pace_first() -> None:
    chip = make_chip(5)
    chip.power_on()
    raw = CommandApdu(0, 0x22, 0x41, 0xA4, tlv.encode(0x80, CA_AES128_OID)).encode()
    assert chip.process_apdu(raw) == b"\x69\x82"


def test_profile_keys_are_stable_per_seed() -> None:
    a, b = make_profile(9), make_profile(9)
    assert (
        a.chip_authentication_key.private_numbers() == b.chip_authentication_key.private_numbers()
    )
    assert make_profile(10).chip_authentication_key.private_numbers() != (
        a.chip_authentication_key.private_numbers()
    )
