"""One chip, read and verified: the path shared by `chip read`, `chip verify DIR` and the gate.

`read_chip` opens a session (PACE, BAC fallback), reads every file the chip lets us read and
returns a `ChipDocument` of raw bytes plus how they were obtained. `verify_document` runs the
authenticity checks on such a document (live, or loaded from a dump with `load_dump`), and
`document_report` turns both into the stable JSON report. Raw bytes are kept exactly as read,
so a dump verifies offline to the same result as the live read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from appliance.emrtd.chip.cam import pace_cam_check
from appliance.emrtd.chip.genuineness import apply_clone_verdict
from appliance.emrtd.lds import FILE_NAMES, parse_file
from appliance.emrtd.lds import com as com_file
from appliance.emrtd.lds import dg1 as dg1_file
from appliance.emrtd.lds import dg2 as dg2_file
from appliance.emrtd.lds.images import decode_image, image_size
from appliance.emrtd.lds.sod import SECURITY_OBJECT_OID
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus, overall_status
from appliance.emrtd.pki.completeness import require_complete
from appliance.emrtd.pki.deviations import DeviationList, apply_deviations
from appliance.emrtd.pki.passive import (
    PA_CHECKS,
    TrustAnchors,
    passive_authentication,
    verify_security_object,
)
from appliance.emrtd.protocol import files as ef
from appliance.emrtd.protocol.pace_cam import CamEvidence
from appliance.emrtd.session import AccessKey, AccessResult, ChipSession, ReaderOptions
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.files import private_dir, write_private
from appliance.inputs import MAX_CHIP_FILE_BYTES, read_input_file
from appliance.mrz import MrzResult, parse_mrz
from appliance.ports import CardTransport


@dataclass
class ChipDocument:
    """Raw files of one document (dump name -> bytes) and how they were obtained."""

    files: dict[str, bytes]
    #: dump name -> reason code for files the chip refused or lacks
    unavailable: dict[str, str] = field(default_factory=dict)
    access: AccessResult | None = None
    reader: str | None = None
    apdus: int = 0
    bytes_read: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: chip genuineness checks of the live session (Chip/Active Authentication)
    genuineness: list[Check] = field(default_factory=list)
    #: PACE-CAM evidence of the live session, judged with the trust store in verify_document
    cam_evidence: CamEvidence | None = None
    #: Terminal Authentication of the live session, when DG3/DG4 were asked for; not an
    #: authenticity check (a terminal without rights does not make a document false): the
    #: iris step judges it
    eac: Check | None = None
    #: dump name -> (the bytes parsed, their model or the `LdsError` they raised)
    _parsed: dict[str, tuple[bytes, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def parsed(self, name: str) -> Any:
        """The file `name` (`DG2.bin`) through its LDS parser, parsed once per document.

        Every step that needs DG1 or DG2 shares one model instead of parsing the bytes again;
        malformed bytes raise the same `LdsError` each time. `KeyError` when the file was not
        read. Replaced bytes are parsed afresh.
        """
        data = self.files[name]
        cached = self._parsed.get(name)
        if cached is None or cached[0] is not data:
            try:
                cached = (data, parse_file(name, data))
            except LdsError as exc:
                cached = (data, exc)
            self._parsed[name] = cached
        if isinstance(cached[1], LdsError):
            raise cached[1]
        return cached[1]

    def dg1(self) -> dg1_file.Dg1:
        """DG1 parsed (once); see `parsed`."""
        return cast(dg1_file.Dg1, self.parsed(ef.data_group(1).dump_name))

    def dg2(self) -> dg2_file.Dg2:
        """DG2 parsed (once); see `parsed`."""
        return cast(dg2_file.Dg2, self.parsed(ef.data_group(2).dump_name))

    def data_groups(self) -> dict[int, bytes]:
        """Raw data groups read, keyed by number."""
        out: dict[int, bytes] = {}
        for name, data in self.files.items():
            if name.startswith("DG"):
                out[int(name[2:].removesuffix(".bin"))] = data
        return out


def read_chip(
    transport: CardTransport, key: AccessKey, options: ReaderOptions | None = None
) -> ChipDocument:
    """Open the chip and read every readable file; raises `ApplianceError` with its reason."""
    session = ChipSession(transport, key, options)
    start = time.perf_counter()
    with session:
        access = session.open()
        result = session.read_all()
        reader = session.card.reader if session.card else None
    timings = dict(session.timings_ms)
    timings["chip_total"] = round((time.perf_counter() - start) * 1000, 3)
    return ChipDocument(
        files=dict(result.contents),
        unavailable=dict(result.unavailable),
        access=access,
        reader=reader,
        apdus=session.apdus,
        bytes_read=session.bytes_read,
        timings_ms=timings,
        genuineness=list(session.genuineness),
        cam_evidence=session.cam_evidence,
        eac=session.eac.check,
    )


def save_dump(document: ChipDocument, directory: Path) -> list[Path]:
    """Write one file per elementary file, raw bytes as read (mode 0600: it is personal data)."""
    private_dir(directory)
    written = []
    for name, data in sorted(document.files.items()):
        path = directory / name
        write_private(path, data)
        written.append(path)
    return written


def load_dump(directory: Path) -> ChipDocument:
    """Read a dump written by `save_dump` (any subset of the DESIGN.md file names)."""
    if not directory.is_dir():
        raise ApplianceError(Reason.FILE_UNREADABLE, "not a directory")
    found: dict[str, bytes] = {}
    try:
        for name in FILE_NAMES:
            path = directory / name
            if path.is_file():
                found[name] = read_input_file(path, MAX_CHIP_FILE_BYTES)
    except OSError as exc:
        raise ApplianceError(Reason.FILE_UNREADABLE, type(exc).__name__) from exc
    if not found:
        raise ApplianceError(Reason.FILE_UNREADABLE, "no chip files (EF_SOD.bin, DG1.bin...)")
    return ChipDocument(files=found)


def _com_data_groups(document: ChipDocument) -> list[int] | None:
    data = document.files.get(ef.EF_COM.dump_name)
    if data is None:
        return None
    try:
        return sorted(com_file.parse(data).data_groups)
    except LdsError:
        return None


def _issuing_state(document: ChipDocument) -> str | None:
    """DG1's issuing state from the parsed DG1; None when absent or malformed (Passive
    Authentication then reports why)."""
    if ef.data_group(1).dump_name not in document.files:
        return None
    try:
        return document.dg1().issuing_state
    except LdsError:
        return None


def dg1_vs_mrz(document: ChipDocument, printed: MrzResult | None) -> Check:
    """DG1 must equal the MRZ printed on the data page, character for character."""
    name = CheckName.DG1_VS_MRZ
    if printed is None:
        return Check.skipped(name, "no printed MRZ was read", Reason.OK)
    if "DG1.bin" not in document.files:
        return Check.skipped(name, "DG1 not read", Reason.OK)
    try:
        chip_lines = document.dg1().lines
    except LdsError as exc:
        return Check.failed(name, exc.reason, exc.detail)
    printed_lines = tuple(printed.lines)
    if chip_lines == printed_lines:
        return Check.passed(name, "DG1 equals the printed MRZ")
    differing = sum(
        a != b for a, b in zip("".join(chip_lines), "".join(printed_lines), strict=False)
    )
    detail = f"DG1 and the printed MRZ differ in {differing} character(s)"
    if len("".join(chip_lines)) != len("".join(printed_lines)):
        detail = "DG1 and the printed MRZ have different formats"
    return Check.failed(name, Reason.DG1_MRZ_MISMATCH, detail)


def card_security_check(
    data: bytes | None, anchors: TrustAnchors, *, at: datetime | None = None
) -> Check | None:
    """EF.CardSecurity's own signature and DS chain, wherever the file was read (None: absent).

    Its SecurityInfos confirm what EF.CardAccess announced and carry the PACE-CAM key: a chip
    that presents a badly signed one is refused, whether or not PACE-CAM used it.
    """
    if data is None:
        return None
    name = CheckName.CARD_SECURITY
    verification = verify_security_object(data, anchors, content_type=SECURITY_OBJECT_OID, at=at)
    for status in (CheckStatus.FAIL, CheckStatus.WARN):
        worst = next((c for c in verification.checks if c.status is status), None)
        if worst is not None:
            detail = f"{worst.name.value}: {worst.detail}"
            return Check(name, status, worst.reason, detail)
    return Check.passed(name, "EF.CardSecurity signed by a DS of a trusted CSCA")


def verify_document(
    document: ChipDocument,
    anchors: TrustAnchors,
    *,
    printed_mrz: MrzResult | None = None,
    deviations: DeviationList | None = None,
    at: datetime | None = None,
) -> list[Check]:
    """The authenticity checks of the report, in their stable order, fail closed.

    The chip-genuineness outcomes (Chip/Active Authentication, PACE-CAM) are those measured
    during the live session and kept on the document; a dump has none. What a genuine document
    needs and did not show fails (`appliance.emrtd.pki.completeness`): a chip without EF.SOD,
    or one that hides DG14/DG15, is never reported as genuine.
    """
    sod = document.files.get(ef.EF_SOD.dump_name)
    dg_bytes = document.data_groups()
    if sod is None:
        why = document.unavailable.get(ef.EF_SOD.dump_name, "not on the chip")
        checks = [
            Check.failed(
                CheckName.SOD_SIGNATURE,
                Reason.PA_SOD_MISSING,
                f"EF.SOD not read ({why}): nothing vouches for the chip's data",
            ),
            *(Check.skipped(name, "EF.SOD not read") for name in PA_CHECKS[1:]),
        ]
    else:
        checks = passive_authentication(
            sod,
            anchors,
            dg_bytes,
            _com_data_groups(document),
            issuing_state=_issuing_state(document),
            at=at,
        )
    checks.append(dg1_vs_mrz(document, printed_mrz))
    checks = apply_deviations(checks, sod, deviations or DeviationList())
    card_security = document.files.get(ef.EF_CARD_SECURITY.dump_name)
    supplied = {c.name: c for c in document.genuineness}
    if CheckName.PACE_CAM not in supplied and document.cam_evidence is not None:
        supplied[CheckName.PACE_CAM] = pace_cam_check(
            document.cam_evidence, card_security, anchors, at=at
        )
    for name in (
        CheckName.CHIP_AUTHENTICATION,
        CheckName.ACTIVE_AUTHENTICATION,
        CheckName.PACE_CAM,
    ):
        checks.append(supplied.get(name) or Check.skipped(name, "not performed", Reason.OK))
    card_security_result = card_security_check(card_security, anchors, at=at)
    if card_security_result is not None:
        checks.append(card_security_result)
    checks = require_complete(checks, sod, dg_bytes, live=document.access is not None)
    return apply_clone_verdict(checks)


def _dg1_summary(document: ChipDocument) -> tuple[dict[str, Any] | None, list[Check]]:
    if "DG1.bin" not in document.files:
        return None, []
    try:
        lines = document.dg1().lines
    except LdsError as exc:
        return None, [Check.failed(CheckName.DG1_VS_MRZ, exc.reason, exc.detail)]
    parsed = parse_mrz(list(lines))
    fields = parsed.to_dict().get("fields") or {}
    keys = (
        "document_type",
        "issuing_state",
        "document_number",
        "date_of_birth",
        "date_of_expiry",
        "surname",
        "given_names",
        "nationality",
        "sex",
    )
    summary: dict[str, Any] = {k: fields.get(k) for k in keys}
    summary["document_type"] = fields.get("document_code")
    for date_key in ("date_of_birth", "date_of_expiry"):
        # ISO dates where the century rules decide them, the printed YYMMDD otherwise
        summary[date_key] = fields.get(f"{date_key}_iso") or fields.get(date_key)
    summary["format"] = parsed.format.value if parsed.format is not None else None
    summary["mrz_valid"] = parsed.valid
    return summary, []


def _face_summary(document: ChipDocument) -> dict[str, Any] | None:
    if "DG2.bin" not in document.files:
        return None
    try:
        face = document.dg2().face
        width, height = face.width, face.height
        if width is None or height is None:
            width, height = image_size(decode_image(face.data))
        else:
            decode_image(face.data)  # the image must decode, not only be declared
    except (LdsError, IndexError) as exc:
        reason = exc.reason.value if isinstance(exc, LdsError) else Reason.LDS_MALFORMED.value
        return {"format": None, "width": None, "height": None, "bytes": 0, "error": reason}
    return {
        "format": face.format.value,
        "width": width,
        "height": height,
        "bytes": len(face.data),
        # deviations read past (e.g. declared JPEG, bytes JPEG 2000): the portrait is kept
        "warnings": [
            {"reason": Reason.LDS_NONSTANDARD.value, "detail": note} for note in face.warnings
        ],
    }


def document_report(document: ChipDocument, checks: list[Check] | None = None) -> dict[str, Any]:
    """The stable JSON report of `chip read` / `chip verify` (see docs/chip-report.md)."""
    dg1, dg1_problems = _dg1_summary(document)
    all_checks = list(checks or []) + dg1_problems
    # nothing verified is never a pass: the status is `skipped` and the commands exit 1
    status = overall_status(all_checks) if all_checks else CheckStatus.SKIPPED
    failing = [c for c in all_checks if c.status is CheckStatus.FAIL]
    warning = [c for c in all_checks if c.status is CheckStatus.WARN]
    reason = failing[0].reason if failing else warning[0].reason if warning else Reason.OK
    if status is CheckStatus.SKIPPED:
        reason = Reason.PA_NOT_CHECKED
    return {
        "status": status.value,
        "reason": reason.value,
        "reader": document.reader,
        "access": document.access.as_dict() if document.access else None,
        "files": {name: len(data) for name, data in sorted(document.files.items())},
        "unavailable": dict(sorted(document.unavailable.items())),
        "dg1": dg1,
        "face_image": _face_summary(document),
        "authenticity": [c.to_dict() for c in all_checks],
        "terminal_authentication": document.eac.to_dict() if document.eac else None,
        "apdus": document.apdus,
        "bytes_read": document.bytes_read,
        "timings_ms": dict(document.timings_ms),
    }


def failure_report(error: ApplianceError, timings_ms: Mapping[str, float]) -> dict[str, Any]:
    """The report when the chip could not be read at all (no traceback for the user)."""
    return {
        "status": "fail",
        "reason": error.reason.value,
        "detail": error.detail,
        "access": None,
        "files": {},
        "dg1": None,
        "face_image": None,
        "authenticity": [],
        "apdus": 0,
        "timings_ms": dict(timings_ms),
    }
