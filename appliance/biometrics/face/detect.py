"""Face detection with MediaPipe BlazeFace (ONNX, two models) and its anchor decoding.

Pass 1 runs the 256x256 "back camera" model on the whole letterboxed image, which finds faces
down to ~1/16 of the frame. Pass 2 re-runs the 128x128 "front camera" model on a square crop
around each face, where the face fills the input as that model expects, for steadier keypoints.
Keypoints (image pixels): right eye, left eye (the subject's), nose tip, mouth centre, right ear
tragion, left ear tragion; the subject's right eye is on the image's left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from appliance.models import load_session

FloatArray = NDArray[np.float64]

FULL_RANGE_MODEL = "blazeface_back_256"
SHORT_RANGE_MODEL = "blazeface_front_128"

RIGHT_EYE, LEFT_EYE, NOSE, MOUTH, RIGHT_EAR, LEFT_EAR = range(6)


@dataclass(frozen=True)
class DetectedFace:
    """A face: box (x0, y0, x1, y1) and six keypoints in image pixels, detector confidence."""

    box: tuple[float, float, float, float]
    keypoints: FloatArray
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def inter_eye_px(self) -> float:
        return float(np.linalg.norm(self.keypoints[LEFT_EYE] - self.keypoints[RIGHT_EYE]))


def _anchors() -> FloatArray:
    """SSD anchor centres of BlazeFace: 16x16 cells x2 anchors, then 8x8 cells x6 anchors."""
    centres = []
    for cells, per_cell in ((16, 2), (8, 6)):
        grid = (np.arange(cells) + 0.5) / cells
        for y in grid:
            for x in grid:
                centres.extend([(x, y)] * per_cell)
    return np.array(centres, dtype=np.float64)


_ANCHORS = _anchors()


def _iou(a: FloatArray, boxes: FloatArray) -> FloatArray:
    x0 = np.maximum(a[0], boxes[:, 0])
    y0 = np.maximum(a[1], boxes[:, 1])
    x1 = np.minimum(a[2], boxes[:, 2])
    y1 = np.minimum(a[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (a[2] - a[0]) * (a[3] - a[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    result: FloatArray = inter / np.maximum(area + areas - inter, 1e-9)
    return result


def _weighted_nms(
    scores: FloatArray, boxes: FloatArray, keypoints: FloatArray, iou: float
) -> list[tuple[float, FloatArray, FloatArray]]:
    """MediaPipe's weighted suppression: overlapping candidates are averaged, not dropped."""
    order = np.argsort(-scores)
    remaining = order.tolist()
    results = []
    while remaining:
        top = remaining[0]
        overlaps = _iou(boxes[top], boxes[remaining]) > iou
        members = [idx for idx, hit in zip(remaining, overlaps, strict=True) if hit]
        weights = scores[members][:, None]
        box = (boxes[members] * weights).sum(0) / weights.sum()
        kps = (keypoints[members].reshape(len(members), -1) * weights).sum(0) / weights.sum()
        results.append((float(scores[top]), box, kps.reshape(6, 2)))
        remaining = [idx for idx, hit in zip(remaining, overlaps, strict=True) if not hit]
    return results


