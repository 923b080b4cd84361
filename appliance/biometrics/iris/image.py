"""Eye image bytes to a grayscale array, bounded before decoding.

Iris cameras deliver 8-bit (sometimes 16-bit) near-infrared grayscale, in any of the formats
`appliance.imaging` reads (PNG, JPEG, JPEG 2000, BMP, TIFF, WebP, PNM); ISO/IEC 19794-6 and
29794-6 define iris images so. The declared size is checked first (`IMAGE_TOO_LARGE`,
`IMAGE_TOO_SMALL`: under 64 px across no iris of the 40 px radius quality asks for fits).

Colour: a three-channel file whose channels are equal is grayscale stored as RGB (many
capture tools save so) and is converted; a real colour image is refused (`IRIS_NOT_NIR`):
visible light shows little texture in dark irises, and the threshold was set on NIR codes,
so a colour photo would be matched at an error rate nobody measured.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance import imaging
from appliance.biometrics.iris.segment import Gray
from appliance.errors import ApplianceError, Reason

MIN_SIDE = 64
#: mean absolute difference between colour channels (grey levels) still taken as grayscale
#: (JPEG chroma subsampling leaves a little on a grey image)
MAX_CHANNEL_SPREAD = 3.0


def decode_eye(data: bytes, max_pixels: int = imaging.DEFAULT_MAX_PIXELS) -> Gray:
    """8-bit grayscale pixels of an eye image file's bytes."""
    if not data:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "empty image")
    if imaging.sniff_format(data) is None:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "not an image format the appliance reads")
    imaging.check_declared_size(data, max_pixels, MIN_SIDE)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded") from exc
    if image is None or image.ndim not in (2, 3) or image.size == 0:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded")
    imaging.check_size(int(image.shape[1]), int(image.shape[0]), max_pixels, MIN_SIDE)
    if image.dtype == np.uint16:
        image = (np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, f"unsupported pixel type {image.dtype}")
    return to_gray(image)


def to_gray(image: NDArray[Any]) -> Gray:
    """8-bit pixels, grayscale or grey stored as colour (a file, or a V4L2 NIR camera's BGR
    frames), as one channel; a real colour image is `IRIS_NOT_NIR`."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ApplianceError(Reason.IRIS_NOT_NIR, "not an 8-bit grayscale eye image")
    if image.ndim == 3:
        channels = image[:, :, :3].astype(np.int16)
        if channels.shape[2] == 3:
            spread = float(
                np.mean(np.abs(channels[:, :, 0] - channels[:, :, 1]))
                + np.mean(np.abs(channels[:, :, 1] - channels[:, :, 2]))
            )
            if spread > MAX_CHANNEL_SPREAD:
                raise ApplianceError(
                    Reason.IRIS_NOT_NIR,
                    "a colour image: iris recognition needs a near-infrared grayscale capture",
                )
        image = image[:, :, 0] if channels.shape[2] < 3 else image[:, :, 1]
    return np.ascontiguousarray(image, dtype=np.uint8)
