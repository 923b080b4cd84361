"""Decode reference (DG2) and live images: JPEG, JPEG 2000 (JP2 or raw codestream) and PNG.

Only these formats are accepted, recognised by their signature, so arbitrary bytes never reach
a codec; sizes are bounded before decoding. Everything that fails is `IMAGE_UNREADABLE`.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.errors import ApplianceError, Reason

MAX_ENCODED_BYTES = 16 * 1024 * 1024
MAX_PIXELS = 40_000_000

Image = NDArray[np.uint8]


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"
    PNG = "png"


_SIGNATURES: tuple[tuple[bytes, ImageFormat], ...] = (
    (b"\xff\xd8\xff", ImageFormat.JPEG),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", ImageFormat.JPEG2000),
    (b"\xff\x4f\xff\x51", ImageFormat.JPEG2000),
    (b"\x89PNG\r\n\x1a\n", ImageFormat.PNG),
)


def sniff_format(data: bytes) -> ImageFormat:
    for signature, fmt in _SIGNATURES:
        if data.startswith(signature):
            return fmt
    raise ApplianceError(Reason.IMAGE_UNREADABLE, "not a JPEG, JPEG 2000 or PNG image")


def decode_image(data: bytes) -> Image:
    """BGR uint8 pixels of an encoded image."""
    if not data or len(data) > MAX_ENCODED_BYTES:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image empty or too large")
    sniff_format(data)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded") from exc
    if image is None or image.ndim != 3 or image.shape[0] < 16 or image.shape[1] < 16:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image too large")
    return np.ascontiguousarray(image, dtype=np.uint8)
