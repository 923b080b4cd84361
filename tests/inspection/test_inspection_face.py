"""The face step plugged into the workflow with the real models and real photos (tests/data):
the holder passes, an impostor holding someone else's passport is referred."""

from __future__ import annotations

from pathlib import Path

from appliance.biometrics.face.icao_token import TokenFormat
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.errors import Reason
from appliance.inspection.face_step import CameraFaceCheck
from appliance.inspection.policy import PolicyConfig, Verdict
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


def check(tmp_path: Path, model: FaceVerifier, live: str) -> tuple[Verdict, tuple[Reason, ...]]:
    from datetime import UTC, datetime

    reference = chip_reference(model, "obama/obama.jpg", TokenFormat.JPEG)
    profile = make_profile(31, face_image=reference)
    cameras: list[VirtualCamera] = []

    def open_camera() -> VirtualCamera:
        cameras.append(VirtualCamera([photo(live)] * 3))
        return cameras[-1]

    face = CameraFaceCheck(model, open_camera, burst_frames=3)
    watchlist = parse_watchlist(build_watchlist([], 1, datetime.now(UTC)))
    with lane(tmp_path, POLICY, watchlist=watchlist, face=face) as ln:
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
