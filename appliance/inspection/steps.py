"""The named steps of a document check, each a function of the lane and the transaction.

A step returns an `Outcome` (status, stable reason, non-personal detail and facts); the
workflow adds its name and timing and turns it into a `StepResult`. Steps never raise for a
bad document: an `ApplianceError` becomes a failed outcome with its reason, anything else an
`INTERNAL_ERROR` failure, so the policy always sees a report and refers (fail closed).
Chip Authentication / Active Authentication run inside the chip session
(`appliance.emrtd.document.read_chip`) and are judged in the authenticity step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from appliance.barcodes.reader import outcome, read_symbols
from appliance.barcodes.verify import TrustContext
from appliance.emrtd.document import ChipDocument, read_chip, verify_document
from appliance.emrtd.pki.checks import (
    GATE_MANDATORY_CHECKS,
    Check,
    CheckStatus,
    overall_status,
)
from appliance.emrtd.pki.deviations import DeviationList
from appliance.emrtd.pki.passive import TrustAnchors
from appliance.emrtd.session import AccessKey, MrzKey, ReaderOptions
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.history import DocumentRef, EventType, History
from appliance.inspection import iris_step, morph_step
from appliance.inspection.gate_events import GateEventSource, parse_events
from appliance.inspection.iris_step import IrisCheck
from appliance.inspection.policy import ModePolicy, PolicyConfig, mandatory_check_proven
from appliance.inspection.report import Fact, StepName, SubCheck
from appliance.mrz import MrzFields, MrzResult, parse_mrz
from appliance.ports import CardTransport, DecodedSymbol, FramedMrzScanner, MrzScanner
from appliance.signed.watchlist import Watchlist

#: chip failures worth another read: the traveller moved the document, the link dropped
_RETRYABLE = {
    Reason.CHIP_REMOVED,
    Reason.CHIP_COMMUNICATION,
    Reason.SM_MAC_INVALID,
    Reason.SM_PROTOCOL,
}


class FaceOutcome(Protocol):
    """What a face verifier returns (`appliance.biometrics.face.verifier.FaceResult`)."""

    status: str
    reason: Reason
    score: float | None
    threshold: float


#: the face step: DG2 image bytes in, a 1:1 outcome out (live capture is the verifier's job)
FaceCheck = Callable[[bytes], FaceOutcome]


@dataclass
class Lane:
    """What stays the same from one traveller to the next at one lane."""

    policy: PolicyConfig
    mode: ModePolicy
    trust: TrustAnchors
    #: the `History` port: a `Ledger` on a device, a fake in tests
    history: History
    watchlist: Watchlist | None = None
    #: why an installed watchlist was refused (tampered, rolled back); None: loaded or absent
    watchlist_error: ApplianceError | None = None
    deviations: DeviationList = field(default_factory=DeviationList)
    reader_options: ReaderOptions = field(default_factory=ReaderOptions)
    face: FaceCheck | None = None
    #: the iris step's live capture against DG4 (`iris_step`); None: no iris camera here
    iris: IrisCheck | None = None
    gate_events: GateEventSource | None = None
    #: the trust the `seal` step verifies visa seals against (None: a seal cannot be verified)
    seal_trust: TrustContext | None = None
    presence_timeout_s: float = 10.0
    #: morphing attack detection on the chip photo (None: the morph step is skipped)
    morph: morph_step.MorphCheck | None = None
    mrz_timeout_s: float = 10.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())


@dataclass
class Transaction:
    """One traveller's check: the devices it uses and what earlier steps found."""

    transport: CardTransport
    scanner: MrzScanner
    printed: MrzResult | None = None
    document: ChipDocument | None = None
    chip_mrz: MrzResult | None = None
    checks: list[Check] = field(default_factory=list)
    #: a key the officer gave (CAN, or number and dates typed in); None: derived from the MRZ
    access_key: AccessKey | None = None
    #: barcodes the traveller showed with the passport (a visa seal), as the scanner read them
    seals: tuple[DecodedSymbol, ...] = ()
    #: the live frame the face step compared (for the morph step); never reported or logged
    live_image: Any = field(default=None, repr=False)

    @property
    def fields(self) -> MrzFields | None:
        """The document's fields, from the chip when read (it is signed), else the print."""
        for source in (self.chip_mrz, self.printed):
            if source is not None and source.fields is not None:
                return source.fields
        return None

    def document_ref(self) -> DocumentRef | None:
        f = self.fields
        if f is None:
            return None
        return DocumentRef(f.issuing_state, f.document_number, f.document_code[:1])


