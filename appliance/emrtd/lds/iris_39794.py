"""ISO/IEC 39794-6:2021 iris image data in its tagged binary (BER) encoding, the extensible
successor of 19794-6 that LDS 1.8 chips may carry in DG4: BDB 7F2E holds A1, which holds the
IrisImageDataBlock ([APPLICATION 6] = tag 66).

Read with the LDS's own BER walker (`appliance.emrtd.protocol.tlv`), as DG2's 39794-5 reader
is, rather than asn1crypto: the schema is extensible ("..." in every block, CHOICEs with an
extensionBlock), and a reader must skip the fields later editions add, which a fixed
asn1crypto schema refuses; the walker bounds every length by its parent's (a length that runs
past it is `LDS_MALFORMED`), the nesting depth is the schema's own (no recursion), at most
`MAX_REPRESENTATIONS` images are taken, and nothing but `LdsError` is raised. Automatic tags:
field [n] is 0x80+n (primitive) or 0xA0+n (constructed); CHOICEs are wrapped explicitly.

    IrisImageDataBlock ::= [APPLICATION 6] SEQUENCE {
        versionBlock [0] SEQUENCE { generation [0] INTEGER, year [1] INTEGER },
        representationBlocks [1] SEQUENCE OF RepresentationBlock, ... }
    RepresentationBlock ::= SEQUENCE {
        eyeLabelCode [0] (0 unknown, 1 right, 2 left),
        irisImageKind [1] CHOICE { code [0] INTEGER, extensionBlock [1] ... },
        bitDepth [2] INTEGER (8..24),
        imageDataFormat [3] CHOICE { code [0] INTEGER, extensionBlock [1] ... },
        horizontalOrientationCode [4], verticalOrientationCode [5], compressionHistoryCode [6],
        range [7] CHOICE { range [0] INTEGER, errorCode [1] ... },
        captureDateTimeBlock [8] SEQUENCE { year [0] INTEGER, month [1], day [2], ... },
        irisImageData [9] OCTET STRING,
        captureDeviceBlock [10], qualityBlocks [11], rollAngleBlock [12],
        localisationBlock [13], pADDataBlock [14] (all OPTIONAL, skipped here), ... }

Image sizes are not in the record: they are the image's own. An eMRTD stores its iris images
as JPEG 2000 (imageDataFormat 3 lossless, 4 lossy); PGM, PPM and PNG are refused as
unsupported, as is a bit depth other than 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from appliance.emrtd.lds.ext39794 import Ext39794, encode_block
from appliance.emrtd.lds.ext39794 import encode_uint as _int
from appliance.emrtd.lds.iris_19794 import EyeSubtype
from appliance.emrtd.protocol import tlv
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.imaging import declared_size

IRIS_IMAGE_DATA_BLOCK_TAG: Final = 0x66
#: more representations than any passport has eyes and captures: refuse, do not walk on
MAX_REPRESENTATIONS: Final = 16
_SEQUENCE: Final = 0x30


class ImageDataFormat(IntEnum):
    """39794-6 imageDataFormat codes."""

    PGM = 0
    PPM = 1
    PNG = 2
    JPEG2000_LOSSLESS = 3
    JPEG2000_LOSSY = 4


#: what the appliance reads (the eMRTD formats)
READABLE_FORMATS: Final = (ImageDataFormat.JPEG2000_LOSSLESS, ImageDataFormat.JPEG2000_LOSSY)


@dataclass(frozen=True, repr=False)  # biometric data: never in logs
class IrisRepresentation:
    eye: EyeSubtype
    image: bytes
    image_data_format: ImageDataFormat = ImageDataFormat.JPEG2000_LOSSY
    bit_depth: int = 8
    #: 1 uncropped, 2 VGA (640 x 480), 3 cropped, 7 cropped and masked
    image_kind: int = 2
    horizontal_orientation: int = 1
    vertical_orientation: int = 1
    #: 0 undefined, 1 lossless or none, 2 lossy
    compression_history: int = 2
    #: distance camera-eye in mm; None: the record says "ranging error, unassigned"
    range_mm: int | None = None
    capture_year: int = 2026

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) from the image's own header (the record has none)."""
        try:
            return declared_size(self.image)
        except ApplianceError as exc:
            raise LdsError(f"39794-6: {exc.detail}") from exc


@dataclass(frozen=True, repr=False)
class IrisImageDataBlock:
    representations: tuple[IrisRepresentation, ...]
    generation: int = 1
    year: int = 2021


