"""Image decoding: header sizes read before decoding, bombs and junk refused with one reason."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.biometrics.face.decode import (
    MAX_ENCODED_BYTES,
    MAX_PIXELS,
    declared_size,
    decode_image,
)
from appliance.errors import ApplianceError, Reason

IMAGE_REASONS = {Reason.IMAGE_UNREADABLE, Reason.IMAGE_TOO_LARGE, Reason.IMAGE_TOO_SMALL}
PREFIXES = [
    b"\xff\xd8\xff",
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    b"\xff\x4f\xff\x51",
    b"\x89PNG\r\n\x1a\n",
]


def encoded(ext: str, width: int = 40, height: int = 50) -> bytes:
    """An image file; ".j2k" is a bare codestream (the jp2c box of a JP2), as chips may hold."""
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jp2" if ext == ".j2k" else ext, image)
    assert ok
    data = bytes(buf.tobytes())
    return data[data.index(b"jp2c") + 4 :] if ext == ".j2k" else data


@pytest.mark.parametrize("ext", [".jpg", ".jp2", ".j2k", ".png"])
def test_header_size_is_the_decoded_size(ext: str) -> None:
    data = encoded(ext, 40, 50)
    assert declared_size(data) == (40, 50)
    assert decode_image(data).shape == (50, 40, 3)


def test_jpeg_claiming_a_huge_image_is_refused_before_decoding() -> None:
    data = bytearray(encoded(".jpg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big")
    assert declared_size(bytes(data))[0] * declared_size(bytes(data))[1] > MAX_PIXELS
    with pytest.raises(ApplianceError) as err:
        decode_image(bytes(data))
    assert err.value.reason is Reason.IMAGE_TOO_LARGE


def test_a_lower_pixel_limit_is_applied() -> None:
    data = encoded(".png", 40, 50)
    assert decode_image(data, max_pixels=2000).shape == (50, 40, 3)
    with pytest.raises(ApplianceError) as err:
        decode_image(data, max_pixels=1999)
    assert err.value.reason is Reason.IMAGE_TOO_LARGE


def test_an_encoded_image_over_the_byte_limit_is_too_large() -> None:
    with pytest.raises(ApplianceError) as err:
        decode_image(b"\xff\xd8\xff" + bytes(MAX_ENCODED_BYTES))
    assert err.value.reason is Reason.IMAGE_TOO_LARGE


@pytest.mark.parametrize("size", [(1, 20000), (20000, 1), (15, 15)])
def test_images_too_small_for_a_face_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ApplianceError) as err:
        decode_image(encoded(".png", *size))
    assert err.value.reason is Reason.IMAGE_TOO_SMALL


def test_truncated_images_are_unreadable() -> None:
    for ext in (".jpg", ".jp2", ".png"):
        data = encoded(ext)
        with pytest.raises(ApplianceError) as err:
            decode_image(data[: len(data) // 3])
        assert err.value.reason is Reason.IMAGE_UNREADABLE


@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=300))
def test_any_bytes_give_pixels_or_an_image_reason(prefix: bytes, body: bytes) -> None:
    try:
        image = decode_image(prefix + body)
    except ApplianceError as exc:
        assert exc.reason in IMAGE_REASONS
    else:
        assert image.ndim == 3 and image.dtype == np.uint8
