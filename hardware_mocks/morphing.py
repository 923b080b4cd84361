"""Face morphs: the attacker's tool the morphing benchmarks, the tests and the simulator share.

A morphed passport photo blends two faces so that both people match it. This generator does what
public morphing tools do: dense landmarks on both faces (MediaPipe's 468-point face mesh,
ONNX, `models/face/face_mesh_468.onnx`), their weighted average as the morph's geometry, a
piecewise-affine (Delaunay) warp of both faces onto it, then

* `full`: the whole warped images blended at alpha (ghosts around hair and neck remain);
* `splice`: only the inner face is morphed (the face oval keeps the first contributor's shape),
  colour-corrected to that contributor and Poisson-blended (`cv2.seamlessClone`) into their own
  photo, so hair, ears and background are one person's and nothing is ghosted.

Post-processing is the passport pipeline's: the ICAO token portrait (480x640), then JPEG or
JPEG 2000 at a chip's 12-20 KB, optionally a print-and-scan simulation. Contributor pairs are
chosen by face similarity with the appliance's own embedder (`pair_by_similarity`).
It is not part of the product: nothing in `appliance/` imports it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.detect import LEFT_EYE, RIGHT_EYE, BlazeFaceDetector, DetectedFace
from appliance.biometrics.face.icao_token import (
    TOKEN_HEIGHT,
    TOKEN_WIDTH,
    TokenFormat,
    encode_to_size,
    token_image,
)
from appliance.errors import ApplianceError, Reason
from appliance.models import load_session

Image = NDArray[np.uint8]
Points = NDArray[np.float64]

MESH_MODEL = "face_mesh_468"
MESH_INPUT = 192
#: MediaPipe's FACEMESH_FACE_OVAL, in order around the face
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
ALPHA_RANGE = (0.3, 0.7)
CHIP_BYTES_RANGE = (12_000, 20_000)


class Variant(StrEnum):
    FULL = "full"
    SPLICE = "splice"


class FaceMesh:
    """468 landmarks of one detected face: the crop is rotated so the eyes are level and spans
    1.5x the detector's box, as MediaPipe's own face-mesh pipeline prepares it."""

    def __init__(self, session: object) -> None:
        self._session = session

    @classmethod
    def load(cls, models_dir: Path | None = None) -> FaceMesh:
        return cls(load_session(MESH_MODEL, models_dir))

    def landmarks(self, image_bgr: Image, face: DetectedFace) -> Points:
        right, left = face.keypoints[RIGHT_EYE], face.keypoints[LEFT_EYE]
        angle = float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        side = 1.5 * max(face.width, face.box[3] - face.box[1])
        matrix = cv2.getRotationMatrix2D((cx, cy), angle, MESH_INPUT / side)
        matrix[:, 2] += np.array([MESH_INPUT / 2 - cx, MESH_INPUT / 2 - cy])
        crop = cv2.warpAffine(
            image_bgr, matrix, (MESH_INPUT, MESH_INPUT), borderMode=cv2.BORDER_REPLICATE
        )
        x = (crop[:, :, ::-1].astype(np.float32) / 255.0)[None]
        out = self._session.run(["landmarks"], {"input": x})[0][0, :, :2]  # type: ignore[attr-defined]
        inverse = cv2.invertAffineTransform(matrix)
        pts = np.asarray(out, np.float64) @ inverse[:, :2].T + inverse[:, 2]
        return pts


@dataclass
class Contributor:
    """One person's photo normalised to the token portrait, with its face mesh."""

    token: Image
    points: Points


class MorphGenerator:
    def __init__(self, detector: BlazeFaceDetector, mesh: FaceMesh) -> None:
        self.detector = detector
        self.mesh = mesh

    @classmethod
    def load(cls, models_dir: Path | None = None) -> MorphGenerator:
        return cls(BlazeFaceDetector.from_models_dir(models_dir), FaceMesh.load(models_dir))

    def contributor(self, image_bgr: Image) -> Contributor:
        """The token portrait of the largest face and its landmarks (`FACE_NOT_FOUND`)."""
        faces = self.detector.detect(image_bgr)
        if not faces:
            raise ApplianceError(Reason.FACE_NOT_FOUND, "no face in a contributor photo")
        token = token_image(image_bgr, max(faces, key=lambda f: f.width))
        again = self.detector.detect(token)
        if not again:
            raise ApplianceError(Reason.FACE_NOT_FOUND, "no face in a contributor token")
        return Contributor(token, self.mesh.landmarks(token, max(again, key=lambda f: f.width)))

    def morph(
        self, a: Contributor, b: Contributor, alpha: float = 0.5, variant: Variant = Variant.FULL
    ) -> Image:
        """A 480x640 morph of a (weight 1 - alpha) and b (weight alpha)."""
        if variant is Variant.FULL:
            return _full_morph(a, b, alpha)
        return _splice_morph(a, b, alpha)


