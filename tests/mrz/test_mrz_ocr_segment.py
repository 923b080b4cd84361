"""Line extents and character grids: where the cells of a located MRZ line fall.

Rendered with the benchmark's page generator (not the training one); no model needed.
"""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from appliance.mrz.ocr.lines import aligned_strips, common_extent, stretched_strips
from appliance.mrz.ocr.localize import LineBox, find_mrz_candidates
from appliance.mrz.ocr.segment import cut_glyphs, fit_grid
from appliance.mrz.ocr.strip import LineStrip, extract_strip
from hardware_mocks.mrz_frames import render_page, scan


def strips_of(fmt: str, seed: int) -> tuple[list[LineStrip], list[str]]:
    flat, truth = render_page(random.Random(seed), fmt, 300)
    assert truth is not None
    image = scan(flat, random.Random(seed), np.random.default_rng(seed), 90)
    group = find_mrz_candidates(image)[0]
    strips = [extract_strip(image, box) for box in group]
    assert all(s is not None for s in strips)
    return [s for s in strips if s is not None], truth


@pytest.mark.parametrize(("fmt", "seed"), [("TD3", 1), ("TD2", 3), ("TD1", 2)])
def test_the_grid_spans_the_printed_line_with_one_cell_per_character(fmt: str, seed: int) -> None:
    strips, truth = strips_of(fmt, seed)
    n = len(truth[0])
    for strip in strips:
        grid = fit_grid(strip, n)
        start, end = grid.at(np.array([0.0, float(n)]))
        assert abs(start - strip.x0) < 0.5 * grid.pitch
        assert abs(end - strip.x1) < 0.5 * grid.pitch
        assert (strip.x1 - strip.x0) / grid.pitch == pytest.approx(n - 0.25, abs=0.6)
        cells = cut_glyphs(strip, n)
        assert cells is not None and cells.shape[0] == n


@pytest.mark.parametrize("seed", [4, 6, 7, 10])
def test_under_strong_perspective_the_grid_takes_the_mean_pitch_not_the_fillers_period(
    seed: int,
) -> None:
    """The page turned away on one side: glyphs shrink along the line, and the period follows
    the run of fillers at its end, up to 8% off the mean pitch the grid needs."""
    flat, truth = render_page(random.Random(seed), "TD3", 300)
    assert truth is not None
    h, w = flat.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0.12 * h], [w, 0], [w, h], [0, 0.88 * h]])
    warp = cv2.getPerspectiveTransform(src, dst)
    image = cv2.warpPerspective(flat, warp, (w, h), borderValue=255)
    deviations = []
    for box in find_mrz_candidates(image)[0]:
        strip = extract_strip(image, box)
        assert strip is not None and strip.period is not None
        mean = (strip.x1 - strip.x0 + 1) / 43.75
        deviations.append(abs(strip.period / mean - 1))
        assert fit_grid(strip, 44).pitch / mean == pytest.approx(1.0, abs=0.01)
        assert cut_glyphs(strip, 44) is not None
    assert max(deviations) > 0.05  # the case this is about


def test_a_visa_line_of_44_characters_never_yields_36_cells() -> None:
    """A 36-cell grid on an MRV-A line would read its first 36 characters as a valid MRV-B."""
    strips, truth = strips_of("MRV-A", 4)
    assert len(truth[0]) == 44
    for candidate in (strips, common_extent(strips)):
        assert all(cut_glyphs(s, 36) is None for s in candidate)
        assert all(cut_glyphs(s, 44) is not None for s in candidate)


def test_a_line_whose_end_is_lost_takes_its_extent_from_the_other_lines() -> None:
    strips, truth = strips_of("TD3", 5)
    n = len(truth[0])
    pitch = fit_grid(strips[1], n).pitch
    full = strips[1]
    # glare wiped the last six characters of the second line
    cut_short = full.with_extent(full.x0, int(full.x1 - 6 * pitch))
    assert cut_glyphs(cut_short, n) is None
    widened = common_extent([strips[0], cut_short])
    assert abs(widened[1].x1 - full.x1) < 0.5 * pitch
    assert abs(widened[1].x0 - full.x0) < 0.5 * pitch
    assert cut_glyphs(widened[1], n) is not None


def test_extents_only_grow() -> None:
    """Ink is lost to glare, not invented: a neighbour never shortens a line."""
    strips, _ = strips_of("TD1", 6)
    short = [s.with_extent(s.x0 + 40, s.x1 - 40) if i == 0 else s for i, s in enumerate(strips)]
    for before, after in zip(short, common_extent(short), strict=True):
        assert after.x0 <= before.x0 and after.x1 >= before.x1


