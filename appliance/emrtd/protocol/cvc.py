"""Card-verifiable certificates of Extended Access Control (BSI TR-03110-3 Appendix C, ISO 7816-8).

The chip cannot parse X.509, so the inspection systems that may read fingerprints (DG3) and
irises (DG4) carry a chain CVCA -> DV -> IS of these compact TLV certificates:

    7F21 { 7F4E body { 5F29 profile 00, 42 CAR, 7F49 public key, 5F20 CHR,
                       7F4C CHAT { 06 id-IS, 53 role and rights }, 5F25 effective, 5F24 expiry },
           5F37 signature }

The public key 7F49 holds the key's algorithm OID (id-TA-ECDSA-SHA-*, which also says how the
key signs), the point (86) and, in CVCA certificates only, the curve (81..85, 87); DV and IS
keys inherit the curve of the CVCA above them. Signatures are ECDSA in plain r||s form (BSI
TR-03111). Dates are six unpacked BCD digits YYMMDD. Parsing raises only `LdsError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from typing import Final

from asn1crypto.core import ObjectIdentifier
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from ecdsa import curves as ecdsa_curves

from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

CERTIFICATE: Final = 0x7F21
BODY: Final = 0x7F4E
PROFILE: Final = 0x5F29
CAR: Final = 0x42
PUBLIC_KEY: Final = 0x7F49
CHR: Final = 0x5F20
CHAT: Final = 0x7F4C
EFFECTIVE: Final = 0x5F25
EXPIRATION: Final = 0x5F24
SIGNATURE: Final = 0x5F37
DISCRETIONARY: Final = 0x53

#: id-IS: the inspection-system terminal type of an ePassport CHAT (TR-03110-3 C.4.1)
ID_IS: Final = "0.4.0.127.0.7.3.1.2.1"
#: id-TA-ECDSA-SHA-* (TR-03110-3 A.6.4): the key's hash when it signs
ID_TA_ECDSA: Final = "0.4.0.127.0.7.2.2.2.2"
_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    1: hashes.SHA1,
    2: hashes.SHA224,
    3: hashes.SHA256,
    4: hashes.SHA384,
    5: hashes.SHA512,
}
#: curves a CVCA may name (explicit parameters matched against these)
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "NIST256p": ec.SECP256R1,
    "NIST384p": ec.SECP384R1,
    "NIST521p": ec.SECP521R1,
    "BRAINPOOLP256r1": ec.BrainpoolP256R1,
    "BRAINPOOLP384r1": ec.BrainpoolP384R1,
    "BRAINPOOLP512r1": ec.BrainpoolP512R1,
}
#: CHAT rights of an inspection system: read DG4 (iris) and DG3 (fingerprint)
READ_DG3: Final = 0x01
READ_DG4: Final = 0x02
_RIGHTS_MASK: Final = 0x3F


class Role(IntEnum):
    """The two high bits of the CHAT's discretionary data."""

    IS = 0b00
    DV_FOREIGN = 0b01
    DV_DOMESTIC = 0b10
    CVCA = 0b11


@dataclass(frozen=True)
class CvPublicKey:
    """A public key as a certificate carries it; `curve` is None when it is inherited."""

    oid: str
    point: bytes
    #: compared by the certificate body that encodes it (curve objects compare by identity)
    curve: ec.EllipticCurve | None = field(default=None, compare=False)

    @property
    def hash_algorithm(self) -> hashes.HashAlgorithm:
        prefix, _, arc = self.oid.rpartition(".")
        if prefix != ID_TA_ECDSA or not arc.isdigit() or int(arc) not in _HASHES:
            raise LdsError(f"CV certificate: key algorithm {self.oid} not supported",
                           Reason.LDS_UNSUPPORTED)  # fmt: skip
        return _HASHES[int(arc)]()

    def key(self, inherited: ec.EllipticCurve | None = None) -> ec.EllipticCurvePublicKey:
        """The key on its own curve, or on the curve of the CVCA above it."""
        curve = self.curve or inherited
        if curve is None:
            raise LdsError("CV certificate: public key without domain parameters")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, self.point)
        except ValueError:
            raise LdsError("CV certificate: public key not on its curve") from None


