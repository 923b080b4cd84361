"""Finding the MRZ lines in a page image (benchmark page generator, no model needed)."""

from __future__ import annotations

import random

import cv2
import numpy as np

from appliance.mrz.ocr.localize import find_mrz_candidates
from hardware_mocks.mrz_frames import render_page, scan


def test_lines_split_by_glare_are_found_whole() -> None:
    flat, truth = render_page(random.Random(3), "TD3", 300)
    assert truth is not None
    image = scan(flat, random.Random(3), np.random.default_rng(3), 90)
    whole = find_mrz_candidates(image)[0]
    # glare: a bright patch wipes six characters out of the middle of both lines
    b = whole[0]
    pitch = b.length / len(truth[0])
    top, bottom = whole[0], whole[-1]
    centre = ((top.cx + bottom.cx) / 2, (top.cy + bottom.cy) / 2)
    rect = (centre, (6 * pitch, 4 * b.height + abs(bottom.cy - top.cy)), b.angle_deg)
    glared = image.copy()
    cv2.fillConvexPoly(glared, np.intp(cv2.boxPoints(rect)), int(np.percentile(image, 95)))
    found = find_mrz_candidates(glared)
    assert found, "the MRZ must still be found"
    best = found[0]
    assert len(best) == 2
    for line, reference in zip(best, whole, strict=True):
        assert abs(line.length - reference.length) < 2 * pitch
        assert np.hypot(line.cx - reference.cx, line.cy - reference.cy) < pitch


def test_a_pair_whose_second_line_lost_its_first_third_to_glare_is_still_found() -> None:
    flat, truth = render_page(random.Random(5), "TD3", 300)
    assert truth is not None
    image = scan(flat, random.Random(5), np.random.default_rng(5), 90)
    top, bottom = find_mrz_candidates(image)[0]
    pitch = bottom.length / len(truth[1])
    # wipe the first 16 characters of the lower line only, nothing of the upper one
    theta = np.radians(bottom.angle_deg)
    ux, uy = np.cos(theta), np.sin(theta)
    shift = -bottom.length / 2 + 8 * pitch
    centre = (bottom.cx + shift * ux, bottom.cy + shift * uy)
    rect = (centre, (16 * pitch, 1.4 * bottom.height), bottom.angle_deg)
    glared = image.copy()
    cv2.fillConvexPoly(glared, np.intp(cv2.boxPoints(rect)), int(np.percentile(image, 95)))
    pairs = [g for g in find_mrz_candidates(glared) if len(g) == 2]
    assert any(
        np.hypot(g[0].cx - top.cx, g[0].cy - top.cy) < pitch
        and abs(g[0].length - top.length) < 2 * pitch
        and abs(g[1].length - (bottom.length - 16 * pitch)) < 2 * pitch
        for g in pairs
    ), "the whole upper line and what is left of the lower one form a candidate"
