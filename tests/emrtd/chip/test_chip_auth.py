"""Chip Authentication v1: APDU sequences, key agreement (ECDH and DH, 3DES and AES), the proof
read under the new keys, and the failures a copied chip shows.

The card here is written in the test from ICAO 9303-11 §6.2 / TR-03110-3 B.1 with
`cryptography`'s ECDH and plain modular arithmetic, not with the terminal's code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.chip.ca_keys import load_chip_key
from appliance.emrtd.chip.chip_auth import (
    CaUnavailable,
    ChipAuthentication,
    run_chip_authentication,
    select_suite,
)
from appliance.emrtd.lds import dg14
from appliance.emrtd.lds.security_infos import (
    ID_CA,
    ID_PK,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    SecurityInfos,
)
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.protocol import tlv
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu, ResponseApdu
from appliance.emrtd.protocol.domain_parameters import DhGroup, standard_group
from appliance.emrtd.protocol.sm import SessionKeys, SmError
from appliance.errors import Reason

CA_ECDH_3DES = f"{ID_CA}.2.1"
CA_ECDH_AES128 = f"{ID_CA}.2.2"
CA_ECDH_AES256 = f"{ID_CA}.2.4"
CA_DH_AES128 = f"{ID_CA}.1.2"
PK_ECDH, PK_DH = f"{ID_PK}.2", f"{ID_PK}.1"


def _kdf(secret: bytes, counter: int, length: int, sha256: bool = False) -> bytes:
    digest = (hashlib.sha256 if sha256 else hashlib.sha1)(secret + counter.to_bytes(4, "big"))
    return digest.digest()[:length]


def _ec_key(seed: int = 1) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(0xC0FFEE + seed, ec.BrainpoolP256R1())


def _ec_spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _dg14(*infos: object) -> bytes:
    return dg14.encode(dg14.Dg14(SecurityInfos(tuple(infos))))  # type: ignore[arg-type]


def _dh_spki(group: DhGroup, y: int) -> bytes:
    params = (
        core.Integer(group.p).dump() + core.Integer(group.generator).dump()
        + core.Integer(group.order).dump()
    )  # fmt: skip
    algorithm = tlv.encode(0x30, core.ObjectIdentifier("1.2.840.10046.2.1").dump()
                           + tlv.encode(0x30, params))  # fmt: skip
    key_bits = tlv.encode(0x03, b"\x00" + core.Integer(y).dump())
    return tlv.encode(0x30, algorithm + key_bits)


@dataclass
class CardSide:
    """The chip's half: answers the CA commands and, after them, only the agreed keys."""

    agree: object  # callable(terminal_public_bytes) -> shared secret bytes
    dg14_bytes: bytes
    aes: bool = True
    key_length: int = 16
    refuse: int | None = None
    received: list[CommandApdu] = field(default_factory=list)
    expected_keys: SessionKeys | None = None
    installed: SessionKeys | None = None
    supports_extended_length: bool = True

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        self.received.append(command)
        if self.installed is not None:
            if self.installed != self.expected_keys:
                raise SmError(Reason.SM_MAC_INVALID, "response MAC does not verify")
            if command.ins == 0xA4:
                return ResponseApdu(b"", 0x9000)
            return ResponseApdu(self.dg14_bytes[: command.le], 0x9000)
        if self.refuse is not None:
            return ResponseApdu(b"", self.refuse)
        objects = {t.tag: t.value for t in tlv.parse_all(command.data)}
        if command.ins == 0x22 and (command.p1, command.p2) == (0x41, 0xA6):
            self._agree(objects[0x91])
            return ResponseApdu(b"", 0x9000)
        if command.ins == 0x22 and (command.p1, command.p2) == (0x41, 0xA4):
            return ResponseApdu(b"", 0x9000)
        if command.ins == 0x86:
            inner = {t.tag: t.value for t in tlv.parse_all(objects[0x7C])}
            self._agree(inner[0x80])
            return ResponseApdu(b"\x7c\x00", 0x9000)
        return ResponseApdu(b"", 0x6D00)

    def _agree(self, terminal_public: bytes) -> None:
        secret = self.agree(terminal_public)  # type: ignore[operator]
        from appliance.emrtd.protocol.crypto import CipherKind, adjust_des_parity

        long_keys = self.key_length > 16
        enc = _kdf(secret, 1, self.key_length, long_keys)
        mac = _kdf(secret, 2, self.key_length, long_keys)
        if not self.aes:
            enc, mac = adjust_des_parity(enc), adjust_des_parity(mac)
        cipher = {16: CipherKind.AES128, 32: CipherKind.AES256}[self.key_length]
        self.expected_keys = SessionKeys(cipher if self.aes else CipherKind.TDES, enc, mac, 0)

    def restart_secure_messaging(self, keys: SessionKeys) -> None:
        self.installed = keys