@dataclass(frozen=True)
class CvCertificate:
    car: str
    chr: str
    public_key: CvPublicKey
    role: Role
    #: the CHAT's access rights (READ_DG3, READ_DG4), without the role bits
    rights: int
    effective: date
    expiration: date
    #: the encoded 7F4E body, as signed
    body: bytes
    signature: bytes

    def encode(self) -> bytes:
        return tlv.encode(CERTIFICATE, self.body + tlv.encode(SIGNATURE, self.signature))

    @property
    def pso_data(self) -> bytes:
        """What PSO:Verify Certificate carries: the body and the signature, unwrapped."""
        return self.body + tlv.encode(SIGNATURE, self.signature)

    def valid_on(self, day: date) -> bool:
        return self.effective <= day <= self.expiration

    def signed_by(self, issuer: ec.EllipticCurvePublicKey, issuer_key: CvPublicKey) -> bool:
        """Does `issuer` (whose certificate names `issuer_key`'s algorithm) sign this body?"""
        size = (issuer.curve.key_size + 7) // 8
        if len(self.signature) != 2 * size:
            return False
        r = int.from_bytes(self.signature[:size], "big")
        s = int.from_bytes(self.signature[size:], "big")
        try:
            issuer.verify(
                encode_dss_signature(r, s), self.body, ec.ECDSA(issuer_key.hash_algorithm)
            )
        except InvalidSignature:
            return False
        return True


# -- dates and names ----------------------------------------------------------------------------


def encode_date(day: date) -> bytes:
    return bytes(int(c) for c in day.strftime("%y%m%d"))


def decode_date(value: bytes) -> date:
    if len(value) != 6 or any(b > 9 for b in value):
        raise LdsError("CV certificate: a date is not six BCD digits")
    y, m, d = (value[i] * 10 + value[i + 1] for i in (0, 2, 4))
    try:
        return date(2000 + y, m, d)
    except ValueError:
        raise LdsError("CV certificate: invalid date") from None


def _reference(value: bytes, what: str) -> str:
    if not 1 <= len(value) <= 16 or not all(0x20 <= b < 0x7F for b in value):
        raise LdsError(f"CV certificate: {what} is not a printable reference")
    return value.decode("ascii")


# -- public keys --------------------------------------------------------------------------------


def _oid_bytes(oid: str) -> bytes:
    return bytes(ObjectIdentifier(oid).contents)


def _oid_text(content: bytes) -> str:
    try:
        der = tlv.encode(0x06, content)
        return str(ObjectIdentifier.load(der).dotted)
    except (ValueError, TypeError):
        raise LdsError("CV certificate: malformed OID") from None


