"""appliance.imaging: the size every header declares is the size OpenCV decodes, and a header
declaring too many pixels, too few, or nothing readable is refused before any decoding."""

from __future__ import annotations

import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.errors import ApplianceError, Reason
from appliance.imaging import (
    DEFAULT_MAX_PIXELS,
    ImageFormat,
    check_declared_size,
    check_size,
    declared_size,
    sniff_format,
)

IMAGE_REASONS = {Reason.IMAGE_UNREADABLE, Reason.IMAGE_TOO_LARGE, Reason.IMAGE_TOO_SMALL}


def encoded(ext: str, width: int = 40, height: int = 50, channels: int = 3, **params: int) -> bytes:
    """An image file as OpenCV writes it; ".j2k" is the bare codestream of a JP2's jp2c box."""
    rng = np.random.default_rng(0)
    shape = (height, width) if channels == 1 else (height, width, channels)
    image = rng.integers(0, 255, shape, dtype=np.uint8)
    flags = [item for pair in params.items() for item in (getattr(cv2, pair[0]), pair[1])]
    ok, buf = cv2.imencode(".jp2" if ext == ".j2k" else ext, image, flags)
    assert ok
    data = bytes(buf.tobytes())
    return data[data.index(b"jp2c") + 4 :] if ext == ".j2k" else data


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and a valid IHDR chunk (CRC included) declaring width × height."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + body
        + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    )


SAMPLES = {
    "jpeg": lambda w, h: encoded(".jpg", w, h),
    "jpeg-progressive": lambda w, h: encoded(".jpg", w, h, IMWRITE_JPEG_PROGRESSIVE=1),
    "jpeg-grey": lambda w, h: encoded(".jpg", w, h, channels=1),
    "jp2": lambda w, h: encoded(".jp2", w, h),
    "j2k": lambda w, h: encoded(".j2k", w, h),
    "png": lambda w, h: encoded(".png", w, h),
    "png-rgba": lambda w, h: encoded(".png", w, h, channels=4),
    "bmp": lambda w, h: encoded(".bmp", w, h),
    "tiff": lambda w, h: encoded(".tiff", w, h),
    "webp-lossy": lambda w, h: encoded(".webp", w, h, IMWRITE_WEBP_QUALITY=80),
    "webp-lossless": lambda w, h: encoded(".webp", w, h, IMWRITE_WEBP_QUALITY=101),
    "webp-alpha": lambda w, h: encoded(".webp", w, h, channels=4, IMWRITE_WEBP_QUALITY=80),
    "ppm": lambda w, h: encoded(".ppm", w, h),
    "pgm": lambda w, h: encoded(".pgm", w, h, channels=1),
    "pnm-ascii": lambda w, h: encoded(".pgm", w, h, channels=1, IMWRITE_PXM_BINARY=0),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("size", [(40, 50), (333, 41)])
def test_the_declared_size_is_the_decoded_size(name: str, size: tuple[int, int]) -> None:
    data = SAMPLES[name](*size)
    assert declared_size(data) == size
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert (decoded.shape[1], decoded.shape[0]) == size


def test_png_32000_by_33000_is_refused_from_its_header_alone() -> None:
    data = png_header(32000, 33000)  # 33 bytes that would decode to a gigabyte
    started = time.perf_counter()
    with pytest.raises(ApplianceError) as err:
        check_declared_size(data, DEFAULT_MAX_PIXELS)
    assert time.perf_counter() - started < 0.05
    assert err.value.reason is Reason.IMAGE_TOO_LARGE
    assert "32000 × 33000" in err.value.detail


def _patched(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value) :]


def _huge_jpeg() -> bytes:
    data = encoded(".jpg")
    sof = data.index(b"\xff\xc0")
    return _patched(data, sof + 5, struct.pack(">HH", 60000, 60000))


def _huge_codestream(data: bytes) -> bytes:
    siz = data.index(b"\xff\x4f\xff\x51") + 2
    return _patched(data, siz + 6, struct.pack(">II", 50000, 50000))


def _huge_bmp() -> bytes:
    return _patched(encoded(".bmp"), 18, struct.pack("<ii", 20000, -20000))  # top-down rows


def _huge_tiff() -> bytes:
    data = encoded(".tiff")
    ifd = struct.unpack("<I", data[4:8])[0]
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[entry : entry + 4])
        if tag in (256, 257):
            value = struct.pack("<H", 65000) if kind == 3 else struct.pack("<I", 65000)
            data = _patched(data, entry + 8, value)
    return data


def _huge_webp() -> bytes:
    data = encoded(".webp", IMWRITE_WEBP_QUALITY=101)
    assert data[12:16] == b"VP8L"
    return _patched(data, 21, struct.pack("<I", (16383 << 14) | 16383))


