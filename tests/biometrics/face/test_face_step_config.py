"""The product's face step is built from the operator's `[face]` settings, not from defaults:
liveness steps and step time limit, operating point, burst size and camera all take effect."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from appliance.biometrics.face.compare import OperatingPoint, threshold_for
from appliance.biometrics.face.liveness import Challenge, ChallengeSession
from appliance.config import Config
from appliance.errors import ApplianceError, Reason
from appliance.inspection.face_step import CameraFaceCheck, from_config
from appliance.inspection.lane import face_check
from appliance.ports import CameraError, Frame
from hardware_mocks.virtual_camera import VirtualCamera
from tests.biometrics.face.test_face_liveness import head_face, perform
from tests.support.face_support import chip_reference, photo

FAKE_CAMERA = "tests.biometrics.face.test_face_step_config:fake_camera"
MISSING_DEVICE = "/dev/video-unplugged"


class RecordingCamera:
    """The holder facing the camera, looped; counts the frames the face step took."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.frames_read = 0
        self.closed = False
        self._camera = VirtualCamera([photo("person04/img53.jpg")], fps=15.0, loop=True)

    def frames(self) -> Iterator[Frame]:
        for frame in self._camera.frames():
            self.frames_read += 1
            yield frame

    def close(self) -> None:
        self.closed = True
        self._camera.close()


OPENED: list[RecordingCamera] = []


def fake_camera(device: str) -> RecordingCamera:
    """Stands in for `drivers.camera:open_camera` (`hardware.camera`)."""
    if device == MISSING_DEVICE:
        raise CameraError("camera not found")
    OPENED.append(RecordingCamera(device))
    return OPENED[-1]


@pytest.fixture(autouse=True)
def _no_cameras_yet() -> None:
    OPENED.clear()


def configured(mode: str = "egate", camera: str = "/dev/video7", **face: object) -> Config:
    return Config.model_validate(
        {
            "device": {"mode": mode},
            "hardware": {"camera": FAKE_CAMERA},
            "face": {"camera": camera, **face},
            "inspection": {"face_verifier": "appliance.inspection.face_step:from_config"},
        }
    )


@pytest.fixture(scope="module")
def gate_check() -> CameraFaceCheck:
    """An unattended gate's face step; models load here, once for the module (onnxruntime
    sessions are cached per process, so the other checks built below reuse them)."""
    config = configured(
        liveness_steps=3,
        liveness_step_timeout_s=2.0,
        operating_point="fmr_0.0005",
        burst_frames=3,
    )
    check = face_check(config)  # the lane's own path: inspection.face_verifier
    assert isinstance(check, CameraFaceCheck)
    return check


@pytest.fixture(scope="module")
def reference(gate_check: CameraFaceCheck) -> bytes:
    return chip_reference(gate_check.verifier, "person04/img3.jpg")


def new_session(check: CameraFaceCheck) -> ChallengeSession:
    assert check.challenge is not None, "an e-gate must run the liveness challenge"
    return check.challenge()


@pytest.mark.parametrize("steps", [1, 3])
def test_liveness_steps_reach_the_challenge(gate_check: CameraFaceCheck, steps: int) -> None:
    session = new_session(from_config(configured(liveness_steps=steps)))
    assert len(session.challenges) == steps
    perform(session)  # a cooperative traveller: every asked turn counts, and no more are asked
    assert session.result().live and session.result().completed == steps


def test_step_time_limit_reaches_the_challenge(gate_check: CameraFaceCheck) -> None:
    default = new_session(from_config(configured(liveness_steps=3)))  # 4 s per step
    short = new_session(gate_check)  # 2 s per step
    for session in (default, short):
        slow_first_turn(session)
    assert default.result().completed == 1
    assert short.result().completed == 0
    short.expire(60.0)
    assert short.result().outcome == "timeout"


def slow_first_turn(session: ChallengeSession, fps: float = 15.0) -> None:
    """Faces the camera for a second, then turns the asked way slowly: 20 degrees over 3 s,
    so the 15-degree turn counts after about 2.3 s."""
    sign = 1.0 if session.challenges[0] is Challenge.TURN_LEFT else -1.0
    yaws = [0.0] * int(fps) + list(sign * np.linspace(0.0, 20.0, int(3 * fps)))
    for i, yaw in enumerate(yaws):
        session.observe(i / fps, [head_face(float(yaw))])


def test_unattended_capture_runs_the_configured_challenge(
    gate_check: CameraFaceCheck, reference: bytes
) -> None:
    result = gate_check(reference)  # the holder faces the camera but never turns
    assert result.reason is Reason.FACE_NOT_LIVE
    assert result.liveness is not None and len(result.liveness["challenges"]) == 3  # type: ignore[arg-type]
    assert result.liveness["outcome"] == "timeout"
    (camera,) = OPENED
    assert camera.device == "/dev/video7" and camera.closed
    # settled and given up after the 2 s limit at 15 fps: the 4 s default would read ~60 frames
    assert camera.frames_read < 45


def test_operating_point_reaches_the_verifier(gate_check: CameraFaceCheck) -> None:
    assert gate_check.verifier.operating_point == "fmr_0.0005"
    assert gate_check.verifier.threshold == threshold_for(OperatingPoint.FMR_0_05_PERCENT)
    default = from_config(configured())
    assert default.verifier.threshold == threshold_for(OperatingPoint.FMR_0_1_PERCENT)
    assert default.verifier.threshold != gate_check.verifier.threshold


def test_handheld_capture_takes_the_configured_burst(reference: bytes) -> None:
    check = from_config(configured(mode="handheld", burst_frames=3))
    assert check.challenge is None  # attended: the officer sees the traveller
    result = check(reference)
    assert result.reason is Reason.OK, result.as_dict()
    assert result.liveness is None
    (camera,) = OPENED
    assert camera.frames_read == 3 and camera.closed  # the default burst would read 5


def test_virtual_camera_is_refused() -> None:
    with pytest.raises(ApplianceError) as refused:
        from_config(configured(camera="virtual"))
    assert refused.value.reason is Reason.CAMERA_UNAVAILABLE
    assert "camera" in refused.value.detail
    assert not OPENED


def test_default_config_names_the_v4l2_driver() -> None:
    assert Config().hardware.camera == "drivers.camera:open_camera"
    with pytest.raises(ApplianceError) as refused:
        from_config(Config())  # face.camera defaults to "virtual"
    assert refused.value.reason is Reason.CAMERA_UNAVAILABLE


def test_unplugged_camera_fails_the_step_with_its_reason(reference: bytes) -> None:
    check = from_config(configured(camera=MISSING_DEVICE))
    result = check(reference)
    assert result.status == "fail" and result.reason is Reason.CAMERA_UNAVAILABLE


def test_camera_factory_returning_something_else_is_a_usage_error(reference: bytes) -> None:
    config = configured().model_copy(deep=True)
    config.hardware.camera = "os.path:join"  # returns a str, not a camera
    check = from_config(config)
    with pytest.raises(ApplianceError) as refused:
        check(reference)
    assert refused.value.reason is Reason.USAGE
