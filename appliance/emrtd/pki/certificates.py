"""X.509 certificates as ePassport PKIs issue them, parsed with asn1crypto.

pyca/cryptography rejects a fair share of real CSCA and DS certificates (negative serials,
explicit EC parameters, trailing bytes in the TBS), so every field we use comes from asn1crypto
and the TBS signature is checked by `signatures.verify` over the original TBS bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import pem, x509

from appliance.emrtd.pki.algorithms import SignatureAlgorithm, signature_algorithm
from appliance.emrtd.pki.signatures import verify
from appliance.errors import LdsError


def name_key(name: x509.Name) -> str:
    """A stable index key for a DN: SHA-256 of asn1crypto's normalised (RFC 5280 §7.1) form."""
    return hashlib.sha256(name.hashable.encode("utf-8")).hexdigest()


def _country(name: x509.Name) -> str | None:
    value = name.native.get("country_name")
    if isinstance(value, list):  # several C attributes: take the first
        value = value[0] if value else None
    return str(value).strip().upper() if value else None


@dataclass(frozen=True)
class Certificate:
    """The parts of a CSCA/DS/link certificate that Passive Authentication relies on."""

    der: bytes = field(repr=False)
    subject: str
    issuer: str
    subject_key: str
    issuer_key: str
    serial: int
    not_before: datetime
    not_after: datetime
    country: str | None
    issuer_country: str | None
    subject_key_id: bytes | None
    authority_key_id: bytes | None
    is_ca: bool
    #: keyUsage keyCertSign: some real CSCAs (BE, IT, LU, PT, TR) assert it without cA=TRUE
    key_cert_sign: bool
    #: PrivateKeyUsagePeriod (2.5.29.16) when present: the window the key may sign in
    key_usage_period: tuple[datetime | None, datetime | None] | None
    spki_der: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    algorithm: SignatureAlgorithm | None
    algorithm_error: str | None = field(default=None, compare=False)

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        """Parse one DER certificate; anything asn1crypto cannot read -> `LdsError`."""
        try:
            cert = x509.Certificate.load(der, strict=True)
            tbs = cert["tbs_certificate"]
            bc = cert.basic_constraints_value
            key_usage = cert.key_usage_value
            pkup = cert.private_key_usage_period_value
            algorithm: SignatureAlgorithm | None
            try:
                algorithm = signature_algorithm(cert["signature_algorithm"])
                algorithm_error = None
            except LdsError as exc:
                algorithm, algorithm_error = None, exc.detail
            return cls(
                der=bytes(der),
                subject=cert.subject.human_friendly,
                issuer=cert.issuer.human_friendly,
                subject_key=name_key(cert.subject),
                issuer_key=name_key(cert.issuer),
                serial=int(tbs["serial_number"].native),
                not_before=tbs["validity"]["not_before"].native,
                not_after=tbs["validity"]["not_after"].native,
                country=_country(cert.subject),
                issuer_country=_country(cert.issuer),
                subject_key_id=cert.key_identifier,
                authority_key_id=cert.authority_key_identifier,
                is_ca=bool(bc is not None and bc["ca"].native),
                key_cert_sign=key_usage is not None and "key_cert_sign" in key_usage.native,
                key_usage_period=(
                    None if pkup is None else (pkup["not_before"].native, pkup["not_after"].native)
                ),
                spki_der=tbs["subject_public_key_info"].dump(),
                tbs_der=tbs.dump(),
                signature=bytes(cert["signature_value"].native),
                algorithm=algorithm,
                algorithm_error=algorithm_error,
            )
        except LdsError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise LdsError("certificate malformed") from exc

    @property
    def fingerprint(self) -> str:
        return self.fingerprint_of(self.der)

    @staticmethod
    def fingerprint_of(der: bytes) -> str:
        """SHA-256 of the DER, the store's primary key (defined for unparseable input too)."""
        return hashlib.sha256(der).hexdigest()

    @property
    def may_issue_certificates(self) -> bool:
        """A CA by basicConstraints, or by keyUsage keyCertSign alone (a common CSCA defect)."""
        return self.is_ca or self.key_cert_sign

    @property
    def is_self_issued(self) -> bool:
        return self.subject_key == self.issuer_key

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when <= self.not_after

    def is_signed_by(self, issuer: Certificate) -> bool:
        """True when `issuer`'s key verifies this certificate's TBS signature."""
        if self.algorithm is None:
            raise LdsError(self.algorithm_error or "certificate signature algorithm unsupported")
        return verify(issuer.spki_der, self.algorithm, self.signature, self.tbs_der)

    def might_be_issued_by(self, issuer: Certificate) -> bool:
        """Cheap pre-filter: AKI matches the issuer's SKI, or (no key ids) the DNs match."""
        if self.authority_key_id is not None and issuer.subject_key_id is not None:
            return self.authority_key_id == issuer.subject_key_id
        return self.issuer_key == issuer.subject_key


def load_certificates(data: bytes) -> list[Certificate]:
    """Certificates from a DER file or a PEM file (one or several blocks)."""
    if pem.detect(data):
        try:
            blocks = [der for kind, _, der in pem.unarmor(data, multiple=True)]
        except ValueError as exc:
            raise LdsError("PEM malformed") from exc
        if not blocks:
            raise LdsError("PEM holds no certificate")
        return [Certificate.from_der(der) for der in blocks]
    return [Certificate.from_der(data)]
