"""Finding the MRZ lines in a page image (benchmark page generator, no model needed)."""

from __future__ import annotations

import random

import cv2
import numpy as np

from appliance.mrz.ocr.localize import find_mrz_candidates
from benchmarks.mrz_synth import render_page, scan


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
