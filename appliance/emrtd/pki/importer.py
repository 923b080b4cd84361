"""`trust import`: recognise a file (master list, CSCA/link certificate, CRL) and import it.

Fail closed and all-or-nothing: a file whose signature (or issuer) cannot be verified adds
nothing to the store. Unreadable input raises `LdsError` (exit 2); a verification failure is an
`ImportReport` with status `fail` (exit 1).

Trust only grows from what is already trusted: a master list's signer, each certificate and each
CRL must chain by verified signatures to a CSCA already in the store, or (master lists and
certificates) to a certificate the operator pinned by the SHA-256 fingerprint of its DER
(`--anchor`), checked against the value its issuer publishes (ICAO 9303-12 asks receiving states
to verify CSCA certificates out of band). A self-signed CSCA, in a bundle or a master list, is
never trusted just because the file carries it: that is how a forged list vouched for itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from asn1crypto import core, pem

from appliance.emrtd.pki.certificates import Certificate, load_certificates
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.pki.crl import Crl, load_crl
from appliance.emrtd.pki.masterlist import parse_master_list, verify_master_list
from appliance.emrtd.pki.trust_store import Candidate, MasterListRecord, TrustStore
from appliance.errors import LdsError, Reason


class ImportKind(StrEnum):
    MASTER_LIST = "master_list"
    CERTIFICATE = "certificate"
    CRL = "crl"


#: a trust anchor an import chained to: (SHA-256 fingerprint, subject, "store" | "pinned")
Anchor = tuple[str, str, Literal["store", "pinned"]]


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
    #: the anchors the import chained to
    anchors: list[Anchor] = field(default_factory=list)

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
            "anchors": [
                {"fingerprint_sha256": fp, "subject": subject, "trusted_by": how}
                for fp, subject, how in self.anchors
            ],
        }


_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as lowercase hex; colons and spaces (openssl's style) are dropped.

    Anything else is a `ValueError`: a pin that cannot match must not pass unnoticed.
    """
    value = re.sub(r"[\s:]", "", text).lower()
    if not _FINGERPRINT.fullmatch(value):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal digits")
    return value


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
    data: bytes,
    store: TrustStore,
    source: str,
    at: datetime | None = None,
    anchors: Iterable[str] = (),
) -> ImportReport:
    """Import `data` when it chains to a CSCA in `store` or to one pinned in `anchors`.

    `anchors` are SHA-256 fingerprints of certificate DER (hex, colons allowed); they only
    matter for master lists and certificates: a CRL must be signed by a CSCA already stored.
    """
    when = at or datetime.now(UTC)
    pinned = frozenset(normalise_fingerprint(a) for a in anchors)
    kind = detect(data)
    if kind is ImportKind.MASTER_LIST:
        return _import_master_list(data, store, source, when, pinned)
    if kind is ImportKind.CERTIFICATE:
        return _import_certificates(load_certificates(data), store, source, pinned)
    return _import_crl(load_crl(data), store, source)


def _invalid(kind: ImportKind, detail: str, total: int = 0) -> ImportReport:
    return ImportReport(kind, CheckStatus.FAIL, Reason.TRUST_LIST_INVALID, detail, total)


def _untrusted(kind: ImportKind, detail: str, total: int = 0) -> ImportReport:
    return ImportReport(kind, CheckStatus.FAIL, Reason.TRUST_ANCHOR_UNKNOWN, detail, total)


def _import_master_list(
    data: bytes, store: TrustStore, source: str, when: datetime, pinned: Collection[str]
) -> ImportReport:
    kind = ImportKind.MASTER_LIST
    master_list = parse_master_list(data)
    verification = verify_master_list(master_list, store.anchors(), at=when, pinned=pinned)
    total = len(master_list.entries)
    if not verification.valid or verification.anchor is None or verification.anchored_by is None:
        refuse = _untrusted if verification.untrusted else _invalid
        return refuse(kind, verification.detail, total)
    signer_cert = verification.signer
    record = MasterListRecord(
        sha256=hashlib.sha256(data).hexdigest(),
        signer=signer_cert.subject if signer_cert else None,
        signer_country=signer_cert.country if signer_cert else None,
        signed_at=master_list.signed.signer.signing_time,
    )
    added = store.add_master_list(master_list.entries, source, record)
    unparseable = [entry.error or "unparseable" for entry in master_list.unparseable]
    signer = verification.signer.subject if verification.signer else "?"
    detail = f"signed by {signer!r}: {verification.detail}"
    anchor = verification.anchor
    anchors = [(anchor.fingerprint, anchor.subject, verification.anchored_by)]
    return ImportReport(
        kind, CheckStatus.PASS, Reason.OK, detail, total, added, unparseable, anchors
    )


def _verifies(cert: Certificate, issuer: Certificate) -> bool:
    if not issuer.may_issue_certificates or not cert.might_be_issued_by(issuer):
        return False
    try:
        return cert.is_signed_by(issuer)
    except LdsError:
        return False  # key type does not match this candidate


