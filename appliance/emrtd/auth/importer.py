"""`trust import`: recognise a file (master list, CSCA/link certificate, CRL) and import it.

Fail closed and all-or-nothing: a file whose signature (or issuer) cannot be verified adds
nothing to the store. Unreadable input raises `LdsError` (exit 2); a verification failure is an
`ImportReport` with status `fail` (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from asn1crypto import core, pem

from appliance.emrtd.auth.certificates import Certificate, load_certificates
from appliance.emrtd.auth.checks import CheckStatus
from appliance.emrtd.auth.crl import Crl, load_crl
from appliance.emrtd.auth.masterlist import parse_master_list, verify_master_list
from appliance.emrtd.auth.trust_store import Candidate, TrustStore
from appliance.errors import LdsError, Reason


class ImportKind(StrEnum):
    MASTER_LIST = "master_list"
    CERTIFICATE = "certificate"
    CRL = "crl"


@dataclass(frozen=True)
class ImportReport:
    kind: ImportKind
    status: CheckStatus
    reason: Reason
    detail: str
    #: certificates (or CRLs) found in the file, and how many were new to the store
    total: int = 0
    added: int = 0
    #: entries that could not be parsed (stored anyway, as raw DER, for master lists)
    unparseable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "status": self.status.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "total": self.total,
            "added": self.added,
            "unparseable": self.unparseable,
        }


def detect(data: bytes) -> ImportKind:
    """What a trust file is, from its structure (not its name); unknown -> `LdsError`."""
    if pem.detect(data):
        try:
            kind, _, _ = pem.unarmor(data)
        except ValueError as exc:
            raise LdsError("PEM malformed") from exc
        if kind == "CERTIFICATE":
            return ImportKind.CERTIFICATE
        if kind == "X509 CRL":
            return ImportKind.CRL
        raise LdsError(f"PEM block {kind!r} is neither a certificate nor a CRL")
    if data[:1] == b"\x77":
        return ImportKind.MASTER_LIST  # an EF.SOD: parse_master_list names the content type
    try:
        top = core.load(data)
        first = core.load(top.contents) if isinstance(top, core.Sequence) else None
    except ValueError as exc:
        raise LdsError("not a DER structure") from exc
    if isinstance(first, core.ObjectIdentifier):
        return ImportKind.MASTER_LIST  # a ContentInfo; parse_master_list checks which kind
    for kind, parse in (
        (ImportKind.CERTIFICATE, Certificate.from_der),
        (ImportKind.CRL, Crl.from_der),
    ):
        try:
            parse(data)
            return kind
        except LdsError:
            continue
    raise LdsError("neither a master list, a certificate nor a CRL")


def import_file(
    data: bytes, store: TrustStore, source: str, at: datetime | None = None
) -> ImportReport:
    when = at or datetime.now(UTC)
    kind = detect(data)
    if kind is ImportKind.MASTER_LIST:
        return _import_master_list(data, store, source, when)
    if kind is ImportKind.CERTIFICATE:
        return _import_certificates(load_certificates(data), store, source)
    return _import_crl(load_crl(data), store, source)


def _invalid(kind: ImportKind, detail: str, total: int = 0) -> ImportReport:
    return ImportReport(kind, CheckStatus.FAIL, Reason.TRUST_LIST_INVALID, detail, total)


def _import_master_list(
    data: bytes, store: TrustStore, source: str, when: datetime
) -> ImportReport:
    kind = ImportKind.MASTER_LIST
    master_list = parse_master_list(data)
    verification = verify_master_list(master_list, store.anchors(), at=when)
    total = len(master_list.entries)
    if not verification.valid:
        return _invalid(kind, verification.detail, total)
    added = store.add_certificates(master_list.entries, source)
    unparseable = [entry.error or "unparseable" for entry in master_list.unparseable]
    signer = verification.signer.subject if verification.signer else "?"
    detail = f"signed by {signer!r}: {verification.detail}"
    return ImportReport(kind, CheckStatus.PASS, Reason.OK, detail, total, added, unparseable)


def _verified_issuer(
    cert: Certificate, store: TrustStore, siblings: list[Certificate]
) -> Certificate | None:
    """The certificate whose key verifies `cert`: itself, another in the file, or the store."""
    candidates = [cert, *siblings]
    for candidate in (
        *candidates,
        *store.issuer_candidates(cert.authority_key_id, cert.issuer_key),
    ):
        if candidate is not cert and not cert.might_be_issued_by(candidate):
            continue
        try:
            if cert.is_signed_by(candidate):
                return candidate
        except LdsError:
            continue
    return None


def _import_certificates(
    certificates: list[Certificate], store: TrustStore, source: str
) -> ImportReport:
    """CSCA and link certificates: each must be a CA and verify (self-signed or by a known CA)."""
    kind = ImportKind.CERTIFICATE
    total = len(certificates)
    link = 0
    for index, cert in enumerate(certificates):
        if not cert.may_issue_certificates:
            return _invalid(kind, f"certificate {index} is not a CA certificate", total)
        siblings = [c for c in certificates if c is not cert]
        issuer = _verified_issuer(cert, store, siblings)
        link += issuer is not None and issuer is not cert
        if issuer is None:
            detail = (
                f"certificate {index} is neither validly self-signed nor signed by a CSCA in the "
                "store (import the issuing CSCA first)"
            )
            return _invalid(kind, detail, total)
    added = store.add_certificates([Candidate.of(c) for c in certificates], source)
    detail = f"{total} CA certificate(s) verified ({link} link certificate(s))"
    return ImportReport(kind, CheckStatus.PASS, Reason.OK, detail, total, added)


def _import_crl(crl: Crl, store: TrustStore, source: str) -> ImportReport:
    kind = ImportKind.CRL
    tried = 0
    for csca in store.issuer_candidates(crl.authority_key_id, crl.issuer_key):
        tried += 1
        try:
            valid = crl.is_signed_by(csca)
        except LdsError:
            continue
        if valid:
            added = int(store.add_crl(crl, source))
            detail = (
                f"CRL of {crl.this_update.date()} signed by {csca.subject!r}: "
                f"{len(crl.revoked)} revoked certificate(s)"
            )
            return ImportReport(kind, CheckStatus.PASS, Reason.OK, detail, 1, added)
    if not tried:
        return _invalid(kind, f"no CSCA in the store for CRL issuer {crl.issuer!r}", 1)
    return _invalid(kind, f"CRL signature verifies under none of {tried} CSCA candidates", 1)
