"""The iris step: the live near-infrared eye against DG4, which the chip released to Terminal
Authentication.

Run only when the policy requires it (`iris` in the mode's `required_steps`: registered
travellers' lanes, say); otherwise skipped. Required, it fails closed: no DG4 read (no EAC
credentials, TA refused, no right to DG4, a chip without DG4), a DG4 that does not parse, no
iris camera, a poor capture or another eye each refer with their own reason. DG4's integrity is
Passive Authentication's (its hash in EF.SOD, the authenticity step).

The lane holds an `IrisCheck` (`appliance.biometrics.iris.verifier.IrisVerifier` over the iris
camera); `from_config` builds it when ``inspection.iris_verifier`` names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from appliance.config import Config
from appliance.emrtd.document import ChipDocument
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import LdsError, Reason
from appliance.inspection.report import Fact
from appliance.ports import Camera
from appliance.wiring import load_factory

DG4 = "DG4.bin"


class IrisOutcome(Protocol):
    """What an iris verifier returns (`IrisResult`)."""

    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def score(self) -> float | None: ...
    @property
    def threshold(self) -> float: ...


#: the chip's eye images (8-bit grayscale arrays) in, the 1:1 decision on a live capture out
IrisCheck = Callable[[Sequence[Any]], IrisOutcome]


@dataclass(frozen=True)
class IrisJudgement:
    status: CheckStatus
    reason: Reason
    detail: str
    facts: dict[str, Fact] = field(default_factory=dict)


def _fail(reason: Reason, detail: str, **facts: Fact) -> IrisJudgement:
    return IrisJudgement(CheckStatus.FAIL, reason, detail, dict(facts))


def judge(check: IrisCheck | None, required: bool, document: ChipDocument | None) -> IrisJudgement:
    """The iris step's outcome (the `steps.iris` wrapper makes it an `Outcome`)."""
    if not required:
        return IrisJudgement(CheckStatus.SKIPPED, Reason.OK, "not required by the policy")
    if document is None:
        return IrisJudgement(
            CheckStatus.SKIPPED, Reason.OK, "chip not read", {"blocked_by": "chip_access"}
        )
    eac = document.eac
    facts: dict[str, Fact] = {"terminal_authentication": eac.status.value if eac else None}
    if DG4 not in document.files:
        if eac is not None and eac.status is CheckStatus.FAIL:
            return _fail(eac.reason, f"DG4 not released: {eac.detail}", **facts)
        why = document.unavailable.get(DG4) or (
            "no EAC credentials configured" if eac is None else "not on the chip"
        )
        return _fail(Reason.IRIS_REFERENCE_MISSING, f"DG4 not read ({why})", **facts)
    try:
        references = [eye.pixels() for eye in dg4.parse(document.files[DG4]).eyes]
    except LdsError as exc:
        return _fail(exc.reason, f"DG4: {exc.detail}", **facts)
    if check is None:
        return _fail(Reason.CAMERA_UNAVAILABLE, "no iris camera at this lane", **facts)
    result = check(references)
    facts["score"] = None if result.score is None else round(result.score, 4)
    facts["threshold"] = round(result.threshold, 4)
    facts["references"] = len(references)
    if result.status == "pass" and result.reason is Reason.OK:
        return IrisJudgement(CheckStatus.PASS, Reason.OK, "iris matches the chip's DG4", facts)
    reason = result.reason if result.reason is not Reason.OK else Reason.IRIS_NO_MATCH
    return _fail(reason, "iris not verified", **facts)


def from_config(config: Config) -> IrisCheck:
    """The lane's iris check from `[iris]` (threshold, rotation search) and the iris camera
    factory `hardware.iris_camera` (``module:callable``, called once per traveller)."""
    from appliance.biometrics.iris.verifier import IrisVerifier  # numpy/OpenCV only when used

    open_device = load_factory(config.iris.camera)

    def open_camera() -> Camera:
        return cast(Camera, open_device())

    return IrisVerifier(
        open_camera, threshold=config.iris.threshold, max_shift=config.iris.max_shift
    )


__all__ = ["IrisCheck", "IrisJudgement", "IrisOutcome", "from_config", "judge"]
