"""Noise masks: eyelids, lashes and illuminator reflections are kept out of the code."""

from __future__ import annotations

import numpy as np

from appliance.biometrics.iris.pipeline import encode_eye
from hardware_mocks.iris_synth import IrisSynth


def test_reflections_are_masked() -> None:
    image, truth = IrisSynth(5).capture(1, reflections=2)
    eye = encode_eye(image)
    assert truth.reflections.any()
    assert not (eye.noise.usable & truth.reflections).any()


def test_eyelids_over_the_iris_are_masked() -> None:
    image, truth = IrisSynth(6).capture(0, upper_lid=0.55, lower_lid=0.8, lashes=0)
    eye = encode_eye(image)
    assert eye.noise.upper_lid is not None and eye.noise.lower_lid is not None
    behind = truth.lid_occluded
    assert behind.sum() > 2000  # the lids really cover part of the iris here
    assert (eye.noise.usable & behind).sum() / behind.sum() < 0.05
    assert eye.noise.lid_fraction > 0.15


def test_an_open_eye_keeps_its_iris() -> None:
    image, truth = IrisSynth(7).capture(0, upper_lid=1.1, lower_lid=1.2, lashes=0, reflections=0)
    eye = encode_eye(image)
    assert not truth.lid_occluded.any()
    assert eye.noise.lid_fraction < 0.05
    assert eye.quality.value("usable_iris_area") > 0.85


def test_lashes_are_masked() -> None:
    synth = IrisSynth(8)
    bare, _ = synth.capture(0, upper_lid=0.7, lashes=0, reflections=0)
    image, _ = synth.capture(0, upper_lid=0.7, lashes=80, reflections=0)
    eye = encode_eye(image)
    b = eye.boundaries
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    ring = ((xx - b.iris.x) ** 2 + (yy - b.iris.y) ** 2 < (b.iris.r - 3) ** 2) & (
        (xx - b.pupil.x) ** 2 + (yy - b.pupil.y) ** 2 > (b.pupil.r + 3) ** 2
    )
    lashes = (bare.astype(int) - image.astype(int) > 40) & ring  # pixels a lash darkened
    assert lashes.sum() > 100
    assert eye.noise.lash_fraction > 0.0
    assert (eye.noise.usable & lashes).sum() / lashes.sum() < 0.05