@dataclass
class Outcome:
    status: CheckStatus
    reason: Reason = Reason.OK
    detail: str = ""
    facts: dict[str, Fact] = field(default_factory=dict)
    checks: tuple[SubCheck, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    attempts: int = 1

    @classmethod
    def passed(cls, detail: str = "", **facts: Fact) -> Outcome:
        return cls(CheckStatus.PASS, Reason.OK, detail, dict(facts))

    @classmethod
    def failed(cls, reason: Reason, detail: str, **facts: Fact) -> Outcome:
        return cls(CheckStatus.FAIL, reason, detail, dict(facts))

    @classmethod
    def skipped(cls, detail: str, **facts: Fact) -> Outcome:
        return cls(CheckStatus.SKIPPED, Reason.OK, detail, dict(facts), attempts=0)


Step = Callable[[Lane, Transaction], Outcome]
morph: Step = morph_step.step(Outcome)  # morphing attack detection on the chip photo


def document_presence(lane: Lane, tx: Transaction) -> Outcome:
    deadline = time.monotonic() + lane.presence_timeout_s
    while not tx.transport.card_present():
        if time.monotonic() >= deadline:
            return Outcome.failed(Reason.CHIP_NOT_PRESENT, "no document on the reader")
        time.sleep(0.02)
    return Outcome.passed("document on the reader")


def mrz(lane: Lane, tx: Transaction) -> Outcome:
    lines = tx.scanner.lines(lane.mrz_timeout_s)
    # a camera's MRZ: how many (fused) frames the read took, shown beside the step
    used = tx.scanner.frames_used if isinstance(tx.scanner, FramedMrzScanner) else None
    frames: dict[str, Fact] = {} if used is None else {"frames": used}
    if not lines:
        return Outcome.failed(Reason.MRZ_UNREADABLE, "no MRZ read from the data page", **frames)
    result = parse_mrz(list(lines))
    fmt = result.format.value if result.format is not None else None
    if not result.valid:
        return Outcome.failed(result.reason, "printed MRZ invalid", format=fmt, **frames)
    tx.printed = result
    if result.warnings:
        return Outcome(
            CheckStatus.WARN,
            result.reason,
            "printed MRZ read with a warning",
            {"format": fmt, **frames},
        )
    return Outcome.passed("printed MRZ valid", format=fmt, **frames)


def chip_access(lane: Lane, tx: Transaction) -> Outcome:
    f = tx.printed.fields if tx.printed is not None else None
    key: AccessKey
    if tx.access_key is not None:
        key = tx.access_key
    elif f is None:
        return Outcome.skipped("no MRZ to derive the chip access key", blocked_by="mrz")
    else:
        key = MrzKey(f.document_number, f.date_of_birth, f.date_of_expiry)
    attempts = 0
    while True:
        attempts += 1
        try:
            tx.document = read_chip(tx.transport, key, lane.reader_options)
            break
        except ApplianceError as exc:
            if exc.reason not in _RETRYABLE or attempts >= lane.mode.chip_read_attempts:
                out = Outcome.failed(exc.reason, exc.detail or "chip not read")
                out.attempts = attempts
                return out
    doc = tx.document
    access = doc.access
    out = Outcome.passed(
        "chip opened and read",
        protocol=access.protocol if access else None,
        cipher=access.cipher if access else None,
        mapping=access.mapping if access else None,
        apdus=doc.apdus,
        bytes_read=doc.bytes_read,
    )
    out.attempts = attempts
    out.timings_ms = {k: round(v, 3) for k, v in doc.timings_ms.items()}
    return out


def data_groups(lane: Lane, tx: Transaction) -> Outcome:
    doc = tx.document
    if doc is None:
        return Outcome.skipped("chip not read", blocked_by="chip_access")
    read = ",".join(str(n) for n in sorted(doc.data_groups()))
    for name in ("DG1.bin", "DG2.bin"):
        if name not in doc.files:
            why = doc.unavailable.get(name, Reason.CHIP_FILE_NOT_FOUND.value)
            return Outcome.failed(Reason(why), f"{name[:-4]} not read", data_groups=read)
    try:
        tx.chip_mrz = parse_mrz(list(doc.dg1().lines))
        doc.dg2().face.decode()
    except LdsError as exc:
        return Outcome.failed(exc.reason, exc.detail, data_groups=read)
    except (IndexError, ValueError):
        return Outcome.failed(Reason.LDS_MALFORMED, "DG2 holds no usable face", data_groups=read)
    if tx.chip_mrz.fields is None:
        return Outcome.failed(Reason.LDS_MALFORMED, "DG1 holds no MRZ", data_groups=read)
    return Outcome.passed("DG1 and DG2 parsed", data_groups=read)


def authenticity(lane: Lane, tx: Transaction) -> Outcome:
    doc = tx.document
    if doc is None:
        return Outcome.skipped("chip not read", blocked_by="chip_access")
    checks = verify_document(
        doc, lane.trust, printed_mrz=tx.printed, deviations=lane.deviations, at=lane.clock()
    )
    tx.checks = checks
    status = overall_status(checks)
    worst = next((c for c in checks if c.status is status), None)
    by_name = {c.name: c for c in checks}
    unproven = [
        name
        for name in GATE_MANDATORY_CHECKS
        if name not in by_name
        or not mandatory_check_proven(by_name[name].status, by_name[name].reason, lane.mode)
    ]
    if status is CheckStatus.FAIL and worst is not None:
        reason, detail = worst.reason, f"{worst.name.value}: {worst.detail}"
    elif unproven:
        # a mandatory check that did not pass, for whatever reason, is never "authentic"
        missing = ", ".join(n.value for n in unproven)
        status, reason, detail = CheckStatus.FAIL, Reason.PA_NOT_CHECKED, f"not verified: {missing}"
    elif status is CheckStatus.PASS or worst is None:
        reason, detail = Reason.OK, "document genuine"
    else:
        reason, detail = worst.reason, f"{worst.name.value}: {worst.detail}"
    subs = tuple(
        SubCheck(name=c.name.value, status=c.status, reason=c.reason, detail=c.detail)
        for c in checks
    )
    return Outcome(status, reason, detail, checks=subs)


def _expiry(f: MrzFields) -> date | None:
    if f.date_of_expiry_iso is None:
        return None
    try:
        return date.fromisoformat(f.date_of_expiry_iso)
    except ValueError:
        return None


def document_validity(lane: Lane, tx: Transaction) -> Outcome:
    f = tx.fields
    if f is None:
        return Outcome.skipped("no document data", blocked_by="mrz")
    doc_type = f.document_code[:1]
    facts: dict[str, Fact] = {"document_type": doc_type, "issuing_state": f.issuing_state}
    if doc_type not in lane.mode.allowed_document_types:
        return Outcome(
            CheckStatus.FAIL,
            Reason.DOCUMENT_TYPE_NOT_ALLOWED,
            f"document type {doc_type} not served here",
            facts,
        )
    if lane.mode.allowed_issuers and f.issuing_state not in lane.mode.allowed_issuers:
        return Outcome(
            CheckStatus.FAIL,
            Reason.DOCUMENT_TYPE_NOT_ALLOWED,
            f"issuer {f.issuing_state} not served here",
            facts,
        )
    expiry = _expiry(f)
    if expiry is None:
        return Outcome(CheckStatus.FAIL, Reason.MRZ_DATE_INVALID, "expiry date unreadable", facts)
    today = lane.clock().date()
    if expiry + timedelta(days=lane.policy.expiry_grace_days) < today:
        facts["days_expired"] = (today - expiry).days
        return Outcome(CheckStatus.FAIL, Reason.DOCUMENT_EXPIRED, "document expired", facts)
    facts["days_valid"] = (expiry - today).days
    return Outcome(CheckStatus.PASS, Reason.OK, "valid and allowed", facts)


def watchlist(lane: Lane, tx: Transaction) -> Outcome:
    ref = tx.document_ref()
    if ref is None:
        return Outcome.skipped("no document data", blocked_by="mrz")
    if lane.watchlist is None:
        error = lane.watchlist_error
        if error is None:
            return Outcome.skipped("no watchlist installed")
        return Outcome.failed(error.reason, error.detail)
    facts: dict[str, Fact] = {"list_version": lane.watchlist.version}
    now = lane.clock()
    if lane.watchlist.issued_in_future(now):  # it would never grow stale: refuse it
        detail = "watchlist issued in the future (check the device clock)"
        return Outcome(CheckStatus.FAIL, Reason.WATCHLIST_INVALID, detail, facts)
    age_h = lane.watchlist.age(now).total_seconds() / 3600
    if age_h > lane.policy.watchlist_max_age_h:
        facts["age_h"] = round(age_h, 1)
        return Outcome(CheckStatus.FAIL, Reason.WATCHLIST_STALE, "watchlist out of date", facts)
    category = lane.watchlist.lookup(ref)
    if category is not None:
        facts["category"] = category
        return Outcome(CheckStatus.FAIL, Reason.WATCHLIST_HIT, f"reported {category}", facts)
    return Outcome(CheckStatus.PASS, Reason.OK, "not listed", facts)


def repeated_use(lane: Lane, tx: Transaction) -> Outcome:
    ref = tx.document_ref()
    if ref is None:
        return Outcome.skipped("no document data", blocked_by="mrz")
    window = lane.policy.reuse_window_s
    if window == 0:
        return Outcome.skipped("repeated-use window is 0 (disabled)")
    since = lane.clock() - timedelta(seconds=window)
    earlier = lane.history.checks_of(ref, since=since)
    passages = sum(
        1 for r in earlier if r.leaf.type == EventType.CHECK.value and r.leaf.outcome == "OPEN"
    )
    facts: dict[str, Fact] = {
        "earlier_checks": len(earlier),
        "earlier_passages": passages,
        "window_s": window,
    }
    if passages > lane.policy.max_passages_in_window:
        return Outcome(
            CheckStatus.FAIL,
            Reason.DOCUMENT_REUSED,
            "document already used to pass within the window",
            facts,
        )
    return Outcome(CheckStatus.PASS, Reason.OK, "no earlier passage in the window", facts)


def biometrics(lane: Lane, tx: Transaction) -> Outcome:
    if lane.face is None:
        return Outcome.skipped("no face verifier configured")
    doc = tx.document
    if doc is None or "DG2.bin" not in doc.files:
        return Outcome.skipped("no chip photo", blocked_by="data_groups")
    try:
        reference = doc.dg2().face.data
    except (LdsError, IndexError):
        return Outcome.skipped("no chip photo", blocked_by="data_groups")
    result = lane.face(reference)
    tx.live_image = getattr(result, "live_image", None)
    facts = lane.policy.face.facts(result.score, result.threshold)
    if lane.policy.face.passes(result.status, result.reason, result.score):
        return Outcome(CheckStatus.PASS, Reason.OK, "face matches the chip photo", facts)
    reason = result.reason if result.reason is not Reason.OK else Reason.FACE_NO_MATCH
    return Outcome(CheckStatus.FAIL, reason, "face not verified", facts)


def iris(lane: Lane, tx: Transaction) -> Outcome:
    required = StepName.IRIS in lane.mode.required_steps
    j = iris_step.judge(lane.iris, required, tx.document)
    return Outcome(j.status, j.reason, j.detail, j.facts, attempts=int(required))


def gate_sensors(lane: Lane, tx: Transaction) -> Outcome:
    if lane.gate_events is None:
        return Outcome.skipped("no gate at this lane")
    events = parse_events(lane.gate_events.poll_events())
    alarms = [e for e in events if e.alarm]
    facts: dict[str, Fact] = {"events": ",".join(e.kind.value for e in events) or None}
    if alarms:
        return Outcome(CheckStatus.FAIL, alarms[0].reason, f"gate reported {alarms[0].kind}", facts)
    return Outcome(CheckStatus.PASS, Reason.OK, "one person, doors closed", facts)


def seal(lane: Lane, tx: Transaction) -> Outcome:
    """A visa (or permit) seal shown with the passport: signed by a trusted signer and naming
    this passport. Required for the policy's `seal_required_nationalities`; checked when shown."""
    fields = tx.fields
    required = fields is not None and fields.nationality in lane.policy.seal_required_nationalities
    if not tx.seals:
        if required:
            return Outcome.failed(Reason.BARCODE_NOT_FOUND, "a visa seal is required, none shown")
        return Outcome.skipped("no seal shown, none required")
    if lane.seal_trust is None:
        return Outcome.failed(Reason.SEAL_SIGNER_UNKNOWN, "no trust configured for seals")
    symbols = read_symbols(tx.seals, lane.seal_trust, fields)
    result = outcome(tx.seals, symbols)
    checks = tuple(
        SubCheck(
            name=f"{s.kind.value}:{s.fields.get('document_type') or 'unknown'}",
            status=CheckStatus.PASS if s.signature.status.value == "valid" else CheckStatus.FAIL,
            reason=s.signature.reason if s.reason is Reason.OK else s.reason,
            detail=f"signature {s.signature.status.value}",
        )
        for s in symbols
    )
    facts: dict[str, Fact] = {"symbols": len(symbols), "required": required}
    if result.status != "pass":
        return Outcome(CheckStatus.FAIL, result.reason, "seal not verified", facts, checks)
    matched = [s for s in symbols if (s.passport_match or {}).get("status") == "pass"]
    if required and not matched:
        detail = "no verified seal names this passport"
        return Outcome(CheckStatus.FAIL, Reason.SEAL_MRZ_MISMATCH, detail, facts, checks)
    return Outcome(CheckStatus.PASS, Reason.OK, "seal verified", facts, checks)


#: the e-gate's steps in order
STEPS: tuple[tuple[StepName, Step], ...] = (
    (StepName.DOCUMENT_PRESENCE, document_presence),
    (StepName.MRZ, mrz),
    (StepName.CHIP_ACCESS, chip_access),
    (StepName.DATA_GROUPS, data_groups),
    (StepName.AUTHENTICITY, authenticity),
    (StepName.DOCUMENT_VALIDITY, document_validity),
    (StepName.WATCHLIST, watchlist),
    (StepName.REPEATED_USE, repeated_use),
    (StepName.SEAL, seal),
    (StepName.BIOMETRICS, biometrics),
    (StepName.MORPH, morph),
    (StepName.IRIS, iris),
    (StepName.GATE_SENSORS, gate_sensors),
)