def _int_bytes(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def _ecdsa_curve(curve: ec.EllipticCurve) -> ecdsa_curves.Curve:
    for name, kind in _CURVES.items():
        if isinstance(curve, kind):
            return ecdsa_curves.curve_by_name(name)
    raise LdsError(f"CV certificate: curve {curve.name} not supported", Reason.LDS_UNSUPPORTED)


def _domain_objects(curve: ec.EllipticCurve) -> list[tuple[int, bytes]]:
    params = _ecdsa_curve(curve)
    size = params.baselen
    fp, g = params.curve, params.generator
    return [
        (0x81, _int_bytes(fp.p(), size)),
        (0x82, _int_bytes(fp.a() % fp.p(), size)),
        (0x83, _int_bytes(fp.b(), size)),
        (0x84, b"\x04" + _int_bytes(g.x(), size) + _int_bytes(g.y(), size)),
        (0x85, _int_bytes(params.order, size)),
    ]


def _curve_of(objects: dict[int, bytes]) -> ec.EllipticCurve:
    given = {tag: int.from_bytes(objects.get(tag, b""), "big") for tag in (0x81, 0x82, 0x83, 0x85)}
    for kind in _CURVES.values():
        curve = kind()
        expected = dict(_domain_objects(curve))
        if objects.get(0x84) == expected[0x84] and all(
            value == int.from_bytes(expected[tag], "big") for tag, value in given.items()
        ):
            return curve
    raise LdsError("CV certificate: explicit curve not supported", Reason.LDS_UNSUPPORTED)


def encode_public_key(key: CvPublicKey) -> bytes:
    items: list[tuple[int, bytes]] = [(0x06, _oid_bytes(key.oid))]
    if key.curve is not None:
        items += _domain_objects(key.curve)
    items.append((0x86, key.point))
    if key.curve is not None:
        items.append((0x87, b"\x01"))
    return tlv.encode(PUBLIC_KEY, tlv.encode_all(items))


def _parse_public_key(value: bytes) -> CvPublicKey:
    objects: dict[int, bytes] = {}
    for item in tlv.iter_tlvs(value):
        if item.tag in objects:
            raise LdsError("CV certificate: public key element repeated")
        objects[item.tag] = item.value
    if 0x06 not in objects or 0x86 not in objects:
        raise LdsError("CV certificate: public key lacks its OID or point")
    curve = _curve_of(objects) if 0x81 in objects else None
    key = CvPublicKey(_oid_text(objects[0x06]), objects[0x86], curve)
    key.hash_algorithm  # noqa: B018 - refuse unknown algorithms while parsing
    return key


# -- certificates -------------------------------------------------------------------------------


def _chat(role: Role, rights: int) -> bytes:
    body = tlv.encode(0x06, _oid_bytes(ID_IS)) + tlv.encode(
        DISCRETIONARY, bytes([(int(role) << 6) | (rights & _RIGHTS_MASK)])
    )
    return tlv.encode(CHAT, body)


def _parse_chat(value: bytes) -> tuple[Role, int]:
    oid = tlv.require(value, 0x06, "CHAT").value
    if _oid_text(oid) != ID_IS:
        raise LdsError("CV certificate: not an inspection-system CHAT", Reason.LDS_UNSUPPORTED)
    rights = tlv.require(value, DISCRETIONARY, "CHAT").value
    if len(rights) != 1:
        raise LdsError("CV certificate: inspection-system rights are one byte")
    return Role(rights[0] >> 6), rights[0] & _RIGHTS_MASK


def parse(data: bytes) -> CvCertificate:
    """A whole 7F21 certificate (nothing after it)."""
    outer = tlv.parse_exact(data, CERTIFICATE, "CV certificate")
    return parse_pso(outer.value)


def parse_pso(data: bytes) -> CvCertificate:
    """The body and signature as PSO:Verify Certificate carries them."""
    items = tlv.parse_all(data)
    if len(items) != 2 or items[0].tag != BODY or items[1].tag != SIGNATURE:
        raise LdsError("CV certificate: expected a body 7F4E and a signature 5F37")
    fields: dict[int, bytes] = {}
    for item in tlv.iter_tlvs(items[0].value):
        if item.tag in fields:
            raise LdsError("CV certificate: body element repeated")
        fields[item.tag] = item.value
    for tag in (PROFILE, CAR, PUBLIC_KEY, CHR, CHAT, EFFECTIVE, EXPIRATION):
        if tag not in fields:
            raise LdsError(f"CV certificate: body element {tag:X} missing")
    if fields[PROFILE] != b"\x00":
        raise LdsError("CV certificate: profile identifier is not 0", Reason.LDS_UNSUPPORTED)
    role, rights = _parse_chat(fields[CHAT])
    body_size = items[0].size
    return CvCertificate(
        car=_reference(fields[CAR], "CAR"),
        chr=_reference(fields[CHR], "CHR"),
        public_key=_parse_public_key(fields[PUBLIC_KEY]),
        role=role,
        rights=rights,
        effective=decode_date(fields[EFFECTIVE]),
        expiration=decode_date(fields[EXPIRATION]),
        body=bytes(data[:body_size]),
        signature=items[1].value,
    )


@dataclass(frozen=True)
class CertificateRequest:
    """What an issuer puts in a certificate it signs (the test PKI builds chains with it)."""

    car: str
    chr: str
    public_key: CvPublicKey
    role: Role
    rights: int
    effective: date
    expiration: date


def plain_signature(der: bytes, curve: ec.EllipticCurve) -> bytes:
    """An X9.62 DER ECDSA signature as r||s on the curve's size (BSI TR-03111)."""
    r, s = decode_dss_signature(der)
    size = (curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def issue(
    request: CertificateRequest, issuer: ec.EllipticCurvePrivateKey, issuer_oid: str
) -> CvCertificate:
    """Sign `request` with the issuer's key (its certificate names `issuer_oid`)."""
    body = tlv.encode(
        BODY,
        tlv.encode(PROFILE, b"\x00")
        + tlv.encode(CAR, request.car.encode("ascii"))
        + encode_public_key(request.public_key)
        + tlv.encode(CHR, request.chr.encode("ascii"))
        + _chat(request.role, request.rights)
        + tlv.encode(EFFECTIVE, encode_date(request.effective))
        + tlv.encode(EXPIRATION, encode_date(request.expiration)),
    )
    algorithm = CvPublicKey(issuer_oid, b"").hash_algorithm
    der = issuer.sign(body, ec.ECDSA(algorithm))
    return parse_pso(body + tlv.encode(SIGNATURE, plain_signature(der, issuer.curve)))


def point_of(key: ec.EllipticCurvePublicKey) -> bytes:
    """The key as the uncompressed point a certificate's DO'86 holds."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


__all__ = [
    "ID_IS",
    "ID_TA_ECDSA",
    "READ_DG3",
    "READ_DG4",
    "CertificateRequest",
    "CvCertificate",
    "CvPublicKey",
    "Role",
    "decode_date",
    "encode_date",
    "issue",
    "parse",
    "parse_pso",
    "plain_signature",
    "point_of",
]
