"""What the morph detectors look at, computed from what the face pipeline already has.

Differential (D-MAD, chip photo + trusted live capture): the difference of the two face
embeddings (a morph's embedding sits between its two contributors', so its difference to either
one's live face points in a characteristic direction; Scherhag et al.'s deep-feature
difference), each embedding the mean of the aligned chip's and its mirror image's (steadier
than either alone), the cosines between the plain and the mirrored embeddings, and how the
eye-nose-mouth geometry differs (a morph has the average of two faces' geometry).

Single image (S-MAD, chip photo alone): the portrait is brought to the ICAO token geometry and
described by cheap texture statistics where morphing leaves traces (two interpolating warps and
a blend smooth the skin and double the edges; Poisson blending leaves a seam): rotation-invariant
uniform LBP histograms on a grid over the face, the median-filter noise residual's statistics,
the radial power spectrum of the face, plus the face embedding itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.align import align_face, similarity_transform
from appliance.biometrics.face.detect import (
    LEFT_EYE,
    MOUTH,
    NOSE,
    RIGHT_EYE,
    BlazeFaceDetector,
    DetectedFace,
)
from appliance.biometrics.face.embed import FaceEmbedder
from appliance.errors import ApplianceError, Reason

Vector = NDArray[np.float32]

#: the portrait S-MAD describes: a third of the token size (160x214), eyes 40 px apart at
#: y = 96. Small on purpose: chip photos come from sources of every sharpness (a 250 px web
#: photo upscaled, a 20-megapixel studio shot), and at this scale they look alike
PORTRAIT_W, PORTRAIT_H = 160, 214
_EYES = np.array([[60.0, 96.0], [100.0, 96.0]])
#: the face region inside that portrait (brows to chin, cheek to cheek)
_FACE = (slice(73, 160), slice(37, 124))
#: a second face at least this large beside the main one makes the portrait unusable
SECOND_FACE_RATIO = 0.5

DMAD_DIM = 128 + 5 + 4
#: index in `differential_features` of the plain embedding cosine (what the face matcher scores)
MATCH_COSINE = 128 + 4
SMAD_DIM = 128 + 3 * 3 * 10 + 10 + 2 * 11 + 16 + 3 * 16


@dataclass(frozen=True)
class FaceAnalysis:
    """One image's face as the pipeline sees it: detection, aligned chip, embedding."""

    face: DetectedFace
    image: NDArray[np.uint8]
    embedding: Vector
    #: the embedding of the mirrored chip
    flipped: Vector


def analyse(
    image_bgr: NDArray[np.uint8], detector: BlazeFaceDetector, embedder: FaceEmbedder
) -> FaceAnalysis:
    """The main face of an image (`FACE_NOT_FOUND`; `FACE_QUALITY` when a second face of
    comparable size is in the picture: a portrait shows one person)."""
    faces = sorted(detector.detect(image_bgr), key=lambda f: -f.width)
    if not faces:
        raise ApplianceError(Reason.FACE_NOT_FOUND, "no face in the image")
    if len(faces) > 1 and faces[1].width >= SECOND_FACE_RATIO * faces[0].width:
        raise ApplianceError(Reason.FACE_QUALITY, "several faces in the image")
    chip = align_face(image_bgr, faces[0])
    both = embedder.embed(np.stack([chip, np.ascontiguousarray(chip[:, ::-1])]))
    return FaceAnalysis(faces[0], image_bgr, both[0], both[1])


def _geometry(face: DetectedFace) -> NDArray[np.float64]:
    """Nose tip and mouth in a frame where the eyes sit at (0, 0) and (1, 0)."""
    eyes = face.keypoints[[RIGHT_EYE, LEFT_EYE]]
    matrix = similarity_transform(eyes, np.array([[0.0, 0.0], [1.0, 0.0]]), np.ones(2))
    pts = face.keypoints[[NOSE, MOUTH]] @ matrix[:, :2].T + matrix[:, 2]
    return pts.reshape(-1)


def _mean_embedding(analysis: FaceAnalysis) -> Vector:
    both = analysis.embedding + analysis.flipped
    mean: Vector = both / max(float(np.linalg.norm(both)), 1e-12)
    return mean


def differential_features(reference: FaceAnalysis, live: FaceAnalysis) -> Vector:
    """Mean-embedding difference (128), cosines (mean, mirrored, the reference's and the live
    face's plain-to-mirrored, plain: `MATCH_COSINE`), eye-frame nose and mouth offsets (4)."""
    ref, probe = _mean_embedding(reference), _mean_embedding(live)
    cosines = [
        float(ref @ probe),
        float(reference.flipped @ live.flipped),
        float(reference.embedding @ reference.flipped),
        float(live.embedding @ live.flipped),
        float(reference.embedding @ live.embedding),
    ]
    geometry = _geometry(reference.face) - _geometry(live.face)
    return np.concatenate([ref - probe, cosines, geometry]).astype(np.float32)


