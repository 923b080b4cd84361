"""The kiosk's live camera preview: the face step's own frames, with the face box and the
quality gate's instruction, for the traveller to see while the lane captures.

    preview = FramePreview()
    preview.publish(image_bgr, faces)          # the face step, for each frame it grabs
    frame = preview.wait_next(after, 1.0)      # the MJPEG stream (another thread)
    frame.jpeg()                               # the box drawn in, encoded once per frame

The camera belongs to the face step (one reader of a V4L2 device); the preview only sees what
the step already grabbed and detected, so it costs the lane a reference per frame and never a
second capture. Encoding happens in the reader's thread, on demand. The instruction uses the
live quality gate's own limits (`quality.LIVE_POLICY`) on what needs no aligned chip: one
face, eye distance, the face in the frame, yaw, light on the face. Nothing is kept after the
face step ends (`clear`): the preview never holds a traveller's picture longer than that.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.quality import LIVE_POLICY, estimate_pose

#: the preview's width: enough for a kiosk screen, cheap to encode
PREVIEW_WIDTH = 640
JPEG_QUALITY = 70


def instruction(image: NDArray[np.uint8], faces: list[DetectedFace]) -> str:
    """The quality gate's instruction for this frame, as a catalogue code (`quality.<code>`)."""
    if not faces:
        return "no_face"
    if len(faces) > 1:
        return "one_person"
    face = faces[0]
    h, w = image.shape[:2]
    x0, y0, x1, y1 = face.box
    margin = 0.05 * face.width
    if x0 < -margin or y0 < -margin or x1 > w + margin or y1 > h + margin:
        return "step_back"
    if face.inter_eye_px < LIVE_POLICY.min_inter_eye_px:
        return "step_closer"
    if abs(estimate_pose(face).yaw_deg) > LIVE_POLICY.max_yaw_deg:
        return "look_straight"
    box = image[max(int(y0), 0) : max(int(y1), 0), max(int(x0), 0) : max(int(x1), 0)]
    if (
        box.size
        and float(cv2.cvtColor(box, cv2.COLOR_BGR2GRAY).mean()) < (LIVE_POLICY.luminance_range[0])
    ):
        return "more_light"
    return "ok"


@dataclass
class PreviewFrame:
    seq: int
    #: when the face step handed the frame over (time.time(), for the end-to-end delay)
    time_s: float
    image: NDArray[np.uint8] = field(repr=False)
    boxes: list[tuple[float, float, float, float]]
    instruction: str
    _jpeg: bytes | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def jpeg(self) -> bytes:
        """The frame scaled to the preview's width, the face box drawn in, as JPEG."""
        with self._lock:
            if self._jpeg is None:
                self._jpeg = _encode(self.image, self.boxes, self.instruction == "ok")
            return self._jpeg


def _encode(
    image: NDArray[np.uint8], boxes: list[tuple[float, float, float, float]], good: bool
) -> bytes:
    h, w = image.shape[:2]
    scale = min(1.0, PREVIEW_WIDTH / max(w, 1))
    out = cv2.resize(image, (round(w * scale), round(h * scale))) if scale < 1 else image.copy()
    colour = (60, 180, 0) if good else (0, 170, 255)  # BGR: green when the gate is happy
    thickness = max(2, round(out.shape[1] / 160))
    for x0, y0, x1, y1 in boxes:
        p0 = (round(x0 * scale), round(y0 * scale))
        p1 = (round(x1 * scale), round(y1 * scale))
        cv2.rectangle(out, p0, p1, colour, thickness)
    ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


class FramePreview:
    """The newest frame of the face step, for any number of readers (thread-safe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: PreviewFrame | None = None
        self._seq = 0

    def publish(self, image: NDArray[np.uint8], faces: list[DetectedFace]) -> None:
        frame = PreviewFrame(
            seq=0,
            time_s=time.time(),
            image=image,
            boxes=[tuple(f.box) for f in faces],  # type: ignore[misc]
            instruction=instruction(image, faces),
        )
        with self._cond:
            self._seq += 1
            frame.seq = self._seq
            self._frame = frame
            self._cond.notify_all()

    def clear(self) -> None:
        """The face step is over: drop the last picture."""
        with self._cond:
            self._frame = None

    def latest(self) -> PreviewFrame | None:
        with self._cond:
            return self._frame

    def wait_next(self, after: int, timeout_s: float) -> PreviewFrame | None:
        """The newest frame after sequence number `after`, waiting up to `timeout_s`."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._frame is not None and self._frame.seq > after, timeout_s
            )
            frame = self._frame
            return frame if frame is not None and frame.seq > after else None
