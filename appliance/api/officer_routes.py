"""The officer's API: one check's person and history, decisions and overrides, referrals.

    GET  /api/v1/checks/{id}/person     DG1, chip photo, face score and threshold, the timeline
    POST /api/v1/checks/{id}/decision   admit / refuse / second_line, a reason code, a note
    GET  /api/v1/referrals              the lanes, the referred checks and how many wait
    POST /api/v1/mrz/read               the MRZ of a photo of the data page (the phone's camera)
    POST /api/v1/barcodes/read          the barcodes of a photo: a visa seal, a boarding pass

The personal data comes from the check's history record (decrypted on the device, for the
officer and supervisor roles only: `appliance/accounts/rules.py`); nothing here is logged. A
decision is an event in the history, linked to the check and to the document: `override` when
it goes against the machine (admitting a referred traveller, refusing or referring one the gate
let through), and then a note is required; the note is kept encrypted as personal data (free
text may name the traveller), so erasure removes it with the rest.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import cv2
import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.access import principal_of
from appliance.api.lane_service import LaneService
from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger
from appliance.history.events import DocumentRef, Event, EventType, PersonalData
from appliance.history.queries import RecordView
from appliance.wiring import optional_factory

#: how many of the newest history records the officer's lookups search
LOOKUP = 500

#: the officer's reasons, by decision (the stable codes the screens offer)
DECISION_REASONS: dict[str, tuple[str, ...]] = {
    "admit": ("DOCUMENT_VERIFIED_MANUALLY", "IDENTITY_CONFIRMED", "TECHNICAL_FAULT_CLEARED"),
    "refuse": ("DOCUMENT_FALSE", "IMPOSTOR", "WATCHLIST_CONFIRMED", "ENTRY_CONDITIONS_NOT_MET"),
    "second_line": ("FURTHER_EXAMINATION", "DOCUMENT_EXPERT", "IDENTITY_UNCLEAR"),
}
ALL_REASONS = tuple(r for reasons in DECISION_REASONS.values() for r in reasons)


class MrzPhoto(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: a JPEG or PNG photo of the data page, base64
    image_b64: str = Field(min_length=8, max_length=16 * 1024 * 1024)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["admit", "refuse", "second_line"]
    reason: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=500)


def _is_override(automated: str, decision: str) -> bool:
    """Against the machine: admitting a referral, or stopping one the machine let through."""
    if automated in ("OPEN", "ADVISE"):
        return decision != "admit"
    return decision == "admit"


def _history(service: LaneService) -> Ledger:
    history = service.history
    if history is None:
        raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the lane is not ready")
    return history


def _check_record(history: Ledger, check_id: str) -> RecordView:
    if len(check_id) > 64:
        raise ApplianceError(Reason.USAGE, "check id too long")
    for view in history.recent(LOOKUP, reveal=True):
        if view.leaf.type == "check" and view.leaf.event_id == check_id:
            return view
    raise NotFound()


class NotFound(ApplianceError):
    """No such check among the newest records (answered 404)."""

    def __init__(self) -> None:
        super().__init__(Reason.USAGE, "no such check")


def _document(view: RecordView) -> DocumentRef | None:
    report = view.leaf.public.get("report") or {}
    document = report.get("document") if isinstance(report, dict) else None
    personal = view.personal
    if not isinstance(document, dict) or personal is None or not personal.document_number:
        return None
    try:
        ref = DocumentRef(
            str(document.get("issuing_state") or ""),
            personal.document_number,
            str(document.get("document_type") or "P"),
        )
        ref.normalised()
    except ApplianceError:
        return None
    return ref


def _photo(data: bytes | None) -> str | None:
    """The chip photo as a data URL a browser shows (JPEG 2000 re-encoded as PNG)."""
    if not data:
        return None
    if data[:3] == b"\xff\xd8\xff":
        return "data:image/jpeg;base64," + base64.b64encode(data).decode()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    ok, png = cv2.imencode(".png", image)
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode() if ok else None


def _step(report: Any, name: str) -> dict[str, Any]:
    for step in report.get("steps", []) if isinstance(report, dict) else []:
        if isinstance(step, dict) and step.get("name") == name:
            return step
    return {}


def _timeline(history: Ledger, ref: DocumentRef | None) -> list[dict[str, Any]]:
    if ref is None:
        return []
    return [
        {
            "time": v.leaf.time,
            "type": v.leaf.type,
            "outcome": v.leaf.outcome,
            "reasons": list(v.leaf.reasons),
            "device_id": v.leaf.device_id,
            "location": v.leaf.location,
            "check_id": v.leaf.public.get("check_id") or v.leaf.event_id,
            "account": v.leaf.public.get("account"),
        }
        for v in history.checks_of(ref)
    ]


#: central's view of a document, from the device side of sync (loaded by name: a build
#: without sync has none, as `appliance selftest`'s sync part)
CENTRAL_CHECKS = "sync.device.service:central_checks"


def _central(service: LaneService, ref: DocumentRef | None) -> dict[str, Any]:
    """Where else the document was checked, asked of central by its national pseudonym with a
    short time limit; offline, the officer sees this device's history only."""
    if ref is None:
        return {"central": "no_document", "checks": []}
    central_checks = optional_factory(CENTRAL_CHECKS)
    if central_checks is None:
        return {"central": "not_in_build", "checks": []}
    try:
        answer: dict[str, Any] = central_checks(service.config, service.directory, ref)
    except ApplianceError as exc:  # a broken [sync] configuration
        return {"central": "refused", "reason": exc.reason.value, "checks": []}
    return answer


