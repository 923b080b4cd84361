"""Cut one located MRZ line into its N character cells, ready for the glyph classifier.

MRZ text is OCR-B at a fixed pitch (ICAO 9303-3: 10 characters per 25.4 mm) and every position
is printed (fillers are the '<' glyph), so a line of N characters is N equal cells between the
first and the last glyph. The line is rotated upright and rescaled to a canonical height,
light is flattened, and a pitch/phase grid is fitted to the ink so that cell borders fall in the
gaps between glyphs. The same code cuts the training glyphs (`models/training/mrz/`), so the
model learns exactly the crops it will see.
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

GLYPH_H = 32
GLYPH_W = 24
#: Height in strip pixels that a located line box is scaled to.
STRIP_LINE_H = 24
_PAD = 40

FloatArray = npt.NDArray[np.float32]
CvArray = npt.NDArray[Any]


@dataclass(frozen=True)
class LineStrip:
    """An upright line: `ink` in [0, 1] (1 = darkest), the text band and the inked extent."""

    ink: FloatArray
    top: int
    bottom: int
    x0: int
    x1: int
    #: 2x3 affine map from the image's pixel coordinates into this strip's
    to_strip: npt.NDArray[np.float64]

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
        """Ink per column of the text band."""
        band = self.ink[self.top : self.bottom + 1]
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
    return _find_text(_flatten_light(strip), to_strip)


def _flatten_light(strip: CvArray) -> FloatArray:
    """Ink darkness relative to the local paper brightness, scaled to [0, 1].

    A black-hat (closing minus image) with a window wider than a stroke keeps exactly the
    thin dark strokes, whatever the light gradient, glare or background print behind them.
    """
    smooth = cv2.GaussianBlur(strip, (3, 3), 0)
    dark = cv2.morphologyEx(smooth, cv2.MORPH_BLACKHAT, np.ones((11, 11), np.uint8))
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
    return LineStrip(ink, top, bottom, x0, x1, to_strip)


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


@dataclass(frozen=True)
class Grid:
    """N cells along a line. Position c (in cells, 0..n) lies at
    origin + pitch * (c + chirp * c * (c - n) / n): the chirp lets the pitch change linearly
    along the line, as it does under perspective."""

    origin: float
    pitch: float
    chirp: float
    n: int

    def at(self, cells: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        warped = cells + self.chirp * cells * (cells - self.n) / self.n
        result: npt.NDArray[np.float64] = self.origin + self.pitch * warped
        return result


#: Perspective makes the pitch drift along a line: chirps of up to ±20%, searched in 2.5% steps
#: then refined to 0.5% (a 2% step leaves mid-line cells a fifth of a cell off on 44 cells).
_CHIRPS = np.linspace(-0.2, 0.2, 17)
#: Grid pitch / measured text band, as OCR-B prints it: 0.86-1.18 on 99% of the benchmark's
#: read lines. A line mostly of fillers measures its band nearer the '<' height (up to 1.37
#: seen under blur); a harmonic of the pitch is twice or half.
_PITCH_PER_HEIGHT = (0.75, 1.45)
#: A cell's ink is scaled up to its darkest pixel, but by no more than 1 / _CELL_FLOOR.
_CELL_FLOOR = 0.3
#: How far a grid's mean pitch may stray from its line's period (see `covers_line`).
_PERIOD_SLACK = 0.10
#: The period is trusted over the extent when both agree within this (see `fit_grid`).
_PERIOD_TRUST = 0.2
#: Cost, in mean ink columns per pitch, of a grid end that misses the inked line's end.
_END_WEIGHT = 10.0


def fit_grid(strip: LineStrip, n: int) -> Grid:
    """The N-cell grid whose borders cross the least ink while leaving the least ink outside,
    among those that span the inked line end to end.

    Searched coarse to fine: pitch and chirp on a coarse lattice first, then a finer one
    around the best.
    """
    from_span = _span_pitch(strip, n)
    periodic = strip.period
    # The period is exact on an even line but may lock onto a harmonic; the extent is robust
    # but may include a stray blob: trust the period when both roughly agree. Under perspective,
    # though, the period follows the most repetitive stretch (a run of fillers at one end), not
    # the mean pitch the grid needs: when the two differ by no more than `covers_line` allows,
    # the pitches searched run from one to the other.
    ends = [from_span]
    if periodic and abs(periodic / from_span - 1) <= _PERIOD_TRUST:
        ends = (
            [periodic, from_span] if abs(periodic / from_span - 1) <= _PERIOD_SLACK else [periodic]
        )
    lo, hi = 0.96 * min(ends), 1.04 * max(ends)
    pitches = np.geomspace(lo, hi, max(9, int(np.ceil(np.log(hi / lo) / 0.01)) + 1))
    profile = _Profile(strip)
    _, coarse = profile.search(n, pitches, _CHIRPS)
    _, fine = profile.search(
        n,
        coarse.pitch * (1.0 + np.linspace(-0.005, 0.005, 3)),
        coarse.chirp + np.linspace(-0.015, 0.015, 7),
    )
    return fine


def _span_pitch(strip: LineStrip, n: int) -> float:
    """The pitch at which n glyphs fill the inked extent (the last glyph ends 1/4 pitch early)."""
    return (strip.x1 - strip.x0 + 1) / (n - 0.25)


class _Profile:
    """The column-ink profile of a line, padded, with what every grid search reuses."""

    def __init__(self, strip: LineStrip) -> None:
        columns = strip.columns
        self.strip = strip
        self.profile = np.concatenate((np.zeros(_PAD), columns, np.zeros(_PAD)))
        self.cumulative = np.concatenate(([0.0], np.cumsum(self.profile)))
        self.line_ink = float(columns[strip.x0 : strip.x1 + 1].mean())

    def search(
        self, n: int, pitches: npt.NDArray[np.float64], chirps: npt.NDArray[np.float64]
    ) -> tuple[float, Grid]:
        strip, profile, cumulative = self.strip, self.profile, self.cumulative
        total = cumulative[-1]
        k = np.arange(n + 1, dtype=np.float64)
        shapes = k[None, :] + chirps[:, None] * (k * (k - n) / n)[None, :]  # (chirps, n+1)
        best: tuple[float, Grid] | None = None
        for pitch in pitches:
            first = strip.x0 - 0.5 * pitch
            last = max(strip.x0, strip.x1 + 1 - n * pitch) + 0.5 * pitch
            origins = np.arange(first, last + 1e-9, 0.08 * pitch)
            borders = origins[:, None, None] + pitch * shapes[None, :, :] + _PAD
            idx = np.clip(np.rint(borders).astype(int), 0, profile.size - 1)
            crossed = profile[idx].sum(axis=2)
            inside = cumulative[idx[:, :, -1]] - cumulative[idx[:, :, 0]]
            cost = crossed + 0.3 * (total - inside)
            # The first and last glyphs sit half a gap inside the grid's ends; blur can smear
            # the gaps until the crossings alone no longer pin the grid, so the ends count too.
            start, end = borders[:, :, 0] - _PAD, borders[:, :, -1] - _PAD
            miss = np.abs(start - (strip.x0 - 0.125 * pitch)) + np.abs(
                end - (strip.x1 + 0.125 * pitch)
            )
            cost += _END_WEIGHT * self.line_ink * miss / pitch
            # Every MRZ position is printed: prefer grids that span the inked line end to end
            # (as `covers_line` judges), whatever the blur does to the gaps between glyphs.
            cost[~_spans(start, end, strip, pitch)] += 1e9
            o, c = np.unravel_index(int(np.argmin(cost)), cost.shape)
            if best is None or cost[o, c] < best[0]:
                grid = Grid(float(origins[o]), float(pitch), float(chirps[c]), n)
                best = (float(cost[o, c]), grid)
        assert best is not None
        return best


def _spans(
    start: npt.NDArray[np.float64], end: npt.NDArray[np.float64], strip: LineStrip, pitch: float
) -> npt.NDArray[np.bool_]:
    slack = 0.6 * pitch
    return (
        (start <= strip.x0 + slack)
        & (end >= strip.x1 - slack)
        & (start >= strip.x0 - 2 * slack)
        & (end <= strip.x1 + 2 * slack)
    )


def covers_line(strip: LineStrip, grid: Grid) -> bool:
    """Whether the grid spans the printed line, end to end and no further.

    Every MRZ position is printed (fillers too), so a grid of the wrong length shows: a
    36-cell grid fitted on a 44-character line leaves glyphs uncovered, and would otherwise
    read a visa's first 36 characters as a checksum-valid MRV-B.
    """
    start, end = grid.at(np.array([0.0, float(grid.n)]))
    # A grid squeezed onto part of a line (or stretched past it) is not a reading of it: its
    # pitch must be the line's own period (within 4% on 99% of the benchmark's lines, 8% under
    # strong perspective, where the period follows a run of fillers; a wrong line length is
    # 20% off), and plausible for OCR-B's proportions (`_PITCH_PER_HEIGHT`).
    if strip.period is not None and abs(grid.pitch / strip.period - 1) > _PERIOD_SLACK:
        return False
    plausible = _PITCH_PER_HEIGHT[0] <= grid.pitch / strip.text_height <= _PITCH_PER_HEIGHT[1]
    return plausible and bool(_spans(np.array(start), np.array(end), strip, grid.pitch))


def cut_glyphs(strip: LineStrip, n: int) -> FloatArray | None:
    """The N cells of the line as an (N, GLYPH_H, GLYPH_W) batch; None when the line does not
    hold N characters."""
    period = strip.period
    if period is not None and abs(_span_pitch(strip, n) / period - 1) > _PERIOD_TRUST:
        # n cells at the line's own period fall far short of it or overrun it: the grid
        # search could only end in a grid `covers_line` refuses (5x the time of a good one).
        return None
    grid = fit_grid(strip, n)
    if not covers_line(strip, grid):
        return None
    return cut_cells(strip, grid, np.arange(n, dtype=np.float64) + 0.5)


def cut_cells(strip: LineStrip, grid: Grid, centres: npt.NDArray[np.float64]) -> FloatArray:
    """Cells centred at grid positions `centres` (in cells; i + 0.5 is the middle of cell i).

    Each cell is scaled to its own darkest ink (at most x1/_CELL_FLOOR): glare or a shadow
    fades whole stretches of a line, and a faded glyph should look like a glyph to the model.
    """
    height = strip.text_height
    cy = (strip.top + strip.bottom) / 2
    half_h = 0.78 * height
    half_w = 0.62 * grid.pitch
    padded = cv2.copyMakeBorder(strip.ink, _PAD, _PAD, _PAD, _PAD, cv2.BORDER_CONSTANT, value=0)
    out = np.empty((len(centres), GLYPH_H, GLYPH_W), np.float32)
    y_lo = max(0, round(cy - half_h) + _PAD)
    y_hi = max(y_lo + 2, round(cy + half_h) + _PAD)
    for i, cx in enumerate(grid.at(np.asarray(centres, dtype=np.float64)) + _PAD):
        x_lo = min(max(0, round(float(cx) - half_w)), padded.shape[1] - 2)
        x_hi = max(x_lo + 2, round(float(cx) + half_w))
        out[i] = cv2.resize(
            padded[y_lo:y_hi, x_lo:x_hi], (GLYPH_W, GLYPH_H), interpolation=cv2.INTER_AREA
        )
    darkest = out.reshape(len(out), -1).max(axis=1) if len(out) else np.zeros(0, np.float32)
    gain = 1.0 / np.clip(darkest, _CELL_FLOOR, 1.0)
    scaled: FloatArray = np.clip(out * gain[:, None, None], 0.0, 1.0).astype(np.float32)
    return scaled


def union_extents(strips: list[LineStrip]) -> list[tuple[int, int]]:
    """Per line, the union of every line's inked extent, in that line's strip columns.

    MRZ lines are equally long and start at the same place, but glare or a shadow can wipe the
    ends of one line: the other lines then say where it really starts and ends. The result may
    reach beyond the strip (see `widened_box`).
    """
    extents = []
    for strip in strips:
        x0, x1 = strip.x0, strip.x1
        for other in strips:
            if other is not strip:
                x0 = min(x0, round(strip.strip_x(other.image_point(other.x0))))
                x1 = max(x1, round(strip.strip_x(other.image_point(other.x1))))
        extents.append((x0, x1))
    return extents


def common_extent(strips: list[LineStrip]) -> list[LineStrip]:
    """The lines with each extent widened to the union of all lines' extents (`union_extents`).

    Extents only ever grow (lost ink is common, ink that is not there is not), so a line never
    borrows a shorter neighbour's end: a 44-character line still refuses a 36-cell grid.
    """
    return [
        strip.with_extent(max(x0, 0), min(x1, strip.ink.shape[1] - 1))
        for strip, (x0, x1) in zip(strips, union_extents(strips), strict=True)
    ]


def aligned_strips(
    gray: GrayImage, boxes: list[LineBox], strips: list[LineStrip], upside_down: bool
) -> list[LineStrip]:
    """The lines of one MRZ cut to their common extent (`common_extent`), each line cut again
    from the image first when that extent leaves its strip (its box missed part of it)."""
    extents = union_extents(strips)
    if any(_reaches_beyond(s, e) for s, e in zip(strips, extents, strict=True)):
        again = [
            extract_strip(gray, widened_box(s, box, x0, x1), upside_down)
            for s, box, (x0, x1) in zip(strips, boxes, extents, strict=True)
        ]
        if all(s is not None for s in again):
            strips = [s for s in again if s is not None]
    return common_extent(strips)


def stretched_strips(
    gray: GrayImage, boxes: list[LineBox], strips: list[LineStrip], upside_down: bool, n: int
) -> list[list[LineStrip]]:
    """When glare wipes the same end of every line, no line shows where the MRZ starts (or
    ends). The lines then hold fewer than `n` glyphs at their own pitch: the candidates are
    the lines stretched by the missing glyphs at the start, or at the end. Lines only grow,
    so a longer MRZ is never read as a shorter one; a wrong guess reads blank or shifted cells,
    which the decoder refuses."""
    periods = [s.period for s in strips]
    if any(p is None for p in periods):
        return []
    pitch = [float(p) for p in periods if p is not None]
    missing = float(
        np.median([n - 0.25 - (s.x1 - s.x0 + 1) / p for s, p in zip(strips, pitch, strict=True)])
    )
    if missing < 1.0 or missing > 0.4 * n:
        return []
    candidates = []
    for at_start in (True, False):
        ends = []  # where each stretched line should start and end, as image points
        for strip, p in zip(strips, pitch, strict=True):
            grow = missing * p
            x0, x1 = (strip.x0 - grow, strip.x1) if at_start else (strip.x0, strip.x1 + grow)
            ends.append((strip.image_point(x0), strip.image_point(x1)))
        stretched = _cut_to(gray, boxes, strips, upside_down, ends)
        if stretched is not None:
            candidates.append(stretched)
    return candidates


Point = tuple[float, float]


def _cut_to(
    gray: GrayImage,
    boxes: list[LineBox],
    strips: list[LineStrip],
    upside_down: bool,
    ends: list[tuple[Point, Point]],
) -> list[LineStrip] | None:
    """The lines with their extents moved to the given image points (cut again from the image
    where a point lies outside a line's strip); extents never shrink."""
    spans = [(s.strip_x(a), s.strip_x(b)) for s, (a, b) in zip(strips, ends, strict=True)]
    if any(x0 < 0 or x1 > s.ink.shape[1] - 1 for s, (x0, x1) in zip(strips, spans, strict=True)):
        again = [
            extract_strip(gray, widened_box(s, box, x0, x1), upside_down)
            for s, box, (x0, x1) in zip(strips, boxes, spans, strict=True)
        ]
        if any(s is None for s in again):
            return None
        strips = [s for s in again if s is not None]
    out = []
    for strip, (a, b) in zip(strips, ends, strict=True):
        x0, x1 = round(strip.strip_x(a)), round(strip.strip_x(b))
        last = strip.ink.shape[1] - 1
        out.append(strip.with_extent(max(0, min(x0, strip.x0)), min(last, max(x1, strip.x1))))
    return out


def widened_box(strip: LineStrip, box: LineBox, x0: float, x1: float) -> LineBox:
    """The line's box stretched along its axis to cover strip columns x0..x1 (which may lie
    outside the strip), so the line can be cut again with nothing missing."""
    cx, cy = strip.image_point((x0 + x1) / 2)
    scale = float(np.hypot(strip.to_strip[0, 0], strip.to_strip[0, 1]))
    return LineBox(cx, cy, max(box.length, (x1 - x0) / scale), box.height, box.angle_deg)


def _reaches_beyond(strip: LineStrip, extent: tuple[int, int]) -> bool:
    return extent[0] < 0 or extent[1] > strip.ink.shape[1] - 1
