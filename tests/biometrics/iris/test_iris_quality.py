"""Quality gate: each poor capture fails its measure with the instruction to repeat it."""

from __future__ import annotations

from appliance.biometrics.iris.pipeline import encode_eye
from hardware_mocks.iris_synth import IrisSynth
from tests.biometrics.iris.conftest import encoded


def test_good_captures_pass() -> None:
    for identity in range(4):
        quality = encoded(identity, 0).quality
        assert quality.ok, quality.as_dict()
        assert quality.instruction == ""


def test_out_of_focus() -> None:
    image, _ = IrisSynth(30).capture(0, defocus=5.0)
    quality = encode_eye(image).quality
    assert "focus" in quality.failed
    assert quality.value("focus") < encode_eye(IrisSynth(30).capture(0)[0]).quality.value("focus")


def test_half_closed_eye_asks_to_open_wider() -> None:
    image, _ = IrisSynth(31).capture(0, upper_lid=0.35, lower_lid=0.7)
    quality = encode_eye(image).quality
    assert {"eyelid_occlusion", "usable_iris_area"} & set(quality.failed)
    assert "open your eye wider" in quality.instruction


def test_too_far_asks_to_come_closer() -> None:
    image, _ = IrisSynth(32).capture(0, radius_scale=0.34, upper_lid=1.0)
    quality = encode_eye(image).quality
    assert "iris_radius_px" in quality.failed
    assert quality.instruction == "come closer to the camera"


def test_dilated_pupil() -> None:
    image, _ = IrisSynth(33).capture(0, dilation=0.76, upper_lid=1.0, lower_lid=1.1)
    quality = encode_eye(image).quality
    assert "pupil_iris_ratio" in quality.failed
    assert "look at the light" in quality.instruction
