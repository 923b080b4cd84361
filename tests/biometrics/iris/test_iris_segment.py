"""Segmentation: pupil and limbus circles (each with its own centre) on synthetic NIR eyes;
what is not an open eye is refused with IRIS_NOT_FOUND."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.biometrics.iris.pipeline import encode_eye
from appliance.errors import ApplianceError, Reason
from hardware_mocks.iris_synth import IrisSynth
from tests.biometrics.iris.conftest import capture, encoded

TOLERANCE_PX = 3.0


@pytest.mark.parametrize(
    ("identity", "capture_no"), [(0, 0), (1, 1), (2, 2), (3, 0), (4, 1), (5, 2)]
)
def test_circles_found_within_a_few_pixels(identity: int, capture_no: int) -> None:
    _, truth = capture(identity, capture_no)
    b = encoded(identity, capture_no).boundaries
    for found, true in ((b.pupil, truth.pupil), (b.iris, truth.iris)):
        assert abs(found.x - true[0]) <= TOLERANCE_PX
        assert abs(found.y - true[1]) <= TOLERANCE_PX
        assert abs(found.r - true[2]) <= TOLERANCE_PX


def test_a_decentred_pupil_gets_its_own_centre() -> None:
    synth = IrisSynth(11)
    synth.pupil_offset = (0.08, 0.05)  # 8 % of the iris radius to the side, 5 % down
    image, truth = synth.capture(0, upper_lid=1.0, lower_lid=1.1)
    b = encode_eye(image).boundaries
    assert abs(b.pupil.x - truth.pupil[0]) <= TOLERANCE_PX
    assert abs(b.iris.x - truth.iris[0]) <= TOLERANCE_PX
    assert b.pupil.x - b.iris.x > 5  # not forced onto one centre


@pytest.mark.parametrize(
    "image",
    [
        np.full((480, 640), 128, np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8),
        np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1)),
    ],
    ids=["flat", "noise", "gradient"],
)
def test_not_an_eye_is_not_found(image: np.ndarray) -> None:
    with pytest.raises(ApplianceError) as err:
        encode_eye(image)
    assert err.value.reason is Reason.IRIS_NOT_FOUND


def test_a_closed_eye_is_not_found() -> None:
    image, _ = IrisSynth(3).capture(0, upper_lid=-0.1, lower_lid=0.0, lashes=0, reflections=0)
    with pytest.raises(ApplianceError) as err:
        encode_eye(image)
    assert err.value.reason is Reason.IRIS_NOT_FOUND


def test_a_large_photo_is_worked_on_at_a_bounded_size() -> None:
    """A 6000 x 4500 photo is scaled to 1024 px across before anything full-size is built (at
    full size the masks alone took seconds and gigabytes); it still matches."""
    from appliance.biometrics.iris.match import compare

    image, truth = capture(0, 1)
    large = cv2.resize(image, (6000, 4500), interpolation=cv2.INTER_CUBIC)
    eye = encode_eye(large)
    scale = 1024 / 6000
    assert abs(eye.boundaries.iris.x - truth.iris[0] * 6000 / 640 * scale) <= TOLERANCE_PX
    assert abs(eye.boundaries.iris.r - truth.iris[2] * 6000 / 640 * scale) <= TOLERANCE_PX
    assert compare(eye.template, encoded(0, 0).template).hd_norm <= 0.32
