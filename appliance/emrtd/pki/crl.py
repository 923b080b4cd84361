"""Certificate revocation lists issued by CSCAs (ICAO 9303-12 §7.1.4).

Parsed with asn1crypto and verified with the same signature dispatch as certificates, since the
CSCA keys that sign CRLs are often ones pyca cannot load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import crl, pem

from appliance.emrtd.pki.algorithms import SignatureAlgorithm, signature_algorithm
from appliance.emrtd.pki.certificates import Certificate, name_key
from appliance.emrtd.pki.signatures import verify
from appliance.errors import LdsError


@dataclass(frozen=True)
class Crl:
    der: bytes
    issuer: str
    issuer_key: str
    authority_key_id: bytes | None
    this_update: datetime
    next_update: datetime | None
    crl_number: int | None
    #: revoked serial number -> revocation date
    revoked: dict[int, datetime]
    tbs_der: bytes
    signature: bytes
    algorithm: SignatureAlgorithm

    @classmethod
    def from_der(cls, der: bytes) -> Crl:
        """Parse a DER CertificateList; anything malformed or unsupported -> `LdsError`."""
        try:
            parsed = crl.CertificateList.load(der, strict=True)
            tbs = parsed["tbs_cert_list"]
            next_update = tbs["next_update"].native
            number = parsed.crl_number_value
            revoked = {
                int(entry["user_certificate"].native): entry["revocation_date"].native
                for entry in tbs["revoked_certificates"]
            }
            return cls(
                der=bytes(der),
                issuer=parsed.issuer.human_friendly,
                issuer_key=name_key(parsed.issuer),
                authority_key_id=parsed.authority_key_identifier,
                this_update=tbs["this_update"].native,
                next_update=next_update,
                crl_number=int(number.native) if number is not None else None,
                revoked=revoked,
                tbs_der=tbs.dump(),
                signature=bytes(parsed["signature"].native),
                algorithm=signature_algorithm(parsed["signature_algorithm"]),
            )
        except LdsError:
            raise
        except Exception as exc:  # asn1crypto raises many undocumented types on bad input
            raise LdsError("CRL malformed") from exc

    def might_be_issued_by(self, issuer: Certificate) -> bool:
        if self.authority_key_id is not None and issuer.subject_key_id is not None:
            return self.authority_key_id == issuer.subject_key_id
        return self.issuer_key == issuer.subject_key

    def is_signed_by(self, issuer: Certificate) -> bool:
        return verify(issuer.spki_der, self.algorithm, self.signature, self.tbs_der)

    def revocation_date(self, serial: int) -> datetime | None:
        return self.revoked.get(serial)

    def is_current(self, when: datetime) -> bool:
        return self.this_update <= when and (self.next_update is None or when <= self.next_update)


def load_crl(data: bytes) -> Crl:
    """A CRL from DER or PEM ("X509 CRL")."""
    if pem.detect(data):
        try:
            kind, _, der = pem.unarmor(data)
        except ValueError as exc:
            raise LdsError("PEM malformed") from exc
        if kind != "X509 CRL":
            raise LdsError(f"PEM block {kind!r} is not a CRL")
        data = der
    return Crl.from_der(data)
