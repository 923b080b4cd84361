"""History events and their canonical leaf encoding.

What a caller appends is an `Event`: its type, outcome, reason codes, a non-personal `public`
payload, optionally the document it concerns and the holder's `PersonalData`. The ledger turns it
into a *leaf*, the exact bytes the Merkle tree hashes:

    RFC 8785 (JSON Canonicalization Scheme) encoding, UTF-8, of the object
    {
      "v": 1,                              envelope version
      "index": <int>,                      position in the log (so a reordering names itself)
      "event_id": "<uuid4>",
      "type": "check" | "officer_action" | "override" | "gate_event" | "gate_action"
              | "maintenance" | "incident",
      "time": "YYYY-MM-DDTHH:MM:SS.ffffffZ",   UTC, microseconds
      "device_id": "...", "location": "...",
      "document": "<64 hex: HMAC-SHA256 pseudonym>" | null,
      "outcome": "...", "reasons": ["REASON", ...],
      "public": { non-personal JSON },
      "personal": null | {"alg": "A256GCM", "period": "<period id>",
                          "nonce": "<base64url>", "ct": "<base64url>"}
    }

Only ciphertext and non-personal fields enter the leaf, so destroying a record's key erases the
personal data while every leaf hash, and therefore every signed root, stays the same. JCS makes
the bytes reproducible by any verifier (key order, number and string forms are fixed).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785

from appliance.errors import ApplianceError, Reason

ENVELOPE_VERSION = 1

JsonValue = None | bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


class EventType(StrEnum):
    CHECK = "check"
    OFFICER_ACTION = "officer_action"
    OVERRIDE = "override"
    GATE_EVENT = "gate_event"
    #: what the exit door did after a check's decision (opened, failed to open...)
    GATE_ACTION = "gate_action"
    #: the history's own housekeeping (the retention job)
    MAINTENANCE = "maintenance"
    #: damage found and repaired (`appliance history recover`)
    INCIDENT = "incident"


_ISSUER = re.compile(r"[A-Z]{1,3}")
_NUMBER = re.compile(r"[A-Z0-9]{1,35}")
_DOC_TYPE = re.compile(r"[A-Z]")


@dataclass(frozen=True)
class DocumentRef:
    """Which document an event concerns: issuing state, document type and number.

    Normalised as ICAO 9303 prints them: upper case, '<' fillers and spaces removed; the type
    is the document code's first character (P, I, A, C, V), the second being issuer-specific.
    The repr hides the number so it can never reach a log by accident.
    """

    issuer: str
    number: str = field(repr=False)
    doc_type: str = "P"

    def normalised(self) -> bytes:
        issuer = _clean(self.issuer)
        number = _clean(self.number)
        doc_type = _clean(self.doc_type)[:1]
        if not _ISSUER.fullmatch(issuer):
            raise ApplianceError(Reason.USAGE, "issuer must be an ICAO 9303 state code")
        if not _NUMBER.fullmatch(number):
            raise ApplianceError(Reason.USAGE, "document number must be letters and digits")
        if not _DOC_TYPE.fullmatch(doc_type):
            raise ApplianceError(Reason.USAGE, "document type must start with a letter")
        return f"{issuer}|{doc_type}|{number}".encode("ascii")


def _clean(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch not in "< \t")


@dataclass(frozen=True)
class PersonalData:
    """What the log keeps about the holder, only ever stored encrypted (AES-256-GCM)."""

    surname: str = ""
    given_names: str = ""
    date_of_birth: str = ""
    document_number: str = ""
    nationality: str = ""
    face_image: bytes | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print personal data, even in a traceback
        return "PersonalData(<redacted>)"

    def to_bytes(self) -> bytes:
        face = None if self.face_image is None else b64e(self.face_image)
        body = {
            "surname": self.surname,
            "given_names": self.given_names,
            "date_of_birth": self.date_of_birth,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "face_image": face,
            "extra": dict(self.extra),
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PersonalData:
        body = json.loads(data)
        face = body.get("face_image")
        return cls(
            surname=body["surname"],
            given_names=body["given_names"],
            date_of_birth=body["date_of_birth"],
            document_number=body["document_number"],
            nationality=body["nationality"],
            face_image=None if face is None else b64d(face),
            extra=dict(body.get("extra", {})),
        )


@dataclass(frozen=True)
class Event:
    """One thing that happened at the checkpoint, as the workflow hands it to the history."""

    type: EventType
    outcome: str
    reasons: Sequence[str] = ()
    public: Mapping[str, JsonValue] = field(default_factory=dict)
    document: DocumentRef | None = None
    personal: PersonalData | None = None
    time: datetime | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class SealedPersonal:
    """The encrypted personal payload as it appears in the leaf."""

    period: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class Leaf:
    """A decoded leaf (the non-personal view of a record)."""

    index: int
    event_id: str
    type: str
    time: str
    device_id: str
    location: str
    document: str | None
    outcome: str
    reasons: tuple[str, ...]
    public: Mapping[str, Any]
    personal: SealedPersonal | None


def format_time(moment: datetime) -> str:
    """UTC with microseconds and a 'Z', the only time form a leaf carries."""
    if moment.tzinfo is None:
        raise ApplianceError(Reason.USAGE, "event time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_leaf(
    *,
    index: int,
    event: Event,
    time: str,
    device_id: str,
    location: str,
    document: str | None,
    personal: SealedPersonal | None,
) -> bytes:
    """The canonical leaf bytes (see the module docstring)."""
    sealed = (
        None
        if personal is None
        else {
            "alg": "A256GCM",
            "period": personal.period,
            "nonce": b64e(personal.nonce),
            "ct": b64e(personal.ciphertext),
        }
    )
    body = {
        "v": ENVELOPE_VERSION,
        "index": index,
        "event_id": str(event.event_id),
        "type": EventType(event.type).value,
        "time": time,
        "device_id": device_id,
        "location": location,
        "document": document,
        "outcome": event.outcome,
        "reasons": [str(r) for r in event.reasons],
        "public": dict(event.public),
        "personal": sealed,
    }
    try:
        return rfc8785.dumps(body)  # type: ignore[arg-type]  # checked at run time
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ApplianceError(Reason.USAGE, "event payload is not canonical JSON") from exc


def decode_leaf(data: bytes) -> Leaf:
    """Parse leaf bytes; raise ValueError (never anything else) when they are malformed."""
    try:
        body = json.loads(data)
        if body["v"] != ENVELOPE_VERSION:
            raise ValueError("unknown envelope version")
        sealed = body["personal"]
        personal = (
            None
            if sealed is None
            else SealedPersonal(
                period=str(sealed["period"]),
                nonce=b64d(sealed["nonce"]),
                ciphertext=b64d(sealed["ct"]),
            )
        )
        index = body["index"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError("index is not an integer")
        return Leaf(
            index=index,
            event_id=str(body["event_id"]),
            type=str(body["type"]),
            time=str(body["time"]),
            device_id=str(body["device_id"]),
            location=str(body["location"]),
            document=None if body["document"] is None else str(body["document"]),
            outcome=str(body["outcome"]),
            reasons=tuple(str(r) for r in body["reasons"]),
            public=dict(body["public"]),
            personal=personal,
        )
    except ValueError:
        raise
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ValueError("malformed leaf") from exc


def leaf_position(data: bytes) -> tuple[int, str | None, str | None]:
    """(index, document pseudonym, personal period) of a leaf: what `verify` compares with the
    row, without the cost of a full decode. Raises ValueError when they are malformed."""
    return _position(json.loads(data))


def _position(body: Any) -> tuple[int, str | None, str | None]:
    try:
        index, document, sealed = body["index"], body["document"], body["personal"]
        period = None if sealed is None else sealed["period"]
        version = body["v"]
    except (KeyError, TypeError) as exc:
        raise ValueError("malformed leaf") from exc
    if version != ENVELOPE_VERSION or not isinstance(index, int) or isinstance(index, bool):
        raise ValueError("malformed leaf")
    if not (document is None or isinstance(document, str)):
        raise ValueError("malformed leaf")
    if not (period is None or isinstance(period, str)):
        raise ValueError("malformed leaf")
    return index, document, period


@dataclass(frozen=True)
class LeafFacts:
    """What `verify` compares with a row and its key, from one JSON parse: the base64 of the
    sealed payload is decoded only when a record key is checked (`sealed_personal`)."""

    index: int
    event_id: str
    type: str
    time: str
    document: str | None
    period: str | None
    public: Mapping[str, Any]
    sealed: Mapping[str, Any] | None

    def sealed_personal(self) -> SealedPersonal:
        if self.sealed is None or self.period is None:
            raise ValueError("no personal payload")
        try:
            return SealedPersonal(self.period, b64d(self.sealed["nonce"]), b64d(self.sealed["ct"]))
        except (KeyError, TypeError) as exc:
            raise ValueError("malformed personal payload") from exc


def leaf_facts(data: bytes) -> LeafFacts:
    """The `LeafFacts` of leaf bytes; raises ValueError when they are malformed."""
    body = json.loads(data)
    index, document, period = _position(body)
    fields = (body.get("event_id"), body.get("type"), body.get("time"))
    public, sealed = body.get("public"), body.get("personal")
    if not all(isinstance(f, str) for f in fields) or not isinstance(public, dict):
        raise ValueError("malformed leaf")
    if not (sealed is None or isinstance(sealed, dict)):
        raise ValueError("malformed leaf")
    event_id, kind, time = (str(f) for f in fields)
    return LeafFacts(index, event_id, kind, time, document, period, public, sealed)
