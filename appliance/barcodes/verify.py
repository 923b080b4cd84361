"""Signature verification of seals and signed barcodes against the trust store.

A seal signer certificate is treated exactly like a Document Signer certificate: its signature
must chain to a CSCA in the trust store, it and the CSCA must be valid at the time checked, it
must not be on the CSCA's newest CRL, and the countries of seal, signer and CSCA must agree
(the chain, validity and revocation steps are Passive Authentication's own). Only then is a
verified signature `valid`; anything less is `invalid`, `untrusted` or `expired` with its reason.

Where the signer certificate comes from: VDS seals name it (signer identifier = country and CN,
certificate reference = serial number in hex) and it is looked up among the extra certificates
of the call (`--trust`) and the trust store; VDS-NC seals carry it; EU DCCs name it by `kid`;
boarding passes by the issuing airline's designator (the certificate's CN). Extra certificates
are never anchors: they must chain to a stored CSCA like any other signer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Protocol

from asn1crypto import x509 as asn1_x509

from appliance.barcodes.model import Kind, Signature, SignatureStatus, SignedContent, Symbol
from appliance.emrtd.pki.algorithms import Scheme, SignatureAlgorithm
from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.pki.countries import icao_to_alpha2
from appliance.emrtd.pki.ec_keys import EcPublicKey
from appliance.emrtd.pki.passive import TrustAnchors, _chain, _revocation, _validity
from appliance.emrtd.pki.signatures import load_public_key, verify
from appliance.errors import LdsError, Reason

#: ECDSA hash by the key's order length (ICAO 9303-13 / BSI TR-03116-2: hash matches key size)
_HASH_BY_ORDER = {28: "sha224", 32: "sha256", 48: "sha384", 64: "sha512", 66: "sha512"}
_JOSE = {"ES256": "sha256", "ES384": "sha384", "ES512": "sha512"}
_PSS256 = SignatureAlgorithm(Scheme.RSA_PSS, "sha256", mgf_hash_name="sha256", salt_length=32)


class SignerDirectory(TrustAnchors, Protocol):
    """What verification needs from a trust store (`TrustStore` implements it)."""

    def certificates_by_serial(self, serial: int) -> list[Certificate]: ...

    def anchors(self) -> list[Certificate]: ...


@dataclass(frozen=True)
class TrustContext:
    """The trust store, the call's extra signer certificates, and the time to verify at."""

    store: SignerDirectory
    extra: Sequence[Certificate] = field(default_factory=tuple)
    at: datetime | None = None

    @property
    def when(self) -> datetime:
        return self.at or datetime.now(UTC)


def _result(
    status: SignatureStatus,
    reason: Reason,
    detail: str,
    signer: Certificate | None = None,
    checks: Iterable[Check] = (),
) -> Signature:
    return Signature(status, reason, signer.subject if signer else None, detail, tuple(checks))


def _common_name(cert: Certificate) -> str | None:
    try:
        value = asn1_x509.Certificate.load(cert.der).subject.native.get("common_name")
    except (ValueError, TypeError):
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def _end_entity(certs: Iterable[Certificate]) -> list[Certificate]:
    return [c for c in certs if not c.may_issue_certificates]


def _vds_candidates(signed: SignedContent, context: TrustContext) -> list[Certificate]:
    reference = signed.signer_reference or ""
    signer_id, cert_ref = reference[:4], reference[4:]
    try:
        serial = int(cert_ref, 16)
    except ValueError:
        return []
    pool = [*context.extra, *context.store.certificates_by_serial(serial)]
    return [
        c
        for c in _end_entity(pool)
        if c.serial == serial and c.country == signer_id[:2] and _common_name(c) == signer_id[2:]
    ]


def _hash_for(cert: Certificate) -> tuple[str, int]:
    key = load_public_key(cert.spki_der)
    if not isinstance(key, EcPublicKey):
        raise LdsError("a seal signer key must be an EC key")
    size = key.order_bytes
    if size not in _HASH_BY_ORDER:
        raise LdsError(f"EC key of {8 * size} bits has no seal hash")
    return _HASH_BY_ORDER[size], size


def _check_signature(symbol: Symbol, signed: SignedContent, cert: Certificate) -> tuple[bool, str]:
    """(verified, detail); raises `LdsError` for a key that cannot verify this kind at all."""
    if symbol.kind is Kind.ICAO_VDS:
        hash_name, size = _hash_for(cert)
        if len(signed.signature) != 2 * size:
            return False, f"signature of {len(signed.signature)} bytes, {2 * size} expected"
        algorithm = SignatureAlgorithm(Scheme.ECDSA_PLAIN, hash_name)
        return verify(cert.spki_der, algorithm, signed.signature, signed.message), hash_name
    if signed.algorithm == "PS256":
        return verify(cert.spki_der, _PSS256, signed.signature, signed.message), "PS256"
    if signed.algorithm in _JOSE:
        algorithm = SignatureAlgorithm(Scheme.ECDSA_PLAIN, _JOSE[signed.algorithm])
        return verify(cert.spki_der, algorithm, signed.signature, signed.message), signed.algorithm
    if symbol.kind is Kind.BCBP:
        try:
            raw = base64.b64decode(signed.signature, validate=True)
        except (binascii.Error, ValueError):
            return False, "security data is not a base64 ECDSA signature"
        hash_name, _ = _hash_for(cert)
        algorithm = SignatureAlgorithm(Scheme.ECDSA_PLAIN, hash_name)
        return verify(cert.spki_der, algorithm, raw, signed.message), hash_name
    raise LdsError(f"signature algorithm {signed.algorithm!r} not supported")


