"""Pupil and limbus boundaries by Daugman's integro-differential operator, coarse to fine.

    max over (x0, y0, r) of | G_sigma(r) * d/dr  (1 / 2 pi r) closed-integral I(x, y) ds |

evaluated on a grid of candidate centres and radii: the mean intensity on each circle, its
derivative along the radius smoothed by a small Gaussian, the largest *positive* step (dark
inside, bright outside: pupil -> iris, iris -> sclera). It is classical, needs no model, and is
what the decades of iris-code statistics were measured with. Pupil and limbus get their own
centres (the pupil sits nasal and below the iris centre, up to ~10 % of the iris radius). The
limbus is searched on the lateral sectors only, where eyelids rarely cover it.

Coarse pass on the image scaled to ~200 px across (candidate pupil centres are the darkest
points of the blurred image), fine pass at full resolution around the coarse answer.
Specular reflections of the NIR illuminators are filled first (they sit on the pupil edge and
would break the circle means) and returned as a mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.errors import ApplianceError, Reason

Gray = NDArray[np.uint8]
Floats = NDArray[np.float32]
Mask = NDArray[np.bool_]

#: grey level at and above which a pixel is an illuminator's reflection (sensor saturation)
REFLECTION_LEVEL = 230
#: the coarse pass works on the image scaled so that its longer side is about this many pixels
COARSE_SIDE = 200
#: pupil radius range, as fractions of the image's shorter side (ISO/IEC 19794-6 framing:
#: the iris fills 1/4 to 3/4 of the height; pupil/iris ratio 0.15 to 0.75)
PUPIL_RADIUS_RANGE = (0.025, 0.25)
#: pupil/iris radius ratio range searched (ISO/IEC 29794-6 accepts 0.2 to 0.7)
RATIO_RANGE = (0.15, 0.78)
#: the operator's smallest step (grey levels between the ring means either side of the edge)
#: for a boundary to count: a flat or textured image without a dark round pupil has none
MIN_PUPIL_STEP = 18.0
MIN_IRIS_STEP = 4.0
#: the pupil's median grey level is at least this much below the iris's (NIR: ~20 vs ~100)
MIN_PUPIL_CONTRAST = 25.0
#: limbus sectors (radians, image y pointing down): left and right, a little more below the
#: horizontal than above (the upper eyelid covers more)
#: a pupil's inner side is darker than the image's darkest percentile plus this fraction of
#: the way to its median grey level
DARK_FRACTION = 0.35
_LIMBUS_SECTORS = ((-30.0, 45.0), (135.0, 210.0))
_SMOOTH = np.array([0.25, 0.5, 0.25], dtype=np.float32)


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float

    def as_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 1), "y": round(self.y, 1), "r": round(self.r, 1)}


@dataclass(frozen=True)
class Boundaries:
    pupil: Circle
    iris: Circle
    #: mean grey-level step across each boundary (how clear the edge is)
    pupil_step: float
    iris_step: float
    #: median grey level inside the pupil and in the iris annulus
    pupil_level: float
    iris_level: float


def fill_reflections(gray: Gray) -> tuple[Gray, Mask]:
    """The image with saturated reflections inpainted, and their (dilated) mask."""
    found = (gray >= REFLECTION_LEVEL).astype(np.uint8)
    if not found.any():
        return gray, np.zeros(gray.shape, dtype=np.bool_)
    spots = np.asarray(cv2.dilate(found, np.ones((5, 5), np.uint8)), dtype=np.uint8)
    filled = cv2.inpaint(gray, spots, 3, cv2.INPAINT_TELEA)
    return np.asarray(filled, dtype=np.uint8), spots.astype(np.bool_)


def _ring_means(
    img: Floats, cx: Floats, cy: Floats, radii: Floats, angles: Floats
) -> tuple[Floats, Mask]:
    """Mean of `img` on each circle (centres x radii), nearest-pixel samples inside the
    image only; a circle is valid when at least 60 % of its samples fall inside."""
    h, w = img.shape
    cos = np.cos(angles).astype(np.float32)
    sin = np.sin(angles).astype(np.float32)
    xs = cx[:, None, None] + radii[None, :, None] * cos[None, None, :]
    ys = cy[:, None, None] + radii[None, :, None] * sin[None, None, :]
    inside = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    xi = np.clip(np.rint(xs), 0, w - 1).astype(np.intp)
    yi = np.clip(np.rint(ys), 0, h - 1).astype(np.intp)
    values = np.where(inside, img[yi, xi], np.float32(0))
    count = inside.sum(axis=-1)
    means = (values.sum(axis=-1) / np.maximum(count, 1)).astype(np.float32)
    return means, count >= 0.6 * len(angles)


def _operator(
    img: Floats,
    cx: Floats,
    cy: Floats,
    radii: Floats,
    angles: Floats,
    max_inner: float = np.inf,
) -> tuple[int, float, float]:
    """(centre index, boundary radius, step) of the strongest dark-to-bright circular edge
    whose inner side is no brighter than `max_inner` (a pupil is dark inside: without this
    the iris-sclera edge of a dark iris can outscore it)."""
    means, valid = _ring_means(img, cx, cy, radii, angles)
    step = np.diff(means, axis=1)
    ok = valid[:, 1:] & valid[:, :-1] & (means[:, :-1] <= max_inner)
    if step.shape[1] >= 3:  # Gaussian smoothing of the derivative along the radius
        padded = np.pad(step, ((0, 0), (1, 1)), mode="edge")
        step = (
            _SMOOTH[0] * padded[:, :-2] + _SMOOTH[1] * padded[:, 1:-1] + _SMOOTH[2] * padded[:, 2:]
        )
    dr = float(radii[1] - radii[0]) if len(radii) > 1 else 1.0
    score = np.where(ok, step / dr, -np.inf)
    best = int(np.argmax(score))
    ci, ri = divmod(best, score.shape[1])
    if not np.isfinite(score[ci, ri]):
        return ci, float(radii[0]), 0.0
    radius = float(radii[ri] + radii[ri + 1]) / 2.0
    return ci, radius, float(score[ci, ri])


def _grid(x: float, y: float, half: float, step: float) -> tuple[Floats, Floats]:
    offsets = np.arange(-half, half + step / 2, step, dtype=np.float32)
    gx, gy = np.meshgrid(offsets + x, offsets + y)
    return gx.ravel().astype(np.float32), gy.ravel().astype(np.float32)


def _radii(lo: float, hi: float, step: float) -> Floats:
    return np.arange(max(lo, 1.0), hi + step / 2, step, dtype=np.float32)


def _sector_angles(count: int) -> Floats:
    parts = [
        np.linspace(math.radians(a), math.radians(b), count // 2, endpoint=False)
        for a, b in _LIMBUS_SECTORS
    ]
    return np.concatenate(parts).astype(np.float32)


def _full_angles(count: int) -> Floats:
    return np.linspace(0.0, 2 * math.pi, count, endpoint=False).astype(np.float32)


def _step_across(img: Floats, circle: Circle, angles: Floats, width: float) -> float:
    """Mean intensity just outside the circle minus just inside (grey levels)."""
    cx = np.array([circle.x], np.float32)
    cy = np.array([circle.y], np.float32)
    inner_r = np.array([max(circle.r - 2 * width, 1.0), max(circle.r - width, 1.0)], np.float32)
    outer_r = np.array([circle.r + width, circle.r + 2 * width], np.float32)
    inner, _ = _ring_means(img, cx, cy, inner_r, angles)
    outer, _ = _ring_means(img, cx, cy, outer_r, angles)
    return float(outer.mean() - inner.mean())


def _refine(
    img: Floats,
    coarse: Circle,
    reach: float,
    bounds: tuple[float, float],
    angles: Callable[[int], Floats],
    max_inner: float = np.inf,
) -> Circle:
    """The circle at full resolution near a coarse one: a 2 px grid over the coarse pass's
    uncertainty, then a 0.5 px grid around that (a tenth of one dense grid's samples)."""
    lo, hi = bounds
    fx, fy = _grid(coarse.x, coarse.y, reach, 2.0)
    radii = _radii(max(coarse.r - reach - 1, lo), min(coarse.r + reach + 1, hi), 1.0)
    ci, r, _ = _operator(img, fx, fy, radii, angles(64), max_inner)
    fx, fy = _grid(float(fx[ci]), float(fy[ci]), 1.5, 0.5)
    radii = _radii(max(r - 2.5, lo), min(r + 2.5, hi), 0.5)
    ci, r, _ = _operator(img, fx, fy, radii, angles(96), max_inner)
    return Circle(float(fx[ci]), float(fy[ci]), r)


def find_boundaries(gray: Gray) -> Boundaries:
    """Pupil and limbus circles of a (reflection-filled) NIR eye image.

    Raises `ApplianceError(IRIS_NOT_FOUND)` when no dark round pupil with a clear edge, or no
    limbus around it, is found: a closed eye, an image that is not an eye.
    """
    h, w = gray.shape
    smooth = cv2.GaussianBlur(gray, (0, 0), 1.5).astype(np.float32)
    scale = min(1.0, COARSE_SIDE / max(h, w))
    small = cv2.resize(
        smooth, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    sh, sw = small.shape
    short = min(sh, sw)

    # coarse pupil: the darkest points of the blurred image as candidate centres
    blurred = cv2.GaussianBlur(small, (0, 0), 2.0)
    gy, gx = np.mgrid[2 : sh - 2 : 2, 2 : sw - 2 : 2]
    values = blurred[gy, gx].ravel()
    darkest = np.argsort(values)[:200]
    cx = gx.ravel()[darkest].astype(np.float32)
    cy = gy.ravel()[darkest].astype(np.float32)
    radii = _radii(PUPIL_RADIUS_RANGE[0] * short, PUPIL_RADIUS_RANGE[1] * short, 1.0)
    dark = float(np.percentile(blurred, 1))
    max_inner = dark + DARK_FRACTION * (float(np.median(blurred)) - dark)
    ci, r, _ = _operator(np.asarray(small, np.float32), cx, cy, radii, _full_angles(32), max_inner)
    px, py, pr = cx[ci] / scale, cy[ci] / scale, r / scale

    # fine pupil at full resolution
    reach = 1.5 / scale + 1
    lo, hi = (f * min(h, w) for f in PUPIL_RADIUS_RANGE)
    pupil = _refine(smooth, Circle(px, py, pr), reach, (lo, hi), _full_angles, max_inner)
    r = pupil.r
    if not (r <= pupil.x <= w - 1 - r and r <= pupil.y <= h - 1 - r):
        raise ApplianceError(Reason.IRIS_NOT_FOUND, "no pupil inside the image")
    pupil_step = _step_across(smooth, pupil, _full_angles(96), max(2.0, pupil.r * 0.08))
    if pupil_step < MIN_PUPIL_STEP:
        raise ApplianceError(
            Reason.IRIS_NOT_FOUND, "no pupil found (an eye that is closed, or not an eye image)"
        )

    # coarse limbus around the pupil centre, lateral sectors, its own centre
    spr = pupil.r * scale
    off = max(2.0, 0.25 * spr)
    lx, ly = _grid(pupil.x * scale, pupil.y * scale, off, 1.0)
    # start clear of the pupil edge's blur, which would otherwise win at the smallest radii
    radii = _radii(spr / RATIO_RANGE[1] + 2, min(spr / RATIO_RANGE[0], 0.75 * max(sh, sw)), 1.0)
    ci, r, _ = _operator(np.asarray(small, np.float32), lx, ly, radii, _sector_angles(48))
    ix, iy, ir = lx[ci] / scale, ly[ci] / scale, r / scale

    iris = _refine(smooth, Circle(ix, iy, ir), reach, (pupil.r * 1.2, max(h, w)), _sector_angles)
    iris_step = _step_across(smooth, iris, _sector_angles(96), max(2.0, iris.r * 0.04))
    if iris_step < MIN_IRIS_STEP or iris.r <= pupil.r * 1.2:
        raise ApplianceError(Reason.IRIS_NOT_FOUND, "no iris boundary found around the pupil")

    pupil_level = float(np.median(_disc_samples(smooth, pupil, 0.7)))
    iris_level = float(np.median(_annulus_samples(smooth, pupil, iris)))
    if iris_level - pupil_level < MIN_PUPIL_CONTRAST:
        raise ApplianceError(
            Reason.IRIS_NOT_FOUND, "no dark pupil inside the iris (not an eye image?)"
        )
    return Boundaries(pupil, iris, pupil_step, iris_step, pupil_level, iris_level)


def _disc_samples(img: Floats, circle: Circle, fraction: float) -> Floats:
    h, w = img.shape
    ang = _full_angles(32)
    rad = np.linspace(0, circle.r * fraction, 6, dtype=np.float32)
    xs = np.clip(np.rint(circle.x + rad[:, None] * np.cos(ang)), 0, w - 1).astype(np.intp)
    ys = np.clip(np.rint(circle.y + rad[:, None] * np.sin(ang)), 0, h - 1).astype(np.intp)
    return np.asarray(img[ys, xs].ravel(), dtype=np.float32)


def _annulus_samples(img: Floats, pupil: Circle, iris: Circle) -> Floats:
    h, w = img.shape
    ang = _sector_angles(48)
    t = np.linspace(0.2, 0.8, 6, dtype=np.float32)[:, None]
    x = (1 - t) * (pupil.x + pupil.r * np.cos(ang)) + t * (iris.x + iris.r * np.cos(ang))
    y = (1 - t) * (pupil.y + pupil.r * np.sin(ang)) + t * (iris.y + iris.r * np.sin(ang))
    xs = np.clip(np.rint(x), 0, w - 1).astype(np.intp)
    ys = np.clip(np.rint(y), 0, h - 1).astype(np.intp)
    return img[ys, xs].ravel()
