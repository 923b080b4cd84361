"""Align a detected face onto the embedder's canonical 150x150 chip.

The embedder was trained on dlib's 5-point chips (150 px, padding 0.25). Where BlazeFace's
keypoints land on such chips was measured on 41 dlib chips of the shared face set by
`models/face/derive_chip_template.py` (median; spread 1.4-2 px for the eyes, 3-5 px for nose and
mouth). A weighted least-squares similarity transform (Umeyama) maps the live keypoints onto that
template; the nose tip, which moves with pose, counts least.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.detect import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, DetectedFace

CHIP_SIZE = 150
#: BlazeFace keypoints on dlib's 150x150 chip: right eye, left eye, nose tip, mouth centre
TEMPLATE_150 = np.array([[46.10, 47.32], [100.93, 46.59], [73.46, 77.35], [73.91, 104.76]])
_POINTS = (RIGHT_EYE, LEFT_EYE, NOSE, MOUTH)
_WEIGHTS = np.array([1.0, 1.0, 0.3, 0.6])


def similarity_transform(
    src: NDArray[np.float64], dst: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """2x3 matrix of the rotation+uniform scale+translation best mapping src onto dst."""
    w = weights / weights.sum()
    mu_s, mu_d = (src * w[:, None]).sum(0), (dst * w[:, None]).sum(0)
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    var = float((w * (s**2).sum(1)).sum())
    scale = float(np.trace(np.diag(sig) @ sign)) / max(var, 1e-12)
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def alignment_matrix(
    face: DetectedFace, size: int = CHIP_SIZE, weights: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """`weights` (right eye, left eye, nose, mouth) other than the product's are for
    benchmarks/face_candidates.py, which compares alignments."""
    src = face.keypoints[list(_POINTS)]
    chosen = _WEIGHTS if weights is None else weights
    return similarity_transform(src, TEMPLATE_150 * (size / CHIP_SIZE), chosen)


def align_face(
    image_bgr: NDArray[np.uint8],
    face: DetectedFace,
    weights: NDArray[np.float64] | None = None,
) -> NDArray[np.uint8]:
    """The RGB 150x150 chip the embedder expects.

    Only the window the chip covers is cut out of the frame and, when the face is much larger
    than the chip, area-averaged down first, so the warp neither aliases nor touches the whole
    (possibly multi-megapixel) image."""
    matrix = alignment_matrix(face, weights=weights)
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [CHIP_SIZE, 0, 1], [0, CHIP_SIZE, 1], [CHIP_SIZE, CHIP_SIZE, 1]])
    src = corners @ inverse.T
    h, w = image_bgr.shape[:2]
    x0, y0 = np.floor(src.min(0)).astype(int) - 2
    x1, y1 = np.ceil(src.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    window = image_bgr[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else image_bgr
    if window is image_bgr:
        x0 = y0 = 0
    matrix = matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    if scale < 0.5:  # pre-shrink so the warp does not alias fine detail away
        factor = 2.0 * scale
        window = np.asarray(
            cv2.resize(window, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), np.uint8
        )
        matrix[:, :2] /= factor
    chip = cv2.warpAffine(
        window,
        matrix,
        (CHIP_SIZE, CHIP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.ascontiguousarray(chip[:, :, ::-1])
