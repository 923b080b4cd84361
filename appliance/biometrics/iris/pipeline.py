"""One eye image to one template: segmentation, masks, rubber sheet, phase code, quality."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from appliance.biometrics.iris import encode, masks, normalize, quality, segment
from appliance.biometrics.iris.segment import Gray

#: larger images are scaled down to this many pixels across first: iris cameras deliver
#: 640 x 480 (ISO/IEC 19794-6), the code samples 64 x 512 cells, and full-resolution masks of a
#: 27-megapixel photo would cost seconds and gigabytes for nothing
MAX_WORKING_SIDE = 1024


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
    returned with its failing quality measures (the caller refuses it). Coordinates are those
    of the working image (scaled to at most MAX_WORKING_SIDE pixels across).
    """
    t0 = time.perf_counter()
    h, w = gray.shape
    if max(h, w) > MAX_WORKING_SIDE:
        f = MAX_WORKING_SIDE / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        gray = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
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
