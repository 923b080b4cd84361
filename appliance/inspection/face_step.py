"""The biometrics step of a kiosk or e-gate: live capture on the `Camera` port, 1:1 against the
chip photo (DG2), with the head-turn liveness challenge where the lane is unattended.

    lane.face = CameraFaceCheck(FaceVerifier.load(), open_camera, challenge=ChallengeSession)

The product builds it from the configuration with `from_config`, enabled by
``inspection.face_verifier = "appliance.inspection.face_step:from_config"``.

The verifier (models) is loaded once per lane; a camera is opened per traveller and always
closed. The result is the verifier's `FaceResult`, which the workflow reads through the
`steps.FaceOutcome` protocol (status, reason, score, threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.capture import capture_and_verify
from appliance.biometrics.face.compare import OperatingPoint
from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.liveness import ChallengeSession
from appliance.biometrics.face.verifier import FaceResult, FaceVerifier
from appliance.config import Config
from appliance.errors import ApplianceError, Reason
from appliance.ports import Camera, CameraError
from appliance.wiring import load_factory

#: `face.camera` value of the simulated camera: the demo and tests supply its frames; the
#: product has no frame source behind it
VIRTUAL_CAMERA = "virtual"


class CameraFaceCheck:
    """A `steps.FaceCheck`: DG2 image bytes in, the 1:1 decision of a live capture out."""

    def __init__(
        self,
        verifier: FaceVerifier,
        open_camera: Callable[[], Camera],
        *,
        challenge: Callable[[], ChallengeSession] | None = None,
        show: Callable[[str], None] | None = None,
        burst_frames: int = 5,
    ) -> None:
        self.verifier = verifier
        self.open_camera = open_camera
        #: None: no liveness challenge (attended handheld use only)
        self.challenge = challenge
        self.show = show
        self.burst_frames = burst_frames
        #: each frame and its faces, as the step sees them (the kiosk's preview); None: nobody
        self.on_frame: Callable[[NDArray[np.uint8], list[DetectedFace]], None] | None = None

    def __call__(self, reference: bytes) -> FaceResult:
        try:
            camera = self.open_camera()
        except CameraError:  # unplugged or busy: this traveller's face step fails, stated
            return FaceResult(
                status="fail",
                reason=Reason.CAMERA_UNAVAILABLE,
                score=None,
                threshold=self.verifier.threshold,
                operating_point=self.verifier.operating_point,
                subject="live",
            )
        try:
            return capture_and_verify(
                camera,
                self.verifier,
                reference,
                self.challenge() if self.challenge is not None else None,
                self.show,
                burst_frames=self.burst_frames,
                on_frame=self.on_frame,
            )
        finally:
            camera.close()


def from_config(config: Config) -> CameraFaceCheck:
    """The product's face step (`inspection.face_verifier`) from `[face]` and `[hardware]`.

    Liveness is on unless the device is a handheld, where the officer holding it sees the
    traveller (the policy's handheld mode only advises); an e-gate is unattended. Refuses
    ``face.camera = "virtual"`` (`CAMERA_UNAVAILABLE`): a lane with no real camera must not
    look as if it checked faces. Models load here, once per lane; the camera opens per traveller.
    """
    face = config.face
    if face.camera == VIRTUAL_CAMERA:
        raise ApplianceError(
            Reason.CAMERA_UNAVAILABLE,
            'face.camera is "virtual", which has no frame source in the product: configure a '
            'V4L2 camera (an index such as "0" or a path such as "/dev/video0")',
        )
    open_device = load_factory(config.hardware.camera)

    def open_camera() -> Camera:
        camera = open_device(face.camera)
        if not (
            callable(getattr(camera, "frames", None)) and callable(getattr(camera, "close", None))
        ):
            raise ApplianceError(Reason.USAGE, "configured camera factory did not return a camera")
        return cast(Camera, camera)

    def challenge() -> ChallengeSession:
        return ChallengeSession(
            steps=face.liveness_steps, step_timeout_s=face.liveness_step_timeout_s
        )

    attended = config.device.mode == "handheld"
    return CameraFaceCheck(
        FaceVerifier.load(OperatingPoint(face.operating_point)),
        open_camera,
        challenge=None if attended else challenge,
        burst_frames=face.burst_frames,
    )
