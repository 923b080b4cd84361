"""PACE v2 (ICAO 9303-11 §4.4): protocols by OID, passwords, the generic mapping, the result.

What every PACE module shares: the integrated (`pace_im`) and chip authentication
(`pace_cam`) mappings build on these, and `pace_terminal` runs the steps with the mapping its
explicit table names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from asn1crypto.core import ObjectIdentifier

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.crypto import KDF_PACE_PASSWORD, CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import Group
from appliance.emrtd.protocol.sm import SessionKeys
from appliance.errors import ApplianceError, Reason

#: id-PACE (BSI TR-03110-3, ICAO 9303-11 §9.2.1): 0.4.0.127.0.7.2.2.4
ID_PACE = "0.4.0.127.0.7.2.2.4"

_KEY_AGREEMENT = {1: "DH", 2: "ECDH", 3: "DH", 4: "ECDH", 6: "ECDH"}
_MAPPING = {1: "GM", 2: "GM", 3: "IM", 4: "IM", 6: "CAM"}
_CIPHERS = {
    1: CipherKind.TDES,
    2: CipherKind.AES128,
    3: CipherKind.AES192,
    4: CipherKind.AES256,
}


class PasswordKind(StrEnum):
    MRZ = "MRZ"
    CAN = "CAN"


@dataclass(frozen=True)
class PaceProtocol:
    """A PACE protocol OID, split into what it means."""

    oid: str
    key_agreement: Literal["DH", "ECDH"]
    mapping: Literal["GM", "IM", "CAM"]
    cipher: CipherKind

    @classmethod
    def from_oid(cls, oid: str) -> PaceProtocol:
        """Decode id-PACE-{DH,ECDH}-{GM,IM,CAM}-{3DES,AES...}; `CHIP_PROTOCOL_UNSUPPORTED` else."""
        prefix = ID_PACE + "."
        parts = oid[len(prefix) :].split(".") if oid.startswith(prefix) else []
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ApplianceError(Reason.CHIP_PROTOCOL_UNSUPPORTED, "not a PACE protocol OID")
        family, suite = int(parts[0]), int(parts[1])
        if family not in _MAPPING or suite not in _CIPHERS or (family == 6 and suite == 1):
            raise ApplianceError(Reason.CHIP_PROTOCOL_UNSUPPORTED, f"unknown PACE OID {oid}")
        key_agreement: Literal["DH", "ECDH"] = "DH" if _KEY_AGREEMENT[family] == "DH" else "ECDH"
        mapping: Literal["GM", "IM", "CAM"] = (
            "GM" if _MAPPING[family] == "GM" else "IM" if _MAPPING[family] == "IM" else "CAM"
        )
        return cls(oid, key_agreement, mapping, _CIPHERS[suite])

    @classmethod
    def build(
        cls, key_agreement: Literal["DH", "ECDH"], mapping: Literal["GM", "IM", "CAM"],
        cipher: CipherKind,
    ) -> PaceProtocol:  # fmt: skip
        family = {("DH", "GM"): 1, ("ECDH", "GM"): 2, ("DH", "IM"): 3, ("ECDH", "IM"): 4,
                  ("ECDH", "CAM"): 6}[(key_agreement, mapping)]  # fmt: skip
        suite = {v: k for k, v in _CIPHERS.items()}[cipher]
        return cls.from_oid(f"{ID_PACE}.{family}.{suite}")

    @property
    def oid_bytes(self) -> bytes:
        """The OID's DER content octets (what goes in DO'80 of MSE:Set AT and in 7F49)."""
        return bytes(ObjectIdentifier(self.oid).contents)

    @property
    def name(self) -> str:
        """e.g. 'id-PACE-ECDH-GM-AES-CBC-CMAC-128'."""
        suite = (
            "3DES-CBC-CBC"
            if self.cipher is CipherKind.TDES
            else f"AES-CBC-CMAC-{self.cipher.key_length * 8}"
        )
        return f"id-PACE-{self.key_agreement}-{self.mapping}-{suite}"


@dataclass(frozen=True)
class PacePassword:
    """The shared secret PACE starts from: the MRZ information or the card access number."""

    kind: PasswordKind
    #: MRZ: SHA-1 of the MRZ information; CAN: the digits as ASCII (ICAO 9303-11 §9.7.3)
    material: bytes = field(repr=False)

    @classmethod
    def from_mrz(cls, mrz_information: str) -> PacePassword:
        return cls(PasswordKind.MRZ, hashlib.sha1(mrz_information.encode("ascii")).digest())

    @classmethod
    def from_can(cls, can: str) -> PacePassword:
        if not can.isdigit():
            raise ApplianceError(Reason.USAGE, "the CAN is digits only")
        return cls(PasswordKind.CAN, can.encode("ascii"))

    @property
    def reference(self) -> int:
        """Password reference of MSE:Set AT DO'83: 1 = MRZ, 2 = CAN."""
        return 1 if self.kind is PasswordKind.MRZ else 2

    def key(self, cipher: CipherKind) -> bytes:
        """K_pi = KDF(password, 3)."""
        return crypto.kdf(self.material, KDF_PACE_PASSWORD, cipher)


class Mapping(Protocol):
    """How the nonce becomes an ephemeral generator (ICAO 9303-11 §4.4.3.3)."""

    def terminal_data(self) -> bytes:
        """Value of DO'81 in GENERAL AUTHENTICATE step 2."""
        ...

    def generator(self, chip_data: bytes) -> Any:
        """The mapped generator, from the value of the chip's DO'82."""
        ...


class GenericMapping:
    """Generic mapping: G~ = s*G + H, with H from an anonymous Diffie-Hellman on the static G."""

    def __init__(
        self, group: Group[Any], nonce: bytes, rng: Random, protocol: PaceProtocol | None = None
    ) -> None:
        self.group = group
        self._s = int.from_bytes(nonce, "big")
        self._private = group.random_private(rng)
        self.public = group.multiply(self._private, group.generator)

    def terminal_data(self) -> bytes:
        return self.group.encode(self.public)

    def generator(self, chip_data: bytes) -> Any:
        chip_public = self.group.decode(chip_data)
        if self.group.encode(chip_public) == self.terminal_data():
            raise ApplianceError(Reason.PACE_FAILED, "chip echoed the terminal's mapping key")
        shared = self.group.multiply(self._private, chip_public)
        return self.group.combine(self.group.multiply(self._s, self.group.generator), shared)


#: (group, decrypted nonce s, random source, protocol) -> mapping; integrated mapping needs the
#: protocol's cipher for its pseudo-random function
MappingFactory = Callable[[Group[Any], bytes, Random, PaceProtocol], Mapping]


def public_key_data_object(protocol: PaceProtocol, group: Group[Any], element: Any) -> bytes:
    """7F49 { 06 OID, 86 point | 84 DH value }: the input of the authentication tokens."""
    body = tlv.encode(0x06, protocol.oid_bytes) + tlv.encode(
        group.public_key_tag, group.encode(element)
    )
    return tlv.encode(0x7F49, body)


@dataclass(frozen=True)
class PaceResult:
    keys: SessionKeys
    protocol: PaceProtocol
    parameter_id: int
    #: chip's ephemeral public key (encoded): Chip Authentication and CAM need it
    chip_public_key: bytes
    #: DOs of the last response beyond the token (8A = encrypted CAM data, 87/88 = CARs)
    extra: dict[int, bytes]
    #: the terminal's own ephemeral public key of the key agreement (encoded): after PACE-CAM
    #: Terminal Authentication binds to it (TR-03110-1 §3.5)
    terminal_public_key: bytes = b""
