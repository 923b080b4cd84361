"""DG2: ISO/IEC 19794-5 and 39794-5 face records, JPEG and JPEG 2000 images that OpenCV decodes."""

from __future__ import annotations

import struct
from dataclasses import replace

import cv2
import numpy as np
import pytest

from appliance.emrtd.lds import biometric_template as bt
from appliance.emrtd.lds import dg2, face_19794, face_39794
from appliance.emrtd.lds.images import ImageFormat, detect_format
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason
from tests.support.data_support import FACES


def _portrait() -> np.ndarray:
    data = (FACES / "person01" / "img1.jpg").read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.resize(image, (240, 320), interpolation=cv2.INTER_AREA)


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


@pytest.fixture(scope="module")
def j2k(jp2: bytes) -> bytes:
    """The bare JPEG 2000 codestream inside the JP2 file (some chips store it like this)."""
    return jp2[jp2.index(b"jp2c") + 4 :]


def test_opencv_decodes_jpeg2000(jp2: bytes, j2k: bytes) -> None:
    assert detect_format(jp2) is ImageFormat.JPEG2000 and detect_format(j2k) is ImageFormat.JPEG2000
    for data in (jp2, j2k):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert image is not None and image.shape[:2] == (320, 240)


@pytest.mark.parametrize("standard", ["19794-5", "39794-5"])
@pytest.mark.parametrize("image_name", ["jpeg", "jp2", "j2k"])
def test_round_trip_and_decode(
    standard: str, image_name: str, request: pytest.FixtureRequest
) -> None:
    image: bytes = request.getfixturevalue(image_name)
    model = dg2.for_image(image, standard)  # type: ignore[arg-type]
    data = dg2.encode(model)
    parsed = dg2.parse(data)
    assert parsed == model
    face = parsed.face
    assert face.data == image
    assert face.format is (ImageFormat.JPEG if image_name == "jpeg" else ImageFormat.JPEG2000)
    assert (face.width, face.height) == (240, 320)
    assert face.decode().shape[:2] == (320, 240)
    header = parsed.biometrics[0].header
    assert header.format_owner == 0x0101
    assert header.format_type == (0x0008 if standard == "19794-5" else 0x002A)
    assert header.biometric_type == 0x02


def test_19794_layout_is_the_standard_one(jpeg: bytes) -> None:
    """Offsets from ISO/IEC 19794-5:2005 §5.4-5.7, checked on the encoded bytes themselves."""
    data = dg2.encode(dg2.for_image(jpeg))
    group = tlv.parse_exact(data, 0x75, "DG2").value
    (template,) = bt.parse_group(group)
    record = template.data_block
    assert template.data_block_tag == 0x5F2E
    assert record[:8] == b"FAC\x00010\x00"
    assert struct.unpack(">IH", record[8:14]) == (len(record), 1)
    assert struct.unpack(">I", record[14:18]) == (len(record) - 14,)
    # image information follows the 20-byte facial information (no feature points here)
    face_type, data_type, width, height = struct.unpack(">BBHH", record[34:40])
    assert (face_type, data_type, width, height) == (1, 0, 240, 320)
    assert record[46:] == jpeg


def test_39794_hand_built_block(jpeg: bytes) -> None:
    """A FaceImageDataBlock written out tag by tag from the 39794-5 schema."""
    info = bytes.fromhex("a003800102a103800100a7088002 00f0 8102 0140".replace(" ", ""))
    block_2d = tlv.encode(0x80, jpeg) + tlv.encode(0xA1, info)
    rep = tlv.encode(
        0x30,
        bytes.fromhex("800101") + tlv.encode(0xA1, tlv.encode(0xA0, tlv.encode(0xA0, block_2d))),
    )
    body = bytes.fromhex("a0078001038102 07e3".replace(" ", "")) + tlv.encode(0xA1, rep)
    bdb = tlv.encode(0xA1, tlv.encode(0x65, body))
    block = face_39794.parse(bdb)
    assert (block.generation, block.year) == (3, 2019)
    (representation,) = block.representations
    assert representation.representation_id == 1
    assert (representation.width, representation.height) == (240, 320)
    assert representation.format is ImageFormat.JPEG and representation.image == jpeg
    # the encoder writes the same structure back
    assert face_39794.encode(block) == bdb