def _run(
    session: ort.InferenceSession, square_bgr: NDArray[np.uint8], threshold: float, iou: float
) -> list[tuple[float, FloatArray, FloatArray]]:
    """Detections in coordinates normalised to the square input (0..1)."""
    rgb = cv2.cvtColor(square_bgr, cv2.COLOR_BGR2RGB)
    size = rgb.shape[0]
    tensor = (rgb.astype(np.float32) / 127.5 - 1.0)[None]
    out = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, {session.get_inputs()[0].name: tensor}),
            strict=True,
        )
    )
    logits = np.concatenate([out["Identity:0"][0, :, 0], out["Identity_1:0"][0, :, 0]])
    raw = np.concatenate([out["Identity_2:0"][0], out["Identity_3:0"][0]]).astype(np.float64)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -80, 80)))
    keep = scores > threshold
    if not keep.any():
        return []
    anchors, raw, scores = _ANCHORS[keep], raw[keep] / size, scores[keep]
    centre = anchors + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = anchors[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
    return _weighted_nms(scores, boxes, keypoints, iou)


def square_window(
    image: NDArray[np.uint8], cx: float, cy: float, side: float, out_size: int
) -> tuple[NDArray[np.uint8], float, float, float]:
    """A square window of the image (zero border past its edges) resized to out_size, and the
    window's origin and side in image pixels. Slices before resizing (area-averaged), so a
    large frame is never warped at full resolution."""
    side_px = max(round(side), 8)
    x0, y0 = round(cx - side_px / 2), round(cy - side_px / 2)
    h, w = image.shape[:2]
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + side_px, w), min(y0 + side_px, h)
    window = np.zeros((side_px, side_px, 3), np.uint8)
    if sx1 > sx0 and sy1 > sy0:
        window[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    interpolation = cv2.INTER_AREA if side_px > out_size else cv2.INTER_LINEAR
    resized = cv2.resize(window, (out_size, out_size), interpolation=interpolation)
    return np.asarray(resized, dtype=np.uint8), float(x0), float(y0), float(side_px)


def _input_size(session: ort.InferenceSession) -> int:
    return int(session.get_inputs()[0].shape[1])


class BlazeFaceDetector:
    """Two-pass BlazeFace detector; stateless after construction, safe to share."""

    def __init__(
        self,
        full_range: ort.InferenceSession,
        short_range: ort.InferenceSession,
        score_threshold: float = 0.6,
        iou_threshold: float = 0.3,
    ) -> None:
        self._full = full_range
        self._short = short_range
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold

    @classmethod
    def from_models_dir(cls, directory: Path | None = None) -> BlazeFaceDetector:
        return cls(
            load_session(FULL_RANGE_MODEL, directory), load_session(SHORT_RANGE_MODEL, directory)
        )

    def detect(self, image: NDArray[np.uint8]) -> list[DetectedFace]:
        """All faces, most confident first."""
        h, w = image.shape[:2]
        square, x0, y0, side = square_window(
            image, w / 2, h / 2, float(max(h, w)), _input_size(self._full)
        )
        faces = []
        for score, box, kps in _run(self._full, square, self.score_threshold, self.iou_threshold):
            box_px = box * side + np.array([x0, y0, x0, y0])
            kps_px = kps * side + np.array([x0, y0])
            faces.append(self._refine(image, score, box_px, kps_px))
        return self._distinct(faces)

    def _distinct(self, faces: list[DetectedFace]) -> list[DetectedFace]:
        """Coarse candidates that refine onto the same face collapse to the most confident."""
        kept: list[DetectedFace] = []
        for face in sorted(faces, key=lambda f: -f.score):
            box = np.array(face.box)
            if all(_iou(np.array(k.box), box[None])[0] <= self.iou_threshold for k in kept):
                kept.append(face)
        return kept

    def _refine(
        self, image: NDArray[np.uint8], score: float, box: FloatArray, kps: FloatArray
    ) -> DetectedFace:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        crop, x0, y0, side = square_window(
            image, cx, cy, 2.0 * max(box[2] - box[0], 1.0), _input_size(self._short)
        )
        found = _run(self._short, crop, self.score_threshold, self.iou_threshold)
        if found:
            # the candidate nearest the crop centre is the face we zoomed in on
            best = min(found, key=lambda d: float(np.sum(((d[1][:2] + d[1][2:]) / 2 - 0.5) ** 2)))
            score = max(score, best[0])
            box = best[1] * side + np.array([x0, y0, x0, y0])
            kps = best[2] * side + np.array([x0, y0])
        return DetectedFace(
            box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            keypoints=kps.astype(np.float64),
            score=float(score),
        )
