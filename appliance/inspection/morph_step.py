"""The `morph` step's logic: is the chip photo a morph of two faces?

Single-image detection (S-MAD) on DG2 always; differential detection (D-MAD) against the live
frame the face step compared, when there is one. The signed policy (`[morph]`) sets the
thresholds and whether a suspected morph refers; it refers with its scores in the report, never
refuses. `steps.morph` wraps the answer in the workflow's `Outcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from appliance.emrtd.document import ChipDocument
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import LdsError, Reason
from appliance.inspection.policy import MorphPolicy, PolicyConfig
from appliance.inspection.report import Fact


class MorphOutcome(Protocol):
    """What a morph detector returns (`appliance.biometrics.morph.detector.MorphResult`)."""

    status: str
    reason: Reason
    score: float | None
    threshold: float | None


#: the morph step's detector: DG2 image bytes, the live frame the face step compared (None:
#: single-image detection) and a threshold (None: the model's own) in, an outcome out
MorphCheck = Callable[[bytes, Any, float | None], MorphOutcome]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def morph_outcome(
    detector: MorphCheck | None, rules: MorphPolicy, document: ChipDocument | None, live: Any
) -> tuple[CheckStatus, Reason, str, dict[str, Fact]]:
    """(status, reason, detail, facts) of the morph step."""
    if detector is None:
        return CheckStatus.SKIPPED, Reason.OK, "no morph detector configured", {}
    if document is None or "DG2.bin" not in document.files:
        return CheckStatus.SKIPPED, Reason.OK, "no chip photo", {"blocked_by": "data_groups"}
    try:
        reference = document.dg2().face.data
    except (LdsError, IndexError):
        return CheckStatus.SKIPPED, Reason.OK, "no chip photo", {"blocked_by": "data_groups"}
    single = detector(reference, None, rules.single_threshold)
    facts: dict[str, Fact] = {
        "mode": "single",
        "single_score": _rounded(single.score),
        "single_threshold": _rounded(single.threshold),
    }
    decisive = [single]
    if live is not None:
        differential = detector(reference, live, rules.differential_threshold)
        facts["mode"] = "differential"
        facts["differential_score"] = _rounded(differential.score)
        facts["differential_threshold"] = _rounded(differential.threshold)
        decisive = [differential, single] if rules.single_with_live else [differential]
    suspected = any(r.reason is Reason.MORPH_SUSPECTED for r in decisive)
    faults = [r.reason for r in decisive if r.reason not in (Reason.OK, Reason.MORPH_SUSPECTED)]
    facts["suspected"] = suspected
    if not rules.may_refer:
        return CheckStatus.PASS, Reason.OK, "morph scores reported only (policy)", facts
    if suspected:
        return CheckStatus.FAIL, Reason.MORPH_SUSPECTED, "chip photo may be a morph", facts
    if faults:
        return CheckStatus.FAIL, faults[0], "morph detection could not run", facts
    return CheckStatus.PASS, Reason.OK, "no sign of a morphed chip photo", facts


OutcomeT = TypeVar("OutcomeT")


class _Lane(Protocol):
    @property
    def morph(self) -> MorphCheck | None: ...
    @property
    def policy(self) -> PolicyConfig: ...


class _Transaction(Protocol):
    @property
    def document(self) -> ChipDocument | None: ...
    @property
    def live_image(self) -> Any: ...


def step(outcome: Callable[..., OutcomeT]) -> Callable[[_Lane, _Transaction], OutcomeT]:
    """The `morph` step of `steps.STEPS`, built on the workflow's `Outcome` type (this module
    cannot import `steps`, which holds the lane and transaction and imports this module)."""

    def morph(lane: _Lane, tx: _Transaction) -> OutcomeT:
        found = morph_outcome(lane.morph, lane.policy.morph, tx.document, tx.live_image)
        return outcome(*found, attempts=0 if found[0] is CheckStatus.SKIPPED else 1)

    return morph