_EXT = Ext39794("39794-6", max_int_octets=4)
_fields, _required, _uint, _code = _EXT.fields, _EXT.required, _EXT.uint, _EXT.code


def _representation(item: tlv.Tlv) -> IrisRepresentation:
    if item.tag != _SEQUENCE:
        raise LdsError("39794-6: representation block is not a SEQUENCE")
    fields = _fields(item.value, "representation block")
    try:
        eye = EyeSubtype(_uint(_required(fields, 0, False, "eyeLabelCode"), "eyeLabelCode"))
    except ValueError:
        raise LdsError("39794-6: unknown eye label") from None
    kind = _code(_required(fields, 1, True, "irisImageKind"), "irisImageKind")
    depth = _uint(_required(fields, 2, False, "bitDepth"), "bitDepth")
    code = _code(_required(fields, 3, True, "imageDataFormat"), "imageDataFormat")
    horizontal = _uint(_required(fields, 4, False, "horizontal"), "horizontalOrientationCode")
    vertical = _uint(_required(fields, 5, False, "vertical"), "verticalOrientationCode")
    history = _uint(_required(fields, 6, False, "compression"), "compressionHistoryCode")
    ranging = _fields(_required(fields, 7, True, "range").value, "range")
    range_mm = _uint(ranging[0], "range") if 0 in ranging else None
    when = _fields(_required(fields, 8, True, "captureDateTimeBlock").value, "capture date")
    year = _uint(_required(when, 0, False, "capture year"), "capture year")
    image = _required(fields, 9, False, "irisImageData").value
    try:
        image_format = ImageDataFormat(code)
    except ValueError:
        raise LdsError("39794-6: unknown image format", Reason.LDS_UNSUPPORTED) from None
    if image_format not in READABLE_FORMATS:
        raise LdsError(f"39794-6: {image_format.name} images not read", Reason.LDS_UNSUPPORTED)
    if depth != 8:
        raise LdsError(f"39794-6: {depth}-bit images not read", Reason.LDS_UNSUPPORTED)
    if not image:
        raise LdsError("39794-6: empty iris image")
    representation = IrisRepresentation(eye, image, image_format, depth, kind, horizontal,
                                        vertical, history, range_mm, year)  # fmt: skip
    _ = representation.size  # its header must read now, not first at the lane
    return representation


def parse(bdb: bytes) -> IrisImageDataBlock:
    """Parse the value of a 7F2E biometric data block (`LdsError` with the reason)."""
    block = _EXT.open_block(bdb, IRIS_IMAGE_DATA_BLOCK_TAG, "IrisImageDataBlock")
    blocks: list[tlv.Tlv] = []
    for item in tlv.iter_tlvs(block.representations.value):
        if len(blocks) == MAX_REPRESENTATIONS:
            raise LdsError(f"39794-6: more than {MAX_REPRESENTATIONS} representations")
        blocks.append(item)
    if not blocks:
        raise LdsError("39794-6: no iris image")
    return IrisImageDataBlock(tuple(map(_representation, blocks)), block.generation, block.year)


def _encode_representation(rep: IrisRepresentation) -> bytes:
    ranging = _int(0x80, rep.range_mm) if rep.range_mm is not None else _int(0x81, 0)
    body = b"".join(
        (
            _int(0x80, rep.eye),
            tlv.encode(0xA1, _int(0x80, rep.image_kind)),
            _int(0x82, rep.bit_depth),
            tlv.encode(0xA3, _int(0x80, rep.image_data_format)),
            _int(0x84, rep.horizontal_orientation),
            _int(0x85, rep.vertical_orientation),
            _int(0x86, rep.compression_history),
            tlv.encode(0xA7, ranging),
            tlv.encode(0xA8, _int(0x80, rep.capture_year)),
            tlv.encode(0x89, rep.image),
        )
    )
    return tlv.encode(_SEQUENCE, body)


def encode(model: IrisImageDataBlock) -> bytes:
    """The value of a 7F2E biometric data block (A1 around the IrisImageDataBlock)."""
    reps = b"".join(map(_encode_representation, model.representations))
    return encode_block(IRIS_IMAGE_DATA_BLOCK_TAG, model.generation, model.year, reps)


__all__ = [
    "MAX_REPRESENTATIONS",
    "ImageDataFormat",
    "IrisImageDataBlock",
    "IrisRepresentation",
    "encode",
    "parse",
]
