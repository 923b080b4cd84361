"""Synthetic eyes shared by the iris tests (hardware_mocks/iris_synth.py), encoded once."""

from __future__ import annotations

from functools import cache

import numpy as np

from appliance.biometrics.iris.pipeline import EncodedEye, encode_eye
from hardware_mocks.iris_synth import IrisSynth, Truth

#: identities x captures used for the match tests
IDENTITIES = 6
CAPTURES = 3


@cache
def capture(identity: int, capture: int = 0) -> tuple[np.ndarray, Truth]:
    return IrisSynth(identity).capture(capture)


@cache
def encoded(identity: int, capture_no: int = 0) -> EncodedEye:
    return encode_eye(capture(identity, capture_no)[0])
