"""One eye image to one template: segmentation, masks, rubber sheet, phase code, quality."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from appliance.biometrics.iris import encode, masks, normalize, quality, segment
from appliance.biometrics.iris.segment import Gray


@dataclass(frozen=True)
class EncodedEye:
    template: encode.IrisTemplate
    boundaries: segment.Boundaries
    noise: masks.NoiseMasks
    quality: quality.IrisQuality
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        b = self.boundaries
        return {
            "pupil": b.pupil.as_dict(),
            "iris": b.iris.as_dict(),
            "eyelids": {
                "upper": self.noise.upper_lid.as_dict() if self.noise.upper_lid else None,
                "lower": self.noise.lower_lid.as_dict() if self.noise.lower_lid else None,
            },
            "usable_bits": self.template.usable_bits,
            "quality": self.quality.as_dict(),
            "timings_ms": self.timings_ms,
        }


def encode_eye(gray: Gray) -> EncodedEye:
    """Template and quality of a grayscale NIR eye image.

    Raises `ApplianceError(IRIS_NOT_FOUND)` when no pupil or iris is found; a poor capture is
    returned with its failing quality measures (the caller refuses it).
    """
    t0 = time.perf_counter()
    filled, reflections = segment.fill_reflections(gray)
    bounds = segment.find_boundaries(filled)
    t1 = time.perf_counter()
    noise = masks.noise_masks(gray, filled, reflections, bounds)
    t2 = time.perf_counter()
    sheet, valid = normalize.rubber_sheet(filled, noise.usable, bounds)
    template = encode.encode(sheet, valid)
    t3 = time.perf_counter()
    assessed = quality.assess(gray, bounds, noise, template.usable_bits)
    t4 = time.perf_counter()
    timings = {
        "segment": round((t1 - t0) * 1000, 2),
        "masks": round((t2 - t1) * 1000, 2),
        "encode": round((t3 - t2) * 1000, 2),
        "quality": round((t4 - t3) * 1000, 2),
        "total": round((t4 - t0) * 1000, 2),
    }
    return EncodedEye(template, bounds, noise, assessed, timings)
