"""Iris capture quality in the spirit of ISO/IEC 29794-6: measures, each with its limit and
the instruction a kiosk shows when the capture must be repeated.

Measures: usable iris area (the fraction of the annulus left after lids, lashes and
reflections; 29794-6 asks >= 70 % for enrolment, we accept >= 50 % at verification, where
the normalised Hamming distance already discounts fewer bits), eyelid occlusion, pupil/iris
radius ratio (0.2-0.7), iris radius in pixels (29794-6: >= 80 px preferred; below 40 px the
code rows blur together), focus (the power of Daugman's 8 x 8 band-pass kernel on the iris,
scaled 0-100 as x^2 / (x^2 + c^2)), usable code bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from appliance.biometrics.findings import Finding
from appliance.biometrics.iris.masks import NoiseMasks
from appliance.biometrics.iris.segment import Boundaries, Gray

MIN_USABLE_AREA = 0.5
MAX_LID_OCCLUSION = 0.45
RATIO_RANGE = (0.2, 0.7)
MIN_IRIS_RADIUS = 40.0
MIN_FOCUS = 30.0
MIN_CODE_BITS = 600
#: half-power point of the focus score (kernel power in grey levels^2)
_FOCUS_C = 40.0

#: Daugman's 8 x 8 focus kernel: -1 everywhere, +3 in the central 4 x 4 (zero sum)
_KERNEL = -np.ones((8, 8), dtype=np.float32)
_KERNEL[2:6, 2:6] = 3.0


@dataclass(frozen=True)
class IrisQuality:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def instruction(self) -> str:
        """The first failing measure's instruction (the one to fix first)."""
        return next((f.instruction for f in self.findings if not f.ok), "")

    @property
    def failed(self) -> list[str]:
        return [f.measure for f in self.findings if not f.ok]

    def value(self, measure: str) -> float:
        return next(f.value for f in self.findings if f.measure == measure)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "instruction": self.instruction,
            "measures": [f.as_dict() for f in self.findings],
        }


def focus_score(gray: Gray, b: Boundaries) -> float:
    """Daugman's 8 x 8 kernel power on the iris's bounding square, scaled to 0-100."""
    h, w = gray.shape
    r = b.iris.r
    x0, x1 = max(0, int(b.iris.x - r)), min(w, int(b.iris.x + r))
    y0, y1 = max(0, int(b.iris.y - r * 0.5)), min(h, int(b.iris.y + r * 0.5))
    patch = gray[y0:y1, x0:x1].astype(np.float32)
    if patch.shape[0] < 8 or patch.shape[1] < 8:
        return 0.0
    response = cv2.filter2D(patch, cv2.CV_32F, _KERNEL)[4:-4, 4:-4] / 16.0
    power = float(np.mean(response**2))
    return 100.0 * power**2 / (power**2 + _FOCUS_C**2)


def assess(gray: Gray, b: Boundaries, masks: NoiseMasks, usable_bits: int) -> IrisQuality:
    usable = float(masks.usable.sum()) / max(1.0, float(np.pi * (b.iris.r**2 - b.pupil.r**2)))
    ratio = b.pupil.r / b.iris.r
    focus = focus_score(gray, b)
    lo, hi = RATIO_RANGE
    findings = (
        Finding(
            "iris_radius_px",
            b.iris.r,
            f">= {MIN_IRIS_RADIUS:g}",
            b.iris.r >= MIN_IRIS_RADIUS,
            "come closer to the camera",
        ),
        Finding(
            "eyelid_occlusion",
            masks.lid_fraction,
            f"<= {MAX_LID_OCCLUSION:g}",
            masks.lid_fraction <= MAX_LID_OCCLUSION,
            "open your eye wider",
        ),
        Finding(
            "usable_iris_area",
            usable,
            f">= {MIN_USABLE_AREA:g}",
            usable >= MIN_USABLE_AREA,
            "open your eye wider and look straight at the camera",
        ),
        Finding(
            "pupil_iris_ratio",
            ratio,
            f"{lo:g}-{hi:g}",
            lo <= ratio <= hi,
            "look at the light for a moment, then try again",
        ),
        Finding(
            "focus", focus, f">= {MIN_FOCUS:g}", focus >= MIN_FOCUS, "hold still, slightly closer"
        ),
        Finding(
            "usable_code_bits",
            float(usable_bits),
            f">= {MIN_CODE_BITS}",
            usable_bits >= MIN_CODE_BITS,
            "open your eye wider and look straight at the camera",
        ),
    )
    return IrisQuality(findings)