def _ecdh_card(key: ec.EllipticCurvePrivateKey, dg14_bytes: bytes, **kw: object) -> CardSide:
    def agree(terminal_public: bytes) -> bytes:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, terminal_public)
        return key.exchange(ec.ECDH(), peer)

    return CardSide(agree, dg14_bytes, **kw)  # type: ignore[arg-type]


def _rng(n: int) -> bytes:
    return bytes((7 * i + 3) % 256 for i in range(n))


def test_aes_ca_sends_set_at_and_general_authenticate_and_restarts_sm() -> None:
    key = _ec_key()
    data = _dg14(
        ChipAuthenticationInfo(CA_ECDH_AES128, 1, 5),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(key), 5),
    )
    card = _ecdh_card(key, data)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None and check.status is CheckStatus.PASS, check
    set_at, general_authenticate, select, read = card.received
    oid_content = bytes(core.ObjectIdentifier(CA_ECDH_AES128).contents)
    assert set_at.encode() == (
        bytes([0x00, 0x22, 0x41, 0xA4, 2 + len(oid_content) + 3, 0x80, len(oid_content)])
        + oid_content + bytes.fromhex("840105")
    )  # fmt: skip
    assert general_authenticate.header == bytes.fromhex("00860000")
    outer = tlv.parse_one(general_authenticate.data)
    assert outer.tag == 0x7C and outer.value[:3] == bytes.fromhex("804104")
    assert select.encode() == bytes.fromhex("00A4020C02010E")
    assert read.encode() == bytes.fromhex("00B0000010")
    assert card.installed == card.expected_keys


def test_3des_ca_uses_mse_set_kat_with_the_ephemeral_key() -> None:
    key = _ec_key(2)
    data = _dg14(
        ChipAuthenticationInfo(CA_ECDH_3DES, 1),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(key)),
    )
    card = _ecdh_card(key, data, aes=False)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None and check.status is CheckStatus.PASS, check
    kat = card.received[0]
    assert kat.header == bytes.fromhex("002241A6")
    assert kat.data[:3] == bytes.fromhex("914104") and len(kat.data) == 67  # no key id
    assert card.installed is not None and card.installed.ks_enc == card.expected_keys.ks_enc  # type: ignore[union-attr]


def test_legacy_dg14_without_ca_info_means_3des() -> None:
    key = _ec_key(3)
    data = _dg14(ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(key)))
    card = _ecdh_card(key, data, aes=False)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None and check.status is CheckStatus.PASS
    assert card.received[0].header == bytes.fromhex("002241A6")


def test_dh_ca_with_x942_parameters() -> None:
    group = standard_group(2)
    assert isinstance(group, DhGroup)
    chip_private = 0x1234567890ABCDEF1234567890ABCDEF
    y = pow(group.generator, chip_private, group.p)
    data = _dg14(
        ChipAuthenticationInfo(CA_DH_AES128, 1),
        ChipAuthenticationPublicKeyInfo(PK_DH, _dh_spki(group, y)),
    )

    def agree(terminal_public: bytes) -> bytes:
        value = int.from_bytes(terminal_public, "big")
        assert 1 < value < group.p - 1 and pow(value, group.order, group.p) == 1
        return pow(value, chip_private, group.p).to_bytes(256, "big")

    card = CardSide(agree, data)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None and check.status is CheckStatus.PASS, check
    assert len(tlv.parse_one(card.received[1].data).value) == 2 + 2 + 256  # 80 82 0100 y


