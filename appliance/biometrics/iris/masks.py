"""Noise masks of the iris: eyelids, eyelashes, specular reflections.

Eyelids are found with the integro-differential operator on a family of parabolic arcs
(apex height x curvature), Daugman's own choice for them: the mean vertical gradient along the
arc, sampled only inside the iris annulus (so the limbus and pupil edges do not vote), must
stand well above the annulus's texture gradient; the upper lid is a bright-to-dark edge going
down (skin, then the lash line), the lower lid dark-to-bright. Everything beyond an accepted
arc is masked. Eyelashes are the annulus pixels far darker than the iris (nearer the pupil's
level) or thin strokes far darker than their surroundings (a morphological black-hat);
reflections come from `segment.fill_reflections`. True in a mask means *usable*.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.iris.segment import Boundaries, Floats, Gray, Mask

#: curvatures of the eyelid arcs tried, as (rise at x = +-R) / R
_CURVATURES = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8], dtype=np.float32)
#: an eyelid arc counts when its mean gradient is this many times the annulus's median
#: |gradient| and at least this many grey levels per pixel
LID_GRADIENT_RATIO = 3.0
LID_MIN_GRADIENT = 3.0
#: eyelash pixels: darker than pupil level + this fraction of the (iris - pupil) level gap
LASH_FRACTION = 0.4
#: ... or darker than their neighbourhood's closing by this many grey levels (a lash is thin)
LASH_CONTRAST = 25
#: pixels masked beyond a found lid edge: the lid margin (lash line, its blur) is no iris
LID_MARGIN = 5.0


@dataclass(frozen=True)
class Eyelid:
    """y = apex_y + sign * curvature / R * (x - apex_x)^2 (sign +1 upper lid, -1 lower)."""

    apex_x: float
    apex_y: float
    curvature: float
    upper: bool

    def y_at(self, x: NDArray[np.float32], radius: float) -> NDArray[np.float32]:
        sign = 1.0 if self.upper else -1.0
        return (self.apex_y + sign * self.curvature / radius * (x - self.apex_x) ** 2).astype(
            np.float32
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "apex_x": round(self.apex_x, 1),
            "apex_y": round(self.apex_y, 1),
            "curvature": round(self.curvature, 2),
        }


@dataclass(frozen=True)
class NoiseMasks:
    usable: Mask  # full-resolution: True where iris texture can be trusted
    upper_lid: Eyelid | None
    lower_lid: Eyelid | None
    lid_fraction: float  # fraction of the iris annulus behind the eyelids
    lash_fraction: float
    reflection_fraction: float


def annulus(shape: tuple[int, int], b: Boundaries) -> Mask:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    outside_pupil = (xx - b.pupil.x) ** 2 + (yy - b.pupil.y) ** 2 > b.pupil.r**2
    inside_iris = (xx - b.iris.x) ** 2 + (yy - b.iris.y) ** 2 < b.iris.r**2
    return np.asarray(outside_pupil & inside_iris)


def _find_lid(grad: Floats, ring: Mask, b: Boundaries, upper: bool, floor: float) -> Eyelid | None:
    h, w = grad.shape
    radius = b.iris.r
    xs = (b.iris.x + radius * np.linspace(-0.9, 0.9, 61)).astype(np.float32)
    if upper:
        apexes = np.arange(b.iris.y - radius, b.pupil.y, 1.0, dtype=np.float32)
        polarity = -1.0  # bright skin above, darker lash line and iris below
    else:
        apexes = np.arange(b.pupil.y, b.iris.y + radius, 1.0, dtype=np.float32)
        polarity = 1.0  # iris above, brighter skin below
    sign = 1.0 if upper else -1.0
    curv = _CURVATURES / radius
    ys = apexes[:, None, None] + sign * curv[None, :, None] * (xs[None, None, :] - b.iris.x) ** 2
    xi = np.broadcast_to(np.clip(np.rint(xs), 0, w - 1).astype(np.intp), ys.shape)
    yi = np.clip(np.rint(ys), 0, h - 1).astype(np.intp)
    inside = (ys >= 0) & (ys <= h - 1) & ring[yi, xi]
    values = np.where(inside, polarity * grad[yi, xi], np.float32(0))
    count = inside.sum(axis=-1)
    score = np.where(count >= 12, values.sum(axis=-1) / np.maximum(count, 1), -np.inf)
    best = int(np.argmax(score))
    ai, ki = divmod(best, score.shape[1])
    if not score[ai, ki] >= floor:
        return None
    return Eyelid(b.iris.x, float(apexes[ai]), float(_CURVATURES[ki]), upper)


def _beyond(lid: Eyelid, shape: tuple[int, int], radius: float) -> Mask:
    h, w = shape
    xs = np.arange(w, dtype=np.float32)
    edge = lid.y_at(xs, radius) + (LID_MARGIN if lid.upper else -LID_MARGIN)
    yy = np.arange(h, dtype=np.float32)[:, None]
    return np.asarray(yy < edge[None, :] if lid.upper else yy > edge[None, :])


def noise_masks(gray: Gray, filled: Gray, reflections: Mask, b: Boundaries) -> NoiseMasks:
    """Usable-pixel mask of the iris annulus and what was taken out of it."""
    ring = annulus(gray.shape, b)
    inner = ring.copy()
    # the lids are searched away from the boundaries so their edges do not vote
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    inner &= (xx - b.pupil.x) ** 2 + (yy - b.pupil.y) ** 2 > (b.pupil.r + 4) ** 2
    inner &= (xx - b.iris.x) ** 2 + (yy - b.iris.y) ** 2 < max(b.iris.r - 4, 1) ** 2
    smooth = cv2.GaussianBlur(filled, (0, 0), 2.0).astype(np.float32)
    grad = np.asarray(cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3), dtype=np.float32) / 8.0
    texture = float(np.median(np.abs(grad[inner][::5]))) if inner.any() else 0.0
    floor = max(LID_MIN_GRADIENT, LID_GRADIENT_RATIO * texture)
    upper = _find_lid(grad, inner, b, upper=True, floor=floor)
    lower = _find_lid(grad, inner, b, upper=False, floor=floor)
    lids = np.zeros(gray.shape, dtype=np.bool_)
    for lid in (upper, lower):
        if lid is not None:
            lids |= _beyond(lid, gray.shape, b.iris.r)
    threshold = b.pupil_level + LASH_FRACTION * (b.iris_level - b.pupil_level)
    # thin dark strokes on the texture: darker than their 7 x 7 closing by LASH_CONTRAST
    closed = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    strokes = closed.astype(np.int16) - gray.astype(np.int16) > LASH_CONTRAST
    lashes = ((gray.astype(np.float32) < threshold) | strokes) & ring & ~lids
    lashes = cv2.dilate(lashes.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.bool_)
    spots = reflections & ring
    usable = ring & ~lids & ~lashes & ~spots
    area = max(int(ring.sum()), 1)
    return NoiseMasks(
        usable=usable,
        upper_lid=upper,
        lower_lid=lower,
        lid_fraction=float((lids & ring).sum()) / area,
        lash_fraction=float((lashes & ring).sum()) / area,
        reflection_fraction=float(spots.sum()) / area,
    )
