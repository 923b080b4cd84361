"""Cosine comparison and the decision at a calibrated false-match-rate operating point.

Thresholds are not constants in code: they travel with the model in `models/manifest.json`
(`operating_points`), calibrated by `benchmarks/face.py`, so a new model brings its own.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.embed import EMBEDDER_MODEL
from appliance.errors import ApplianceError, Reason
from appliance.models import manifest_entry


class OperatingPoint(StrEnum):
    """Target false match rates: 0.1% (Frontex ABC guidance, default) and 0.05% (EU EES)."""

    FMR_0_1_PERCENT = "fmr_0.001"
    FMR_0_05_PERCENT = "fmr_0.0005"


def cosine_similarity(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / denom) if denom > 0 else 0.0


def threshold_for(point: OperatingPoint, directory: Path | None = None) -> float:
    points = manifest_entry(EMBEDDER_MODEL, directory).get("operating_points", {})
    if point.value not in points:
        raise ApplianceError(Reason.MODEL_UNAVAILABLE, f"no calibrated threshold for {point}")
    return float(points[point.value]["threshold"])


def is_match(score: float, threshold: float) -> bool:
    return score >= threshold
