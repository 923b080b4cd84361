"""Iris recognition benchmark: error rates, impostor statistics, latency, 1:N throughput.

    python -m benchmarks.iris [--data DIR] [--json] [--identities N --captures K]

DIR holds one folder per eye with several images each (any format `appliance iris` reads).
Without `--data` a synthetic set is generated in memory (`hardware_mocks/iris_synth.py`:
N identities x K captures, varied rotation, dilation, lids, lashes, reflections, defocus,
noise). Every image is encoded once; one that yields no segmentation (`IRIS_NOT_FOUND`) or
fails the quality gate is a failure to acquire (FTA) and left out of the pairs (ISO/IEC
19795-1). Genuine pairs: two captures of one eye; impostor pairs: every pair across eyes.
Scores are normalised Hamming distances (lower = more alike) with the rotation search, as
`appliance iris compare` decides; a pair matches at or below the threshold.

The impostor distribution is also given without rotation search and without normalisation
(mean, std and Daugman's degrees of freedom N = p(1 - p) / sigma^2, the binomial the
distances behave like). 1:N throughput: a gallery of `--gallery` templates searched by one
probe with every shift, on one pinned core; a "comparison" is one probe against one entry
*including* the whole rotation search.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.iris.encode import IrisTemplate
from appliance.biometrics.iris.image import decode_eye
from appliance.biometrics.iris.match import (
    MAX_SHIFT,
    Gallery,
    compare,
    degrees_of_freedom,
)
from appliance.biometrics.iris.pipeline import encode_eye
from appliance.errors import ApplianceError
from appliance.inputs import read_input_file

Scores = NDArray[np.float64]
TARGETS = (0.001, 0.0001)
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".jp2", ".webp"}


def pin_to_one_core() -> int | None:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return None
    return cpu


def _images(data: Path | None, identities: int, captures: int):  # type: ignore[no-untyped-def]
    """(eye label, grayscale image) pairs, from DIR or synthetic."""
    if data is None:
        from hardware_mocks.iris_synth import IrisSynth

        for i in range(identities):
            synth = IrisSynth(i)
            for c in range(captures):
                yield f"synthetic-{i}", synth.capture(c)[0]
        return
    for eye in sorted(p for p in data.iterdir() if p.is_dir()):
        for path in sorted(eye.iterdir()):
            if path.suffix.lower() in _IMAGE_SUFFIXES:
                try:
                    yield eye.name, decode_eye(read_input_file(path, 64 * 1024 * 1024))
                except ApplianceError:
                    yield eye.name, None


def encode_all(
    data: Path | None, identities: int, captures: int
) -> tuple[list[str], list[IrisTemplate], list[float], dict[str, int]]:
    labels: list[str] = []
    templates: list[IrisTemplate] = []
    times: list[float] = []
    failures = {"attempts": 0, "unreadable": 0, "not_found": 0, "quality": 0}
    for label, image in _images(data, identities, captures):
        failures["attempts"] += 1
        if image is None:
            failures["unreadable"] += 1
            continue
        start = time.perf_counter()
        try:
            eye = encode_eye(image)
        except ApplianceError:
            failures["not_found"] += 1
            continue
        times.append((time.perf_counter() - start) * 1000)
        if not eye.quality.ok:
            failures["quality"] += 1
            continue
        labels.append(label)
        templates.append(eye.template)
    return labels, templates, times, failures


def score_matrix(templates: list[IrisTemplate], max_shift: int) -> Scores:
    gallery = Gallery(templates)
    return np.stack([gallery.search(t, max_shift) for t in templates])


def equal_error_rate(genuine: Scores, impostors: Scores) -> tuple[float, float]:
    best_gap, eer, at = math.inf, 1.0, 0.0
    for t in np.unique(np.concatenate([genuine, impostors])):
        fnmr = float(np.mean(genuine > t))
        fmr = float(np.mean(impostors <= t))
        if abs(fnmr - fmr) < best_gap:
            best_gap, eer, at = abs(fnmr - fmr), (fnmr + fmr) / 2, float(t)
    return eer, at


def threshold_at(impostors: Scores, target: float) -> float:
    """Highest threshold letting at most floor(target x N) impostor pairs at or below it."""
    allowed = math.floor(target * len(impostors))
    ranked = np.sort(impostors)
    if allowed >= len(ranked):
        return float(ranked[-1])
    return float(np.nextafter(ranked[allowed], -np.inf))


def describe(scores: Scores) -> dict[str, float]:
    return {
        "mean": round(float(scores.mean()), 4),
        "std": round(float(scores.std()), 4),
        "min": round(float(scores.min()), 4),
        "max": round(float(scores.max()), 4),
    }


def matches_per_second(templates: list[IrisTemplate], size: int, max_shift: int) -> float:
    """1:N comparisons (each with the whole rotation search) per second on this core."""
    rng = np.random.default_rng(0)
    reps = -(-size // len(templates))
    gallery = Gallery((templates * reps)[:size])
    gallery.codes ^= rng.integers(0, 2**63, gallery.codes.shape, dtype=np.uint64) & np.uint64(
        0x0101010101010101
    )  # not exact copies, so nothing is cached by accident
    probe = templates[0]
    gallery.search(probe, max_shift)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        gallery.search(probe, max_shift)
        best = min(best, time.perf_counter() - start)
    return size / best


def run(
    data: Path | None,
    identities: int,
    captures: int,
    gallery_size: int,
    max_shift: int = MAX_SHIFT,
    threshold: float = 0.32,
    core: int | None = None,
) -> dict[str, object]:
    labels, templates, times, failures = encode_all(data, identities, captures)
    if len(set(labels)) < 2:
        raise SystemExit(
            f"fewer than two eyes encoded: nothing to compare (images {failures['attempts']}, "
            f"unreadable {failures['unreadable']}, no iris found {failures['not_found']}, "
            f"failed quality {failures['quality']}; encode ms {[round(t, 1) for t in times]})"
        )
    matrix = score_matrix(templates, max_shift)
    flat_matrix = score_matrix(templates, 0)  # no rotation search
    same = np.array(labels)[:, None] == np.array(labels)[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    genuine = matrix[upper & same]
    impostors = matrix[upper & ~same]
    # raw fractional HD without shifts or normalisation, for the binomial fit
    raw = []
    rows = np.argwhere(upper & ~same)
    pick = np.random.default_rng(1).permutation(len(rows))[:20000]
    for i, j in rows[pick]:
        raw.append(compare(templates[i], templates[j], 0).hd_raw)
    raw_hd = np.array(raw)
    match_ms = []
    for i in range(min(50, len(templates) - 1)):
        start = time.perf_counter()
        compare(templates[i], templates[i + 1], max_shift)
        match_ms.append((time.perf_counter() - start) * 1000)
    eer, eer_t = equal_error_rate(genuine, impostors)
    report: dict[str, object] = {
        "data": str(data) if data else f"synthetic ({identities} eyes x {captures} captures)",
        "eyes": len(set(labels)),
        "images": failures["attempts"],
        "fta": round((failures["attempts"] - len(templates)) / max(failures["attempts"], 1), 4),
        "fta_detail": failures,
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostors),
        "eer": round(eer, 5),
        "eer_threshold": round(eer_t, 4),
    }
    for target in TARGETS:
        t = threshold_at(impostors, target)
        report[f"threshold_at_fmr_{target}"] = round(t, 4)
        report[f"fnmr_at_fmr_{target}"] = round(float(np.mean(genuine > t)), 5)
    report.update(
        {
            "configured_threshold": threshold,
            "fnmr_at_configured_threshold": round(float(np.mean(genuine > threshold)), 5),
            "fmr_at_configured_threshold": round(float(np.mean(impostors <= threshold)), 6),
            "genuine_hd_norm": describe(genuine),
            "impostor_hd_norm": describe(impostors),
            "impostor_hd_no_rotation": describe(flat_matrix[upper & ~same]),
            "impostor_hd_raw": {
                **describe(raw_hd),
                "degrees_of_freedom": round(degrees_of_freedom(raw_hd), 1),
                "pairs": len(raw_hd),
            },
            "rotation_search_deg": round(max_shift * 360 / 128, 1),
            "latency_ms": {
                "encode": round(statistics.median(times), 2),
                "encode_p95": round(float(np.percentile(times, 95)), 2),
                "match": round(statistics.median(match_ms), 3),
            },
            "matches_per_second": round(matches_per_second(templates, gallery_size, max_shift)),
            "gallery_size": gallery_size,
            "pinned_cpu": core,
        }
    )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="iris recognition benchmark")
    parser.add_argument("--data", type=Path, help="one folder per eye (default: synthetic)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--identities", type=int, default=60, help="synthetic eyes")
    parser.add_argument("--captures", type=int, default=5, help="synthetic captures per eye")
    parser.add_argument("--gallery", type=int, default=100_000, help="1:N gallery size")
    parser.add_argument("--threshold", type=float, default=0.32)
    args = parser.parse_args(argv)
    core = pin_to_one_core()  # here, not in `run`: a test calling `run` keeps its CPUs
    report = run(
        args.data, args.identities, args.captures, args.gallery, threshold=args.threshold, core=core
    )
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
