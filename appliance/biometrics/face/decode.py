"""Decode reference (DG2) and live images: JPEG, JPEG 2000 (JP2 or raw codestream) and PNG.

Only these formats are accepted, recognised by their signature, so arbitrary bytes never reach
a codec; the pixel size the header declares is read (`appliance.imaging`) and bounded *before*
decoding, so a small file claiming a huge image (a decompression bomb) is refused without
allocating it (`IMAGE_TOO_LARGE`), as is one too small or too narrow to hold a face
(`IMAGE_TOO_SMALL`). Everything else that fails is `IMAGE_UNREADABLE`.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance import imaging
from appliance.errors import ApplianceError, Reason

MAX_ENCODED_BYTES = 16 * 1024 * 1024
#: the default pixel limit; `face compare` passes the configured `[inputs] max_image_pixels`
MAX_PIXELS = imaging.DEFAULT_MAX_PIXELS

Image = NDArray[np.uint8]


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"
    PNG = "png"


def sniff_format(data: bytes) -> ImageFormat:
    """The format by signature (`appliance.imaging`), refused unless a face image format."""
    found = imaging.sniff_format(data)
    if found is None or found.value not in {fmt.value for fmt in ImageFormat}:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "not a JPEG, JPEG 2000 or PNG image")
    return ImageFormat(found.value)


def declared_size(data: bytes) -> tuple[int, int]:
    """(width, height) as the file's header declares it, without decoding pixels."""
    sniff_format(data)  # faces come only as JPEG, JPEG 2000 or PNG
    return imaging.declared_size(data)


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image:
    """BGR uint8 pixels of an encoded image of at most `max_pixels`."""
    if not data:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "empty image")
    if len(data) > MAX_ENCODED_BYTES:
        raise ApplianceError(Reason.IMAGE_TOO_LARGE, f"image over {MAX_ENCODED_BYTES} bytes")
    sniff_format(data)
    imaging.check_declared_size(data, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded") from exc
    if image is None or image.ndim != 3:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded")
    imaging.check_size(int(image.shape[1]), int(image.shape[0]), max_pixels)
    return np.ascontiguousarray(image, dtype=np.uint8)
