"""ISO/IEC 19794-6:2005 iris image records ('IIR\\0', version '010'), the DG4 format of EAC v1
passports: a record header, then per eye (biometric subtype: right, left) a subtype header and
its images, each with a small image header and the image bytes.

Layout as the 2005 standard and JMRTD (the reference reader most chips were tested against)
lay it out, big-endian: header 'IIR\\0' '010\\0', record length (4), capture device id (2),
subtype count (1), header length (2), image properties (2), iris diameter (2), image format
(2), width (2), height (2), intensity depth (1), image transformation (1), device unique id (16),
globally unique id (16); per subtype: subtype (1), image count (2); per image: number (2),
quality (1), rotation angle (2), its uncertainty (2), length (4), bytes. Lengths are cross-
checked so a truncated or padded record is refused, not half-read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from appliance.errors import LdsError, Reason

FORMAT_ID: Final = b"IIR\x00"
VERSION_2005: Final = b"010\x00"
_HEADER = struct.Struct(">4s4sIHBHHHHHHBB16s16s")
_SUBTYPE = struct.Struct(">BH")
_IMAGE = struct.Struct(">HBHHI")
#: the header length the record states (the 2005 text counts 45; JMRTD writes 45 too)
_STATED_HEADER_LENGTH: Final = 45


class IrisImageFormat(IntEnum):
    """19794-6:2005 Table 3 image formats (monochrome ones are what an iris camera gives)."""

    MONO_RAW = 0x0002
    RGB_RAW = 0x0004
    MONO_JPEG = 0x0006
    RGB_JPEG = 0x0008
    MONO_JPEG_LS = 0x000A
    RGB_JPEG_LS = 0x000C
    MONO_JPEG2000 = 0x000E
    RGB_JPEG2000 = 0x0010


class EyeSubtype(IntEnum):
    UNDEFINED = 0
    RIGHT = 1
    LEFT = 2


@dataclass(frozen=True, repr=False)  # biometric data: never in logs
class IrisImage:
    number: int
    quality: int
    data: bytes
    rotation_angle: int = 0xFFFF  # undefined
    rotation_uncertainty: int = 0xFFFF


@dataclass(frozen=True, repr=False)
class IrisSubtype:
    eye: EyeSubtype
    images: tuple[IrisImage, ...]


@dataclass(frozen=True, repr=False)
class IrisRecord:
    image_format: IrisImageFormat
    width: int
    height: int
    subtypes: tuple[IrisSubtype, ...]
    intensity_depth: int = 8
    iris_diameter: int = 0
    image_properties: int = 0
    capture_device_id: int = 0
    image_transformation: int = 0
    device_unique_id: bytes = bytes(16)
    globally_unique_id: bytes = bytes(16)


def parse(data: bytes) -> IrisRecord:
    if len(data) < _HEADER.size or not data.startswith(FORMAT_ID):
        raise LdsError("iris record: not an ISO/IEC 19794-6 record ('IIR')")
    (_, version, length, device, count, _, properties, diameter, fmt, width, height, depth,
     transform, unique, guid) = _HEADER.unpack_from(data)  # fmt: skip
    if version != VERSION_2005:
        raise LdsError("iris record: only the 2005 version is read", Reason.LDS_UNSUPPORTED)
    if length != len(data):
        raise LdsError("iris record: length field differs from the record's size")
    try:
        image_format = IrisImageFormat(fmt)
    except ValueError:
        raise LdsError("iris record: unknown image format", Reason.LDS_UNSUPPORTED) from None
    pos = _HEADER.size
    subtypes = []
    for _ in range(count):
        if pos + _SUBTYPE.size > len(data):
            raise LdsError("iris record: truncated subtype header")
        eye, images = _SUBTYPE.unpack_from(data, pos)
        pos += _SUBTYPE.size
        parsed = []
        for _ in range(images):
            if pos + _IMAGE.size > len(data):
                raise LdsError("iris record: truncated image header")
            number, quality, angle, uncertainty, size = _IMAGE.unpack_from(data, pos)
            pos += _IMAGE.size
            if size == 0 or pos + size > len(data):
                raise LdsError("iris record: image runs past the record")
            parsed.append(IrisImage(number, quality, data[pos : pos + size], angle, uncertainty))
            pos += size
        try:
            subtypes.append(IrisSubtype(EyeSubtype(eye), tuple(parsed)))
        except ValueError:
            raise LdsError("iris record: unknown eye subtype") from None
    if pos != len(data):
        raise LdsError(f"iris record: {len(data) - pos} bytes after the last image")
    if not any(s.images for s in subtypes):
        raise LdsError("iris record: no image")
    return IrisRecord(image_format, width, height, tuple(subtypes), depth, diameter,
                      properties, device, transform, unique, guid)  # fmt: skip


def encode(record: IrisRecord) -> bytes:
    body = b""
    for subtype in record.subtypes:
        body += _SUBTYPE.pack(subtype.eye, len(subtype.images))
        for image in subtype.images:
            body += _IMAGE.pack(
                image.number, image.quality, image.rotation_angle, image.rotation_uncertainty,
                len(image.data),
            )  # fmt: skip
            body += image.data
    header = _HEADER.pack(
        FORMAT_ID, VERSION_2005, _HEADER.size + len(body), record.capture_device_id,
        len(record.subtypes), _STATED_HEADER_LENGTH, record.image_properties,
        record.iris_diameter, record.image_format, record.width, record.height,
        record.intensity_depth, record.image_transformation, record.device_unique_id,
        record.globally_unique_id,
    )  # fmt: skip
    return header + body
