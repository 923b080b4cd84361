"""Image dimensions read from the file header, so size limits are enforced *before* decoding.

A 1 MB PNG can declare 32000 × 33000 pixels and make a decoder allocate gigabytes (a
decompression bomb); a 1 × 20000 image decodes fine and then breaks every resize downstream.
Every command that decodes an image a user or a chip hands us calls `check_declared_size`
first: it recognises the formats by signature, reads width and height from the header
(PNG IHDR, JPEG SOFn, JPEG 2000 SIZ, BMP, TIFF IFD0, WebP VP8/VP8L/VP8X, PNM) and refuses
with a stable reason. A format whose header we cannot read is refused too: fail closed, never
"let the decoder find out". `check_size` repeats the bounds on the decoded pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Literal

from appliance.errors import ApplianceError, Reason

#: default pixel limit (the `[inputs] max_image_pixels` default): a 600 dpi scan of a full
#: A4 sheet is ~35 Mpx, any camera frame or portrait far less
DEFAULT_MAX_PIXELS = 40_000_000
#: no MRZ or face fits in fewer pixels across (two OCR-B lines need more than that)
MIN_SIDE = 16
#: a longer side above this many times the shorter one is a strip, not a page or a portrait
#: (an MRZ cropped on its own is about 1:12); beyond it the readers' working scale collapses
MAX_ASPECT = 100
#: JPEG 2000 codestreams may declare up to 16384 components; faces and pages have 1 to 4
_MAX_COMPONENTS = 4


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"
    PNG = "png"
    BMP = "bmp"
    TIFF = "tiff"
    WEBP = "webp"
    PNM = "pnm"


_SIGNATURES: tuple[tuple[bytes, ImageFormat], ...] = (
    (b"\xff\xd8\xff", ImageFormat.JPEG),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", ImageFormat.JPEG2000),
    (b"\xff\x4f\xff\x51", ImageFormat.JPEG2000),
    (b"\x89PNG\r\n\x1a\n", ImageFormat.PNG),
    (b"BM", ImageFormat.BMP),
    (b"II*\x00", ImageFormat.TIFF),
    (b"MM\x00*", ImageFormat.TIFF),
    (b"II+\x00", ImageFormat.TIFF),
    (b"MM\x00+", ImageFormat.TIFF),
)

Size = tuple[int, int]
_Order = Literal["little", "big"]


def sniff_format(data: bytes) -> ImageFormat | None:
    """The image format by its signature, or None for anything else."""
    for signature, fmt in _SIGNATURES:
        if data.startswith(signature):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if len(data) > 2 and data[0:1] == b"P" and data[1:2] in b"123456" and data[2:3].isspace():
        return ImageFormat.PNM
    return None


def _u(data: bytes, pos: int, size: int, order: _Order = "big") -> int | None:
    """The unsigned integer at data[pos:pos + size], or None past the end."""
    if pos < 0 or pos + size > len(data):
        return None
    return int.from_bytes(data[pos : pos + size], order)


def _jpeg(data: bytes) -> Size | None:
    """Width and height of the first frame header (SOF0-SOF15, not DHT/JPG/DAC)."""
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
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = _u(data, pos + 5, 2), _u(data, pos + 7, 2)
            return None if height is None or width is None else (width, height)
        if marker in (0xD9, 0xDA) or length < 2:  # end of image / scan before any frame
            return None
        pos += 2 + length
    return None


def _codestream(data: bytes, pos: int) -> Size | None:
    """SIZ segment of a JPEG 2000 codestream at pos (SOC, then SIZ: ISO/IEC 15444-1 A.5.1)."""
    if data[pos : pos + 4] != b"\xff\x4f\xff\x51":
        return None
    fields = [_u(data, pos + 8 + 4 * i, 4) for i in range(4)]
    components = _u(data, pos + 40, 2)
    if components is None or components > _MAX_COMPONENTS or None in fields:
        return None
    xsiz, ysiz, xo, yo = (f or 0 for f in fields)
    return xsiz - xo, ysiz - yo


def _jp2(data: bytes) -> Size | None:
    """The codestream box (jp2c) of a JP2 file: what the decoder decodes, whatever ihdr says."""
    pos = 0
    while pos + 8 <= len(data):
        length, kind, header = _u(data, pos, 4) or 0, data[pos + 4 : pos + 8], 8
        if length == 1:
            length, header = _u(data, pos + 8, 8) or 0, 16
        elif length == 0:
            length = len(data) - pos
        if kind == b"jp2c":
            return _codestream(data, pos + header)
        if length < header:
            return None
        pos += length
    return None


def _jpeg2000(data: bytes) -> Size | None:
    return _codestream(data, 0) if data.startswith(b"\xff\x4f") else _jp2(data)


def _png(data: bytes) -> Size | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = _u(data, 16, 4), _u(data, 20, 4)
    return None if width is None or height is None else (width, height)


def _bmp(data: bytes) -> Size | None:
    header = _u(data, 14, 4, "little")
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit fields
        width, height = _u(data, 18, 2, "little"), _u(data, 20, 2, "little")
    elif header is not None and header >= 16:
        width, height = _u(data, 18, 4, "little"), _u(data, 22, 4, "little")
        if height is not None and height >= 1 << 31:  # negative: rows stored top-down
            height = (1 << 32) - height
        if width is not None and width >= 1 << 31:
            return None
    else:
        return None
    return None if width is None or height is None else (width, height)


def _tiff(data: bytes) -> Size | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD, classic or BigTIFF."""
    order: _Order = "little" if data[:2] == b"II" else "big"
    big = _u(data, 2, 2, order) == 43
    offset = _u(data, 8, 8, order) if big else _u(data, 4, 4, order)
    count_size, entry_size, value_size = (8, 20, 8) if big else (2, 12, 4)
    count = _u(data, offset, count_size, order) if offset is not None else None
    if offset is None or count is None:
        return None
    found: dict[int, int] = {}
    for i in range(min(count, 4096)):
        entry = offset + count_size + i * entry_size
        tag, kind = _u(data, entry, 2, order), _u(data, entry + 2, 2, order)
        if tag in (256, 257):
            width = {3: 2, 4: 4, 16: 8}.get(kind or 0, 0)  # SHORT, LONG, LONG8
            value = _u(data, entry + entry_size - value_size, width, order) if width else None
            if value is None:
                return None
            found[tag] = value
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


