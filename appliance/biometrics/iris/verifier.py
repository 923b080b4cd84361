"""1:1 iris verification at the lane: a live NIR capture against the chip's DG4 images.

The iris camera is a `Camera` port whose frames are grayscale NIR eye images (a real one
through its driver, a simulated one from `hardware_mocks/virtual_iris_camera.py`; grey
delivered as BGR, as V4L2 gives an NIR sensor's frames to OpenCV, is taken as grey). Up to
`frames` frames are tried until one passes the quality gate, so a blink costs a frame, not the
traveller's passage; then the best (lowest) normalised Hamming distance against the chip's
images decides at the configured threshold. Every way it can fail has its reason: no camera
(`CAMERA_UNAVAILABLE`), no eye (`IRIS_NOT_FOUND`), a poor capture (`IRIS_QUALITY`), a
reference the pipeline cannot use (`IRIS_REFERENCE_MISSING`), another eye (`IRIS_NO_MATCH`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from appliance.biometrics.iris.image import to_gray
from appliance.biometrics.iris.match import MAX_SHIFT, compare
from appliance.biometrics.iris.pipeline import EncodedEye, encode_eye
from appliance.biometrics.iris.segment import Gray
from appliance.errors import ApplianceError, Reason
from appliance.ports import Camera, CameraError


@dataclass(frozen=True)
class IrisResult:
    """What the iris step reads (`inspection.iris_step.IrisOutcome`)."""

    status: str
    reason: Reason
    score: float | None
    threshold: float
    detail: str = ""


def _gray(image: Any) -> Gray:
    """The frame as 8-bit grayscale: an NIR camera behind V4L2 delivers grey as BGR."""
    return to_gray(np.asarray(image))


class IrisVerifier:
    """An `IrisCheck`: the chip's eye images in, the decision on a live capture out."""

    def __init__(
        self,
        open_camera: Callable[[], Camera],
        *,
        threshold: float = 0.32,
        max_shift: int = MAX_SHIFT,
        frames: int = 3,
    ) -> None:
        self.open_camera = open_camera
        self.threshold = threshold
        self.max_shift = max_shift
        self.frames = frames

    def _result(self, reason: Reason, detail: str, score: float | None = None) -> IrisResult:
        status = "pass" if reason is Reason.OK else "fail"
        return IrisResult(status, reason, score, self.threshold, detail)

    def _live(self) -> EncodedEye:
        """The first frame that passes the quality gate; the last problem when none does."""
        try:
            camera = self.open_camera()
        except CameraError as exc:
            raise ApplianceError(Reason.CAMERA_UNAVAILABLE, "no iris camera") from exc
        problem = ApplianceError(Reason.IRIS_NOT_FOUND, "no frame from the iris camera")
        try:
            for count, frame in enumerate(camera.frames(), start=1):
                try:
                    eye = encode_eye(_gray(frame.image))
                except ApplianceError as exc:
                    problem = exc
                else:
                    if eye.quality.ok:
                        return eye
                    failed = ", ".join(eye.quality.failed)
                    problem = ApplianceError(Reason.IRIS_QUALITY, f"{failed} out of limits")
                if count >= self.frames:
                    break
        except CameraError as exc:
            raise ApplianceError(Reason.CAMERA_UNAVAILABLE, "the iris camera stopped") from exc
        finally:
            camera.close()
        raise problem

    def __call__(self, references: Sequence[Gray]) -> IrisResult:
        encoded = []
        for image in references:
            try:
                encoded.append(encode_eye(image))
            except ApplianceError:
                continue  # an unusable chip image: the others may still serve
        if not encoded:
            return self._result(Reason.IRIS_REFERENCE_MISSING, "no usable iris on the chip")
        try:
            live = self._live()
        except ApplianceError as exc:
            return self._result(exc.reason, exc.detail)
        score = min(compare(live.template, ref.template, self.max_shift).hd_norm for ref in encoded)
        if score <= self.threshold:
            return self._result(Reason.OK, "iris matches the chip", score)
        return self._result(Reason.IRIS_NO_MATCH, "iris differs from the chip's", score)


__all__ = ["IrisResult", "IrisVerifier"]