def test_39794_skips_extension_fields(jpeg: bytes) -> None:
    model = dg2.for_image(jpeg, "39794-5")
    bdb = face_39794.encode(model.biometrics[0].record)  # type: ignore[arg-type]
    inner = tlv.parse_one(tlv.parse_one(bdb).value)
    extended = tlv.encode(0xA1, tlv.encode(0x65, inner.value + bytes.fromhex("8f0100")))
    assert face_39794.parse(extended).representations[0].image == jpeg


def test_two_templates_and_multiple_images(jpeg: bytes, jp2: bytes) -> None:
    first = dg2.for_image(jpeg).biometrics[0]
    second = dg2.for_image(jp2, "39794-5").biometrics[0]
    model = dg2.Dg2((first, second))
    parsed = dg2.parse(dg2.encode(model))
    assert [f.format for f in parsed.faces] == [ImageFormat.JPEG, ImageFormat.JPEG2000]


def test_declared_size_must_match_the_image(jpeg: bytes) -> None:
    record = face_19794.FaceRecord((face_19794.FaceImageRecord(jpeg, 241, 320),))
    bio = dg2.FaceBiometric(dg2.face_header(dg2.FORMAT_TYPE_19794_5), record)
    face = dg2.parse(dg2.encode(dg2.Dg2((bio,)))).face
    with pytest.raises(LdsError):
        face.decode()


def test_corrupt_image_does_not_decode(jpeg: bytes) -> None:
    broken = jpeg[:3] + b"\x00" * 200
    face = dg2.FaceImage(ImageFormat.JPEG, broken, None, None)
    with pytest.raises(LdsError):
        face.decode()


def _record_bytes(jpeg: bytes) -> bytes:
    return face_19794.encode(face_19794.FaceRecord((face_19794.FaceImageRecord(jpeg, 240, 320),)))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r[:4] + b"030\x00" + r[8:], Reason.LDS_UNSUPPORTED),
        (lambda r: r + b"\x00", Reason.LDS_MALFORMED),  # record length no longer matches
        (lambda r: r[:12] + b"\x00\x02" + r[14:], Reason.LDS_MALFORMED),  # two images claimed
        (lambda r: r[:12] + b"\x00\x00" + r[14:], Reason.LDS_MALFORMED),  # none
        (lambda r: r[:35] + b"\x07" + r[36:], Reason.LDS_UNSUPPORTED),  # image type 7
        (lambda r: r[:14] + b"\x00\x00\x00\x05" + r[18:], Reason.LDS_MALFORMED),
    ],
)
def test_19794_record_checks(jpeg: bytes, mutate: object, reason: Reason) -> None:
    with pytest.raises(LdsError) as info:
        face_19794.parse(mutate(_record_bytes(jpeg)))  # type: ignore[operator]
    assert info.value.reason is reason


def test_group_count_must_match(jpeg: bytes) -> None:
    data = dg2.encode(dg2.for_image(jpeg))
    wrong = data.replace(b"\x02\x01\x01\x7f\x60", b"\x02\x01\x02\x7f\x60", 1)
    assert wrong != data
    with pytest.raises(LdsError):
        dg2.parse(wrong)


def test_header_format_type_must_match_the_record(jpeg: bytes) -> None:
    model = dg2.for_image(jpeg)
    bio = replace(model.biometrics[0], header=dg2.face_header(dg2.FORMAT_TYPE_39794_5))
    with pytest.raises(LdsError):
        dg2.parse(dg2.encode(dg2.Dg2((bio,))))


def test_vendor_format_is_unsupported(jpeg: bytes) -> None:
    model = dg2.for_image(jpeg)
    header = bt.BiometricHeader(((0x87, b"\x00\x99"), (0x88, b"\x00\x01")))
    bio = replace(model.biometrics[0], header=header)
    with pytest.raises(LdsError) as info:
        dg2.parse(dg2.encode(dg2.Dg2((bio,))))
    assert info.value.reason is Reason.LDS_UNSUPPORTED