# -- geometry ------------------------------------------------------------------------------------


def _frame_points(width: int, height: int) -> Points:
    """Fixed points on the image border so the warp covers the whole portrait."""
    xs, ys = (0, width / 2, width - 1), (0, height / 2, height - 1)
    return np.array([(x, y) for x in xs for y in ys if not (x == width / 2 and y == height / 2)])


def _triangles(points: Points, width: int, height: int) -> list[tuple[int, int, int]]:
    """Delaunay triangles of the points, as index triples (vertices matched back to the
    nearest point: Subdiv2D merges coincident points and returns float coordinates)."""
    subdiv = cv2.Subdiv2D((-1, -1, width + 2, height + 2))
    clipped = np.clip(points, [0, 0], [width - 1, height - 1])
    for x, y in clipped:
        subdiv.insert((float(x), float(y)))
    tris = []
    for t in subdiv.getTriangleList():
        verts = t.reshape(3, 2).astype(np.float64)
        dist = np.linalg.norm(clipped[None, :, :] - verts[:, None, :], axis=2)
        idx = dist.argmin(1)
        if dist[np.arange(3), idx].max() < 0.5 and len(set(idx.tolist())) == 3:
            tris.append((int(idx[0]), int(idx[1]), int(idx[2])))
    return tris


def warp_to(image: Image, src: Points, dst: Points, tris: list[tuple[int, int, int]]) -> Image:
    """Piecewise-affine warp of image from landmarks src onto landmarks dst."""
    h, w = image.shape[:2]
    out = np.zeros_like(image, dtype=np.float32)
    for tri in tris:
        s = src[list(tri)].astype(np.float32)
        d = dst[list(tri)].astype(np.float32)
        x, y, bw, bh = cv2.boundingRect(d)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + bw, w), min(y + bh, h)
        if x1 <= x0 or y1 <= y0:
            continue
        matrix = cv2.getAffineTransform(s, d - np.array([x0, y0], np.float32))
        patch = cv2.warpAffine(
            image,
            matrix,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillConvexPoly(mask, np.round(d - [x0, y0]).astype(np.int32), 1.0, cv2.LINE_AA)
        region = out[y0:y1, x0:x1]
        m = mask[:, :, None]
        region[:] = region * (1 - m) + patch.astype(np.float32) * m
    return np.clip(out, 0, 255).astype(np.uint8)


def _with_frame(points: Points) -> Points:
    return np.vstack([points, _frame_points(TOKEN_WIDTH, TOKEN_HEIGHT)])


def _full_morph(a: Contributor, b: Contributor, alpha: float) -> Image:
    pa, pb = _with_frame(a.points), _with_frame(b.points)
    target = (1 - alpha) * pa + alpha * pb
    tris = _triangles(target, TOKEN_WIDTH, TOKEN_HEIGHT)
    wa, wb = warp_to(a.token, pa, target, tris), warp_to(b.token, pb, target, tris)
    blend = (1 - alpha) * wa.astype(np.float32) + alpha * wb.astype(np.float32)
    return np.clip(blend + 0.5, 0, 255).astype(np.uint8)


def _colour_transfer(source: Image, reference: Image, mask: NDArray[np.uint8]) -> Image:
    """Reinhard colour transfer in Lab, statistics taken inside the mask only."""
    src = cv2.cvtColor(source, cv2.COLOR_BGR2LAB).astype(np.float32)
    ref = cv2.cvtColor(reference, cv2.COLOR_BGR2LAB).astype(np.float32)
    sel = mask > 0
    s_mu, s_sd = src[sel].mean(0), src[sel].std(0) + 1e-3
    r_mu, r_sd = ref[sel].mean(0), ref[sel].std(0) + 1e-3
    out = (src - s_mu) / s_sd * r_sd + r_mu
    return np.asarray(cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR))


