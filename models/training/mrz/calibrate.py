"""Fit the glyph model's softmax temperature on held-out renders; prints the best value.

    .venv/bin/python models/training/mrz/calibrate.py [--model PATH]

Runs the product reader (uncalibrated) on pages from the benchmark's generator
(`hardware_mocks/mrz_frames.py`) with seed 99 (the benchmark itself uses another seed), keeps
the cells of reads whose grid matched the truth, and picks the temperature that minimises the
log-loss of the true characters. The result goes into `TEMPERATURE` in update_manifest.py,
and from there into the manifest.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from appliance.mrz.ocr.layout import CLASSES
from appliance.mrz.ocr.reader import MrzImageReader
from hardware_mocks.mrz_frames import sample

MIX = (("camera_degraded", 80), ("camera", 30), ("scan_150dpi", 30), ("clean_scan", 20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--model", type=Path, default=Path(__file__).parents[2] / "mrz" / "mrz_glyphs.onnx"
    )
    args = ap.parse_args()
    reader = MrzImageReader(args.model)  # explicit path: temperature 1, the raw outputs
    rng, nrng = random.Random(99), np.random.default_rng(99)
    probs, truth = [], []
    for level, count in MIX:
        for _ in range(count):
            s = sample(rng, nrng, level)
            decoded = reader.read(s.image).decoded
            if s.lines is None or decoded is None or decoded.layout.lines != len(s.lines):
                continue
            if decoded.layout.length != len(s.lines[0]):
                continue
            pairs = zip("".join(decoded.lines), "".join(s.lines), strict=True)
            errors = sum(a != b for a, b in pairs)
            if errors > 8:  # a misplaced grid says nothing about calibration
                continue
            probs.append(decoded.raw.reshape(-1, decoded.raw.shape[-1]))
            truth.extend(CLASSES.index(c) for line in s.lines for c in line)
    logp = np.log(np.maximum(np.concatenate(probs).astype(np.float64), 1e-30))
    y = np.array(truth)
    best = None
    for t in np.arange(0.2, 1.01, 0.05):
        z = logp / t
        z -= z.max(axis=1, keepdims=True)
        q = np.exp(z)
        q /= q.sum(axis=1, keepdims=True)
        nll = float(-np.log(np.maximum(q[np.arange(len(y)), y], 1e-30)).mean())
        print(f"T={t:.2f} log-loss {nll:.4f}")
        if best is None or nll < best[1]:
            best = (float(t), nll)
    assert best is not None
    print(f"best temperature {best[0]:.2f} over {len(y)} cells")


if __name__ == "__main__":
    main()
