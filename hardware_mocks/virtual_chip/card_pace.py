"""PACE v2, card side (ICAO 9303-11 §4.4, BSI TR-03110-3): generic, integrated and chip
authentication mapping.

MSE:Set AT selects the protocol, the password (MRZ or CAN) and the domain parameters; four
GENERAL AUTHENTICATE steps then run: (1) the chip sends z = E(K_pi, s) for a random nonce s,
(2) the mapping (`card_mappings`): GM exchanges mapping keys and computes G~ = s*G + H, IM maps
the terminal's nonce t with s, CAM is GM, (3) both exchange ephemeral keys on G~ and agree on K,
(4) both prove K with authentication tokens over the other side's ephemeral public key; with
CAM the chip adds its encrypted chip authentication data (DO'8A). ECDH and DH groups alike (the
group arithmetic is `appliance.emrtd.protocol.domain_parameters`); a wrong password shows up as a
wrong token at step 4.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import Group, standard_group
from appliance.errors import ApplianceError, LdsError
from hardware_mocks.virtual_chip.card_mappings import (
    CAM_ARC,
    GENERIC_ARCS,
    INTEGRATED_ARCS,
    CardMapping,
    MappingRefused,
    card_mapping,
    nonce_length,
)
from hardware_mocks.virtual_chip.card_sm import CardSecureMessaging

ID_PACE = "0.4.0.127.0.7.2.2.4"
#: PACE OID arcs this chip implements: GM (1 DH, 2 ECDH), IM (3 DH, 4 ECDH), CAM (6 ECDH)
MAPPING_ARCS = (*GENERIC_ARCS, *INTEGRATED_ARCS, CAM_ARC)
_CIPHER_ARCS = {
    1: CipherKind.TDES,
    2: CipherKind.AES128,
    3: CipherKind.AES192,
    4: CipherKind.AES256,
}


class PaceRefused(Exception):
    """A PACE command the chip refuses; `sw` is the status word to answer."""

    def __init__(self, sw: int, detail: str) -> None:
        super().__init__(detail)
        self.sw = sw


class PasswordRef(IntEnum):
    """ICAO 9303-11 §9.7.3.1 Table 10 (PIN and PUK are not for eMRTDs)."""

    MRZ = 1
    CAN = 2


@dataclass(frozen=True)
class PaceOption:
    """One PACEInfo the chip offers in EF.CardAccess: protocol OID and domain parameter id."""

    oid: str
    parameter_id: int

    @property
    def cipher(self) -> CipherKind:
        return _CIPHER_ARCS[int(self.oid.rsplit(".", 1)[1])]

    @property
    def mapping_arc(self) -> int:
        return int(self.oid.split(".")[-2])

    @classmethod
    def generic(cls, ecdh: bool = True, cipher: CipherKind = CipherKind.AES128,
                parameter_id: int = 13) -> PaceOption:  # fmt: skip
        """id-PACE-{EC,}DH-GM-<cipher> over a standard parameter id (13 = brainpoolP256r1)."""
        cipher_arc = {v: k for k, v in _CIPHER_ARCS.items()}[cipher]
        return cls(f"{ID_PACE}.{2 if ecdh else 1}.{cipher_arc}", parameter_id)

    @classmethod
    def mapped(cls, mapping: str, ecdh: bool = True, cipher: CipherKind = CipherKind.AES128,
               parameter_id: int = 13) -> PaceOption:  # fmt: skip
        """id-PACE-<ka>-<mapping>-<cipher>: mapping "GM", "IM" or "CAM" (ECDH and AES only)."""
        arcs = {"GM": 2 if ecdh else 1, "IM": 4 if ecdh else 3, "CAM": 6}
        if mapping not in arcs or (mapping == "CAM" and (not ecdh or cipher is CipherKind.TDES)):
            raise ValueError(f"no PACE protocol for {mapping} with these parameters")
        cipher_arc = {v: k for k, v in _CIPHER_ARCS.items()}[cipher]
        return cls(f"{ID_PACE}.{arcs[mapping]}.{cipher_arc}", parameter_id)


def pace_password(ref: PasswordRef, mrz_information: str, can: str | None) -> bytes | None:
    """π: SHA-1 of the MRZ information, or the CAN's characters (None if the chip has no CAN)."""
    if ref is PasswordRef.MRZ:
        return hashlib.sha1(mrz_information.encode("ascii")).digest()
    return can.encode("ascii") if can else None


def oid_der(oid: str) -> bytes:
    return bytes(core.ObjectIdentifier(oid).dump())


def public_key_data_object(oid: str, group: Group[Any], element: Any) -> bytes:
    """7F49 { 06 protocol OID, 86 point | 84 DH value }: what an authentication token MACs."""
    return tlv.encode(
        0x7F49, oid_der(oid) + tlv.encode(group.public_key_tag, group.encode(element))
    )


