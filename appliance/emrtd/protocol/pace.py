"""PACE v2, terminal side (ICAO 9303-11 §4.4; worked examples in Appendix G).

Sans-I/O: `PaceTerminal` produces each command APDU from the chip's previous answer
(MSE:Set AT, then the four chained GENERAL AUTHENTICATE steps with dynamic authentication data
7C) and ends with the SM session keys. The mapping (`pace_gm.Mapping`) is chosen from the explicit
`MAPPINGS` table: generic (`pace_gm`), integrated (`pace_im`) and chip authentication mapping
(`pace_cam`). Randomness is injected so the worked examples replay exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from asn1crypto.core import ObjectIdentifier

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.crypto import KDF_ENC, KDF_MAC, KDF_PACE_PASSWORD, CipherKind
from appliance.emrtd.protocol.domain_parameters import Group, Random, standard_group
from appliance.emrtd.protocol.pace_cam import ChipAuthenticationMapping
from appliance.emrtd.protocol.pace_gm import GenericMapping
from appliance.emrtd.protocol.pace_gm import Mapping as PaceMapping
from appliance.emrtd.protocol.pace_im import IntegratedMapping
from appliance.emrtd.protocol.sm import SessionKeys
from appliance.errors import ApplianceError, LdsError, Reason

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


#: (group, decrypted nonce s, random source, protocol) -> mapping; integrated mapping needs the
#: protocol's cipher for its pseudo-random function
MappingFactory = Callable[[Group[Any], bytes, Random, PaceProtocol], PaceMapping]

#: every PACE mapping this terminal runs, by the name in the PACE OID; a mapping missing here
#: makes `supported` false, so EF.CardAccess options with it are skipped
MAPPINGS: Final[Mapping[str, MappingFactory]] = {
    "GM": GenericMapping,
    "IM": IntegratedMapping,
    "CAM": ChipAuthenticationMapping,
}


def supported(protocol: PaceProtocol) -> bool:
    return protocol.mapping in MAPPINGS


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


def _fail(detail: str) -> ApplianceError:
    return ApplianceError(Reason.PACE_FAILED, detail)


def _dynamic_data(response: bytes, tag: int) -> tuple[bytes, dict[int, bytes]]:
    """Value of `tag` inside the response's 7C template, and every other DO in it."""
    try:
        outer = tlv.parse_one(response)
        if outer.tag != 0x7C or outer.size != len(response):
            raise _fail("GENERAL AUTHENTICATE response is not one 7C template")
        objects = {item.tag: item.value for item in outer.children()}
    except LdsError as exc:
        raise _fail("malformed GENERAL AUTHENTICATE response") from exc
    if tag not in objects:
        raise _fail(f"GENERAL AUTHENTICATE response lacks DO'{tag:02X}")
    value = objects.pop(tag)
    return value, objects


