"""SecurityInfos (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1): the SET that EF.CardAccess, DG14 and
EF.CardSecurity carry, announcing PACE, Chip, Active and Terminal Authentication.

Every SecurityInfo is `SEQUENCE { protocol OID, requiredData ANY, optionalData ANY OPTIONAL }`;
the protocol OID says which typed structure it is. Infos this module does not model are kept
raw (`UnknownSecurityInfo`) so that readers can ignore them and encoders can reproduce them.
The SET keeps the chip's order: `encode(parse(x)) == x` for DER input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final

from asn1crypto import core

from appliance.emrtd.lds._asn1 import asn1_errors, load
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError

_BSI: Final = "0.4.0.127.0.7"
ID_PK: Final = f"{_BSI}.2.2.1"
ID_TA: Final = f"{_BSI}.2.2.2"
ID_CA: Final = f"{_BSI}.2.2.3"
ID_PACE: Final = f"{_BSI}.2.2.4"
ID_AA: Final = "2.23.136.1.1.5"
#: AlgorithmIdentifier naming one of the standardized domain parameters below by number
ID_STANDARDIZED_DOMAIN_PARAMETERS: Final = f"{_BSI}.1.2"


class KeyAgreement(StrEnum):
    DH = "DH"
    ECDH = "ECDH"


class Mapping(StrEnum):
    GM = "GM"  # generic mapping
    IM = "IM"  # integrated mapping
    CAM = "CAM"  # chip authentication mapping


class Cipher(StrEnum):
    TDES = "3DES"
    AES_128 = "AES-128"
    AES_192 = "AES-192"
    AES_256 = "AES-256"


_CIPHERS: Final = {1: Cipher.TDES, 2: Cipher.AES_128, 3: Cipher.AES_192, 4: Cipher.AES_256}
#: id-PACE arc -> (mapping, key agreement); CAM exists only with ECDH and AES
_PACE_ARCS: Final = {
    1: (Mapping.GM, KeyAgreement.DH),
    2: (Mapping.GM, KeyAgreement.ECDH),
    3: (Mapping.IM, KeyAgreement.DH),
    4: (Mapping.IM, KeyAgreement.ECDH),
    6: (Mapping.CAM, KeyAgreement.ECDH),
}
_KEY_AGREEMENTS: Final = {1: KeyAgreement.DH, 2: KeyAgreement.ECDH}

#: ICAO 9303-11 §9.5.1 standardized domain parameters: parameterId -> (name, key agreement)
STANDARDIZED_DOMAIN_PARAMETERS: Final[dict[int, tuple[str, KeyAgreement]]] = {
    0: ("modp1024_160", KeyAgreement.DH),  # RFC 5114 2.1
    1: ("modp2048_224", KeyAgreement.DH),  # RFC 5114 2.2
    2: ("modp2048_256", KeyAgreement.DH),  # RFC 5114 2.3
    8: ("secp192r1", KeyAgreement.ECDH),
    9: ("brainpoolP192r1", KeyAgreement.ECDH),
    10: ("secp224r1", KeyAgreement.ECDH),
    11: ("brainpoolP224r1", KeyAgreement.ECDH),
    12: ("secp256r1", KeyAgreement.ECDH),
    13: ("brainpoolP256r1", KeyAgreement.ECDH),
    14: ("brainpoolP320r1", KeyAgreement.ECDH),
    15: ("secp384r1", KeyAgreement.ECDH),
    16: ("brainpoolP384r1", KeyAgreement.ECDH),
    17: ("brainpoolP512r1", KeyAgreement.ECDH),
    18: ("secp521r1", KeyAgreement.ECDH),
}


def pace_oid(mapping: Mapping, key_agreement: KeyAgreement, cipher: Cipher) -> str:
    """The id-PACE-* protocol OID for a cipher suite (what the reader sends in MSE:Set AT)."""
    arcs = [a for a, v in _PACE_ARCS.items() if v == (mapping, key_agreement)]
    suffix = next(n for n, c in _CIPHERS.items() if c is cipher)
    if not arcs or (mapping is Mapping.CAM and cipher is Cipher.TDES):
        raise ValueError(f"no PACE protocol for {mapping}/{key_agreement}/{cipher}")
    return f"{ID_PACE}.{arcs[0]}.{suffix}"


def _arcs_under(oid: str, prefix: str) -> list[int] | None:
    if not oid.startswith(prefix + "."):
        return None
    return [int(part) for part in oid[len(prefix) + 1 :].split(".")]


def _pace_suite(oid: str) -> tuple[Mapping, KeyAgreement, Cipher] | None:
    arcs = _arcs_under(oid, ID_PACE)
    if arcs is None or len(arcs) != 2 or arcs[0] not in _PACE_ARCS or arcs[1] not in _CIPHERS:
        return None
    mapping, agreement = _PACE_ARCS[arcs[0]]
    cipher = _CIPHERS[arcs[1]]
    if mapping is Mapping.CAM and cipher is Cipher.TDES:
        return None
    return mapping, agreement, cipher


def _ca_suite(oid: str) -> tuple[KeyAgreement, Cipher] | None:
    arcs = _arcs_under(oid, ID_CA)
    if arcs is None or len(arcs) != 2 or arcs[0] not in _KEY_AGREEMENTS:
        return None
    if arcs[1] not in _CIPHERS:
        return None
    return _KEY_AGREEMENTS[arcs[0]], _CIPHERS[arcs[1]]


def _key_agreement_arc(oid: str, prefix: str) -> KeyAgreement | None:
    arcs = _arcs_under(oid, prefix)
    if arcs is None or len(arcs) != 1:
        return None
    return _KEY_AGREEMENTS.get(arcs[0])


def _pace_mapping_arc(oid: str) -> tuple[Mapping, KeyAgreement] | None:
    arcs = _arcs_under(oid, ID_PACE)
    if arcs is None or len(arcs) != 1:
        return None
    return _PACE_ARCS.get(arcs[0])


@dataclass(frozen=True)
class PaceInfo:
    protocol: str
    version: int
    #: standardized domain parameters (see STANDARDIZED_DOMAIN_PARAMETERS) or a proprietary id
    #: that a PACEDomainParameterInfo defines
    parameter_id: int | None = None

    @property
    def mapping(self) -> Mapping:
        return _suite_of(self.protocol)[0]

    @property
    def key_agreement(self) -> KeyAgreement:
        return _suite_of(self.protocol)[1]

    @property
    def cipher(self) -> Cipher:
        return _suite_of(self.protocol)[2]

    @property
    def domain_parameters(self) -> str | None:
        """Name of the standardized group or curve, None for proprietary parameters."""
        if self.parameter_id is None:
            return None
        entry = STANDARDIZED_DOMAIN_PARAMETERS.get(self.parameter_id)
        return entry[0] if entry else None


def _suite_of(oid: str) -> tuple[Mapping, KeyAgreement, Cipher]:
    suite = _pace_suite(oid)
    if suite is None:  # unreachable for parsed models: parse only builds PaceInfo for known OIDs
        raise LdsError("PACEInfo: unknown protocol")
    return suite


@dataclass(frozen=True)
class PaceDomainParameterInfo:
    protocol: str
    #: AlgorithmIdentifier DER: explicit DH/EC parameters or standardized parameters by number
    domain_parameter: bytes
    parameter_id: int | None = None

    @property
    def mapping(self) -> Mapping:
        return _PACE_ARCS[int(self.protocol.rsplit(".", 1)[1])][0]

    @property
    def key_agreement(self) -> KeyAgreement:
        return _PACE_ARCS[int(self.protocol.rsplit(".", 1)[1])][1]


@dataclass(frozen=True)
class ChipAuthenticationInfo:
    protocol: str
    version: int
    key_id: int | None = None

    @property
    def key_agreement(self) -> KeyAgreement:
        suite = _ca_suite(self.protocol)
        assert suite is not None  # parse only builds this for known OIDs
        return suite[0]

    @property
    def cipher(self) -> Cipher:
        suite = _ca_suite(self.protocol)
        assert suite is not None
        return suite[1]


@dataclass(frozen=True)
class ChipAuthenticationDomainParameterInfo:
    protocol: str
    domain_parameter: bytes
    key_id: int | None = None

    @property
    def key_agreement(self) -> KeyAgreement:
        return _KEY_AGREEMENTS[int(self.protocol.rsplit(".", 1)[1])]


@dataclass(frozen=True)
class ChipAuthenticationPublicKeyInfo:
    protocol: str
    #: SubjectPublicKeyInfo DER, kept whole: chips use explicit or standardized parameters
    #: that generic key loaders do not accept
    public_key: bytes
    key_id: int | None = None

    @property
    def key_agreement(self) -> KeyAgreement:
        return _KEY_AGREEMENTS[int(self.protocol.rsplit(".", 1)[1])]


@dataclass(frozen=True)
class ActiveAuthenticationInfo:
    protocol: str
    version: int
    #: OID of the AA signature algorithm (ECDSA with a hash); RSA chips usually omit this info
    signature_algorithm: str


@dataclass(frozen=True)
class TerminalAuthenticationInfo:
    protocol: str
    version: int
    #: FileID DER of EF.CVCA (TA v1 only)
    ef_cvca: bytes | None = None


@dataclass(frozen=True)
class UnknownSecurityInfo:
    protocol: str
    #: the whole SecurityInfo DER, reproduced as is by `encode`
    der: bytes


SecurityInfo = (
    PaceInfo
    | PaceDomainParameterInfo
    | ChipAuthenticationInfo
    | ChipAuthenticationDomainParameterInfo
    | ChipAuthenticationPublicKeyInfo
    | ActiveAuthenticationInfo
    | TerminalAuthenticationInfo
    | UnknownSecurityInfo
)


@dataclass(frozen=True)
class SecurityInfos:
    infos: tuple[SecurityInfo, ...]

    @property
    def pace_infos(self) -> tuple[PaceInfo, ...]:
        return tuple(i for i in self.infos if isinstance(i, PaceInfo))

    @property
    def pace_domain_parameter_infos(self) -> tuple[PaceDomainParameterInfo, ...]:
        return tuple(i for i in self.infos if isinstance(i, PaceDomainParameterInfo))

    @property
    def chip_authentication_infos(self) -> tuple[ChipAuthenticationInfo, ...]:
        return tuple(i for i in self.infos if isinstance(i, ChipAuthenticationInfo))

    @property
    def chip_authentication_public_keys(self) -> tuple[ChipAuthenticationPublicKeyInfo, ...]:
        return tuple(i for i in self.infos if isinstance(i, ChipAuthenticationPublicKeyInfo))

    @property
    def active_authentication_info(self) -> ActiveAuthenticationInfo | None:
        return next((i for i in self.infos if isinstance(i, ActiveAuthenticationInfo)), None)

    @property
    def terminal_authentication_infos(self) -> tuple[TerminalAuthenticationInfo, ...]:
        return tuple(i for i in self.infos if isinstance(i, TerminalAuthenticationInfo))


class _SecurityInfo(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("protocol", core.ObjectIdentifier),
        ("required_data", core.Any),
        ("optional_data", core.Any, {"optional": True}),
    ]


class _SecurityInfoSet(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


def _universal(value: Any) -> Any:
    """The ANY field decoded by its own universal tag (None when absent)."""
    if isinstance(value, core.Void):
        return None
    return core.load(value.dump(), strict=True)


def _int(value: Any, what: str) -> int:
    if not isinstance(value, core.Integer):
        raise LdsError(f"{what} must be an INTEGER")
    number = int(value.native)
    if number < 0:
        raise LdsError(f"{what} must not be negative")
    return number


def _optional_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _sequence_der(value: Any, what: str) -> bytes:
    if not isinstance(value, core.Sequence):
        raise LdsError(f"{what} must be a SEQUENCE")
    return bytes(value.dump())


def _parse_info(der: bytes) -> SecurityInfo:
    item = load(_SecurityInfo, der, "SecurityInfo")
    with asn1_errors("SecurityInfo"):
        oid = str(item["protocol"].dotted)
        required = _universal(item["required_data"])
        optional = _universal(item["optional_data"])
        _ = None if optional is None else optional.native
        _ = required.native
    if _pace_suite(oid) is not None:
        return PaceInfo(oid, _int(required, "PACEInfo version"), _optional_int(optional, "id"))
    if _pace_mapping_arc(oid) is not None:
        params = _sequence_der(required, "PACEDomainParameterInfo parameters")
        return PaceDomainParameterInfo(oid, params, _optional_int(optional, "parameterId"))
    if _ca_suite(oid) is not None:
        version = _int(required, "ChipAuthenticationInfo version")
        return ChipAuthenticationInfo(oid, version, _optional_int(optional, "keyId"))
    if _key_agreement_arc(oid, ID_CA) is not None:
        params = _sequence_der(required, "ChipAuthenticationDomainParameterInfo parameters")
        return ChipAuthenticationDomainParameterInfo(oid, params, _optional_int(optional, "keyId"))
    if _key_agreement_arc(oid, ID_PK) is not None:
        key = _sequence_der(required, "ChipAuthenticationPublicKeyInfo key")
        return ChipAuthenticationPublicKeyInfo(oid, key, _optional_int(optional, "keyId"))
    if oid == ID_AA:
        if not isinstance(optional, core.ObjectIdentifier):
            raise LdsError("ActiveAuthenticationInfo: signatureAlgorithm OID missing")
        version = _int(required, "ActiveAuthenticationInfo version")
        return ActiveAuthenticationInfo(oid, version, str(optional.dotted))
    if oid == ID_TA:
        version = _int(required, "TerminalAuthenticationInfo version")
        ef_cvca = None if optional is None else _sequence_der(optional, "efCVCA")
        return TerminalAuthenticationInfo(oid, version, ef_cvca)
    return UnknownSecurityInfo(oid, der)


def parse(der: bytes) -> SecurityInfos:
    """Parse a DER SecurityInfos SET (all of `der`)."""
    infos = load(_SecurityInfoSet, der, "SecurityInfos")
    with asn1_errors("SecurityInfos"):
        items = [bytes(item.dump()) for item in infos]
    if not items:
        raise LdsError("SecurityInfos: empty set")
    return SecurityInfos(tuple(_parse_info(item) for item in items))


def _encode_int(value: int) -> bytes:
    return bytes(core.Integer(value).dump())


def _encode_oid(oid: str) -> bytes:
    return bytes(core.ObjectIdentifier(oid).dump())


def _encode_info(info: SecurityInfo) -> bytes:
    if isinstance(info, UnknownSecurityInfo):
        return info.der
    parts = [_encode_oid(info.protocol)]
    match info:
        case PaceInfo(version=version, parameter_id=optional_int):
            parts.append(_encode_int(version))
        case PaceDomainParameterInfo(domain_parameter=required, parameter_id=optional_int):
            parts.append(required)
        case ChipAuthenticationInfo(version=version, key_id=optional_int):
            parts.append(_encode_int(version))
        case ChipAuthenticationDomainParameterInfo(domain_parameter=required, key_id=optional_int):
            parts.append(required)
        case ChipAuthenticationPublicKeyInfo(public_key=required, key_id=optional_int):
            parts.append(required)
        case ActiveAuthenticationInfo(version=version, signature_algorithm=algorithm):
            return tlv.encode(
                0x30, b"".join([*parts, _encode_int(version), _encode_oid(algorithm)])
            )
        case TerminalAuthenticationInfo(version=version, ef_cvca=ef_cvca):
            parts.append(_encode_int(version))
            if ef_cvca is not None:
                parts.append(ef_cvca)
            return tlv.encode(0x30, b"".join(parts))
    if optional_int is not None:
        parts.append(_encode_int(optional_int))
    return tlv.encode(0x30, b"".join(parts))


def encode(model: SecurityInfos) -> bytes:
    """DER SET in the model's order (chips order their SET as they like; DER sorting would
    change bytes that DG14's hash covers)."""
    return tlv.encode(0x31, b"".join(_encode_info(info) for info in model.infos))