def _anchor_of(
    cert: Certificate,
    store: TrustStore,
    accepted: dict[str, tuple[Certificate, Anchor]],
    pinned: Collection[str],
) -> Anchor | None:
    """The trusted root `cert` chains to: itself (stored or pinned), the store, or the file."""
    if store.contains(cert.fingerprint):
        return (cert.fingerprint, cert.subject, "store")
    if cert.fingerprint in pinned and _verifies(cert, cert):
        return (cert.fingerprint, cert.subject, "pinned")
    for issuer in store.issuer_candidates(cert.authority_key_id, cert.issuer_key):
        if _verifies(cert, issuer):
            return (issuer.fingerprint, issuer.subject, "store")
    for issuer, anchor in accepted.values():
        if _verifies(cert, issuer):
            return anchor
    return None


def _refusal(
    index: int,
    cert: Certificate,
    store: TrustStore,
    certificates: list[Certificate],
    pinned: Collection[str],
) -> ImportReport:
    """Why `cert` is refused: a broken signature, or a valid one under no trusted root."""
    kind, total = ImportKind.CERTIFICATE, len(certificates)
    what = f"certificate {index} ({cert.subject!r}, SHA-256 {cert.fingerprint})"
    if _verifies(cert, cert):
        pin = "not among the pinned fingerprints" if pinned else "not pinned"
        detail = (
            f"{what} is self-signed and {pin}: import it with --anchor {cert.fingerprint} only "
            "if that fingerprint matches the value its issuing state publishes"
        )
        return _untrusted(kind, detail, total)
    stored = list(store.issuer_candidates(cert.authority_key_id, cert.issuer_key))
    candidates = [c for c in (*stored, *certificates) if cert.might_be_issued_by(c)]
    if any(_verifies(cert, c) for c in candidates if c is not cert):
        detail = f"{what} is issued by a certificate in the file that chains to no trusted CSCA"
        return _untrusted(kind, detail, total)
    if not candidates:
        detail = f"{what}: its issuer is not in the trust store (import the issuing CSCA first)"
        return _untrusted(kind, detail, total)
    return _invalid(kind, f"{what}: signature verifies under none of its issuer candidates", total)


def _import_certificates(
    certificates: list[Certificate], store: TrustStore, source: str, pinned: Collection[str]
) -> ImportReport:
    """CSCA and link certificates: each must be a CA and chain to a stored or pinned root.

    Seal signer certificates (visa, arrival attestation, VDS-NC signers: end-entity like a
    DS) are accepted too, but only when a CSCA already in the store issued them: they are
    never anchors, and the store's look-ups refuse them as issuers.
    """
    kind = ImportKind.CERTIFICATE
    total = len(certificates)
    for index, cert in enumerate(certificates):
        if not cert.may_issue_certificates and _anchor_of(cert, store, {}, ()) is None:
            detail = (
                f"certificate {index} is not a CA certificate, nor a signer certificate "
                "issued by a CSCA in the trust store"
            )
            return _invalid(kind, detail, total)
    accepted: dict[str, tuple[Certificate, Anchor]] = {}
    progress = True
    while progress:  # a link certificate may come before the root it chains to
        progress = False
        for cert in certificates:
            if cert.fingerprint in accepted:
                continue
            anchor = _anchor_of(cert, store, accepted, pinned)
            if anchor is not None:
                accepted[cert.fingerprint] = (cert, anchor)
                progress = True
    for index, cert in enumerate(certificates):
        if cert.fingerprint not in accepted:
            return _refusal(index, cert, store, certificates, pinned)
    added = store.add_certificates([Candidate.of(c) for c in certificates], source)
    anchors = list(dict.fromkeys(anchor for _, anchor in accepted.values()))
    link = sum(
        anchor[0] != cert.fingerprint and cert.may_issue_certificates
        for cert, anchor in accepted.values()
    )
    signers = sum(not cert.may_issue_certificates for cert in certificates)
    detail = f"{total - signers} CA certificate(s) verified ({link} link certificate(s))"
    if signers:
        detail += f"; {signers} signer certificate(s) issued by a stored CSCA"
    return ImportReport(kind, CheckStatus.PASS, Reason.OK, detail, total, added, [], anchors)


def _import_crl(crl: Crl, store: TrustStore, source: str) -> ImportReport:
    """A CRL is stored only when a CSCA already trusted, by the CRL's issuer name, signed it."""
    kind = ImportKind.CRL
    candidates = [
        csca
        for csca in store.issuer_candidates(crl.authority_key_id, crl.issuer_key)
        if csca.may_issue_certificates and csca.subject_key == crl.issuer_key
    ]
    if not candidates:
        return _untrusted(kind, f"no CSCA in the trust store for CRL issuer {crl.issuer!r}", 1)
    for csca in candidates:
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
            anchors: list[Anchor] = [(csca.fingerprint, csca.subject, "store")]
            return ImportReport(kind, CheckStatus.PASS, Reason.OK, detail, 1, added, [], anchors)
    tried = len(candidates)
    return _invalid(kind, f"CRL signature verifies under none of {tried} CSCA candidates", 1)
