"""The decision policy: a pure function of an inspection report and a signed configuration.

    decision = decide(report, policy)      # no I/O, no clock: the same inputs, the same answer

E-gate mode answers `OPEN` or `REFER(reasons)`; handheld mode answers `ADVISE` when nothing
was found and `REFER(reasons)` otherwise, as advice for the officer, who decides. Fail closed:
a failed step, a step that timed out, a required step that was skipped or is absent, or a
warning the policy does not accept all refer.
The exception cases of the Frontex ABC operational guidelines each have a stable reason and a
line the officer sees (`OFFICER_GUIDANCE`).

The policy file is TOML, signed with Ed25519 (`appliance.signed.artefacts`); `load_policy`
refuses an unsigned (`POLICY_UNSIGNED`), tampered, malformed or rolled-back (`POLICY_INVALID`)
file.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from appliance.emrtd.pki.checks import GATE_MANDATORY_CHECKS, CheckStatus
from appliance.errors import ApplianceError, Reason
from appliance.inspection.report import Fact, InspectionReport, StepName
from appliance.signed import artefacts as sc

POLICY_FILE = "policy.toml"


class Verdict(StrEnum):
    OPEN = "OPEN"
    REFER = "REFER"
    ADVISE = "ADVISE"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModePolicy(_Model):
    """What one mode (e-gate or handheld) requires."""

    #: steps that must run and pass; skipped or absent refers (STEP_MISSING)
    required_steps: tuple[StepName, ...]
    #: seconds each step may take before it is abandoned (STEP_TIMEOUT); others: default
    step_timeouts_s: dict[StepName, float] = Field(default_factory=dict)
    default_step_timeout_s: float = Field(default=10.0, gt=0)
    #: chip reads tried when the chip is pulled away or the link drops mid-read
    chip_read_attempts: int = Field(default=2, ge=1, le=5)
    #: warnings that do not refer (all others do)
    accepted_warnings: tuple[Reason, ...] = (Reason.MRZ_NAME_TRUNCATED,)
    #: first letter of the document code: P passports, I/A/C identity cards
    allowed_document_types: tuple[str, ...] = ("P",)
    #: ICAO issuing-state codes served at this lane; empty: every state
    allowed_issuers: tuple[str, ...] = ()

    def timeout_s(self, step: StepName) -> float:
        return self.step_timeouts_s.get(step, self.default_step_timeout_s)


class MorphPolicy(_Model):
    """The `morph` step (morphing attack detection on the chip photo). It runs where the lane
    has a morph detector; add "morph" to a mode's `required_steps` to refer when it cannot run.
    A suspected morph refers to an officer with its score; it never refuses by itself."""

    #: False: scores are reported, a suspected morph does not refer
    may_refer: bool = True
    #: single-image (S-MAD) threshold on the 0..1 score; absent: the model's calibrated one
    single_threshold: float | None = Field(default=None, ge=0, le=1)
    #: differential (D-MAD, with the live capture) threshold; absent: the model's calibrated one
    differential_threshold: float | None = Field(default=None, ge=0, le=1)
    #: with a live capture, refer also on the single-image score (more referrals, fewer misses)
    single_with_live: bool = False

    @model_serializer(mode="wrap")
    def _absent_not_null(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """An unset threshold is left out: TOML, the policy's format, has no null."""
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class FacePolicy(_Model):
    """The face step's decision threshold, signed with the rest of the policy.

    The embedder's manifest carries thresholds calibrated on the project's calibration set; an
    authority that calibrated on its own captures (its lanes' cameras, its travellers) signs its
    threshold here with where it came from, so the decision rule and its provenance arrive and
    are verified together and a running lane takes a new one between travellers. Absent: the
    manifest's threshold for the device's configured operating point.
    """

    #: cosine similarity at or above which the live face matches the chip photo
    threshold: float | None = Field(default=None, ge=-1, le=1)
    #: the calibration behind it (set, identities, impostor pairs, target FMR), for the report
    calibration: str = Field(default="", max_length=300)

    def facts(self, score: float | None, model_threshold: float) -> dict[str, Fact]:
        """The face step's facts: its score, and the threshold in force and where it came from."""
        signed = self.threshold
        return {
            "score": None if score is None else round(score, 4),
            "threshold": round(model_threshold if signed is None else signed, 4),
            "threshold_from": "model" if signed is None else "policy",
        }

    def passes(self, status: str, reason: Reason, score: float | None) -> bool:
        """Whether the face step passes: by the signed threshold when one is signed and the
        comparison ran, else by the verifier's own result (a capture that failed before
        comparing, on quality, liveness or no face, stays failed)."""
        compared = score is not None and reason in (Reason.OK, Reason.FACE_NO_MATCH)
        if self.threshold is not None and compared:
            return bool(score is not None and score >= self.threshold)
        return status == "pass" and reason is Reason.OK

    @model_serializer(mode="wrap")
    def _absent_not_null(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """An unset threshold is left out: TOML, the policy's format, has no null."""
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


_EGATE_REQUIRED = (
    StepName.DOCUMENT_PRESENCE,
    StepName.MRZ,
    StepName.CHIP_ACCESS,
    StepName.DATA_GROUPS,
    StepName.AUTHENTICITY,
    StepName.DOCUMENT_VALIDITY,
    StepName.WATCHLIST,
    StepName.REPEATED_USE,
    StepName.BIOMETRICS,
    StepName.GATE_SENSORS,
)


#: the steps without which an e-gate cannot know the document is genuine and valid
EGATE_CORE_STEPS = (
    StepName.DOCUMENT_PRESENCE,
    StepName.MRZ,
    StepName.CHIP_ACCESS,
    StepName.DATA_GROUPS,
    StepName.AUTHENTICITY,
    StepName.DOCUMENT_VALIDITY,
)


class PolicyConfig(_Model):
    """The signed decision policy (`policy.toml`)."""

    #: monotonic: a file with a lower version than one accepted before is refused
    version: int = Field(ge=1)
    name: str = "default"
    egate: ModePolicy = ModePolicy(required_steps=_EGATE_REQUIRED)
    handheld: ModePolicy = ModePolicy(
        required_steps=_EGATE_REQUIRED[:-2],
        allowed_document_types=("P", "I", "A", "C", "V"),
    )
    #: seconds back in the history in which an earlier passage counts as a repeated use
    reuse_window_s: int = Field(default=12 * 3600, ge=0)
    #: earlier passages (gate opened) within the window that a document may have
    max_passages_in_window: int = Field(default=0, ge=0)
    #: a watchlist older than this is stale: the watchlist step fails closed
    watchlist_max_age_h: float = Field(default=48.0, gt=0)
    #: days after the printed expiry date a document is still accepted (0: none)
    expiry_grace_days: int = Field(default=0, ge=0)
    #: nationalities (ICAO codes, as in the MRZ) whose holders must show a visa seal that
    #: verifies and names their passport (the `seal` step; empty: a seal is checked when shown)
    seal_required_nationalities: tuple[str, ...] = ()
    #: morphing attack detection: thresholds and whether a suspected morph refers
    morph: MorphPolicy = MorphPolicy()
    #: the face step's threshold and its calibration (absent: the model's calibrated one)
    face: FacePolicy = FacePolicy()

    def mode(self, mode: Literal["egate", "handheld"]) -> ModePolicy:
        return self.egate if mode == "egate" else self.handheld

    @model_validator(mode="after")
    def _gate_checks_the_document(self) -> PolicyConfig:
        """No signed policy may let the e-gate open without proving the document genuine."""
        missing = [s.value for s in EGATE_CORE_STEPS if s not in self.egate.required_steps]
        if missing:
            raise ValueError(f"egate.required_steps must include {', '.join(missing)}")
        return self


class Decision(_Model):
    """The policy's answer for one report; `officer` holds the guidance the officer sees."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    officer: tuple[str, ...]
    policy_version: int

    @property
    def opens_gate(self) -> bool:
        return self.verdict is Verdict.OPEN

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


#: what the officer is shown per reason (Frontex ABC operational guidelines' exception cases)
_FALSIFIED = "suspected falsification, second line"
_CLONE = "chip may be cloned, second line"
OFFICER_GUIDANCE: dict[Reason, str] = {
    Reason.PA_SIGNATURE_INVALID: f"Chip data not signed by its issuer: {_FALSIFIED}",
    Reason.PA_DS_UNTRUSTED: "Document signer not trusted (CSCA unknown): verify manually",
    Reason.PA_DS_REVOKED: f"Document signer revoked by its issuer: {_FALSIFIED}",
    Reason.PA_DG_HASH_MISMATCH: f"Chip data altered after issue: {_FALSIFIED}",
    Reason.PA_DG_NOT_IN_SOD: f"Chip holds data its issuer did not sign: {_FALSIFIED}",
    Reason.PA_SOD_COM_MISMATCH: "Chip file list differs from the signed data: inspect",
    Reason.PA_COUNTRY_MISMATCH: "Signer country differs from the issuing state: inspect",
    Reason.PA_CERT_EXPIRED: "Signer certificate expired: check the document manually",
    Reason.PA_NOT_CHECKED: "Authenticity could not be checked: verify manually",
    Reason.CRL_STALE: "Revocation list out of date: check the signer is not revoked manually",
    Reason.CRL_MISSING: "No revocation list for this issuer: check the signer manually",
    Reason.CA_FAILED: f"Chip Authentication failed: {_CLONE}",
    Reason.AA_FAILED: f"Active Authentication failed: {_CLONE}",
    Reason.CAM_FAILED: f"PACE-CAM chip authentication failed: {_CLONE}",
    Reason.CHIP_CLONE_SUSPECTED: f"Chip could not prove it is genuine: {_CLONE}",
    Reason.DG1_MRZ_MISMATCH: f"Chip data differs from the printed page: {_FALSIFIED}",
    Reason.WATCHLIST_HIT: "Document reported lost or stolen: retain it, second line",
    Reason.DOCUMENT_REUSED: "Document already used to pass in the window: check for sharing",
    Reason.DOCUMENT_EXPIRED: "Document expired: manual processing",
    Reason.DOCUMENT_TYPE_NOT_ALLOWED: "Document type or issuer not served by this lane",
    Reason.FACE_NO_MATCH: "Face does not match the chip photo: compare in person",
    Reason.FACE_NOT_LIVE: "Liveness failed (possible presentation attack): officer check",
    Reason.FACE_QUALITY: "No usable face image: manual comparison",
    Reason.FACE_NOT_FOUND: "No face found: manual comparison",
    Reason.TAILGATING: "More than one person in the gate: attend, re-process both",
    Reason.GATE_MANUAL_OPEN: "Exit door opened manually: attend the gate",
    Reason.GATE_FAULT: "Gate controller fault: lane to manual mode",
    Reason.STEP_TIMEOUT: "A check took too long: process manually",
    Reason.STEP_MISSING: "A required check did not run: process manually",
    Reason.WATCHLIST_STALE: "Watchlist out of date: query the central system manually",
    Reason.WATCHLIST_INVALID: "Watchlist refused (signature): query the central system",
    Reason.HISTORY_STORAGE: "Check could not be recorded: process manually",
    Reason.MRZ_CHECK_DIGIT: "MRZ not read reliably: re-scan or read manually",
    Reason.MRZ_UNREADABLE: "MRZ could not be read: re-scan or read manually",
    Reason.BARCODE_NOT_FOUND: "Visa required: scan the visa seal or check the visa manually",
    Reason.SEAL_SIGNATURE_INVALID: f"Visa seal not signed by its issuer: {_FALSIFIED}",
    Reason.SEAL_SIGNER_UNTRUSTED: "Visa seal signer not trusted: check the visa manually",
    Reason.SEAL_SIGNER_UNKNOWN: "Visa seal signer unknown: check the visa manually",
    Reason.SEAL_SIGNER_REVOKED: f"Visa seal signer revoked by its issuer: {_FALSIFIED}",
    Reason.SEAL_MRZ_MISMATCH: "Visa seal names another passport: inspect",
    Reason.MORPH_SUSPECTED: "Chip photo may be a morph of two faces: compare in person",
    Reason.IRIS_NO_MATCH: "Iris does not match the chip: compare in person",
    Reason.IRIS_REFERENCE_MISSING: "No iris reference read from the chip: manual check",
    Reason.TA_CHAIN_UNTRUSTED: "Chip refused this lane's EAC certificates: manual check",
    Reason.TA_CERT_EXPIRED: "This lane's EAC certificate is expired: renew it, manual check",
    Reason.TA_FAILED: "Terminal Authentication failed: manual check",
}
_DEFAULT_GUIDANCE = "Refer to an officer"


def guidance(reason: Reason) -> str:
    return OFFICER_GUIDANCE.get(reason, f"{_DEFAULT_GUIDANCE} ({reason.value})")


def decide(report: InspectionReport, policy: PolicyConfig) -> Decision:
    """The decision for `report` under `policy` (pure: no I/O, no clock)."""
    mode = policy.mode(report.mode)
    reasons: list[Reason] = []
    seen = {step.name for step in report.steps}
    for step in report.steps:
        # every failed (or unaccepted) check inside the step: a forged DG1 is both a hash
        # mismatch and a chip that disagrees with the printed page, and the officer sees both
        inner = [
            c.reason
            for c in step.checks
            if c.status is CheckStatus.FAIL
            or (c.status is CheckStatus.WARN and c.reason not in mode.accepted_warnings)
        ]
        failed = step.status is CheckStatus.FAIL
        if failed or (
            step.status is CheckStatus.WARN and (step.reason not in mode.accepted_warnings or inner)
        ):
            # a step whose own reason is an accepted warning still refers for another
            # warning inside it that the policy does not accept
            reasons.append(step.reason)
            reasons += inner
        elif (
            step.status is CheckStatus.SKIPPED
            and step.name in mode.required_steps
            and not _explained(report, step.name)
        ):
            reasons.append(Reason.STEP_MISSING)
    if any(name not in seen for name in mode.required_steps) or not report.steps:
        reasons.append(Reason.STEP_MISSING)
    if not _authenticity_proven(report, mode):
        reasons.append(Reason.PA_NOT_CHECKED)
    unique = tuple(dict.fromkeys(reasons))
    if unique:
        verdict = Verdict.REFER
    else:
        verdict = Verdict.ADVISE if report.mode == "handheld" else Verdict.OPEN
    return Decision(
        verdict=verdict,
        reasons=unique or (Reason.OK,),
        officer=tuple(guidance(r) for r in unique),
        policy_version=policy.version,
    )


def mandatory_check_proven(status: CheckStatus, reason: Reason, mode: ModePolicy) -> bool:
    """A mandatory check proves its point when it passed, or warned for a reason the signed
    policy accepts (a real passport's non-standard but validly signed EF.SOD, say)."""
    return status is CheckStatus.PASS or (
        status is CheckStatus.WARN and reason in mode.accepted_warnings
    )


def _authenticity_proven(report: InspectionReport, mode: ModePolicy) -> bool:
    """An authenticity step that did not fail must show every mandatory check as proven.

    Defence in depth for the step's own rule: however a report came about, "genuine" without
    a verified EF.SOD signature, DS chain, validity, data-group hashes and DG1 equal to the
    printed MRZ never opens a gate. A failed or skipped step has its own reason already.
    """
    step = report.step(StepName.AUTHENTICITY)
    if step is None or step.status in (CheckStatus.FAIL, CheckStatus.SKIPPED):
        return True
    if any(c.status is CheckStatus.FAIL for c in step.checks):
        return False  # a step cannot pass over a failed check of its own
    for name in GATE_MANDATORY_CHECKS:
        entries = [c for c in step.checks if c.name == name.value]
        if not entries or not all(
            mandatory_check_proven(c.status, c.reason, mode) for c in entries
        ):
            return False
    return True


def _explained(report: InspectionReport, name: StepName, depth: int = 0) -> bool:
    """A skipped step is explained when the step it waited for failed (its reason is already
    among the decision's): the officer sees the cause, not a list of consequences."""
    step = report.step(name)
    if step is None or depth > len(report.steps):
        return False
    if step.status is CheckStatus.FAIL:
        return True
    blocker = step.facts.get("blocked_by")
    if step.status is not CheckStatus.SKIPPED or not isinstance(blocker, str):
        return False
    try:
        return _explained(report, StepName(blocker), depth + 1)
    except ValueError:
        return False


def parse_policy(content: bytes) -> PolicyConfig:
    """Validate policy TOML; anything malformed is `POLICY_INVALID` (no other exception)."""
    try:
        raw = tomllib.loads(content.decode("utf-8"))
        return PolicyConfig.model_validate(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ApplianceError(Reason.POLICY_INVALID, "policy is not TOML") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ApplianceError(
            Reason.POLICY_INVALID, f"policy field {where}: {first['msg']}"
        ) from exc


def load_policy(data_dir: Path, path: Path | None = None) -> PolicyConfig:
    """The installed policy, verified against the data dir's trusted keys, or a refusal."""
    policy_path = path or data_dir / POLICY_FILE
    trusted = sc.TrustedKeys.load(data_dir / sc.KEYS_DIR)
    content = sc.read_verified(policy_path, sc.ArtefactKind.POLICY, trusted)
    policy = parse_policy(content)
    sc.VersionGuard(data_dir).accept(sc.ArtefactKind.POLICY, policy.version)
    return policy


def default_policy_toml(
    version: int = 1, *, require_biometrics: bool = True, require_iris: bool = False
) -> bytes:
    """A policy file with the defaults above, for the central system (or demo) to sign;
    `require_iris` adds the e-gate's iris step (a registered travellers' lane)."""
    import tomli_w

    policy = PolicyConfig(version=version)
    data = policy.model_dump(mode="json")
    if not require_biometrics:
        data["name"] = "no-biometrics"
        for mode in ("egate", "handheld"):
            data[mode]["required_steps"] = [
                s for s in data[mode]["required_steps"] if s != StepName.BIOMETRICS.value
            ]
    if require_iris:
        data["name"] += "+iris"
        data["egate"]["required_steps"].append(StepName.IRIS.value)
    return tomli_w.dumps(data).encode("utf-8")
