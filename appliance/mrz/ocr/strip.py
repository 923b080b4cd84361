"""One located MRZ line, rotated upright and rescaled, with its ink and its text band.

The line is cut from the image along its box, scaled to a canonical text height with area
averaging, and its light flattened (a black-hat keeps the thin dark strokes whatever the
glare or print behind them); the text band and the inked extent are then found in it, and the
glyph pitch from the periodicity of its ink. `segment.py` cuts the strip into cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.mrz.ocr.localize import GrayImage, LineBox, percentile_u8

#: Height in strip pixels that a located line box is scaled to.
STRIP_LINE_H = 24
#: Width of the black-hat that lifts the ink off the paper (`_flatten_light`) for finding the
#: text band, the line's extent and its pitch: it keeps thin strokes and little else.
BLACKHAT = 11
#: The same for the glyph cells the model reads (`LineStrip.glyphs`): wider than the darkest
#: blob of one glyph. A low-resolution glyph (5-10 px per character), scaled up to the strip,
#: is a soft blob most of a text height wide; the narrow window hollows it out (the stem of a K
#: fades and it reads as '<'). The grid is fitted to the same ink (`LineStrip.columns`), so
#: cells fall where the model's training cells did; the band and the line's extent still come
#: from the narrow window, which keeps less of the print round the line.
GLYPH_BLACKHAT = 19

FloatArray = npt.NDArray[np.float32]
CvArray = npt.NDArray[Any]


@dataclass(frozen=True)
class LineStrip:
    """An upright line: `ink` in [0, 1] (1 = darkest), the text band and the inked extent;
    `glyphs`, the same pixels flattened for the glyph cells (`GLYPH_BLACKHAT`)."""

    ink: FloatArray
    top: int
    bottom: int
    x0: int
    x1: int
    #: 2x3 affine map from the image's pixel coordinates into this strip's
    to_strip: npt.NDArray[np.float64]
    glyphs: FloatArray

    @property
    def text_height(self) -> int:
        return self.bottom - self.top + 1

    def image_point(self, x: float) -> tuple[float, float]:
        """Where strip column `x`, on the text's centre line, lies in the image."""
        back = cv2.invertAffineTransform(self.to_strip)
        y = (self.top + self.bottom) / 2
        px, py = back @ np.array([x, y, 1.0])
        return float(px), float(py)

    def strip_x(self, point: tuple[float, float]) -> float:
        """Column of this strip that an image point projects onto (along the line)."""
        return float(self.to_strip[0] @ np.array([point[0], point[1], 1.0]))

    def with_extent(self, x0: int, x1: int) -> LineStrip:
        return replace(self, x0=x0, x1=x1)

    @cached_property
    def columns(self) -> npt.NDArray[np.float64]:
        """Ink per column of the text band (of the glyph cells' ink, `glyphs`)."""
        band = self.glyphs[self.top : self.bottom + 1]
        return np.asarray(band.sum(axis=0), dtype=np.float64)

    @cached_property
    def period(self) -> float | None:
        """The glyph pitch from the periodicity of the line's ink (None when it shows none)."""
        height = self.text_height
        return _periodic_pitch(self.columns[self.x0 : self.x1 + 1], 0.7 * height, 1.6 * height)


def extract_strip(gray: GrayImage, box: LineBox, upside_down: bool = False) -> LineStrip | None:
    """Rotate and scale the line upright; None when no text band can be found in it.

    When the text runs on to the strip's edge the box missed part of the line (glare split
    it, or the locator's blob ended early): the strip is cut again with the box stretched
    that way, up to three times.
    """
    strip = _extract(gray, box, upside_down)
    for _ in range(3):
        if strip is None:
            return None
        width = strip.ink.shape[1]
        grow_left, grow_right = strip.x0 <= 1, strip.x1 >= width - 2
        if not (grow_left or grow_right):
            break
        x0 = strip.x0 - (0.3 * width if grow_left else 0.0)
        x1 = strip.x1 + (0.3 * width if grow_right else 0.0)
        box = widened_box(strip, box, x0, x1)
        wider = _extract(gray, box, upside_down)
        if wider is None:
            break
        strip = wider
    return strip