def _td3_scan(seed: int) -> tuple[np.ndarray, list[LineBox], int]:
    flat, truth = render_page(random.Random(seed), "TD3", 300)
    assert truth is not None
    image = scan(flat, random.Random(seed), np.random.default_rng(seed), 90)
    return image, find_mrz_candidates(image)[0], len(truth[0])


def _trimmed(box: LineBox, chars: float, n: int) -> LineBox:
    """The box with its first `chars` characters cut off."""
    step = box.length / n * chars
    theta = np.radians(box.angle_deg)
    return LineBox(
        box.cx + step / 2 * np.cos(theta),
        box.cy + step / 2 * np.sin(theta),
        box.length - step,
        box.height,
        box.angle_deg,
    )


def _start(strip: LineStrip | None) -> np.ndarray:
    assert strip is not None
    return np.array(strip.image_point(strip.x0))


def test_a_box_that_misses_the_start_of_its_line_still_yields_the_whole_line() -> None:
    image, boxes, n = _td3_scan(7)
    pitch_px = boxes[1].length / n
    whole = extract_strip(image, boxes[1])
    cut_short = extract_strip(image, _trimmed(boxes[1], 16, n))
    assert cut_short is not None and cut_glyphs(cut_short, n) is not None
    assert np.linalg.norm(_start(cut_short) - _start(whole)) < 0.5 * pitch_px


def test_a_line_whose_start_glare_wiped_is_cut_from_where_the_other_line_starts() -> None:
    image, boxes, n = _td3_scan(8)
    pitch_px = boxes[1].length / n
    whole = extract_strip(image, boxes[1])
    # glare: the first ten characters of the second line are gone, and its box with them
    b = boxes[1]
    u = np.array([np.cos(np.radians(b.angle_deg)), np.sin(np.radians(b.angle_deg))])
    left_end = np.array([b.cx, b.cy]) - b.length / 2 * u
    centre = left_end + 4.5 * pitch_px * u  # from a character before the line to the tenth
    rect = ((float(centre[0]), float(centre[1])), (11 * pitch_px, 1.5 * b.height), b.angle_deg)
    wiped = image.copy()
    paper = int(np.percentile(image, 95))
    cv2.fillConvexPoly(wiped, np.intp(cv2.boxPoints(rect)), paper)
    short_box = _trimmed(boxes[1], 10, n)
    strips = [extract_strip(wiped, boxes[0]), extract_strip(wiped, short_box)]
    assert strips[0] is not None and strips[1] is not None
    lines = [s for s in strips if s is not None]
    assert cut_glyphs(lines[1], n) is None
    aligned = aligned_strips(wiped, [boxes[0], short_box], lines, upside_down=False)
    assert all(cut_glyphs(s, n) is not None for s in aligned)
    assert np.linalg.norm(_start(aligned[1]) - _start(whole)) < 0.5 * pitch_px


def test_when_glare_takes_the_start_of_every_line_one_candidate_starts_where_the_mrz_does() -> None:
    image, boxes, n = _td3_scan(9)
    pitch_px = boxes[0].length / n
    whole = [extract_strip(image, box) for box in boxes]
    wiped = image.copy()
    paper = int(np.percentile(image, 95))
    for b in boxes:  # the first six characters of both lines are gone
        u = np.array([np.cos(np.radians(b.angle_deg)), np.sin(np.radians(b.angle_deg))])
        centre = np.array([b.cx, b.cy]) - b.length / 2 * u + 2.5 * pitch_px * u
        rect = ((float(centre[0]), float(centre[1])), (7 * pitch_px, 1.5 * b.height), b.angle_deg)
        cv2.fillConvexPoly(wiped, np.intp(cv2.boxPoints(rect)), paper)
    short = [_trimmed(b, 6, n) for b in boxes]
    lines = [extract_strip(wiped, b) for b in short]
    assert all(s is not None for s in lines)
    strips = aligned_strips(wiped, short, [s for s in lines if s is not None], False)
    assert any(cut_glyphs(s, n) is None for s in strips)
    candidates = stretched_strips(wiped, short, strips, False, n)
    assert len(candidates) == 2  # stretched at the start, or at the end
    at_start = candidates[0]
    assert all(cut_glyphs(s, n) is not None for s in at_start)
    for got, full in zip(at_start, whole, strict=True):
        assert np.linalg.norm(_start(got) - _start(full)) < 0.6 * pitch_px
    # a 44-character MRZ is never stretched to be read as a shorter one
    assert stretched_strips(image, boxes, [s for s in whole if s is not None], False, 36) == []
