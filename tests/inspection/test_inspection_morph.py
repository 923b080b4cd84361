"""The `morph` step in the workflow: a suspected morph refers with its score in the report,
never opens the gate; thresholds and whether it may refer come from the signed policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from appliance.errors import Reason
from appliance.inspection.policy import (
    MorphPolicy,
    PolicyConfig,
    Verdict,
    default_policy_toml,
    parse_policy,
)
from appliance.inspection.report import StepName
from appliance.inspection.workflow import CheckResult, CheckSession, DeviceInfo
from appliance.signed.watchlist import build_watchlist, parse_watchlist
from hardware_mocks.virtual_chip import make_profile
from tests.support.inspection_support import lane, transaction

GATE_OPTIONAL = PolicyConfig(version=1).egate.model_copy(
    update={
        "required_steps": tuple(
            n
            for n in PolicyConfig(version=1).egate.required_steps
            if n is not StepName.GATE_SENSORS
        )
    }
)
LIVE = np.zeros((8, 8, 3), np.uint8)


@dataclass
class FaceResult:
    status: str = "pass"
    reason: Reason = Reason.OK
    score: float | None = 0.97
    threshold: float = 0.93
    live_image: Any = field(default_factory=lambda: LIVE)


@dataclass
class MorphResult:
    status: str
    reason: Reason
    score: float | None
    threshold: float | None


class FakeMorph:
    """Scores by mode; records what the step asked."""

    def __init__(self, single: float = 0.1, differential: float = 0.1, fault: Reason | None = None):
        self.scores = {"single": single, "differential": differential}
        self.fault = fault
        self.calls: list[tuple[str, float | None]] = []

    def __call__(self, reference: bytes, live: Any, threshold: float | None) -> MorphResult:
        mode = "single" if live is None else "differential"
        self.calls.append((mode, threshold))
        limit = 0.5 if threshold is None else threshold
        if self.fault is not None:
            return MorphResult("fail", self.fault, None, limit)
        score = self.scores[mode]
        reason = Reason.MORPH_SUSPECTED if score >= limit else Reason.OK
        return MorphResult("fail" if score >= limit else "pass", reason, score, limit)


def run(
    tmp_path: Path, morph: FakeMorph | None, rules: MorphPolicy | None = None, face: bool = True
) -> CheckResult:
    policy = PolicyConfig(version=1, egate=GATE_OPTIONAL, morph=rules or MorphPolicy())
    if not face:
        policy = policy.model_copy(
            update={
                "egate": GATE_OPTIONAL.model_copy(
                    update={
                        "required_steps": tuple(
                            n for n in GATE_OPTIONAL.required_steps if n is not StepName.BIOMETRICS
                        )
                    }
                )
            }
        )
    watchlist = parse_watchlist(build_watchlist([], 1, datetime.now(UTC)))
    faces = (lambda reference: FaceResult()) if face else None
    with lane(tmp_path, policy, watchlist=watchlist, face=faces, morph=morph) as ln:
        return CheckSession(ln, DeviceInfo("gate-t", "TEST")).run(transaction(make_profile(41)))


def test_suspected_morph_refers_with_the_score_in_the_report(tmp_path: Path) -> None:
    result = run(tmp_path, FakeMorph(differential=0.9))
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons == (Reason.MORPH_SUSPECTED,)
    assert any("morph" in line for line in result.decision.officer)
    step = result.report.step(StepName.MORPH)
    assert step is not None and step.reason is Reason.MORPH_SUSPECTED
    assert step.facts["mode"] == "differential"
    assert step.facts["differential_score"] == 0.9
    assert step.facts["single_score"] == 0.1


def test_bona_fide_chip_photo_opens(tmp_path: Path) -> None:
    morph = FakeMorph()
    result = run(tmp_path, morph)
    assert result.decision.verdict is Verdict.OPEN
    step = result.report.step(StepName.MORPH)
    assert step is not None and step.reason is Reason.OK and step.facts["suspected"] is False
    # S-MAD on the chip photo, then D-MAD against the very frame the face step compared
    assert [mode for mode, _ in morph.calls] == ["single", "differential"]


def test_thresholds_come_from_the_signed_policy(tmp_path: Path) -> None:
    morph = FakeMorph(single=0.3, differential=0.3)
    rules = MorphPolicy(single_threshold=0.9, differential_threshold=0.2)
    result = run(tmp_path, morph, rules)
    assert morph.calls == [("single", 0.9), ("differential", 0.2)]
    assert result.decision.reasons == (Reason.MORPH_SUSPECTED,)


def test_policy_may_report_without_referring(tmp_path: Path) -> None:
    result = run(tmp_path, FakeMorph(differential=0.9), MorphPolicy(may_refer=False))
    assert result.decision.verdict is Verdict.OPEN
    step = result.report.step(StepName.MORPH)
    assert step is not None and step.facts["suspected"] is True


def test_single_image_score_decides_without_a_live_capture(tmp_path: Path) -> None:
    result = run(tmp_path, FakeMorph(single=0.8), face=False)
    assert result.decision.reasons == (Reason.MORPH_SUSPECTED,)
    step = result.report.step(StepName.MORPH)
    assert step is not None and step.facts["mode"] == "single"


def test_single_score_ignored_with_live_unless_the_policy_says(tmp_path: Path) -> None:
    assert run(tmp_path, FakeMorph(single=0.8)).decision.verdict is Verdict.OPEN
    (tmp_path / "b").mkdir()
    strict = run(tmp_path / "b", FakeMorph(single=0.8), MorphPolicy(single_with_live=True))
    assert strict.decision.reasons == (Reason.MORPH_SUSPECTED,)


def test_a_detector_that_cannot_read_the_photo_refers(tmp_path: Path) -> None:
    result = run(tmp_path, FakeMorph(fault=Reason.FACE_NOT_FOUND))
    assert result.decision.verdict is Verdict.REFER
    assert Reason.FACE_NOT_FOUND in result.decision.reasons


def test_lane_without_a_morph_detector_skips_the_step(tmp_path: Path) -> None:
    result = run(tmp_path, None)
    assert result.decision.verdict is Verdict.OPEN
    step = result.report.step(StepName.MORPH)
    assert step is not None and step.status.value == "skipped"


def test_default_policy_file_carries_the_morph_rules() -> None:
    policy = parse_policy(default_policy_toml())
    assert policy.morph == MorphPolicy()
    signed = parse_policy(
        b"version = 2\n[morph]\nmay_refer = false\ndifferential_threshold = 0.4\n"
    )
    assert signed.morph.may_refer is False and signed.morph.differential_threshold == 0.4


# -- with the real models and real photos (tests/data/faces) ---------------------------------------


def _real_check(tmp_path: Path, chip: bytes, live: str) -> CheckResult:
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.biometrics.morph.detector import from_config
    from appliance.inspection.face_step import CameraFaceCheck
    from hardware_mocks.virtual_camera import VirtualCamera
    from tests.support.face_support import photo

    face = CameraFaceCheck(
        FaceVerifier.load(), lambda: VirtualCamera([photo(live)] * 2), burst_frames=2
    )
    policy = PolicyConfig(version=1, egate=GATE_OPTIONAL)
    watchlist = parse_watchlist(build_watchlist([], 1, datetime.now(UTC)))
    profile = make_profile(43, face_image=chip)
    with lane(tmp_path, policy, watchlist=watchlist, face=face, morph=from_config(None)) as ln:
        return CheckSession(ln, DeviceInfo("gate-t", "TEST")).run(transaction(profile))


def test_real_morph_of_holder_and_accomplice_is_referred(tmp_path: Path) -> None:
    from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size
    from hardware_mocks.morphing import MorphGenerator, Variant
    from tests.support.face_support import photo

    generator = MorphGenerator.load()
    holder = generator.contributor(photo("person02/img26.jpg"))
    accomplice = generator.contributor(photo("person04/img3.jpg"))
    genuine = _real_check(
        tmp_path, encode_to_size(holder.token, TokenFormat.JPEG), "person02/img27.jpg"
    )
    assert genuine.decision.verdict is Verdict.OPEN, genuine.decision.reasons
    for variant in Variant:
        morph = generator.morph(holder, accomplice, 0.5, variant)
        (tmp_path / variant.value).mkdir()
        result = _real_check(
            tmp_path / variant.value, encode_to_size(morph, TokenFormat.JPEG), "person02/img27.jpg"
        )
        assert result.decision.verdict is Verdict.REFER
        assert Reason.MORPH_SUSPECTED in result.decision.reasons, (variant, result.decision)
        step = result.report.step(StepName.MORPH)
        assert step is not None and step.facts["mode"] == "differential"
        assert float(step.facts["differential_score"]) >= float(
            step.facts["differential_threshold"]
        )  # type: ignore[arg-type]
