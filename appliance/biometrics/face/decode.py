"""Decode reference (DG2) and live images: JPEG, JPEG 2000 (JP2 or raw codestream) and PNG.

Only these formats are accepted, recognised by their signature, so arbitrary bytes never reach
a codec; the pixel size the header declares is read and bounded *before* decoding, so a small
file claiming a huge image (a decompression bomb) is refused without allocating it. Everything
that fails is `IMAGE_UNREADABLE`.
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


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn
            if pos + 9 > len(data):
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # EOI / start of scan before any frame
            return None
        pos += 2 + length
    return None


def _codestream_size(data: bytes, pos: int) -> tuple[int, int] | None:
    """SIZ segment of a JPEG 2000 codestream starting at pos (SOC, then SIZ)."""
    if data[pos : pos + 4] != b"\xff\x4f\xff\x51" or pos + 24 > len(data):
        return None
    xsiz, ysiz, xo, yo = (
        int.from_bytes(data[pos + 8 + 4 * i : pos + 12 + 4 * i], "big") for i in range(4)
    )
    return xsiz - xo, ysiz - yo


def _jp2_size(data: bytes) -> tuple[int, int] | None:
    """Image header box (jp2h/ihdr) of a JP2 file."""
    pos, end = 0, len(data)
    while pos + 8 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if length == 1:
            if pos + 16 > end:
                return None
            length, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif length == 0:
            length = end - pos
        if length < header:
            return None
        if kind == b"jp2h":  # superbox: descend
            end, pos = min(pos + length, end), pos + header
            continue
        if kind == b"ihdr" and pos + 16 <= len(data):
            height = int.from_bytes(data[pos + 8 : pos + 12], "big")
            width = int.from_bytes(data[pos + 12 : pos + 16], "big")
            return width, height
        pos += length
    return None


def declared_size(data: bytes) -> tuple[int, int]:
    """(width, height) as the file's header declares it, without decoding pixels."""
    fmt = sniff_format(data)
    size: tuple[int, int] | None
    if fmt is ImageFormat.JPEG:
        size = _jpeg_size(data)
    elif fmt is ImageFormat.PNG:
        size = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
        size = size if data[12:16] == b"IHDR" else None
    elif data.startswith(b"\xff\x4f"):
        size = _codestream_size(data, 0)
    else:
        size = _jp2_size(data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image header unreadable")
    return size


def decode_image(data: bytes) -> Image:
    """BGR uint8 pixels of an encoded image."""
    if not data or len(data) > MAX_ENCODED_BYTES:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image empty or too large")
    width, height = declared_size(data)
    if width * height > MAX_PIXELS:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image too large")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded") from exc
    if image is None or image.ndim != 3 or image.shape[0] < 16 or image.shape[1] < 16:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image too large")
    return np.ascontiguousarray(image, dtype=np.uint8)