def _splice_morph(a: Contributor, b: Contributor, alpha: float) -> Image:
    """Inner face morphed onto contributor a's own photo: the oval keeps a's shape."""
    target = (1 - alpha) * a.points + alpha * b.points
    oval = list(FACE_OVAL)
    target[oval] = a.points[oval]
    pa, pb, pt = _with_frame(a.points), _with_frame(b.points), _with_frame(target)
    tris = _triangles(pt, TOKEN_WIDTH, TOKEN_HEIGHT)
    wa, wb = warp_to(a.token, pa, pt, tris), warp_to(b.token, pb, pt, tris)
    hull = cv2.convexHull(np.round(target[oval]).astype(np.int32))
    face_mask = np.zeros(a.token.shape[:2], np.uint8)
    cv2.fillConvexPoly(face_mask, hull, 255)
    wb = _colour_transfer(wb, wa, face_mask)
    blend = np.clip((1 - alpha) * wa.astype(np.float32) + alpha * wb + 0.5, 0, 255)
    blend_img = blend.astype(np.uint8)
    # the inner face only: the oval shrunk towards its centre, away from the jaw line and hair
    inner = np.zeros_like(face_mask)
    centre = target[oval].mean(0)
    shrunk = centre + 0.85 * (target[oval] - centre)
    cv2.fillConvexPoly(inner, cv2.convexHull(np.round(shrunk).astype(np.int32)), 255)
    x, y, w, h = cv2.boundingRect(inner)
    centre_px = (int(x + w // 2), int(y + h // 2))
    try:
        return np.asarray(cv2.seamlessClone(blend_img, a.token, inner, centre_px, cv2.NORMAL_CLONE))
    except cv2.error:  # a mask touching the border: fall back to a feathered paste
        soft = cv2.GaussianBlur(inner, (0, 0), 6).astype(np.float32)[:, :, None] / 255.0
        mixed = blend_img * soft + a.token * (1 - soft)
        return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


# -- post-processing -----------------------------------------------------------------------------


def print_and_scan(image: Image, rng: random.Random) -> Image:
    """A rough print-and-scan: halftone-like blur, tone curve, sensor noise, slight tilt."""
    h, w = image.shape[:2]
    out = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.2)).astype(np.float32)
    out = 255.0 * (out / 255.0) ** rng.uniform(0.85, 1.15)
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 5), out.shape)
    out = np.clip(out + noise, 0, 255).astype(np.uint8)
    tilt = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-1.0, 1.0), 1.0)
    return np.asarray(cv2.warpAffine(out, tilt, (w, h), borderMode=cv2.BORDER_REPLICATE))


def chip_encode(
    portrait: Image, rng: random.Random, fmt: TokenFormat | None = None
) -> tuple[bytes, TokenFormat]:
    """The portrait as a chip stores it: JPEG or JPEG 2000 of 12-20 KB."""
    chosen = fmt or rng.choice([TokenFormat.JPEG, TokenFormat.JPEG2000])
    return encode_to_size(portrait, chosen, rng.randint(*CHIP_BYTES_RANGE)), chosen


# -- contributor pairs ---------------------------------------------------------------------------


def pair_by_similarity(
    embeddings: dict[str, NDArray[np.float32]], per_person: int = 1
) -> list[tuple[str, str]]:
    """For each person, their `per_person` most similar others (cosine of mean embeddings), as
    an attacker looks for a look-alike accomplice. Unordered pairs, sorted, no repeats."""
    names = sorted(embeddings)
    if len(names) < 2:
        return []
    mat = np.stack([embeddings[n] / np.linalg.norm(embeddings[n]) for n in names])
    sims = mat @ mat.T
    np.fill_diagonal(sims, -np.inf)
    pairs: set[tuple[str, str]] = set()
    for i, name in enumerate(names):
        for j in np.argsort(-sims[i], kind="stable")[:per_person]:
            a, b = sorted((name, names[int(j)]))
            pairs.add((a, b))
    return sorted(pairs)
