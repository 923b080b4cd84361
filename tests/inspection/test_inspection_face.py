"""The face step plugged into the workflow with the real models and real photos (tests/data):
the holder passes, an impostor holding someone else's passport is referred."""

from __future__ import annotations

from pathlib import Path

from appliance.biometrics.face.icao_token import TokenFormat
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.errors import Reason
from appliance.inspection.face_step import CameraFaceCheck
from appliance.inspection.policy import PolicyConfig, Verdict, default_policy_toml, parse_policy
from appliance.inspection.report import StepName
from appliance.inspection.workflow import CheckSession, DeviceInfo
from appliance.signed.watchlist import build_watchlist, parse_watchlist
from hardware_mocks.virtual_camera import VirtualCamera
from hardware_mocks.virtual_chip import make_profile
from tests.support.face_support import chip_reference, photo
from tests.support.face_support import verifier as verifier  # the session fixture
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
POLICY = PolicyConfig(version=1, egate=GATE_OPTIONAL)


def check(
    tmp_path: Path, model: FaceVerifier, live: str, policy: PolicyConfig = POLICY
) -> tuple[Verdict, tuple[Reason, ...]]:
    from datetime import UTC, datetime

    reference = chip_reference(model, "obama/obama.jpg", TokenFormat.JPEG)
    profile = make_profile(31, face_image=reference)
    cameras: list[VirtualCamera] = []

    def open_camera() -> VirtualCamera:
        cameras.append(VirtualCamera([photo(live)] * 3))
        return cameras[-1]

    face = CameraFaceCheck(model, open_camera, burst_frames=3)
    watchlist = parse_watchlist(build_watchlist([], 1, datetime.now(UTC)))
    with lane(tmp_path, policy, watchlist=watchlist, face=face) as ln:
        result = CheckSession(ln, DeviceInfo("gate-t", "TEST")).run(transaction(profile))
    step = result.report.step(StepName.BIOMETRICS)
    assert step is not None and step.facts["threshold"] is not None
    assert len(cameras) == 1 and cameras[0]._closed  # opened per traveller, always closed
    return result.decision.verdict, result.decision.reasons


def test_holder_passes(tmp_path: Path, verifier: FaceVerifier) -> None:
    assert check(tmp_path, verifier, "obama/obama-480p.jpg") == (Verdict.OPEN, (Reason.OK,))


def test_impostor_is_referred(tmp_path: Path, verifier: FaceVerifier) -> None:
    verdict, reasons = check(tmp_path, verifier, "person01/img1.jpg")
    assert verdict is Verdict.REFER
    assert reasons == (Reason.FACE_NO_MATCH,)


def _with_face(**face: object) -> PolicyConfig:
    return PolicyConfig.model_validate({**POLICY.model_dump(mode="json"), "face": face})


def test_the_signed_policys_threshold_decides_the_comparison(
    tmp_path: Path, verifier: FaceVerifier
) -> None:
    """An authority that calibrated on its own captures signs its threshold in the policy: the
    lane decides by it (and says so in the report), not by the model's calibrated one."""
    reference = chip_reference(verifier, "obama/obama.jpg", TokenFormat.JPEG)
    holder = verifier.verify(reference, [photo("obama/obama-480p.jpg")] * 3)
    assert holder.status == "pass" and holder.score is not None
    strict = _with_face(threshold=min(holder.score + 0.02, 1.0), calibration="test: strict")
    assert check(tmp_path / "strict", verifier, "obama/obama-480p.jpg", strict) == (
        Verdict.REFER,
        (Reason.FACE_NO_MATCH,),
    )
    lenient = _with_face(threshold=holder.score - 0.01)
    assert check(tmp_path / "lenient", verifier, "obama/obama-480p.jpg", lenient) == (
        Verdict.OPEN,
        (Reason.OK,),
    )


def test_a_signed_threshold_never_passes_a_capture_that_failed_before_comparing() -> None:
    rules = PolicyConfig.model_validate({"version": 1, "face": {"threshold": -1.0}}).face
    assert rules.passes("fail", Reason.FACE_NO_MATCH, 0.2)  # compared: the signed rule decides
    for reason in (Reason.FACE_NOT_LIVE, Reason.FACE_QUALITY, Reason.FACE_NOT_FOUND):
        assert not rules.passes("fail", reason, 0.99)
    assert not rules.passes("fail", Reason.FACE_NO_MATCH, None)
    facts = rules.facts(0.5, 0.93)
    assert (facts["threshold"], facts["threshold_from"]) == (-1.0, "policy")
    assert PolicyConfig(version=1).face.facts(0.5, 0.93)["threshold_from"] == "model"
    # the signed file: [face] in the policy's TOML; an unset threshold is left out of it
    signed = parse_policy(b'version = 2\n[face]\nthreshold = 0.94\ncalibration = "own set"\n')
    assert (signed.face.threshold, signed.face.calibration) == (0.94, "own set")
    assert b"threshold" not in default_policy_toml(3).split(b"[face]")[-1].split(b"[")[0]
