"""Daugman's rubber sheet: the iris annulus unwrapped to a fixed 64 x 512 rectangle.

Each angle's ray runs from the pupil boundary to the limbus boundary (each circle with its own
centre, so a decentred pupil is handled) and is sampled at 64 evenly spaced fractions of that
segment: pupil dilation and the distance to the camera cancel out, and a rotation of the eye
(head tilt) becomes a circular shift of the columns, which the matcher undoes.
"""

from __future__ import annotations

import cv2
import numpy as np

from appliance.biometrics.iris.segment import Boundaries, Floats, Gray, Mask

RADIAL = 64
ANGULAR = 512


def sampling_maps(
    b: Boundaries, radial: int = RADIAL, angular: int = ANGULAR
) -> tuple[Floats, Floats]:
    """Image x and y of every rubber-sheet cell (radial rows x angular columns)."""
    theta = np.linspace(0.0, 2 * np.pi, angular, endpoint=False, dtype=np.float32)
    t = ((np.arange(radial, dtype=np.float32) + 0.5) / radial)[:, None]
    cos, sin = np.cos(theta)[None, :], np.sin(theta)[None, :]
    inner_x, inner_y = b.pupil.x + b.pupil.r * cos, b.pupil.y + b.pupil.r * sin
    outer_x, outer_y = b.iris.x + b.iris.r * cos, b.iris.y + b.iris.r * sin
    map_x = (1 - t) * inner_x + t * outer_x
    map_y = (1 - t) * inner_y + t * outer_y
    return map_x.astype(np.float32), map_y.astype(np.float32)


def rubber_sheet(image: Gray, usable: Mask, b: Boundaries) -> tuple[Floats, Mask]:
    """(normalised intensities, usable cells) of the iris, RADIAL x ANGULAR."""
    map_x, map_y = sampling_maps(b)
    sheet = cv2.remap(
        image.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    valid = cv2.remap(
        usable.astype(np.uint8),
        map_x,
        map_y,
        cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return np.asarray(sheet, dtype=np.float32), np.asarray(valid, dtype=np.bool_)