def _candidates(symbol: Symbol, signed: SignedContent, context: TrustContext) -> list[Certificate]:
    if symbol.kind is Kind.ICAO_VDS:
        return _vds_candidates(signed, context)
    if signed.certificate is not None:
        try:
            return [Certificate.from_der(signed.certificate)]
        except LdsError:
            return []
    pool = _end_entity([*context.extra, *context.store.anchors()])
    if symbol.kind is Kind.EU_DCC and signed.key_id is not None:
        return [c for c in pool if hashlib.sha256(c.der).digest()[:8] == signed.key_id]
    if symbol.kind is Kind.BCBP:
        return [c for c in pool if _common_name(c) == signed.signer_reference]
    return []


def verify_symbol(symbol: Symbol, context: TrustContext) -> Signature:
    """The signature status of one parsed symbol."""
    signed = symbol.signed
    if symbol.kind is Kind.UNKNOWN:
        return _result(SignatureStatus.NOT_SIGNED, symbol.reason, "a payload of no known kind")
    if symbol.reason not in (Reason.OK, Reason.SEAL_DOCUMENT_TYPE_UNKNOWN) and signed is None:
        return _result(SignatureStatus.INVALID, symbol.reason, "payload unreadable")
    if signed is None:
        return _result(SignatureStatus.NOT_SIGNED, Reason.SEAL_NOT_SIGNED, "no signature")
    candidates = _candidates(symbol, signed, context)
    if not candidates:
        detail = "no signer certificate for this payload in the trust store or --trust"
        if signed.certificate is not None:
            detail = "the signer certificate in the payload is unreadable"
        return _result(SignatureStatus.UNTRUSTED, Reason.SEAL_SIGNER_UNKNOWN, detail)
    problems: list[str] = []
    for cert in candidates:
        try:
            ok, how = _check_signature(symbol, signed, cert)
        except LdsError as exc:
            problems.append(exc.detail)
            continue
        if ok:
            return _trust(cert, signed, context, how)
        problems.append(how)
    detail = "signature does not verify under the signer certificate"
    if problems:
        detail += f" ({'; '.join(sorted(set(problems)))})"
    return _result(SignatureStatus.INVALID, Reason.SEAL_SIGNATURE_INVALID, detail, candidates[0])


def _signing_time(signed: SignedContent) -> datetime | None:
    if signed.signing_date is None:
        return None
    try:
        day = date.fromisoformat(signed.signing_date)
    except ValueError:
        return None
    return datetime.combine(day, time(12), UTC)  # a date only: noon avoids off-by-a-day


def _trust(cert: Certificate, signed: SignedContent, context: TrustContext, how: str) -> Signature:
    """A verified signature: is its signer trusted now (PA's chain, validity, revocation)?"""
    when = context.when
    chain, csca = _chain(cert, context.store)
    validity = _validity(cert, csca, _signing_time(signed), when)
    revocation = _revocation(cert, csca, context.store, when)
    country = _country(cert, csca, signed.issuing_country)
    checks = (chain, validity, revocation, country)
    if chain.status is CheckStatus.FAIL:
        return _result(
            SignatureStatus.UNTRUSTED, Reason.SEAL_SIGNER_UNTRUSTED, chain.detail, cert, checks
        )
    if revocation.status is CheckStatus.FAIL:
        return _result(
            SignatureStatus.UNTRUSTED, Reason.SEAL_SIGNER_REVOKED, revocation.detail, cert, checks
        )
    if country.status is CheckStatus.FAIL:
        return _result(
            SignatureStatus.UNTRUSTED, Reason.SEAL_COUNTRY_MISMATCH, country.detail, cert, checks
        )
    if validity.status is CheckStatus.FAIL:
        return _result(
            SignatureStatus.EXPIRED, Reason.SEAL_CERT_EXPIRED, validity.detail, cert, checks
        )
    detail = f"signature verifies ({how}); signer chains to {csca.subject if csca else '?'}"
    return _result(SignatureStatus.VALID, Reason.OK, detail, cert, checks)


def _country(cert: Certificate, csca: Certificate | None, stated: str | None) -> Check:
    name = CheckName.ISSUER_COUNTRY
    if csca is not None and csca.country != cert.country:
        detail = f"signer country {cert.country} differs from its CSCA's {csca.country}"
        return Check.failed(name, Reason.SEAL_COUNTRY_MISMATCH, detail)
    if not stated:
        return Check.skipped(name, "the payload names no issuing country")
    alpha2 = stated.upper() if len(stated) == 2 else icao_to_alpha2(stated)
    if alpha2 is None:
        detail = f"issuing country {stated!r} has no ISO 3166 equivalent to compare"
        return Check.warned(name, Reason.PA_NOT_CHECKED, detail)
    if alpha2 != cert.country:
        detail = f"payload names {alpha2}, the signer certificate {cert.country}"
        return Check.failed(name, Reason.SEAL_COUNTRY_MISMATCH, detail)
    return Check.passed(name, f"payload and signer agree ({alpha2})")
