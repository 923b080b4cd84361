"""Cut one MRZ line strip into its N character cells, ready for the glyph classifier.

MRZ text is OCR-B at a fixed pitch (ICAO 9303-3: 10 characters per 25.4 mm) and every position
is printed (fillers are the '<' glyph), so a line of N characters is N equal cells between the
first and the last glyph. A pitch/phase grid is fitted to the ink of the upright strip
(`strip.py`) so that cell borders fall in the gaps between glyphs. The same code cuts the
training glyphs (`models/training/mrz/`), so the model learns exactly the crops it will see.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from appliance.mrz.ocr.strip import FloatArray, LineStrip

GLYPH_H = 32
GLYPH_W = 24
_PAD = 40


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
    period = _period(strip, grid.pitch)
    if period is not None and abs(grid.pitch / period - 1) > _PERIOD_SLACK:
        return False
    plausible = _PITCH_PER_HEIGHT[0] <= grid.pitch / strip.text_height <= _PITCH_PER_HEIGHT[1]
    return plausible and bool(_spans(np.array(start), np.array(end), strip, grid.pitch))


def _period(strip: LineStrip, pitch: float) -> float | None:
    """The line's period, unless it is twice `pitch` (the autocorrelation of a line of
    fillers whose pitch drifts under perspective can peak at two glyphs): then no period."""
    period = strip.period
    if period is not None and abs(period / pitch - 2.0) < 0.15:
        return None
    return period


def cut_glyphs(strip: LineStrip, n: int) -> FloatArray | None:
    """The N cells of the line as an (N, GLYPH_H, GLYPH_W) batch; None when the line does not
    hold N characters."""
    period = _period(strip, _span_pitch(strip, n))
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
    padded = cv2.copyMakeBorder(strip.glyphs, _PAD, _PAD, _PAD, _PAD, cv2.BORDER_CONSTANT, value=0)
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
