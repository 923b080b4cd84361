"""ISO/IEC 39794-5:2019 face image data in its tagged binary (BER) encoding, as ICAO's
application profile puts it in DG2: BDB 7F2E holds A1, which holds the FaceImageDataBlock
([APPLICATION 5] = tag 65).

The schema uses automatic tags: a field [n] is tag 0x80+n (primitive) or 0xA0+n (constructed),
and CHOICE values are wrapped explicitly. Extension fields ("...") and blocks this module does
not model are skipped on reading, so newer chips still yield their image; an optional field
that takes its CHOICE's extensionBlock reads as absent. Only what the image needs (its data
and imageDataFormat) must be a known code.

    FaceImageDataBlock ::= [APPLICATION 5] SEQUENCE {
        versionBlock [0] SEQUENCE { generation [0] INTEGER, year [1] INTEGER },
        representationBlocks [1] SEQUENCE OF RepresentationBlock }
    RepresentationBlock ::= SEQUENCE {
        representationId [0] INTEGER,
        imageRepresentation [1] CHOICE { base [0] CHOICE {
            imageRepresentation2DBlock [0] SEQUENCE {
                representationData2D [0] OCTET STRING,
                imageInformation2DBlock [1] SEQUENCE {
                    imageDataFormat [0] CHOICE { code [0] INTEGER, ... },
                    faceImageKind2D [1] CHOICE { code [0] INTEGER, ... } OPTIONAL,
                    imageSizeBlock [7] SEQUENCE { width [0] INTEGER, height [1] INTEGER }
                        OPTIONAL,
                    imageColourSpace [9] CHOICE { code [0] INTEGER, ... } OPTIONAL, ... },
                ... } }, ... },
        ... }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from appliance.emrtd.lds.ext39794 import Ext39794, encode_block
from appliance.emrtd.lds.ext39794 import encode_uint as _int
from appliance.emrtd.lds.images import ImageFormat, declared_format_warning, detect_format
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

FACE_IMAGE_DATA_BLOCK_TAG: Final = 0x65
#: imageDataFormat codes ICAO allows; PNG/PGM/PPM (5-7) and raw are not eMRTD formats
JPEG: Final = 2
JPEG2000_LOSSY: Final = 3
JPEG2000_LOSSLESS: Final = 4
_FORMATS: Final = {
    JPEG: ImageFormat.JPEG,
    JPEG2000_LOSSY: ImageFormat.JPEG2000,
    JPEG2000_LOSSLESS: ImageFormat.JPEG2000,
}


@dataclass(frozen=True, repr=False)  # biometric data: never in logs
class Representation:
    image: bytes
    image_data_format: int = JPEG
    width: int | None = None
    height: int | None = None
    representation_id: int = 0
    #: 0 = MRTD portrait, 1 = general purpose
    face_image_kind: int | None = 0
    colour_space: int | None = None

    @property
    def format(self) -> ImageFormat:
        """The format of the bytes (the declared one may be wrong: see `format_warning`)."""
        return detect_format(self.image)

    @property
    def format_warning(self) -> str | None:
        declared = _FORMATS[self.image_data_format]
        return declared_format_warning(declared, self.image, "39794-5 imageDataFormat")


@dataclass(frozen=True)
class FaceImageDataBlock:
    representations: tuple[Representation, ...]
    generation: int = 3
    year: int = 2019


_EXT = Ext39794("39794-5")
_fields, _required, _uint, _code = _EXT.fields, _EXT.required, _EXT.uint, _EXT.code


def _optional_code(fields: dict[int, tlv.Tlv], number: int, what: str) -> int | None:
    """An optional coded field; its extensionBlock choice (not modelled here) reads as None."""
    item = fields.get(number)
    if item is None or 0 not in _fields(item.value, what):
        return None
    return _code(item, what)


def _representation(item: tlv.Tlv) -> Representation | None:
    if item.tag != 0x30:
        raise LdsError("39794-5: representation block is not a SEQUENCE")
    fields = _fields(item.value, "representation block")
    rep_id = _uint(_required(fields, 0, False, "representationId"), "representationId")
    choice = _fields(_required(fields, 1, True, "imageRepresentation").value, "image choice")
    if 0 not in choice:  # an extension representation: not a 2D image
        return None
    base = _fields(_required(choice, 0, True, "base").value, "base choice")
    if 0 not in base:  # a 3D shape representation
        return None
    block = _fields(_required(base, 0, True, "2D block").value, "2D block")
    image = _required(block, 0, False, "representationData2D").value
    info = _fields(_required(block, 1, True, "imageInformation2DBlock").value, "image info")
    data_format = _code(_required(info, 0, True, "imageDataFormat"), "imageDataFormat")
    if data_format not in _FORMATS:
        raise LdsError("39794-5: image format is not JPEG or JPEG 2000", Reason.LDS_UNSUPPORTED)
    detect_format(image)  # JPEG or JPEG 2000, whatever the record declares
    width = height = None
    if 7 in info:
        size = _fields(_required(info, 7, True, "imageSizeBlock").value, "image size")
        width = _uint(_required(size, 0, False, "width"), "width")
        height = _uint(_required(size, 1, False, "height"), "height")
        if not (0 < width <= 0xFFFF and 0 < height <= 0xFFFF):
            raise LdsError("39794-5: image size out of range")
    return Representation(
        image=image,
        image_data_format=data_format,
        width=width,
        height=height,
        representation_id=rep_id,
        face_image_kind=_optional_code(info, 1, "faceImageKind2D"),
        colour_space=_optional_code(info, 9, "imageColourSpace"),
    )


def parse(bdb: bytes) -> FaceImageDataBlock:
    """Parse the value of a 7F2E biometric data block."""
    block = _EXT.open_block(bdb, FACE_IMAGE_DATA_BLOCK_TAG, "FaceImageDataBlock")
    blocks = tlv.parse_all(block.representations.value)
    representations = tuple(r for r in map(_representation, blocks) if r is not None)
    if not representations:
        raise LdsError("39794-5: no 2D face image", Reason.LDS_UNSUPPORTED)
    return FaceImageDataBlock(representations, generation=block.generation, year=block.year)


def _code_choice(tag: int, value: int) -> bytes:
    return tlv.encode(tag, _int(0x80, value))


def _encode_representation(rep: Representation) -> bytes:
    info = [_code_choice(0xA0, rep.image_data_format)]
    if rep.face_image_kind is not None:
        info.append(_code_choice(0xA1, rep.face_image_kind))
    if rep.width is not None and rep.height is not None:
        info.append(tlv.encode(0xA7, _int(0x80, rep.width) + _int(0x81, rep.height)))
    if rep.colour_space is not None:
        info.append(_code_choice(0xA9, rep.colour_space))
    block_2d = tlv.encode(0x80, rep.image) + tlv.encode(0xA1, b"".join(info))
    image_representation = tlv.encode(0xA1, tlv.encode(0xA0, tlv.encode(0xA0, block_2d)))
    return tlv.encode(0x30, _int(0x80, rep.representation_id) + image_representation)


def encode(model: FaceImageDataBlock) -> bytes:
    """The value of a 7F2E biometric data block (A1 around the FaceImageDataBlock)."""
    reps = b"".join(_encode_representation(r) for r in model.representations)
    return encode_block(FACE_IMAGE_DATA_BLOCK_TAG, model.generation, model.year, reps)
