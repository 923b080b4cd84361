"""What a decoded barcode becomes: a `Symbol` with its kind, named fields and signature.

Field names are a stable contract (README "Barcode fields"): `fields` holds JSON-ready values
only (str, int, bool, None, lists and dicts of them), dates as ISO strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from appliance.emrtd.pki.checks import Check
from appliance.errors import ApplianceError, Reason


class Kind(StrEnum):
    ICAO_VDS = "icao_vds"
    VDS_NC = "vds_nc"
    BCBP = "bcbp"
    EU_DCC = "eu_dcc"
    UNKNOWN = "unknown"


class SignatureStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNTRUSTED = "untrusted"
    EXPIRED = "expired"
    NOT_SIGNED = "not_signed"


class BarcodeError(ApplianceError):
    """A payload that cannot be read (`BARCODE_MALFORMED` unless stated)."""

    def __init__(self, detail: str = "", reason: Reason = Reason.BARCODE_MALFORMED) -> None:
        super().__init__(reason, detail)


@dataclass(frozen=True)
class SignedContent:
    """The signature zone of a payload, as the payload carries it (nothing verified yet).

    `signer_reference` names the signer for look-up in the trust store (VDS: signer identifier
    and certificate reference); `certificate` is a signer certificate carried in the payload
    itself (VDS-NC). `signature` is raw r||s for ECDSA; `algorithm` a JOSE/COSE name or None
    when the signer's key decides (VDS).
    """

    message: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    signer_reference: str | None = None
    certificate: bytes | None = field(default=None, repr=False)
    algorithm: str | None = None
    #: the country the payload says issued it (ICAO code or ISO alpha-2), for consistency
    issuing_country: str | None = None
    #: the signing date the payload states, checked against the signer's validity
    signing_date: str | None = None
    #: key identifier of COSE (EU DCC kid), for look-up by SubjectKeyIdentifier-like match
    key_id: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Signature:
    status: SignatureStatus
    reason: Reason
    signer: str | None = None
    detail: str = ""
    checks: tuple[Check, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason.value,
            "signer": self.signer,
            "detail": self.detail,
            "checks": [c.to_dict() for c in self.checks],
        }


NOT_CHECKED = Signature(SignatureStatus.NOT_SIGNED, Reason.SEAL_NOT_SIGNED, None, "not verified")


@dataclass(frozen=True)
class Symbol:
    """One decoded symbol: what it is, what it says, and whether its signature holds."""

    symbology: str
    kind: Kind
    fields: dict[str, Any]
    signed: SignedContent | None = None
    signature: Signature = NOT_CHECKED
    #: a problem reading the payload (the symbol is reported, with what could be read)
    reason: Reason = Reason.OK
    detail: str = ""
    #: the seal compared with the passport presented with it (`compare.PassportMatch.to_dict`)
    passport_match: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbology": self.symbology,
            "kind": self.kind.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "fields": self.fields,
            "signature": self.signature.to_dict(),
            **({"passport_match": self.passport_match} if self.passport_match else {}),
        }
