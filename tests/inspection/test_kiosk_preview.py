"""The kiosk's live preview (appliance/inspection/preview.py): the face step's frames with the
face box drawn in, the quality gate's instruction, and nothing kept after the step."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from appliance.biometrics.face.detect import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, DetectedFace
from appliance.inspection.preview import FramePreview, instruction


def face(x0: float, y0: float, size: float, yaw_shift: float = 0.0) -> DetectedFace:
    kp = np.zeros((6, 2))
    kp[RIGHT_EYE] = (x0 + 0.3 * size, y0 + 0.4 * size)
    kp[LEFT_EYE] = (x0 + 0.7 * size, y0 + 0.4 * size)
    kp[NOSE] = (x0 + (0.5 + yaw_shift) * size, y0 + 0.6 * size)
    kp[MOUTH] = (x0 + 0.5 * size, y0 + 0.78 * size)
    return DetectedFace(box=(x0, y0, x0 + size, y0 + size), keypoints=kp, score=0.9)


def image(level: int = 140) -> np.ndarray:
    return np.full((480, 640, 3), level, np.uint8)


def test_the_instruction_is_the_quality_gates() -> None:
    assert instruction(image(), []) == "no_face"
    assert instruction(image(), [face(100, 100, 200), face(400, 100, 200)]) == "one_person"
    assert instruction(image(), [face(300, 200, 60)]) == "step_closer"  # eyes 24 px apart
    assert instruction(image(), [face(-80, 50, 400)]) == "step_back"  # out of the frame
    assert instruction(image(), [face(200, 100, 250, yaw_shift=0.35)]) == "look_straight"
    assert instruction(image(20), [face(200, 100, 250)]) == "more_light"
    assert instruction(image(), [face(200, 100, 250)]) == "ok"


def test_the_face_box_is_drawn_into_the_jpeg() -> None:
    preview = FramePreview()
    preview.publish(image(), [face(200, 100, 250)])
    frame = preview.latest()
    assert frame is not None and frame.instruction == "ok"
    decoded = cv2.imdecode(np.frombuffer(frame.jpeg(), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (480, 640, 3)
    edge = decoded[100:350, 201].astype(int)  # the box's left side: green
    assert edge[:, 1].mean() > 150 and edge[:, 2].mean() < 80
    assert abs(int(decoded[20, 20, 1]) - 140) < 10  # the rest untouched


def test_readers_get_each_new_frame_and_nothing_after_the_step() -> None:
    preview = FramePreview()
    assert preview.wait_next(0, 0.01) is None
    threading.Timer(0.05, lambda: preview.publish(image(), [])).start()
    first = preview.wait_next(0, 5)
    assert first is not None and first.seq == 1 and first.instruction == "no_face"
    assert preview.wait_next(1, 0.01) is None  # nothing newer yet
    preview.clear()
    assert preview.latest() is None
