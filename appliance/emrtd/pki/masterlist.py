"""CSCA master lists (ICAO 9303-12 §9): a CMS SignedData whose content is a SET of CSCAs.

The list's own signature is checked, and its signer certificate must be issued by a CSCA already
in the trust store or one the operator pinned by SHA-256 fingerprint (`--anchor`): a CSCA found
only inside the list proves nothing, since whoever made the list also made that CSCA. Every
entry is kept even when it cannot be parsed (the list's signature vouches for its bytes), and the
unparseable ones are reported.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from asn1crypto import core

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.cms import (
    OID_CSCA_MASTER_LIST,
    SignedData,
    find_signer_certificate,
    parse_signed_data,
    verify_signer,
)
from appliance.emrtd.pki.trust_store import Candidate
from appliance.errors import LdsError

#: how an anchor came to be trusted, as the import reports it
TRUSTED_BY = {"store": "already in the trust store", "pinned": "pinned with --anchor"}


class _AnySet(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class _CscaMasterList(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [("version", core.Integer), ("cert_list", _AnySet)]


@dataclass(frozen=True)
class MasterList:
    signed: SignedData
    entries: tuple[Candidate, ...]

    @property
    def certificates(self) -> list[Certificate]:
        return [e.certificate for e in self.entries if e.certificate is not None]

    @property
    def unparseable(self) -> list[Candidate]:
        return [e for e in self.entries if e.certificate is None]


@dataclass(frozen=True)
class MasterListVerification:
    valid: bool
    detail: str
    signer: Certificate | None = None
    #: the trusted CSCA that issued the signer, and why it is trusted
    anchor: Certificate | None = None
    anchored_by: Literal["store", "pinned"] | None = None
    #: the signature verifies but no trusted or pinned CSCA vouches for the signer
    untrusted: bool = False


def parse_master_list(data: bytes) -> MasterList:
    """Parse a master list file; not one (or malformed) -> `LdsError`."""
    signed = parse_signed_data(data)
    if signed.content_type != OID_CSCA_MASTER_LIST:
        raise LdsError(f"content type {signed.content_type} is not a CSCA master list")
    try:
        parsed = _CscaMasterList.load(signed.content, strict=True)
        raw_entries = [item.dump() for item in parsed["cert_list"]]
    except Exception as exc:  # asn1crypto raises many undocumented types on bad input
        raise LdsError("CscaMasterList content malformed") from exc
    entries = []
    for index, der in enumerate(raw_entries):
        try:
            entries.append(Candidate.of(Certificate.from_der(der)))
        except LdsError as exc:
            entries.append(Candidate(der, None, f"entry {index}: {exc.detail}"))
    return MasterList(signed=signed, entries=tuple(entries))


def verify_master_list(
    master_list: MasterList,
    store_anchors: Iterable[Certificate],
    at: datetime | None = None,
    pinned: Collection[str] = (),
) -> MasterListVerification:
    """Check the CMS signature and that the signer was issued by a trusted CSCA.

    Trusted means already in the store (`store_anchors`), or pinned by the operator: a
    certificate in the list, the CMS or the store whose SHA-256 fingerprint is in `pinned`. A CSCA
    that is merely *inside* the list vouches for nothing: the list would be vouching for itself.
    The signer certificate must be valid when the list was signed (its signing-time attribute,
    else `at`/now): a master list outlives its signer's key usage period on purpose.
    """
    signed = master_list.signed
    signer = find_signer_certificate(signed)
    if signer is None:
        return MasterListVerification(False, "master list signer certificate not found")
    result = verify_signer(signed, signer)
    if not result.valid:
        return MasterListVerification(False, f"master list signature: {result.detail}", signer)
    when = signed.signer.signing_time or at or datetime.now(UTC)
    if not signer.valid_at(when):
        return MasterListVerification(
            False, f"signer certificate not valid at {when.isoformat()}", signer
        )
    stored = list(store_anchors)
    in_file = [*master_list.certificates, *signed.certificates]
    pinned_certs = {c.fingerprint: c for c in (*in_file, *stored) if c.fingerprint in pinned}
    trusted: list[tuple[Literal["store", "pinned"], Certificate]] = [
        *(("pinned", c) for c in pinned_certs.values()),
        *(("store", c) for c in stored),
    ]
    for how, anchor in trusted:
        if _issued(signer, anchor):
            detail = f"{result.detail}; signer issued by {anchor.subject!r} ({TRUSTED_BY[how]})"
            return MasterListVerification(True, detail, signer, anchor, how)
    return MasterListVerification(
        False, _untrusted_detail(signer, in_file, pinned, pinned_certs), signer, untrusted=True
    )


def _issued(cert: Certificate, anchor: Certificate) -> bool:
    """`anchor` is a CA whose key verifies `cert` (a key type mismatch is simply no)."""
    if not anchor.may_issue_certificates or not cert.might_be_issued_by(anchor):
        return False
    try:
        return cert.is_signed_by(anchor)
    except LdsError:
        return False


def _untrusted_detail(
    signer: Certificate,
    in_file: list[Certificate],
    pinned: Collection[str],
    pinned_certs: dict[str, Certificate],
) -> str:
    """Why the list is refused, naming the in-file issuer so the operator can compare it."""
    detail = "master list signer not issued by a CSCA in the trust store or pinned with --anchor"
    missing = sorted(set(pinned) - set(pinned_certs))
    if missing:
        detail += f"; no certificate with pinned SHA-256 {', '.join(missing)}"
    issuers = {c.fingerprint: c for c in in_file if _issued(signer, c)}
    for fingerprint, issuer in issuers.items():
        detail += (
            f"; the file's own {issuer.subject!r} (SHA-256 {fingerprint}) issued the signer: "
            "pin it with --anchor only if that fingerprint matches the value its issuer "
            "publishes"
        )
    return detail