class CardPace:
    """One PACE run after MSE:Set AT; `step` expects GENERAL AUTHENTICATE number 1 to 4."""

    def __init__(
        self,
        option: PaceOption,
        password: bytes,
        rng: Random,
        static_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        if option.mapping_arc not in MAPPING_ARCS:
            raise ValueError(f"PACE mapping arc {option.mapping_arc} not implemented")
        if option.mapping_arc == CAM_ARC and static_key is None:
            raise ValueError("PACE-CAM needs the chip's Chip Authentication key")
        self.option = option
        self._static_key = static_key
        self._mapping: CardMapping | None = None
        self.cipher = option.cipher
        self.group: Group[Any] = standard_group(option.parameter_id)
        self._k_pi = crypto.kdf(password, crypto.KDF_PACE_PASSWORD, self.cipher)
        self._rng = rng
        self.step = 1
        self._nonce = b""
        self._pk_map_ifd: bytes | None = None
        self._generator: Any = None
        self._pk_ic: Any = None
        self._pk_ifd: Any = None
        self._ks_enc = b""
        self._ks_mac = b""

    @property
    def chip_public_key(self) -> bytes:
        """The chip's ephemeral public key (encoded): ID_PICC for Terminal Authentication."""
        return bytes(self.group.encode(self._pk_ic))

    @property
    def terminal_public_key(self) -> bytes:
        """The terminal's ephemeral key of the key agreement: after PACE-CAM, what Terminal
        Authentication binds to (TR-03110-1 §3.5)."""
        return bytes(self.group.encode(self._pk_ifd))

    @property
    def chip_authenticating(self) -> bool:
        """True for PACE-CAM: this run authenticates the chip as Chip Authentication would."""
        return self.option.mapping_arc == CAM_ARC

    def general_authenticate(self, data: bytes) -> tuple[bytes, CardSecureMessaging | None]:
        """One step: dynamic authentication data (7C) in and out; the session after step 4."""
        try:
            outer = tlv.parse_one(data)
            if outer.tag != 0x7C or outer.size != len(data):
                raise PaceRefused(0x6A80, "GENERAL AUTHENTICATE data is not one DO'7C")
            objects = {item.tag: item.value for item in outer.children()}
        except LdsError:
            raise PaceRefused(0x6A80, "malformed dynamic authentication data") from None
        try:
            return self._dispatch(objects)
        except ApplianceError as exc:  # an invalid public element from the terminal
            raise PaceRefused(0x6A80, exc.detail) from None

    def _dispatch(self, objects: dict[int, bytes]) -> tuple[bytes, CardSecureMessaging | None]:
        if self.step == 1:
            if objects:
                raise PaceRefused(0x6A80, "step 1 carries no data")
            self._nonce = self._rng(nonce_length(self.option.mapping_arc, self.cipher))
            z = crypto.encrypt(self.cipher, self._k_pi, self._nonce)
            self.step = 2
            return tlv.encode(0x7C, tlv.encode(0x80, z)), None
        if self.step == 2:
            terminal_data = _require(objects, 0x81)
            self._mapping = card_mapping(
                self.option.mapping_arc, self.group, self._nonce, self.cipher, self._rng,
                self._static_key,
            )  # fmt: skip
            try:
                chip_data, self._generator = self._mapping.map(terminal_data)
            except MappingRefused as exc:
                raise PaceRefused(0x6A80, str(exc)) from None
            if self.option.mapping_arc not in INTEGRATED_ARCS:
                self._pk_map_ifd = terminal_data
            self.step = 3
            return tlv.encode(0x7C, tlv.encode(0x82, chip_data)), None
        if self.step == 3:
            raw_ifd = _require(objects, 0x83)
            if raw_ifd == self._pk_map_ifd:
                raise PaceRefused(0x6A80, "ephemeral key equals the mapping key")
            self._pk_ifd = self.group.decode(raw_ifd)
            sk_eph = self.group.random_private(self._rng)
            self._pk_ic = self.group.multiply(sk_eph, self._generator)
            if self.group.encode(self._pk_ic) == raw_ifd:
                raise PaceRefused(0x6A80, "terminal echoed the chip's ephemeral key")
            secret = self.group.shared_secret(self.group.multiply(sk_eph, self._pk_ifd))
            self._ks_enc = crypto.kdf(secret, crypto.KDF_ENC, self.cipher)
            self._ks_mac = crypto.kdf(secret, crypto.KDF_MAC, self.cipher)
            self.step = 4
            return tlv.encode(0x7C, tlv.encode(0x84, self.group.encode(self._pk_ic))), None
        if self.step == 4:
            t_ifd = _require(objects, 0x85)
            oid = self.option.oid
            expected = crypto.token_mac(
                self.cipher, self._ks_mac, public_key_data_object(oid, self.group, self._pk_ic)
            )
            self.step = 5
            if not hmac.compare_digest(expected, t_ifd):
                raise PaceRefused(0x6300, "terminal authentication token does not verify")
            t_ic = crypto.token_mac(
                self.cipher, self._ks_mac, public_key_data_object(oid, self.group, self._pk_ifd)
            )
            session = CardSecureMessaging(self.cipher, self._ks_enc, self._ks_mac, ssc=0)
            answer = tlv.encode(0x86, t_ic)
            assert self._mapping is not None
            encrypted = self._mapping.chip_authentication_data(self._ks_enc)
            if encrypted is not None:
                answer += tlv.encode(0x8A, encrypted)
            return tlv.encode(0x7C, answer), session
        raise PaceRefused(0x6985, "PACE already finished")


def _require(objects: dict[int, bytes], tag: int) -> bytes:
    if tag not in objects:
        raise PaceRefused(0x6A80, f"expected DO'{tag:02X}")
    return objects[tag]
