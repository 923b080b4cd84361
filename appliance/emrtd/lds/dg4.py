"""DG4 (ICAO 9303-10 §4.7.4): the holder's iris images, released only after Terminal
Authentication.

76 wraps a biometric group template (as DG2); each template's data block is an ISO/IEC
19794-6:2005 iris record (5F2E, `iris_19794`) or ISO/IEC 39794-6 tagged iris data (7F2E,
`iris_39794`, LDS 1.8). `Dg4.eyes` flattens both into `EyeImage`s; `EyeImage.pixels()`
gives the 8-bit grayscale the iris pipeline reads (raw pixels reshaped, JPEG / JPEG 2000
decoded), refusing colour and sizes that contradict the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from appliance.emrtd.lds import biometric_template as bt
from appliance.emrtd.lds import iris_19794, iris_39794
from appliance.emrtd.lds.images import decode_image, image_size
from appliance.emrtd.lds.iris_19794 import EyeSubtype, IrisImageFormat
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

TAG: Final = 0x76
#: CBEFF format type of an ISO/IEC 19794-6 rectilinear iris image
FORMAT_TYPE_19794_6: Final = 0x0009
#: CBEFF format type of ISO/IEC 39794-6 iris image data (tagged binary)
FORMAT_TYPE_39794_6: Final = 0x002C
BIOMETRIC_TYPE_IRIS: Final = 0x10
_MONO: Final = (IrisImageFormat.MONO_RAW, IrisImageFormat.MONO_JPEG,
                IrisImageFormat.MONO_JPEG2000)  # fmt: skip


@dataclass(frozen=True, repr=False)  # biometric data: never in logs
class EyeImage:
    eye: EyeSubtype
    format: IrisImageFormat
    width: int
    height: int
    data: bytes

    def pixels(self) -> NDArray[np.uint8]:
        """8-bit grayscale, H x W; `LdsError` for colour, other depths or a size mismatch."""
        import numpy as np

        if self.format not in _MONO:
            raise LdsError(f"DG4: {self.format.name} images not read", Reason.LDS_UNSUPPORTED)
        if self.format is IrisImageFormat.MONO_RAW:
            if len(self.data) != self.width * self.height:
                raise LdsError("DG4: raw image size differs from the record's")
            return np.frombuffer(self.data, np.uint8).reshape(self.height, self.width).copy()
        image = decode_image(self.data)
        if image.ndim != 2:
            raise LdsError("DG4: a monochrome record holds a colour image")
        if image_size(image) != (self.width, self.height):
            raise LdsError("DG4: image size differs from the size the record declares")
        return image.astype(np.uint8)


IrisData = iris_19794.IrisRecord | iris_39794.IrisImageDataBlock


@dataclass(frozen=True, repr=False)
class IrisBiometric:
    header: bt.BiometricHeader
    record: IrisData


def _eyes_of(record: IrisData) -> tuple[EyeImage, ...]:
    if isinstance(record, iris_39794.IrisImageDataBlock):
        # an 8-bit JPEG 2000 image (all iris_39794 reads) is 19794-6's MONO_JPEG2000
        return tuple(
            EyeImage(rep.eye, IrisImageFormat.MONO_JPEG2000, *rep.size, rep.image)
            for rep in record.representations
        )
    return tuple(
        EyeImage(sub.eye, record.image_format, record.width, record.height, image.data)
        for sub in record.subtypes
        for image in sub.images
    )


@dataclass(frozen=True, repr=False)
class Dg4:
    biometrics: tuple[IrisBiometric, ...]

    @property
    def eyes(self) -> tuple[EyeImage, ...]:
        return tuple(eye for bio in self.biometrics for eye in _eyes_of(bio.record))


def _parse_biometric(template: bt.BiometricTemplate) -> IrisBiometric:
    header = template.header
    if header.format_owner not in (None, bt.FORMAT_OWNER_JTC1_SC37):
        raise LdsError("DG4: vendor-specific biometric format", Reason.LDS_UNSUPPORTED)
    if template.data_block_tag == bt.CONSTRUCTED_DATA_BLOCK_TAG:
        if header.format_type not in (None, FORMAT_TYPE_39794_6):
            raise LdsError("DG4: header format type contradicts the 39794-6 data")
        return IrisBiometric(header, iris_39794.parse(template.data_block))
    if header.format_type not in (None, FORMAT_TYPE_19794_6):
        raise LdsError("DG4: header format type is not an ISO/IEC 19794-6 image")
    return IrisBiometric(header, iris_19794.parse(template.data_block))


def parse(data: bytes) -> Dg4:
    group = tlv.parse_exact(data, TAG, "DG4").value
    return Dg4(tuple(_parse_biometric(t) for t in bt.parse_group(group)))


def _template(bio: IrisBiometric) -> bt.BiometricTemplate:
    if isinstance(bio.record, iris_39794.IrisImageDataBlock):
        block = iris_39794.encode(bio.record)
        return bt.BiometricTemplate(bio.header, bt.CONSTRUCTED_DATA_BLOCK_TAG, block)
    return bt.BiometricTemplate(bio.header, bt.DATA_BLOCK_TAG, iris_19794.encode(bio.record))


def encode(model: Dg4) -> bytes:
    templates = tuple(_template(bio) for bio in model.biometrics)
    return tlv.encode(TAG, bt.encode_group(templates))


def iris_header(eye: EyeSubtype, format_type: int = FORMAT_TYPE_19794_6) -> bt.BiometricHeader:
    """ICAO header: version 1.1, type iris, the eye as subtype, JTC1/SC37 19794-6 (or 39794-6)."""
    subtype = {EyeSubtype.RIGHT: 0x01, EyeSubtype.LEFT: 0x02}.get(eye, 0x00)
    return bt.BiometricHeader(
        (
            (bt.ICAO_HEADER_VERSION, b"\x01\x01"),
            (bt.BIOMETRIC_TYPE, bytes([BIOMETRIC_TYPE_IRIS])),
            (bt.BIOMETRIC_SUBTYPE, bytes([subtype])),
            (bt.FORMAT_OWNER, bt.FORMAT_OWNER_JTC1_SC37.to_bytes(2, "big")),
            (bt.FORMAT_TYPE, format_type.to_bytes(2, "big")),
        )
    )


def for_images(
    eyes: dict[EyeSubtype, Any],
    image_format: IrisImageFormat,
    standard: Literal["19794-6", "39794-6"] = "19794-6",
) -> Dg4:
    """A DG4 with one image per eye: `eyes` maps the eye to its encoded bytes (JPEG, JPEG
    2000) or, for MONO_RAW, its uint8 H x W pixels. What an issuer (the simulator) writes;
    in the 39794-6 encoding the images must be JPEG 2000."""
    import numpy as np

    if standard == "39794-6":
        if image_format is not IrisImageFormat.MONO_JPEG2000:
            raise ValueError("39794-6 DG4 images are JPEG 2000 here")
        return Dg4(tuple(
            IrisBiometric(
                iris_header(eye, FORMAT_TYPE_39794_6),
                iris_39794.IrisImageDataBlock((iris_39794.IrisRepresentation(eye, bytes(data)),)),
            )
            for eye, data in eyes.items()
        ))  # fmt: skip
    biometrics = []
    for eye, image in eyes.items():
        if image_format is IrisImageFormat.MONO_RAW:
            pixels = np.asarray(image, np.uint8)
            height, width = pixels.shape
            data = pixels.tobytes()
        else:
            data = bytes(image)
            width, height = image_size(decode_image(data))
        record = iris_19794.IrisRecord(
            image_format, width, height,
            (iris_19794.IrisSubtype(eye, (iris_19794.IrisImage(1, 100, data),)),),
        )  # fmt: skip
        biometrics.append(IrisBiometric(iris_header(eye), record))
    return Dg4(tuple(biometrics))