class PaceTerminal:
    """One PACE run over standardized (or given) domain parameters.

    Call in order: `mse_set_at()`, `step1()`, `step2(r1)`, `step3(r2)`, `step4(r3)`, `finish(r4)`,
    where rN is the data of the chip's answer to step N.
    """

    def __init__(
        self,
        protocol: PaceProtocol,
        parameter_id: int,
        password: PacePassword,
        rng: Random = os.urandom,
        group: Group[Any] | None = None,
    ) -> None:
        if not supported(protocol):
            raise ApplianceError(
                Reason.CHIP_PROTOCOL_UNSUPPORTED, f"PACE mapping {protocol.mapping} not supported"
            )
        self.protocol = protocol
        self.parameter_id = parameter_id
        self.group: Group[Any] = group if group is not None else standard_group(parameter_id)
        expected = "ECDH" if self.group.public_key_tag == 0x86 else "DH"
        if expected != protocol.key_agreement:
            raise ApplianceError(
                Reason.CHIP_PROTOCOL_UNSUPPORTED, "domain parameters do not fit the PACE OID"
            )
        self.password = password
        self._rng = rng
        self._k_pi = password.key(protocol.cipher)
        self._mapping: PaceMapping | None = None
        self._generator: Any = None
        self._private = 0
        self._public: Any = None
        self._chip_public: Any = None
        self._keys: SessionKeys | None = None
        # large DH groups need extended length for their public values
        self._le = 65536 if self.group.element_size > 200 else 256

    @property
    def mapping(self) -> PaceMapping | None:
        """The mapping of this run, once step 2 created it (PACE-CAM reads the chip's key)."""
        return self._mapping

    def mse_set_at(self, with_parameter_id: bool = False) -> CommandApdu:
        """MSE:Set AT (no Le: several chips reject one). DO'84 names the domain parameters."""
        data = tlv.encode(0x80, self.protocol.oid_bytes) + tlv.encode(
            0x83, bytes([self.password.reference])
        )
        if with_parameter_id:
            data += tlv.encode(0x84, bytes([self.parameter_id]))
        return CommandApdu(0x00, 0x22, 0xC1, 0xA4, data)

    def _general_authenticate(self, content: bytes, last: bool = False) -> CommandApdu:
        cla = 0x00 if last else 0x10
        return CommandApdu(cla, 0x86, 0x00, 0x00, tlv.encode(0x7C, content), le=self._le)

    def step1(self) -> CommandApdu:
        """Ask for the encrypted nonce."""
        return self._general_authenticate(b"")

    def step2(self, response: bytes) -> CommandApdu:
        """Decrypt the nonce z with K_pi and send the terminal's mapping data."""
        z, _ = _dynamic_data(response, 0x80)
        if not z or len(z) % self.protocol.cipher.block_size:
            raise _fail("encrypted nonce is not whole cipher blocks")
        nonce = crypto.decrypt(self.protocol.cipher, self._k_pi, z)
        self._mapping = MAPPINGS[self.protocol.mapping](self.group, nonce, self._rng, self.protocol)
        return self._general_authenticate(tlv.encode(0x81, self._mapping.terminal_data()))

    def step3(self, response: bytes) -> CommandApdu:
        """Map the generator and send the terminal's ephemeral public key."""
        if self._mapping is None:
            raise _fail("PACE steps out of order")
        chip_data, _ = _dynamic_data(response, 0x82)
        self._generator = self._mapping.generator(chip_data)
        self._private = self.group.random_private(self._rng)
        self._public = self.group.multiply(self._private, self._generator)
        return self._general_authenticate(tlv.encode(0x83, self.group.encode(self._public)))

    def step4(self, response: bytes) -> CommandApdu:
        """Agree on K, derive session keys, send the terminal's token T_IFD."""
        if self._public is None:
            raise _fail("PACE steps out of order")
        chip_data, _ = _dynamic_data(response, 0x84)
        chip_public = self.group.decode(chip_data)
        if self.group.encode(chip_public) == self.group.encode(self._public):
            raise _fail("chip's ephemeral key equals the terminal's")
        self._chip_public = chip_public
        secret = self.group.shared_secret(self.group.multiply(self._private, chip_public))
        cipher = self.protocol.cipher
        self._keys = SessionKeys(
            cipher, crypto.kdf(secret, KDF_ENC, cipher), crypto.kdf(secret, KDF_MAC, cipher), 0
        )
        token = self.token(chip_public)
        return self._general_authenticate(tlv.encode(0x85, token), last=True)

    def token(self, public: Any) -> bytes:
        """Authentication token over the other party's ephemeral public key."""
        if self._keys is None:
            raise _fail("PACE steps out of order")
        pk = public_key_data_object(self.protocol, self.group, public)
        return crypto.token_mac(self.protocol.cipher, self._keys.ks_mac, pk)

    def finish(self, response: bytes) -> PaceResult:
        """Verify the chip's token T_IC; the SM keys are only released when it matches."""
        if self._keys is None:
            raise _fail("PACE steps out of order")
        t_ic, extra = _dynamic_data(response, 0x86)
        if not hmac.compare_digest(t_ic, self.token(self._public)):
            raise _fail("chip authentication token does not verify")
        return PaceResult(
            keys=self._keys,
            protocol=self.protocol,
            parameter_id=self.parameter_id,
            chip_public_key=self.group.encode(self._chip_public),
            extra=extra,
        )
