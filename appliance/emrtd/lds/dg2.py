"""DG2 (ICAO 9303-10 §4.7.2): the holder's face, the reference for 1:1 face verification.

75 wraps a biometric group template; each template's data block is an ISO/IEC 19794-5:2005
record ('FAC\\0' in 5F2E) or ISO/IEC 39794-5 tagged data (7F2E). `Dg2.faces` flattens both
into `FaceImage`s (format, bytes, declared size); `FaceImage.decode()` proves the bytes are an
image OpenCV can decode and that its size is the declared one. The format is the bytes' own;
a record that declares another one gives a warning in `FaceImage.warnings`, not a lost portrait.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from appliance.emrtd.lds import biometric_template as bt
from appliance.emrtd.lds import face_19794, face_39794
from appliance.emrtd.lds.images import ImageFormat, decode_image, detect_format, image_size
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

if TYPE_CHECKING:
    from numpy.typing import NDArray

TAG: Final = 0x75
FORMAT_TYPE_19794_5: Final = 0x0008
FORMAT_TYPE_39794_5: Final = 0x002A


@dataclass(frozen=True, repr=False)  # biometric data: never in logs
class FaceImage:
    format: ImageFormat
    data: bytes
    #: as declared by the record (39794-5 may omit it: None)
    width: int | None
    height: int | None
    #: deviations read past (the declared image type disagrees with the bytes); no image data
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def decode(self) -> NDArray[Any]:
        image = decode_image(self.data)
        if self.width is not None and image_size(image) != (self.width, self.height):
            raise LdsError("DG2: image size differs from the size the record declares")
        return image


FaceData = face_19794.FaceRecord | face_39794.FaceImageDataBlock


@dataclass(frozen=True)
class FaceBiometric:
    header: bt.BiometricHeader
    record: FaceData

    @property
    def images(self) -> tuple[FaceImage, ...]:
        if isinstance(self.record, face_19794.FaceRecord):
            return tuple(
                FaceImage(i.format, i.image, i.width, i.height, _warnings(i.format_warning))
                for i in self.record.images
            )
        return tuple(
            FaceImage(r.format, r.image, r.width, r.height, _warnings(r.format_warning))
            for r in self.record.representations
        )


def _warnings(*notes: str | None) -> tuple[str, ...]:
    return tuple(note for note in notes if note is not None)


@dataclass(frozen=True)
class Dg2:
    biometrics: tuple[FaceBiometric, ...]

    @property
    def faces(self) -> tuple[FaceImage, ...]:
        return tuple(image for bio in self.biometrics for image in bio.images)

    @property
    def face(self) -> FaceImage:
        """The first face image (ICAO: the one to verify against)."""
        return self.faces[0]


def _parse_biometric(template: bt.BiometricTemplate) -> FaceBiometric:
    header = template.header
    if header.format_owner not in (None, bt.FORMAT_OWNER_JTC1_SC37):
        raise LdsError("DG2: vendor-specific biometric format", Reason.LDS_UNSUPPORTED)
    block = template.data_block
    record: FaceData
    if block.startswith(face_19794.FORMAT_ID):
        if header.format_type not in (None, FORMAT_TYPE_19794_5):
            raise LdsError("DG2: header format type contradicts the 19794-5 record")
        record = face_19794.parse(block)
    elif template.data_block_tag == bt.CONSTRUCTED_DATA_BLOCK_TAG:
        if header.format_type not in (None, FORMAT_TYPE_39794_5):
            raise LdsError("DG2: header format type contradicts the 39794-5 data")
        record = face_39794.parse(block)
    else:
        raise LdsError("DG2: unknown face record format", Reason.LDS_UNSUPPORTED)
    return FaceBiometric(header, record)


def parse(data: bytes) -> Dg2:
    group = tlv.parse_exact(data, TAG, "DG2").value
    return Dg2(tuple(_parse_biometric(t) for t in bt.parse_group(group)))


def encode(model: Dg2) -> bytes:
    templates = []
    for bio in model.biometrics:
        if isinstance(bio.record, face_19794.FaceRecord):
            tag, block = bt.DATA_BLOCK_TAG, face_19794.encode(bio.record)
        else:
            tag, block = bt.CONSTRUCTED_DATA_BLOCK_TAG, face_39794.encode(bio.record)
        templates.append(bt.BiometricTemplate(bio.header, tag, block))
    return tlv.encode(TAG, bt.encode_group(tuple(templates)))


def face_header(format_type: int) -> bt.BiometricHeader:
    """The header ICAO 9303-10 expects for a face: version 1.1, type face, JTC1/SC37 format."""
    return bt.BiometricHeader(
        (
            (bt.ICAO_HEADER_VERSION, b"\x01\x01"),
            (bt.BIOMETRIC_TYPE, bytes([bt.BIOMETRIC_TYPE_FACE])),
            (bt.BIOMETRIC_SUBTYPE, b"\x00"),
            (bt.FORMAT_OWNER, bt.FORMAT_OWNER_JTC1_SC37.to_bytes(2, "big")),
            (bt.FORMAT_TYPE, format_type.to_bytes(2, "big")),
        )
    )


def for_image(image: bytes, standard: Literal["19794-5", "39794-5"] = "19794-5") -> Dg2:
    """A DG2 holding one portrait (JPEG or JPEG 2000 bytes, stored unchanged): what an issuer
    personalises, and what the virtual chip serves."""
    width, height = image_size(decode_image(image))
    is_jpeg = detect_format(image) is ImageFormat.JPEG
    if standard == "19794-5":
        face = face_19794.FaceImageRecord(
            image=image, width=width, height=height, image_data_type=0 if is_jpeg else 1
        )
        return Dg2(
            (FaceBiometric(face_header(FORMAT_TYPE_19794_5), face_19794.FaceRecord((face,))),)
        )
    representation = face_39794.Representation(
        image=image,
        image_data_format=face_39794.JPEG if is_jpeg else face_39794.JPEG2000_LOSSY,
        width=width,
        height=height,
    )
    block = face_39794.FaceImageDataBlock((representation,))
    return Dg2((FaceBiometric(face_header(FORMAT_TYPE_39794_5), block),))
