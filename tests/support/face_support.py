"""Shared helpers for the face tests: the photos of tests/data/faces, one verifier per session."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size, token_image
from appliance.biometrics.face.verifier import FaceVerifier
from tests.support.data_support import FACES


def photo(relative: str) -> NDArray[np.uint8]:
    path = FACES / relative
    if not path.is_file():
        pytest.fail(f"test photo missing: {path} (see tests/data/SOURCES.md)")
    return decode_image(path.read_bytes())


def chip_reference(
    verifier: FaceVerifier, relative: str, fmt: TokenFormat = TokenFormat.JPEG2000
) -> bytes:
    """A DG2-like reference (ICAO token, ~15 KB) made from a test photo."""
    image = photo(relative)
    faces = verifier.detector.detect(image)
    return encode_to_size(token_image(image, max(faces, key=lambda f: f.width)), fmt)


@pytest.fixture(scope="session")
def verifier() -> FaceVerifier:
    return FaceVerifier.load()
