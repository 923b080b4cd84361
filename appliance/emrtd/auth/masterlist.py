"""CSCA master lists (ICAO 9303-12 §9): a CMS SignedData whose content is a SET of CSCAs.

The list's own signature is checked, and its signer certificate must chain to a CSCA inside the
list or already in the trust store. Every entry is kept even when it cannot be parsed (the
list's signature vouches for its bytes), and the unparseable ones are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from asn1crypto import core

from appliance.emrtd.auth.certificates import Certificate
from appliance.emrtd.auth.cms import (
    OID_CSCA_MASTER_LIST,
    SignedData,
    find_signer_certificate,
    parse_signed_data,
    verify_signer,
)
from appliance.emrtd.auth.trust_store import Candidate
from appliance.errors import LdsError


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
    #: where the signer's issuing CSCA was found
    anchored_in: Literal["list", "store"] | None = None


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
    master_list: MasterList, store_anchors: Iterable[Certificate], at: datetime | None = None
) -> MasterListVerification:
    """Check the CMS signature and that the signer was issued by a CSCA in the list or store.

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
    sources: list[tuple[Literal["list", "store"], list[Certificate]]] = [
        ("list", master_list.certificates),
        ("store", list(store_anchors)),
    ]
    for source, anchors in sources:
        for anchor in anchors:
            if not anchor.may_issue_certificates or not signer.might_be_issued_by(anchor):
                continue
            try:
                if signer.is_signed_by(anchor):
                    return MasterListVerification(
                        True,
                        f"{result.detail}; signer issued by a CSCA in the {source}",
                        signer,
                        source,
                    )
            except LdsError:
                continue  # key type does not match this candidate: try the next one
    return MasterListVerification(
        False, "master list signer not issued by any CSCA in the list or the store", signer
    )