def portrait(analysis: FaceAnalysis) -> NDArray[np.uint8]:
    """The reference in token geometry at 160x214, colour (BGR)."""
    src = analysis.face.keypoints[[RIGHT_EYE, LEFT_EYE]]
    matrix = similarity_transform(src, _EYES, np.ones(2))
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    out = cv2.warpAffine(
        analysis.image,
        matrix,
        (PORTRAIT_W, PORTRAIT_H),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out, np.uint8)


def _lbp_riu2(gray: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Rotation-invariant uniform LBP(8,1) codes 0..9 of the interior pixels."""
    g = gray.astype(np.int16)
    c = g[1:-1, 1:-1]
    offsets = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))
    bits = np.stack([g[y : y + c.shape[0], x : x + c.shape[1]] >= c for y, x in offsets])
    ones = bits.sum(0)
    transitions = (bits != np.roll(bits, 1, axis=0)).sum(0)
    codes: NDArray[np.int64] = np.where(transitions <= 2, ones, 9).astype(np.int64)
    return codes


def _hist(codes: NDArray[np.int64]) -> NDArray[np.float64]:
    counts = np.bincount(codes.ravel(), minlength=10).astype(np.float64)
    shares: NDArray[np.float64] = counts / max(counts.sum(), 1.0)
    return shares


def _residual_stats(gray: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Median-filter noise residual: log spread, mean magnitude, log kurtosis, and the shares
    of its values in 8 bins over -8..8."""
    res = gray.astype(np.int16) - cv2.medianBlur(gray, 3).astype(np.int16)
    resf = res.astype(np.float32)
    sd = float(resf.std()) + 1e-6
    kurt = float((((resf - resf.mean()) / sd) ** 4).mean())
    bins = np.bincount(((np.clip(res, -8, 7) + 8) // 2).ravel(), minlength=8)[:8]
    shares = bins / res.size
    return np.concatenate([[np.log(sd), float(np.abs(resf).mean()), np.log(kurt + 1e-6)], shares])


def _spectrum(gray: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Log power in 16 radial bands of the windowed face, relative to the total."""
    g = gray.astype(np.float64)
    g = (g - g.mean()) * np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    h, w = power.shape
    yy, xx = np.mgrid[:h, :w]
    radius = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    bands = np.minimum((radius * 16).astype(int), 15)
    sums = np.bincount(bands.ravel(), weights=power.ravel(), minlength=16)
    result: NDArray[np.float64] = np.log(sums / sums.sum() + 1e-12)
    return result


def _regions(colour: NDArray[np.uint8], gray: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Per cell of a 4x4 grid over the whole portrait: log Laplacian energy, log residual
    magnitude, mean saturation. A spliced face is smoother than the hair and background around
    it; a full morph blends two backgrounds and two outfits (ghosts, washed-out colour)."""
    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F))
    res = np.abs(gray.astype(np.float32) - cv2.medianBlur(gray, 3).astype(np.float32))
    sat = cv2.cvtColor(colour, cv2.COLOR_BGR2HSV)[:, :, 1].astype(np.float32)
    h, w = gray.shape
    out = []
    for plane, log in ((lap, True), (res, True), (sat, False)):
        cells = plane[: h - h % 4, : w - w % 4].reshape(4, h // 4, 4, w // 4).mean(axis=(1, 3))
        out.append(np.log(cells + 1e-3) if log else cells / 255.0)
    return np.concatenate([c.ravel() for c in out]).astype(np.float64)


def single_features(reference: FaceAnalysis, colour: NDArray[np.uint8] | None = None) -> Vector:
    """S-MAD's vector of a chip photo; `colour`: its `portrait`, when the caller has it."""
    colour = portrait(reference) if colour is None else colour
    gray = np.asarray(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), np.uint8)
    face = gray[_FACE]
    codes = _lbp_riu2(face)
    ch, cw = codes.shape[0] // 3, codes.shape[1] // 3
    cells = [(i, j) for i in range(3) for j in range(3)]
    grid = [_hist(codes[i * ch : (i + 1) * ch, j * cw : (j + 1) * cw]) for i, j in cells]
    parts = [
        reference.embedding.astype(np.float64),
        *grid,
        _hist(_lbp_riu2(gray)),
        _residual_stats(face),
        _residual_stats(gray),
        _spectrum(face),
        _regions(colour, gray),
    ]
    return np.concatenate(parts).astype(np.float32)