def _webp(data: bytes) -> Size | None:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: canvas size, 24 bits each, minus one
        width, height = _u(data, 24, 3, "little"), _u(data, 27, 3, "little")
        return None if width is None or height is None else (width + 1, height + 1)
    if chunk == b"VP8L":  # lossless: 14 bits each, minus one, after the 0x2f signature
        bits = _u(data, 21, 4, "little")
        if data[20:21] != b"\x2f" or bits is None:
            return None
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: key frame start code, then 14-bit width and height
        width, height = _u(data, 26, 2, "little"), _u(data, 28, 2, "little")
        if data[23:26] != b"\x9d\x01\x2a" or width is None or height is None:
            return None
        return width & 0x3FFF, height & 0x3FFF
    return None


def _pnm(data: bytes) -> Size | None:
    """Netpbm P1-P6: magic, then width and height as ASCII decimals (comments start with #)."""
    numbers: list[int] = []
    pos = 2
    while len(numbers) < 2 and pos < min(len(data), 4096):
        char = data[pos : pos + 1]
        if char == b"#":
            end = data.find(b"\n", pos)
            pos = len(data) if end < 0 else end + 1
        elif char.isspace():
            pos += 1
        elif char.isdigit():
            end = pos
            while end < len(data) and data[end : end + 1].isdigit() and end - pos < 10:
                end += 1
            numbers.append(int(data[pos:end]))
            pos = end
        else:
            return None
    return (numbers[0], numbers[1]) if len(numbers) == 2 else None


_PARSERS: dict[ImageFormat, Callable[[bytes], Size | None]] = {
    ImageFormat.JPEG: _jpeg,
    ImageFormat.JPEG2000: _jpeg2000,
    ImageFormat.PNG: _png,
    ImageFormat.BMP: _bmp,
    ImageFormat.TIFF: _tiff,
    ImageFormat.WEBP: _webp,
    ImageFormat.PNM: _pnm,
}


def declared_size(data: bytes) -> Size:
    """(width, height) as the header declares it, without decoding a pixel.

    `IMAGE_UNREADABLE` for an empty file, an unsupported format or a header that cannot be read.
    """
    if not data:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "empty image")
    fmt = sniff_format(data)
    if fmt is None:
        raise ApplianceError(
            Reason.IMAGE_UNREADABLE,
            "not a supported image (JPEG, JPEG 2000, PNG, BMP, TIFF, WebP, PNM)",
        )
    size = _PARSERS[fmt](data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, f"{fmt.value} header unreadable")
    return size


def check_size(width: int, height: int, max_pixels: int, min_side: int = MIN_SIDE) -> None:
    """Refuse an image above `max_pixels` (`IMAGE_TOO_LARGE`), or one too small or too
    elongated to hold a face or an MRZ (`IMAGE_TOO_SMALL`)."""
    if width * height > max_pixels:
        raise ApplianceError(
            Reason.IMAGE_TOO_LARGE,
            f"image is {width} × {height} pixels, above the limit of {max_pixels} pixels",
        )
    size = f"image is {width} × {height} pixels"
    if min(width, height) < min_side:
        raise ApplianceError(Reason.IMAGE_TOO_SMALL, f"{size}: under {min_side} pixels across")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ApplianceError(Reason.IMAGE_TOO_SMALL, f"{size}: a strip longer than {MAX_ASPECT}:1")


def check_declared_size(data: bytes, max_pixels: int, min_side: int = MIN_SIDE) -> Size:
    """The declared (width, height), once it is within the limits; see `check_size`."""
    width, height = declared_size(data)
    check_size(width, height, max_pixels, min_side)
    return width, height
