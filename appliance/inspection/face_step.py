"""The biometrics step of a kiosk or e-gate: live capture on the `Camera` port, 1:1 against the
chip photo (DG2), with the head-turn liveness challenge where the lane is unattended.

    lane.face = CameraFaceCheck(FaceVerifier.load(), open_camera, challenge=ChallengeSession)

The verifier (models) is loaded once per lane; a camera is opened per traveller and always
closed. The result is the verifier's `FaceResult`, which the workflow reads through the
`steps.FaceOutcome` protocol (status, reason, score, threshold).
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.biometrics.face.capture import capture_and_verify
from appliance.biometrics.face.liveness import ChallengeSession
from appliance.biometrics.face.verifier import FaceResult, FaceVerifier
from appliance.ports import Camera


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

    def __call__(self, reference: bytes) -> FaceResult:
        camera = self.open_camera()
        try:
            return capture_and_verify(
                camera,
                self.verifier,
                reference,
                self.challenge() if self.challenge is not None else None,
                self.show,
                burst_frames=self.burst_frames,
            )
        finally:
            camera.close()