BOMBS = {
    "png": lambda: png_header(32000, 33000),
    "jpeg": _huge_jpeg,
    "jp2": lambda: _huge_codestream(encoded(".jp2")),
    "j2k": lambda: _huge_codestream(encoded(".j2k")),
    "bmp": _huge_bmp,
    "tiff": _huge_tiff,
    "webp": _huge_webp,
    "pnm": lambda: b"P5\n# a comment\n30000 30000\n255\n" + bytes(100),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_header_declaring_too_many_pixels_is_refused(name: str) -> None:
    data = BOMBS[name]()
    width, height = declared_size(data)
    assert width * height > DEFAULT_MAX_PIXELS
    with pytest.raises(ApplianceError) as err:
        check_declared_size(data, DEFAULT_MAX_PIXELS)
    assert err.value.reason is Reason.IMAGE_TOO_LARGE


def test_a_jp2_whose_ihdr_understates_its_codestream_is_judged_by_the_codestream() -> None:
    data = _huge_codestream(encoded(".jp2"))  # ihdr still says 40 × 50
    ihdr = data.index(b"ihdr")
    assert struct.unpack(">II", data[ihdr + 4 : ihdr + 12]) == (50, 40)
    assert declared_size(data) == (50000, 50000)


def test_a_jpeg2000_with_more_components_than_an_image_has_is_refused() -> None:
    data = encoded(".j2k")
    siz = data.index(b"\xff\x51")
    with pytest.raises(ApplianceError) as err:
        declared_size(_patched(data, siz + 38, struct.pack(">H", 16384)))
    assert err.value.reason is Reason.IMAGE_UNREADABLE


def test_big_endian_and_bigtiff_headers() -> None:
    classic = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 2)
    classic += struct.pack(">HHIHH", 256, 3, 1, 70, 0) + struct.pack(">HHII", 257, 4, 1, 90)
    assert sniff_format(classic) is ImageFormat.TIFF
    assert declared_size(classic) == (70, 90)
    big = b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) + struct.pack("<Q", 2)
    big += struct.pack("<HHQQ", 256, 16, 1, 7 * 10**6) + struct.pack("<HHQQ", 257, 4, 1, 9000)
    assert declared_size(big) == (7 * 10**6, 9000)


def test_an_os2_bitmap_header() -> None:
    data = b"BM" + bytes(12) + struct.pack("<IHH", 12, 640, 480) + bytes(8)
    assert declared_size(data) == (640, 480)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a\x10\x00\x10\x00",  # a format OpenCV reads but whose header we do not parse
        b"\x00\x00\x00\x20ftypavif",
        b"not an image at all",
        png_header(40, 50)[:20],  # truncated IHDR
        b"\xff\xd8\xff\xe0" + bytes(200),  # JPEG without a frame header
        b"P6\n40\n",  # PNM without a height
        png_header(0, 50),
    ],
)
def test_unknown_or_unreadable_headers_are_refused(data: bytes) -> None:
    with pytest.raises(ApplianceError) as err:
        check_declared_size(data, DEFAULT_MAX_PIXELS)
    assert err.value.reason is Reason.IMAGE_UNREADABLE


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        (16, 16, None),
        (1600, 16, None),  # a 100:1 strip is still accepted
        (15, 400, Reason.IMAGE_TOO_SMALL),
        (1, 20000, Reason.IMAGE_TOO_SMALL),
        (20000, 1, Reason.IMAGE_TOO_SMALL),
        (1700, 16, Reason.IMAGE_TOO_SMALL),
        (70000, 400, Reason.IMAGE_TOO_SMALL),  # narrow enough to vanish at a reader's scale
        (8000, 5000, None),
        (8000, 5001, Reason.IMAGE_TOO_LARGE),
    ],
)
def test_size_bounds(width: int, height: int, reason: Reason | None) -> None:
    if reason is None:
        check_size(width, height, DEFAULT_MAX_PIXELS)
        return
    with pytest.raises(ApplianceError) as err:
        check_size(width, height, DEFAULT_MAX_PIXELS)
    assert err.value.reason is reason


PREFIXES = [
    b"\xff\xd8\xff",
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    b"\xff\x4f\xff\x51",
    b"\x89PNG\r\n\x1a\n",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"RIFF\x00\x00\x00\x00WEBPVP8X",
    b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"P6 ",
]


@settings(max_examples=500, deadline=None)
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=200))
def test_any_bytes_give_a_size_or_an_image_reason(prefix: bytes, body: bytes) -> None:
    try:
        width, height = check_declared_size(prefix + body, DEFAULT_MAX_PIXELS)
    except ApplianceError as exc:
        assert exc.reason in IMAGE_REASONS
    else:
        assert width >= 16 and height >= 16 and width * height <= DEFAULT_MAX_PIXELS
