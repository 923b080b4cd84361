"""The kiosk's face step: camera frames -> liveness challenge -> best frame -> 1:1 decision.

    result = capture_and_verify(camera, verifier, dg2_image, ChallengeSession(), show)

The camera arrives through `appliance.ports.Camera` (a V4L2 driver or the virtual camera);
`show` receives each instruction for the traveller ("look at the camera", "slowly turn your
head to your left"). Frames seen while the traveller faces the camera are kept (the newest
`burst_frames`) and the verifier compares the best of them. A camera that fails gives
`CAMERA_UNAVAILABLE`; a liveness challenge not met gives `FACE_NOT_LIVE`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.liveness import ChallengeSession
from appliance.biometrics.face.quality import estimate_pose
from appliance.biometrics.face.verifier import FaceResult, FaceVerifier
from appliance.errors import Reason
from appliance.ports import Camera, CameraError

FRONTAL_DEG = 10.0


def capture_and_verify(
    camera: Camera,
    verifier: FaceVerifier,
    reference: bytes,
    challenge: ChallengeSession | None = None,
    show: Callable[[str], None] | None = None,
    burst_frames: int = 5,
    max_frames: int = 300,
    on_frame: Callable[[NDArray[np.uint8], list[DetectedFace]], None] | None = None,
) -> FaceResult:
    """Run the face step on a camera; `challenge=None` skips liveness (attended handheld use);
    `on_frame` sees each frame with the faces found in it (the kiosk's live preview)."""
    kept: deque[NDArray[np.uint8]] = deque(maxlen=burst_frames)
    shown = ""
    seen = 0
    last_t = 0.0
    if challenge is not None and show is not None:
        shown = challenge.instruction()
        show(shown)
    try:
        for frame in camera.frames():
            image = np.asarray(frame.image, dtype=np.uint8)
            last_t = frame.timestamp_s
            faces = verifier.detector.detect(image)
            if on_frame is not None:
                on_frame(image, faces)
            if len(faces) == 1 and abs(estimate_pose(faces[0]).yaw_deg) <= FRONTAL_DEG:
                kept.append(image)
            if challenge is not None:
                challenge.observe(frame.timestamp_s, faces)
                instruction = challenge.instruction()
                if show is not None and instruction and instruction != shown:
                    show(instruction)
                    shown = instruction
            seen += 1
            finished = challenge.done if challenge is not None else len(kept) == burst_frames
            if finished or seen >= max_frames:
                break
    except CameraError:
        return FaceResult(
            status="fail",
            reason=Reason.CAMERA_UNAVAILABLE,
            score=None,
            threshold=verifier.threshold,
            operating_point=verifier.operating_point,
            subject="live",
        )
    liveness = None
    if challenge is not None:
        challenge.expire(last_t + challenge.step_timeout_s + 1.0)  # frames ran out: time is up
        liveness = challenge.result()
    return verifier.verify(reference, list(kept), liveness=liveness)
