"""Cut labelled glyphs from rendered MRZ blocks with the product's own localiser and segmenter.

Each block is located with `find_mrz_candidates` and cut with `extract_strip` / `fit_grid` /
`cut_cells`, exactly as at run time, so the classifier learns the crops it will be shown.
Besides the 37 MRZ characters, class 37 ("junk") holds cells that straddle two glyphs or hold
no glyph: the reader uses it to notice a wrong grid instead of guessing a character.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from mrz_text import random_mrz
from render import ocrb_fonts, render_block

from appliance.mrz.ocr.layout import CLASSES
from appliance.mrz.ocr.localize import find_mrz_candidates
from appliance.mrz.ocr.segment import cut_cells, fit_grid
from appliance.mrz.ocr.strip import extract_strip

JUNK = len(CLASSES)


def glyphs_of_block(
    lines: list[str], rng: random.Random, nrng: np.random.Generator, fonts: dict[str, str]
) -> tuple[np.ndarray, np.ndarray] | None:
    block = render_block(lines, rng, nrng, fonts)
    groups = [g for g in find_mrz_candidates(block.image) if len(g) == len(lines)]
    if not groups:
        return None
    boxes = groups[0][::-1] if block.upside_down else groups[0]
    xs, ys = [], []
    n = len(lines[0])
    for text, box in zip(lines, boxes, strict=True):
        strip = extract_strip(block.image, box, upside_down=block.upside_down)
        if strip is None:
            return None
        grid = fit_grid(strip, n)
        centres = np.arange(n) + 0.5 + nrng.normal(0.0, 0.05, n)
        xs.append(cut_cells(strip, grid, centres))
        ys.append(np.array([CLASSES.index(c) for c in text]))
        straddle = nrng.choice(n - 1, size=3, replace=False) + 1.0 + nrng.normal(0, 0.06, 3)
        outside = np.array([-1.3 - rng.random(), n + 0.3 + rng.random()])
        junk = np.concatenate([straddle, outside])
        xs.append(cut_cells(strip, grid, junk))
        ys.append(np.full(len(junk), JUNK))
    return np.concatenate(xs), np.concatenate(ys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--blocks", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=20240401)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rng, nrng, fonts = random.Random(args.seed), np.random.default_rng(args.seed), ocrb_fonts()
    xs, ys, blocks, missed = [], [], [], 0
    start = time.time()
    for i in range(args.blocks):
        got = glyphs_of_block(random_mrz(rng), rng, nrng, fonts)
        if got is None:
            missed += 1
            continue
        xs.append((got[0] * 255).round().astype(np.uint8))
        ys.append(got[1].astype(np.uint8))
        blocks.append(np.full(len(got[1]), i, np.int32))
        if i % 500 == 0:
            print(f"{i}/{args.blocks} blocks, {time.time() - start:.0f} s", flush=True)
    x, y, b = np.concatenate(xs), np.concatenate(ys), np.concatenate(blocks)
    np.savez_compressed(args.out, x=x, y=y, block=b)
    print(
        f"{len(y)} glyphs from {args.blocks - missed} blocks; localiser missed {missed} "
        f"({100 * missed / args.blocks:.1f}%) in {time.time() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
