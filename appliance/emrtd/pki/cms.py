"""CMS SignedData (RFC 5652) as ICAO 9303 uses it: EF.SOD, EF.CardSecurity, master lists.

Sans-I/O: bytes in, parsed structure out. BER indefinite lengths are accepted (asn1crypto keeps
every element's original encoding), and the signature is checked over the signed attributes
exactly as the signer encoded them, re-tagged as a SET OF (RFC 5652 §5.4).

Real chips deviate in ways that do not touch what is signed: the SignerInfo may name the DS
certificate's issuer with its attributes in another order, and EF.SOD may declare the generic
`id-data` (or an early ICAO/vendor OID) as eContentType. Those are read (the signer is matched
by serial and issuer attributes as a set; `LDS_CONTENT_TYPE_ALTERNATIVES` lists the accepted
content types in `appliance.emrtd.lds.sod`), and the signature decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, core, parser, x509

from appliance.emrtd.pki.algorithms import (
    SignatureAlgorithm,
    digest,
    hash_name,
    signature_algorithm,
)
from appliance.emrtd.pki.certificates import Certificate, name_key
from appliance.emrtd.pki.signatures import describe_key, verify
from appliance.errors import LdsError

#: EF.SOD is the ContentInfo wrapped in the ICAO application tag 0x77 (9303-10 §4.6.2)
SOD_TAG = 0x77
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_CSCA_MASTER_LIST = "2.23.136.1.1.2"
OID_SECURITY_OBJECT = "0.4.0.127.0.7.3.2.1"  # EF.CardSecurity / EF.ChipSecurity (TR-03110)


@dataclass(frozen=True)
class SignerInfo:
    """One SignerInfo, reduced to what verification needs."""

    sid_issuer_key: str | None
    #: the issuer's attributes, order-independent (see `name_attributes`)
    sid_issuer_attributes: tuple[str, ...] | None
    sid_serial: int | None
    sid_key_id: bytes | None
    digest_hash: str
    algorithm: SignatureAlgorithm
    #: the signed attributes as a DER SET OF (what the signature covers), None when absent
    signed_attrs: bytes | None
    content_type_attr: str | None
    message_digest_attr: bytes | None
    signing_time: datetime | None
    signature: bytes
    #: RFC 6211 CMSAlgorithmProtection: (digest OID, signature OID) when present
    algorithm_protection: tuple[str, str] | None
    digest_oid: str
    signature_oid: str


@dataclass(frozen=True)
class SignedData:
    content_type: str
    content: bytes
    certificates: tuple[Certificate, ...]
    #: certificates in the CMS that could not be parsed (reason per entry, no content)
    certificate_errors: tuple[str, ...]
    signer: SignerInfo


@dataclass(frozen=True)
class SignatureResult:
    valid: bool
    detail: str


def unwrap_sod(data: bytes) -> bytes:
    """Strip the 0x77 application tag of EF.SOD; other input is returned unchanged."""
    if data[:1] != bytes([SOD_TAG]):
        return data
    _, _, _, _, contents, _ = _outer(data)
    return contents


def _outer(data: bytes) -> tuple[int, int, int, bytes, bytes, bytes]:
    """The first TLV (definite or indefinite length), allowing only padding after it.

    Chip dumps sometimes carry the file's unused tail (0x00 or 0xFF) after the object.
    """
    try:
        parsed = parser.parse(data)
    except ValueError as exc:
        raise LdsError("ASN.1 structure malformed") from exc
    class_, method, tag, header, contents, trailer = parsed
    tail = data[len(header) + len(contents) + len(trailer) :]
    if tail.strip(b"\x00") and tail.strip(b"\xff"):
        raise LdsError("trailing data after the ASN.1 structure")
    return class_, method, tag, header, contents, trailer


def _strip_padding(data: bytes) -> bytes:
    _, _, _, header, contents, trailer = _outer(data)
    return header + contents + trailer


def parse_signed_data(data: bytes) -> SignedData:
    """Parse a (0x77-wrapped) ContentInfo holding SignedData; malformed -> `LdsError`."""
    if not data:
        raise LdsError("empty CMS object")
    try:
        return _parse(unwrap_sod(data))
    except LdsError:
        raise
    except Exception as exc:  # asn1crypto raises many undocumented types on hostile input
        raise LdsError("CMS SignedData malformed") from exc


def _parse(data: bytes) -> SignedData:
    info = cms.ContentInfo.load(_strip_padding(data), strict=True)
    if info["content_type"].dotted != OID_SIGNED_DATA:
        raise LdsError("CMS content is not SignedData")
    signed = info["content"]
    encap = signed["encap_content_info"]
    econtent = encap["content"]
    if isinstance(econtent, core.Void):
        raise LdsError("SignedData carries no eContent")
    content = bytes(econtent)  # merges BER constructed OCTET STRING chunks
    signers = signed["signer_infos"]
    if len(signers) != 1:
        raise LdsError(f"SignedData must have exactly one SignerInfo, has {len(signers)}")
    certificates: list[Certificate] = []
    errors: list[str] = []
    choices = signed["certificates"]
    for index, choice in enumerate(choices if not isinstance(choices, core.Void) else []):
        if choice.name != "certificate":
            errors.append(f"certificate {index}: {choice.name} is not an X.509 certificate")
            continue
        try:
            certificates.append(Certificate.from_der(choice.chosen.dump()))
        except LdsError as exc:
            errors.append(f"certificate {index}: {exc.detail}")
    return SignedData(
        content_type=encap["content_type"].dotted,
        content=content,
        certificates=tuple(certificates),
        certificate_errors=tuple(errors),
        signer=_signer_info(signers[0]),
    )


def _signer_info(info: cms.SignerInfo) -> SignerInfo:
    sid = info["sid"]
    issuer_key = issuer_attributes = serial = key_id = None
    if sid.name == "issuer_and_serial_number":
        issuer_key = name_key(sid.chosen["issuer"])
        issuer_attributes = name_attributes(sid.chosen["issuer"])
        serial = int(sid.chosen["serial_number"].native)
    else:
        key_id = bytes(sid.chosen.native)
    digest_hash = hash_name(info["digest_algorithm"])
    attrs = info["signed_attrs"]
    signed_attrs = content_type = message_digest = signing_time = protection = None
    if not isinstance(attrs, core.Void) and len(attrs):
        encoded = attrs.dump()
        signed_attrs = b"\x31" + encoded[1:]  # [0] IMPLICIT -> SET OF, same contents
        values = _attribute_values(attrs)
        content_type = _single(values, "1.2.840.113549.1.9.3", "content-type")
        message_digest = _single(values, "1.2.840.113549.1.9.4", "message-digest")
        signing_time = _single(values, "1.2.840.113549.1.9.5", "signing-time")
        prot = _single(values, "1.2.840.113549.1.9.52", "CMSAlgorithmProtection")
        if prot is not None:
            protection = (prot["digest_algorithm"]["algorithm"].dotted, _protection_sig_oid(prot))
    return SignerInfo(
        sid_issuer_key=issuer_key,
        sid_issuer_attributes=issuer_attributes,
        sid_serial=serial,
        sid_key_id=key_id,
        digest_hash=digest_hash,
        algorithm=signature_algorithm(info["signature_algorithm"], digest_hash),
        signed_attrs=signed_attrs,
        content_type_attr=content_type.dotted if content_type is not None else None,
        message_digest_attr=bytes(message_digest.native) if message_digest is not None else None,
        signing_time=signing_time.native if signing_time is not None else None,
        signature=bytes(info["signature"].native),
        algorithm_protection=protection,
        digest_oid=info["digest_algorithm"]["algorithm"].dotted,
        signature_oid=info["signature_algorithm"]["algorithm"].dotted,
    )


def _protection_sig_oid(prot: cms.CMSAlgorithmProtection) -> str:
    sig = prot["signature_algorithm"]
    if isinstance(sig, core.Void):
        return ""
    return str(sig["algorithm"].dotted)


def _attribute_values(attrs: cms.CMSAttributes) -> dict[str, list[core.Asn1Value]]:
    values: dict[str, list[core.Asn1Value]] = {}
    for attr in attrs:
        oid = attr["type"].dotted
        if oid in values:
            raise LdsError(f"signed attribute {oid} appears twice")
        values[oid] = list(attr["values"])
    return values


def _single(values: dict[str, list[core.Asn1Value]], oid: str, what: str) -> core.Asn1Value | None:
    found = values.get(oid)
    if found is None:
        return None
    if len(found) != 1:
        raise LdsError(f"signed attribute {what} must have exactly one value")
    return found[0]


def name_attributes(name: x509.Name) -> tuple[str, ...]:
    """A DN's attributes as a sorted multiset of (type, RFC 5280 §7.1 normalised value).

    Some issuers write the SignerInfo's issuer with the certificate's RDNs in another order
    (C, O, CN vs CN, O, C); compared this way both name the same certificate.
    """
    return tuple(
        sorted(
            f"{attribute['type'].dotted}: {attribute.prepped_value}"
            for rdn in name.chosen
            for attribute in rdn
        )
    )


def _issuer_attributes(certificate: Certificate) -> tuple[str, ...] | None:
    try:
        loaded = x509.Certificate.load(certificate.der)
        return name_attributes(loaded.issuer)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def find_signer_certificate(
    signed: SignedData, extra: Iterable[Certificate] = ()
) -> Certificate | None:
    """The certificate the SignerInfo names (by issuer+serial or subject key identifier).

    The issuer is compared exactly first, then as a set of attributes (same serial, same
    attributes in another RDN order). Only the signature proves anything; this picks the key.
    """
    signer = signed.signer
    candidates = (*signed.certificates, *extra)
    if signer.sid_key_id is not None:
        return next((c for c in candidates if c.subject_key_id == signer.sid_key_id), None)
    same_serial = [c for c in candidates if c.serial == signer.sid_serial]
    for cert in same_serial:
        if cert.issuer_key == signer.sid_issuer_key:
            return cert
    for cert in same_serial:
        if _issuer_attributes(cert) == signer.sid_issuer_attributes:
            return cert
    return None


def verify_signer(signed: SignedData, certificate: Certificate) -> SignatureResult:
    """Check the signed attributes against the eContent and the signature by `certificate`."""
    signer = signed.signer
    if signer.signed_attrs is None:
        # ICAO 9303-10 makes signed attributes mandatory; RFC 5652 allows their absence only for
        # id-data, which none of our content types is.
        return SignatureResult(False, "SignerInfo has no signed attributes")
    if signer.content_type_attr != signed.content_type:
        return SignatureResult(False, "content-type attribute does not match the eContent type")
    if signer.message_digest_attr is None:
        return SignatureResult(False, "message-digest attribute missing")
    if signer.message_digest_attr != digest(signer.digest_hash, signed.content):
        return SignatureResult(False, f"message-digest ({signer.digest_hash}) does not match")
    if signer.algorithm_protection is not None:
        digest_oid, sig_oid = signer.algorithm_protection
        if digest_oid != signer.digest_oid or (sig_oid and sig_oid != signer.signature_oid):
            return SignatureResult(False, "CMSAlgorithmProtection does not match the algorithms")
    try:
        valid = verify(
            certificate.spki_der, signer.algorithm, signer.signature, signer.signed_attrs
        )
    except LdsError as exc:
        return SignatureResult(False, exc.detail)
    algorithm = f"{signer.algorithm.describe()} ({describe_key(certificate.spki_der)})"
    if not valid:
        return SignatureResult(False, f"{algorithm} signature does not verify")
    return SignatureResult(True, f"{algorithm} signature valid")
