"""ISO/IEC 19794-5:2005 facial records ('FAC\\0', version '010'), the DG2 format ICAO has used
since 2006: a 14-byte record header, then per image a 20-byte facial information block,
8-byte feature points, a 12-byte image information block and the JPEG / JPEG 2000 bytes.

All integers are big-endian. Lengths are cross-checked both ways (record length, per-image
length, image count) so a truncated or padded record is refused rather than half-read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from appliance.emrtd.lds.images import ImageFormat, declared_format_warning, detect_format
from appliance.errors import LdsError, Reason

FORMAT_ID: Final = b"FAC\x00"
VERSION_2005: Final = b"010\x00"
_HEADER = struct.Struct(">4s4sIH")
_FACIAL_INFO = struct.Struct(">IHBBB3sH3s3s")
_FEATURE_POINT = struct.Struct(">BBHHH")
_IMAGE_INFO = struct.Struct(">BBHHBBHH")
#: image data type codes (19794-5 5.7.2)
_IMAGE_TYPES: Final = {0: ImageFormat.JPEG, 1: ImageFormat.JPEG2000}


@dataclass(frozen=True)
class FeaturePoint:
    type: int
    #: major code in the high nibble, minor code in the low nibble (MPEG-4 feature points)
    code: int
    x: int
    y: int


@dataclass(frozen=True, repr=False)  # biometric data: never in logs
class FaceImageRecord:
    """One facial image with its descriptive data (codes as in ISO/IEC 19794-5 §5.5-5.7)."""

    image: bytes
    width: int
    height: int
    image_data_type: int = 0  # 0 JPEG, 1 JPEG 2000
    face_image_type: int = 1  # 0 basic, 1 full frontal, 2 token frontal
    colour_space: int = 1  # 0 unspecified, 1 24-bit RGB, 2 YUV422, 3 grey, 4 other
    source_type: int = 2  # 2 digital still camera, 6 scanned...
    device_type: int = 0
    quality: int = 0
    gender: int = 0
    eye_colour: int = 0
    hair_colour: int = 0
    property_mask: int = 0
    expression: int = 0
    pose_angle: bytes = b"\x00\x00\x00"
    pose_angle_uncertainty: bytes = b"\x00\x00\x00"
    feature_points: tuple[FeaturePoint, ...] = ()

    @property
    def format(self) -> ImageFormat:
        """The format of the bytes (the declared type may be wrong: see `format_warning`)."""
        return detect_format(self.image)

    @property
    def format_warning(self) -> str | None:
        declared = _IMAGE_TYPES[self.image_data_type]
        return declared_format_warning(declared, self.image, "19794-5 image data type")


@dataclass(frozen=True)
class FaceRecord:
    images: tuple[FaceImageRecord, ...]


def _parse_image(data: bytes, pos: int) -> tuple[FaceImageRecord, int]:
    if pos + _FACIAL_INFO.size > len(data):
        raise LdsError("19794-5: truncated facial information")
    (length, points, gender, eye, hair, mask, expression, pose, uncertainty) = (
        _FACIAL_INFO.unpack_from(data, pos)
    )
    end = pos + length
    fixed = _FACIAL_INFO.size + points * _FEATURE_POINT.size + _IMAGE_INFO.size
    if length <= fixed or end > len(data):
        raise LdsError("19794-5: facial record length inconsistent")
    cursor = pos + _FACIAL_INFO.size
    feature_points = []
    for _ in range(points):
        kind, code, x, y, _reserved = _FEATURE_POINT.unpack_from(data, cursor)
        feature_points.append(FeaturePoint(kind, code, x, y))
        cursor += _FEATURE_POINT.size
    (face_type, data_type, width, height, colour, source, device, quality) = (
        _IMAGE_INFO.unpack_from(data, cursor)
    )
    image = bytes(data[cursor + _IMAGE_INFO.size : end])
    if data_type not in _IMAGE_TYPES:
        raise LdsError("19794-5: image data type is not JPEG or JPEG 2000", Reason.LDS_UNSUPPORTED)
    detect_format(image)  # JPEG or JPEG 2000, whatever the record declares
    if width == 0 or height == 0:
        raise LdsError("19794-5: image size is zero")
    record = FaceImageRecord(
        image=image,
        width=width,
        height=height,
        image_data_type=data_type,
        face_image_type=face_type,
        colour_space=colour,
        source_type=source,
        device_type=device,
        quality=quality,
        gender=gender,
        eye_colour=eye,
        hair_colour=hair,
        property_mask=int.from_bytes(mask, "big"),
        expression=expression,
        pose_angle=pose,
        pose_angle_uncertainty=uncertainty,
        feature_points=tuple(feature_points),
    )
    return record, end


def parse(data: bytes) -> FaceRecord:
    """Parse one facial record block (the content of a 5F2E biometric data block)."""
    if len(data) < _HEADER.size:
        raise LdsError("19794-5: truncated record header")
    format_id, version, length, count = _HEADER.unpack_from(data)
    if format_id != FORMAT_ID:
        raise LdsError("19794-5: format identifier is not 'FAC'")
    if version != VERSION_2005:
        raise LdsError("19794-5: only the 2005 format ('010') is read", Reason.LDS_UNSUPPORTED)
    if length != len(data):
        raise LdsError("19794-5: record length does not match the data block")
    if count == 0:
        raise LdsError("19794-5: record holds no image")
    pos = _HEADER.size
    images = []
    for _ in range(count):
        record, pos = _parse_image(data, pos)
        images.append(record)
    if pos != len(data):
        raise LdsError("19794-5: bytes after the last facial image")
    return FaceRecord(images=tuple(images))


def _encode_image(record: FaceImageRecord) -> bytes:
    length = (
        _FACIAL_INFO.size
        + len(record.feature_points) * _FEATURE_POINT.size
        + _IMAGE_INFO.size
        + len(record.image)
    )
    parts = [
        _FACIAL_INFO.pack(
            length,
            len(record.feature_points),
            record.gender,
            record.eye_colour,
            record.hair_colour,
            record.property_mask.to_bytes(3, "big"),
            record.expression,
            record.pose_angle,
            record.pose_angle_uncertainty,
        )
    ]
    parts += [_FEATURE_POINT.pack(p.type, p.code, p.x, p.y, 0) for p in record.feature_points]
    parts.append(
        _IMAGE_INFO.pack(
            record.face_image_type,
            record.image_data_type,
            record.width,
            record.height,
            record.colour_space,
            record.source_type,
            record.device_type,
            record.quality,
        )
    )
    parts.append(record.image)
    return b"".join(parts)


def encode(model: FaceRecord) -> bytes:
    body = b"".join(_encode_image(image) for image in model.images)
    header = _HEADER.pack(FORMAT_ID, VERSION_2005, _HEADER.size + len(body), len(model.images))
    return header + body
