"""Image payloads of the LDS (DG2 face, DG7 signature): format by magic bytes, decoding by OpenCV.

Chips store JPEG or JPEG 2000 (as a JP2 file or a bare J2K codestream). The format is taken
from the bytes' magic numbers, never from the record alone: a record that declares JPEG for
JPEG 2000 bytes (a real issuer defect) still yields its portrait, read by what the bytes are,
with a warning (`declared_format_warning`). Bytes that are neither are refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from appliance.errors import LdsError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_JPEG: Final = b"\xff\xd8\xff"
_JP2: Final = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K: Final = b"\xff\x4f\xff\x51"


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"


def detect_format(data: bytes) -> ImageFormat:
    if data.startswith(_JPEG):
        return ImageFormat.JPEG
    if data.startswith((_JP2, _J2K)):
        return ImageFormat.JPEG2000
    raise LdsError(
        "image is neither JPEG nor JPEG 2000",
    )


def declared_format_warning(declared: ImageFormat, data: bytes, what: str) -> str | None:
    """A warning when the format a record declares is not the one its bytes have."""
    found = detect_format(data)
    if found is declared:
        return None
    return f"{what}: declared {declared.value}, the bytes are {found.value} (read as {found.value})"


def decode_image(data: bytes) -> NDArray[np.uint8]:
    """Decode with OpenCV (pixels as stored: grey, BGR or BGRA); undecodable -> `LdsError`."""
    _check_dimensions(data)
    import cv2  # imported here: reading a chip should not pay for OpenCV until a face is shown
    import numpy as np

    detect_format(data)
    image: NDArray[Any] | None
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise LdsError("image does not decode")
    if image.dtype == np.uint16:  # 16-bit JPEG 2000: scale to 8 bits for the face pipeline
        image = np.right_shift(image, 8)
    return image.astype(np.uint8, copy=False)


def image_size(image: NDArray[Any]) -> tuple[int, int]:
    """(width, height) of a decoded image."""
    return int(image.shape[1]), int(image.shape[0])


def _check_dimensions(data: bytes) -> None:
    """Refuse, before decoding, an image whose header is unreadable (`LDS_MALFORMED`) or
    declares more pixels than `appliance.imaging.DEFAULT_MAX_PIXELS` (`IMAGE_TOO_LARGE`): a
    decompression bomb on a chip or in a dump must not reach the decoder."""
    from appliance.errors import ApplianceError, Reason
    from appliance.imaging import DEFAULT_MAX_PIXELS, declared_size

    try:
        width, height = declared_size(data)
    except ApplianceError as exc:
        raise LdsError(exc.detail) from exc
    if width * height > DEFAULT_MAX_PIXELS:
        detail = f"image is {width} × {height} pixels, above {DEFAULT_MAX_PIXELS}"
        raise LdsError(detail, Reason.IMAGE_TOO_LARGE)
