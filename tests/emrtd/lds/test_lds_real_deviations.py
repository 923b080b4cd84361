"""LDS files shaped like real documents that deviate from the standards: read, never lost.

Each structure is built tag by tag (or with the project's own encoders) the way the deviating
issuers write it: a 39794-5 DG2 whose optional fields take the extension-block choice, a DG11
whose other names are not wrapped in A0, a face image whose declared type is not its bytes'.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.emrtd.commands import render_report
from appliance.emrtd.document import ChipDocument, document_report
from appliance.emrtd.lds import dg2, dg11, dg12, face_19794, face_39794
from appliance.emrtd.lds.images import ImageFormat
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason


def _portrait() -> np.ndarray:
    """A synthetic 240x320 colour image (no personal data)."""
    y, x = np.mgrid[0:320, 0:240]
    image = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    cv2.circle(image, (120, 140), 60, (40, 80, 200), -1)
    return image


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", _portrait(), [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(data)


@pytest.fixture(scope="module")
def jp2() -> bytes:
    ok, data = cv2.imencode(".jp2", _portrait(), [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 60])
    assert ok
    return bytes(data)


# --- ISO/IEC 39794-5: optional fields in their extension-block choice ----------------------

EXTENSION_BLOCK = tlv.encode(0xA1, b"")  # CHOICE { code [0], extensionBlock [1] SEQUENCE {...} }


def _39794_dg2(image: bytes, info: bytes) -> bytes:
    """A DG2 with one 39794-5 representation whose imageInformation2DBlock is `info`."""
    block_2d = tlv.encode(0x80, image) + tlv.encode(0xA1, info)
    rep = tlv.encode(
        0x30,
        bytes.fromhex("800101") + tlv.encode(0xA1, tlv.encode(0xA0, tlv.encode(0xA0, block_2d))),
    )
    body = bytes.fromhex("a0078001038102 07e3".replace(" ", "")) + tlv.encode(0xA1, rep)
    bdb = tlv.encode(0xA1, tlv.encode(0x65, body))
    template = dg2.bt.BiometricTemplate(
        dg2.face_header(dg2.FORMAT_TYPE_39794_5), dg2.bt.CONSTRUCTED_DATA_BLOCK_TAG, bdb
    )
    return tlv.encode(dg2.TAG, dg2.bt.encode_group((template,)))


def test_39794_optional_fields_in_extension_blocks_are_skipped(jpeg: bytes) -> None:
    image_format = tlv.encode(0xA0, bytes.fromhex("800102"))  # code 2: JPEG
    kind = tlv.encode(0xA1, EXTENSION_BLOCK)  # faceImageKind2D: extensionBlock
    size = tlv.encode(0xA7, bytes.fromhex("800200f0 81020140".replace(" ", "")))
    colour = tlv.encode(0xA9, tlv.encode(0xA1, tlv.encode(0x80, b"\x07")))  # a vendor extension
    lossy = tlv.encode(0xA3, EXTENSION_BLOCK)  # lossyTransformationAttempts, not modelled
    data = _39794_dg2(jpeg, image_format + kind + lossy + size + colour)
    face = dg2.parse(data).face
    assert face.data == jpeg and face.format is ImageFormat.JPEG
    assert (face.width, face.height) == (240, 320)
    assert face.decode().shape[:2] == (320, 240)
    (representation,) = dg2.parse(data).biometrics[0].record.representations  # type: ignore[union-attr]
    assert representation.face_image_kind is None and representation.colour_space is None


def test_39794_image_data_format_in_an_extension_block_is_still_unsupported(jpeg: bytes) -> None:
    """The face image needs its declared format: that one field is not skipped."""
    data = _39794_dg2(jpeg, tlv.encode(0xA0, EXTENSION_BLOCK))
    with pytest.raises(LdsError) as info:
        dg2.parse(data)
    assert info.value.reason is Reason.LDS_UNSUPPORTED


# --- DG11: other names (5F0F) without their A0 group -------------------------------------


def _dg11(listed: str, *elements: bytes) -> bytes:
    return tlv.encode(0x6B, tlv.encode(0x5C, bytes.fromhex(listed)) + b"".join(elements))


FULL_NAME = tlv.encode(0x5F0E, b"DOE<<JOE")


@pytest.mark.parametrize("listed", ["5F0E5F0F", "5F0E5F0F5F0F", "5F0EA0"])
def test_dg11_other_names_without_their_a0_group_are_read(listed: str) -> None:
    data = _dg11(listed, FULL_NAME, tlv.encode(0x5F0F, b"ROE<<JOHNY"), tlv.encode(0x5F0F, b"X<<Y"))
    model = dg11.parse(data)
    assert model.full_name == "DOE<<JOE"
    assert model.other_names == ("ROE<<JOHNY", "X<<Y")
    # written back the ICAO way, which reads to the same model
    assert dg11.parse(dg11.encode(model)) == model


def test_dg11_single_unwrapped_other_name() -> None:
    model = dg11.parse(_dg11("5F0F5F0E", tlv.encode(0x5F0F, b"ROE<<JOHNY"), FULL_NAME))
    assert model.other_names == ("ROE<<JOHNY",) and model.full_name == "DOE<<JOE"


def test_dg12_other_persons_without_their_a0_group_are_read() -> None:
    body = tlv.encode(0x5C, bytes.fromhex("5F195F1A")) + tlv.encode(0x5F19, b"UTO OFFICE")
    body += tlv.encode(0x5F1A, b"DOE<<JANE")
    model = dg12.parse(tlv.encode(0x6C, body))
    assert model.other_persons == ("DOE<<JANE",) and model.issuing_authority == "UTO OFFICE"


@pytest.mark.parametrize(
    ("listed", "elements"),
    [
        ("5F0E", (FULL_NAME, tlv.encode(0x5F0F, b"ROE<<JOHNY"))),  # names present, not listed
        ("5F0E5F0F", (FULL_NAME,)),  # names listed, none present
        ("5F0E5F0E5F0F", (FULL_NAME, tlv.encode(0x5F0F, b"R<<J"))),  # full name listed twice
        ("5F0E5F0F", (FULL_NAME, FULL_NAME, tlv.encode(0x5F0F, b"R<<J"))),  # present twice
    ],
)
def test_dg11_tag_list_is_still_checked(listed: str, elements: tuple[bytes, ...]) -> None:
    with pytest.raises(LdsError):
        dg11.parse(_dg11(listed, *elements))


# --- image type declared one way, bytes the other -------------------------------------------


def _mislabelled_19794(jp2: bytes) -> bytes:
    record = face_19794.FaceRecord((face_19794.FaceImageRecord(jp2, 240, 320, image_data_type=0),))
    bio = dg2.FaceBiometric(dg2.face_header(dg2.FORMAT_TYPE_19794_5), record)
    return dg2.encode(dg2.Dg2((bio,)))


def _mislabelled_39794(jpeg: bytes) -> bytes:
    rep = face_39794.Representation(
        jpeg, image_data_format=face_39794.JPEG2000_LOSSY, width=240, height=320
    )
    bio = dg2.FaceBiometric(
        dg2.face_header(dg2.FORMAT_TYPE_39794_5), face_39794.FaceImageDataBlock((rep,))
    )
    return dg2.encode(dg2.Dg2((bio,)))


def test_19794_image_declared_jpeg_but_jpeg2000_is_read_with_a_warning(jp2: bytes) -> None:
    face = dg2.parse(_mislabelled_19794(jp2)).face
    assert face.format is ImageFormat.JPEG2000 and face.data == jp2
    assert face.decode().shape[:2] == (320, 240)
    (warning,) = face.warnings
    assert "declared jpeg" in warning and "jpeg2000" in warning


def test_39794_image_declared_jpeg2000_but_jpeg_is_read_with_a_warning(jpeg: bytes) -> None:
    face = dg2.parse(_mislabelled_39794(jpeg)).face
    assert face.format is ImageFormat.JPEG and face.decode().shape[:2] == (320, 240)
    (warning,) = face.warnings
    assert "declared jpeg2000" in warning and "bytes are jpeg " in warning


def test_correctly_labelled_images_have_no_warning(jpeg: bytes, jp2: bytes) -> None:
    for image in (jpeg, jp2):
        for standard in ("19794-5", "39794-5"):
            face = dg2.parse(dg2.encode(dg2.for_image(image, standard))).face  # type: ignore[arg-type]
            assert face.warnings == ()


def test_image_that_is_neither_jpeg_nor_jpeg2000_is_still_refused(jpeg: bytes) -> None:
    ok, png = cv2.imencode(".png", _portrait())
    assert ok
    record = face_19794.FaceRecord((face_19794.FaceImageRecord(bytes(png), 240, 320),))
    bio = dg2.FaceBiometric(dg2.face_header(dg2.FORMAT_TYPE_19794_5), record)
    with pytest.raises(LdsError):
        dg2.parse(dg2.encode(dg2.Dg2((bio,))))


def test_chip_report_keeps_the_portrait_and_shows_the_warning(jp2: bytes, jpeg: bytes) -> None:
    report = document_report(ChipDocument(files={"DG2.bin": _mislabelled_19794(jp2)}))
    face = report["face_image"]
    assert (face["format"], face["width"], face["height"]) == ("jpeg2000", 240, 320)
    (warning,) = face["warnings"]
    assert warning["reason"] == Reason.LDS_NONSTANDARD.value
    assert "declared jpeg" in warning["detail"]
    assert f"warn [{Reason.LDS_NONSTANDARD.value}]" in render_report(report)
    clean = document_report(ChipDocument(files={"DG2.bin": dg2.encode(dg2.for_image(jpeg))}))
    assert clean["face_image"]["warnings"] == []
