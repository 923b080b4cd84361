"""The lines of one MRZ, cut to a common extent.

MRZ lines are equally long and start at the same place, so where glare or a shadow wipes the
end of one line the others say where it really ends; where it wipes the same end of every
line, the lines are stretched by the glyphs their own pitch says are missing.
"""

from __future__ import annotations

import numpy as np

from appliance.mrz.ocr.localize import GrayImage, LineBox
from appliance.mrz.ocr.strip import LineStrip, extract_strip, widened_box


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


def _reaches_beyond(strip: LineStrip, extent: tuple[int, int]) -> bool:
    return extent[0] < 0 or extent[1] > strip.ink.shape[1] - 1
