"""The chip's static key-agreement key: ChipAuthenticationPublicKeyInfo as a group element.

DG14 (Chip Authentication) and EF.CardSecurity (PACE-CAM) carry a SubjectPublicKeyInfo whose
algorithm is one of: id-ecPublicKey with a named curve or explicit parameters, BSI's
standardizedDomainParameters with a domain parameter id (ICAO 9303-11 §9.5.1), or X9.42
dhpublicnumber with explicit (p, g, q). pyca/cryptography accepts none but the first, and
key agreement with the terminal's ephemeral key needs the group anyway, so the key is mapped
onto `domain_parameters` groups here. The chip's point/value is validated on load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import core, keys
from ecdsa import curves as ecdsa_curves

from appliance.emrtd.lds._asn1 import asn1_errors, load
from appliance.emrtd.lds.security_infos import ChipAuthenticationPublicKeyInfo
from appliance.emrtd.protocol.domain_parameters import DhGroup, EcGroup, Group, standard_group
from appliance.errors import ApplianceError, LdsError, Reason

ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
ID_DH_PUBLIC_NUMBER = "1.2.840.10046.2.1"
ID_STANDARDIZED_DOMAIN_PARAMETERS = "0.4.0.127.0.7.1.2"

#: largest groups accepted from a chip: P-521, and 4096-bit MODP (signed data, but a hostile
#: DG14 must not buy minutes of big-integer arithmetic before PA has judged it)
_MAX_EC_BITS = 521
_MAX_DH_BITS = 4096


class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _SubjectPublicKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", _AlgorithmIdentifier),
        ("public_key", core.OctetBitString),
    ]


class _DhDomainParameters(core.Sequence):  # type: ignore[misc]
    """X9.42 DomainParameters (RFC 3279 §2.3.3); j and validationParms are not needed."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("p", core.Integer),
        ("g", core.Integer),
        ("q", core.Integer),
        ("j", core.Integer, {"optional": True}),
        ("validation_parms", core.Any, {"optional": True}),
    ]


@dataclass(frozen=True)
class ChipKey:
    """The chip's static public key, ready for key agreement."""

    group: Group[Any]
    public: Any
    key_id: int | None = None

    @property
    def encoded(self) -> bytes:
        return self.group.encode(self.public)

    @property
    def key_agreement(self) -> str:
        return "ECDH" if isinstance(self.group, EcGroup) else "DH"


def _unsupported(detail: str) -> LdsError:
    return LdsError(detail, Reason.LDS_UNSUPPORTED)


def _named_curve(oid: str) -> EcGroup:
    try:
        curve = ecdsa_curves.find_curve(tuple(int(part) for part in oid.split(".")))
    except ecdsa_curves.UnknownCurveError:
        raise _unsupported(f"chip key on unknown curve {oid}") from None
    return EcGroup(str(curve.name), curve.curve, curve.generator, curve.order)


def _explicit_curve(der: bytes) -> EcGroup:
    params = load(keys.SpecifiedECDomain, der, "EC domain parameters")
    with asn1_errors("EC domain parameters"):
        if params["field_id"]["field_type"].native != "prime_field":
            raise _unsupported("EC curves over binary fields are not supported")
        p = int(params["field_id"]["parameters"].native)
        a = int.from_bytes(params["curve"]["a"].native, "big")
        b = int.from_bytes(params["curve"]["b"].native, "big")
        base = bytes(params["base"].native)
        order = int(params["order"].native)
        cofactor = params["cofactor"].native
    if p.bit_length() > _MAX_EC_BITS or p < 5 or order < 2:
        raise _unsupported("EC field size out of range")
    size = (p.bit_length() + 7) // 8
    if len(base) != 1 + 2 * size or base[0] != 0x04:
        raise _unsupported("EC base point not uncompressed")
    gx = int.from_bytes(base[1 : 1 + size], "big")
    gy = int.from_bytes(base[1 + size :], "big")
    try:
        return EcGroup.explicit(p, a, b, gx, gy, order, int(cofactor or 1))
    except ApplianceError:
        raise LdsError("EC base point not on the curve") from None


def _dh_group(der: bytes) -> DhGroup:
    params = load(_DhDomainParameters, der, "DH domain parameters")
    p, g, q = (int(params[name].native) for name in ("p", "g", "q"))
    if p.bit_length() > _MAX_DH_BITS or p < 5 or not 1 < g < p or not 1 < q < p:
        raise _unsupported("DH domain parameters out of range")
    return DhGroup("explicit DH", p, g, q)


def _group(algorithm: str, parameters: Any) -> Group[Any]:
    if algorithm == ID_STANDARDIZED_DOMAIN_PARAMETERS:
        if not isinstance(parameters, core.Integer):
            raise LdsError("standardizedDomainParameters without a parameter id")
        try:
            return standard_group(int(parameters.native))
        except ApplianceError:
            raise _unsupported("unknown standardized domain parameter id") from None
    if algorithm == ID_EC_PUBLIC_KEY:
        if isinstance(parameters, core.ObjectIdentifier):
            return _named_curve(str(parameters.dotted))
        if isinstance(parameters, core.Sequence):
            return _explicit_curve(bytes(parameters.dump()))
        raise _unsupported("EC chip key without domain parameters")
    if algorithm == ID_DH_PUBLIC_NUMBER:
        if not isinstance(parameters, core.Sequence):
            raise LdsError("DH chip key without domain parameters")
        return _dh_group(bytes(parameters.dump()))
    raise _unsupported(f"chip key algorithm {algorithm} not supported")


def load_chip_key(info: ChipAuthenticationPublicKeyInfo) -> ChipKey:
    """The group and validated public element of a ChipAuthenticationPublicKeyInfo.

    `LDS_MALFORMED` for broken DER or an invalid point/value, `LDS_UNSUPPORTED` for groups this
    terminal cannot compute in.
    """
    spki = load(_SubjectPublicKeyInfo, info.public_key, "chip SubjectPublicKeyInfo")
    with asn1_errors("chip SubjectPublicKeyInfo"):
        algorithm = str(spki["algorithm"]["algorithm"].dotted)
        raw_parameters = spki["algorithm"]["parameters"]
        parameters = (
            None if isinstance(raw_parameters, core.Void) else core.load(raw_parameters.dump())
        )
        key_bits = bytes(spki["public_key"].native)
    group = _group(algorithm, parameters)
    if isinstance(group, DhGroup):
        value = load(core.Integer, key_bits, "DH chip public value")
        number = int(value.native)
        if number <= 0 or number.bit_length() > group.p.bit_length():
            raise LdsError("DH chip public value out of range")
        key_bits = number.to_bytes(group.element_size, "big")
    try:
        public = group.decode(key_bits)
    except ApplianceError:
        raise LdsError("chip public key is not an element of its group") from None
    expected = "DH" if isinstance(group, DhGroup) else "ECDH"
    if info.key_agreement.value != expected:
        raise LdsError("ChipAuthenticationPublicKeyInfo protocol does not match its key")
    return ChipKey(group, public, info.key_id)


__all__ = ["ChipKey", "load_chip_key"]