def _extract(gray: GrayImage, box: LineBox, upside_down: bool) -> LineStrip | None:
    scale = STRIP_LINE_H / max(box.height, 1.0)
    half_w = (box.length / 2 + 1.5 * box.height) * scale
    half_h = 1.6 * box.height * scale
    out_w, out_h = int(2 * half_w), int(2 * half_h)
    if out_w < 8 or out_h < 8 or out_w > 8000:
        return None
    # Crop the rotated strip's bounding box first and shrink it with area averaging (no
    # aliasing of thin strokes), then rotate at the final scale.
    along, across = box.length / 2 + 1.5 * box.height, 1.6 * box.height
    cos, sin = (
        abs(math.cos(math.radians(box.angle_deg))),
        abs(math.sin(math.radians(box.angle_deg))),
    )
    reach_x, reach_y = along * cos + across * sin + 2, along * sin + across * cos + 2
    x_lo, x_hi = int(max(0, box.cx - reach_x)), int(min(gray.shape[1], box.cx + reach_x + 1))
    y_lo, y_hi = int(max(0, box.cy - reach_y)), int(min(gray.shape[0], box.cy + reach_y + 1))
    if x_hi - x_lo < 4 or y_hi - y_lo < 4:
        return None
    roi: CvArray = gray[y_lo:y_hi, x_lo:x_hi]
    if scale < 1.0:
        roi = cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        sx, sy = roi.shape[1] / (x_hi - x_lo), roi.shape[0] / (y_hi - y_lo)
        rot_scale = 1.0
    else:
        sx = sy = 1.0
        rot_scale = scale
    cx, cy = (box.cx - x_lo) * sx, (box.cy - y_lo) * sy
    angle = box.angle_deg + (180.0 if upside_down else 0.0)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, rot_scale)
    matrix[0, 2] += half_w - cx
    matrix[1, 2] += half_h - cy
    strip: CvArray = cv2.warpAffine(
        roi, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    # image -> roi -> (shrunk) roi -> strip, as one affine map
    to_roi = np.array([[sx, 0.0, -x_lo * sx], [0.0, sy, -y_lo * sy], [0.0, 0.0, 1.0]])
    to_strip = (matrix @ to_roi).astype(np.float64)
    found = _find_text(_flatten_light(strip, BLACKHAT), to_strip)
    if found is None:
        return None
    return replace(found, glyphs=_flatten_light(strip, GLYPH_BLACKHAT))


def _flatten_light(strip: CvArray, window: int) -> FloatArray:
    """Ink darkness relative to the local paper brightness, scaled to [0, 1].

    A black-hat (closing minus image) with a window wider than a stroke keeps exactly the
    thin dark strokes, whatever the light gradient, glare or background print behind them.
    """
    smooth = cv2.GaussianBlur(strip, (3, 3), 0)
    dark = cv2.morphologyEx(smooth, cv2.MORPH_BLACKHAT, np.ones((window, window), np.uint8))
    top = percentile_u8(dark, 99.5)
    if top < 8.0:  # no contrast at all: nothing printed here
        return np.zeros(dark.shape, np.float32)
    ink: FloatArray = np.clip(dark.astype(np.float32) / top, 0.0, 1.0)
    return ink


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end] index pairs of the True runs of a 1-D mask."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _find_text(ink: FloatArray, to_strip: npt.NDArray[np.float64]) -> LineStrip | None:
    h = ink.shape[0]
    rows = cv2.blur(ink.mean(axis=1, keepdims=True), (1, 3)).ravel()
    middle = rows[h // 3 : 2 * h // 3 + 1]
    floor = float(np.percentile(rows, 10))
    if middle.size == 0 or float(middle.max()) - floor <= 0.01:
        return None
    band = _runs(rows > floor + 0.3 * (float(middle.max()) - floor))
    centre = h / 2
    band = [
        r for r in band if r[0] <= centre + STRIP_LINE_H / 2 and r[1] >= centre - STRIP_LINE_H / 2
    ]
    if not band:
        return None
    top, bottom = min(band, key=lambda r: abs((r[0] + r[1]) / 2 - centre))
    height = bottom - top + 1
    if not 0.35 * STRIP_LINE_H <= height <= 2.2 * STRIP_LINE_H:
        return None
    cols = ink[top : bottom + 1].max(axis=0)
    # Glare lowers the contrast of a stretch of the line: judge each column against the
    # darkest ink within about two characters of it (floored, so blank paper stays blank).
    window = int(4 * height) | 1
    nearby = cv2.dilate(cols[None, :], np.ones((1, window), np.uint8)).ravel()
    relative = cols / np.maximum(nearby, 0.3)
    runs = _runs(relative > max(0.45, float(np.percentile(relative, 20)) + 0.25))
    if not runs:
        return None
    # Glyph runs closer than ~1 character height belong to the same line; keep the cluster
    # around the box centre (the box may have caught a neighbouring word at either end).
    clusters: list[list[int]] = []
    for start, end in runs:
        if clusters and start - clusters[-1][1] <= 1.3 * height:
            clusters[-1][1] = end
        else:
            clusters.append([start, end])
    x0, x1 = max(clusters, key=lambda c: c[1] - c[0])
    return LineStrip(ink, top, bottom, x0, x1, to_strip, ink)


def _periodic_pitch(profile: npt.NDArray[np.float64], lo: float, hi: float) -> float | None:
    """The glyph pitch as the strongest period of the column-ink profile in [lo, hi] px.

    Fixed-pitch text repeats every character; the autocorrelation finds that period from the
    whole line at once, so it is not fooled by a stray blob at either end of the line.
    """
    x = profile - profile.mean()
    n = x.size
    if n < 3 * hi or hi - lo < 2:
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    if ac[0] <= 0:
        return None
    a, b = int(np.ceil(lo)), int(np.floor(hi))
    lag = a + int(np.argmax(ac[a : b + 1]))
    if ac[lag] < 0.15 * ac[0] or lag <= a or lag >= b:
        return None
    left, mid, right = ac[lag - 1], ac[lag], ac[lag + 1]
    denom = left - 2 * mid + right
    shift = 0.5 * (left - right) / denom if denom < 0 else 0.0
    return float(lag + shift)


def widened_box(strip: LineStrip, box: LineBox, x0: float, x1: float) -> LineBox:
    """The line's box stretched along its axis to cover strip columns x0..x1 (which may lie
    outside the strip), so the line can be cut again with nothing missing."""
    cx, cy = strip.image_point((x0 + x1) / 2)
    scale = float(np.hypot(strip.to_strip[0, 0], strip.to_strip[0, 1]))
    return LineBox(cx, cy, max(box.length, (x1 - x0) / scale), box.height, box.angle_deg)