def test_strongest_suite_is_chosen_and_keys_pair_by_id() -> None:
    weak, strong = _ec_key(4), _ec_key(5)
    infos = SecurityInfos((
        ChipAuthenticationInfo(CA_ECDH_AES128, 1, 1),
        ChipAuthenticationInfo(CA_ECDH_AES256, 1, 2),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(weak), 1),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(strong), 2),
    ))  # fmt: skip
    suite = select_suite(infos)
    assert suite is not None and suite.protocol == CA_ECDH_AES256 and suite.key.key_id == 2
    data = dg14.encode(dg14.Dg14(infos))
    card = _ecdh_card(strong, data, key_length=32)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None and check.status is CheckStatus.PASS


def test_clone_with_another_static_key_fails_on_the_proof_read() -> None:
    genuine, clone = _ec_key(6), _ec_key(7)
    data = _dg14(
        ChipAuthenticationInfo(CA_ECDH_AES128, 1),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(genuine)),
    )
    card = _ecdh_card(clone, data)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.CA_FAILED)
    assert "agreed keys" in check.detail


def test_chip_refusing_ca_fails_and_a_dg14_without_ca_is_not_run() -> None:
    key = _ec_key(8)
    data = _dg14(
        ChipAuthenticationInfo(CA_ECDH_AES128, 1),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(key)),
    )
    card = _ecdh_card(key, data, refuse=0x6A80)
    check = run_chip_authentication(card, data, _rng)
    assert check is not None and check.reason is Reason.CA_FAILED and "6A80" in check.detail
    assert (
        run_chip_authentication(card, _dg14(ChipAuthenticationInfo(CA_ECDH_AES128, 1)), _rng)
        is None
    )


def test_unusable_dg14_is_a_warning_or_malformed_never_a_pass() -> None:
    card = _ecdh_card(_ec_key(9), b"")
    broken = run_chip_authentication(card, b"\x6e\x03\x31\x01\x00", _rng)
    assert broken is not None and (broken.status, broken.reason) == (
        CheckStatus.FAIL,
        Reason.LDS_MALFORMED,
    )
    p224 = ec.derive_private_key(5, ec.SECP224R1())
    only_v2 = _dg14(
        ChipAuthenticationInfo(CA_ECDH_AES128, 2),
        ChipAuthenticationPublicKeyInfo(PK_ECDH, _ec_spki(p224)),
    )
    check = run_chip_authentication(card, only_v2, _rng)
    assert check is not None and check.status is CheckStatus.WARN
    assert check.reason is Reason.CHIP_PROTOCOL_UNSUPPORTED
    with pytest.raises(CaUnavailable):
        select_suite(dg14.parse(only_v2).security_infos)
    assert not card.received  # nothing was sent for an unusable DG14


def test_chip_key_on_wrong_curve_point_is_malformed() -> None:
    spki = bytearray(_ec_spki(_ec_key(10)))
    spki[-1] ^= 1  # the point leaves the curve
    with pytest.raises(Exception) as err:
        load_chip_key(ChipAuthenticationPublicKeyInfo(PK_ECDH, bytes(spki)))
    assert getattr(err.value, "reason", None) is Reason.LDS_MALFORMED


def test_general_authenticate_answer_with_data_is_refused() -> None:
    with pytest.raises(ApduError):
        ChipAuthentication.check_answer(
            CommandApdu(0x00, 0x86, 0, 0, b"\x7c\x00"), ResponseApdu(b"\x7c\x02\x81\x00", 0x9000)
        )