def _decisions(history: Ledger) -> dict[str, dict[str, Any]]:
    """The latest officer decision of each check among the newest records."""
    found: dict[str, dict[str, Any]] = {}
    for view in history.recent(LOOKUP):
        leaf = view.leaf
        check = leaf.public.get("check_id")
        if leaf.type in ("officer_action", "override") and isinstance(check, str):
            found.setdefault(
                check,
                {
                    "decision": leaf.outcome,
                    "reason": leaf.reasons[0] if leaf.reasons else None,
                    "override": leaf.type == "override",
                    "account": leaf.public.get("account"),
                    "time": leaf.time,
                },
            )
    return found


def officer_router(service: LaneService, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix)

    @router.get("/checks/{check_id}/person")
    def person(check_id: str) -> dict[str, Any]:
        """DG1, the chip photo, the face result and the document's local timeline."""
        history = _history(service)
        view = _check_record(history, check_id)
        personal = view.personal or PersonalData()
        report = view.leaf.public.get("report") or {}
        document = report.get("document", {}) if isinstance(report, dict) else {}
        face = _step(report, "biometrics")
        facts = face.get("facts", {}) if isinstance(face.get("facts"), dict) else {}
        reason = str(face.get("reason") or "")
        record = service.loop.check(check_id) if service.loop is not None else None
        return {
            "check_id": check_id,
            "decision": view.leaf.outcome,
            "reasons": list(view.leaf.reasons),
            "personal": view.personal_status,
            "dg1": {
                "surname": personal.surname,
                "given_names": personal.given_names,
                "date_of_birth": personal.date_of_birth,
                "document_number": personal.document_number,
                "nationality": personal.nationality,
                "issuing_state": document.get("issuing_state"),
                "document_type": document.get("document_type"),
            },
            "chip_photo": _photo(personal.face_image),
            # kept in memory by the lane for its newest checks only (None: gone, or no face step)
            "live_capture": _photo(record.live_capture) if record is not None else None,
            "face": {
                "status": face.get("status"),
                "reason": face.get("reason"),
                "detail": face.get("detail"),
                "score": facts.get("score"),
                "threshold": facts.get("threshold"),
            },
            "liveness": {
                "status": "fail" if "LIVENESS" in reason or "PAD" in reason else face.get("status"),
                "reason": reason or None,
            },
            "timeline": _timeline(history, _document(view)),
            "central": _central(service, _document(view)),
            "officer_decision": _decisions(history).get(check_id),
            "decision_reasons": DECISION_REASONS,
        }

    @router.post("/checks/{check_id}/decision")
    def decide(check_id: str, body: Decision, request: Request) -> dict[str, Any]:
        """Record the officer's decision (an override needs a note) in the history."""
        session = principal_of(request.state)
        if session is None:
            raise ApplianceError(Reason.AUTH_REQUIRED, "log in first")
        if body.reason not in DECISION_REASONS[body.decision]:
            raise ApplianceError(
                Reason.USAGE, f"reason must be one of {', '.join(DECISION_REASONS[body.decision])}"
            )
        history = _history(service)
        view = _check_record(history, check_id)
        automated = view.leaf.outcome
        override = _is_override(automated, body.decision)
        note = body.note.strip()
        if override and len(note) < 3:
            raise ApplianceError(
                Reason.DECISION_NOTE_REQUIRED, "an override of the machine needs a note"
            )
        receipt = history.append(
            Event(
                EventType.OVERRIDE if override else EventType.OFFICER_ACTION,
                body.decision,
                reasons=(body.reason,),
                public={
                    "account": session.account,
                    "role": session.role.value,
                    "check_id": check_id,
                    "automated": automated,
                },
                document=_document(view),
                personal=PersonalData(extra={"note": note}) if note else None,
            )
        )
        return {
            "check_id": check_id,
            "decision": body.decision,
            "reason": body.reason,
            "override": override,
            "automated": automated,
            "history_index": receipt.index,
        }

    @router.get("/referrals")
    def referrals() -> dict[str, Any]:
        """The lanes, and the checks they referred with the officer's decision so far."""
        history = _history(service)
        decided = _decisions(history)
        referred = []
        for view in history.recent(LOOKUP):
            leaf = view.leaf
            if leaf.type == "check" and leaf.outcome == "REFER":
                referred.append(
                    {
                        "check_id": leaf.event_id,
                        "time": leaf.time,
                        "reasons": list(leaf.reasons),
                        "device_id": leaf.device_id,
                        "location": leaf.location,
                        "officer_decision": decided.get(leaf.event_id),
                    }
                )
        loop = service.loop
        lanes = [{"device_id": service.config.device.device_id, **loop.status()}] if loop else []
        return {
            "lanes": lanes,
            "pending": sum(1 for r in referred if r["officer_decision"] is None),
            "referrals": referred,
        }

    readers: list[Any] = []  # one OCR reader (its ONNX model) for the service, made at first use
    scanners: list[Any] = []  # one barcode decoder, likewise

    def photo(image_b64: str) -> Any:
        """The pixels of a photo sent by a screen (not kept); the `[inputs]` limits apply."""
        from appliance.imaging import check_declared_size, check_size

        limits = service.config.inputs
        try:
            data = base64.b64decode(image_b64, validate=True)
        except ValueError as exc:
            raise ApplianceError(Reason.USAGE, "image_b64 is not base64") from exc
        if len(data) > limits.max_image_bytes:
            raise ApplianceError(Reason.FILE_TOO_LARGE, "the photo is too large")
        check_declared_size(data, limits.max_image_pixels)
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if pixels is None or pixels.size == 0:
            raise ApplianceError(Reason.IMAGE_UNREADABLE, "the photo could not be decoded")
        check_size(int(pixels.shape[1]), int(pixels.shape[0]), limits.max_image_pixels)
        return pixels

    @router.post("/mrz/read")
    def read_mrz(body: MrzPhoto) -> dict[str, Any]:
        """The MRZ lines read from a photo of the data page (not kept), for the officer to
        confirm before the check starts with them; the image limits of `[inputs]` apply."""
        from appliance.mrz.ocr.reader import MrzImageReader

        pixels = photo(body.image_b64)
        if not readers:
            readers.append(MrzImageReader())
        read = readers[0].read(pixels)
        return {
            "status": read.status,
            "reason": read.reason.value,
            "lines": read.lines,
            "layout": read.layout,
        }

    @router.post("/barcodes/read")
    def read_barcodes(body: MrzPhoto) -> dict[str, Any]:
        """Every barcode in a photo (a visa seal, a boarding pass...), decoded, parsed and its
        signature verified against the device's trust store now, as `appliance barcode read`
        does: `status`, `reason`, `symbols` (each with `kind`, `fields`, `signature`)."""
        import time

        from appliance.barcodes.reader import outcome, read_symbols
        from appliance.barcodes.verify import TrustContext
        from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
        from appliance.emrtd.pki.trust_store import TrustStore
        from appliance.inspection.trust import TrustSnapshot
        from appliance.ports import BarcodeScanner, Frame
        from appliance.wiring import load_factory

        pixels = photo(body.image_b64)
        if not scanners:  # the configured decoder (zxing-cpp reads every VDS), made once
            scanners.append(load_factory(service.config.hardware.barcode_scanner)("zxing"))
        scanner: BarcodeScanner = scanners[0]
        decoded = scanner.decode(Frame(pixels, time.time()))
        with TrustStore(service.directory / TRUST_FILE) as store:
            context = TrustContext(TrustSnapshot.of(store))
        result = outcome(decoded, read_symbols(decoded, context, None))
        return {
            "status": result.status,
            "reason": result.reason.value,
            "symbols": [symbol.to_dict() for symbol in result.symbols],
        }

    return router
