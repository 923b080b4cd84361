"""DG4 in the ISO/IEC 39794-6 tagged encoding (LDS 1.8): read like 19794-6, issued by the virtual
chip behind Terminal Authentication, and every malformed or unsupported block refused with its
reason (never a traceback, never half an image)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from appliance.emrtd.document import read_chip
from appliance.emrtd.lds import biometric_template as bt
from appliance.emrtd.lds import dg4, iris_39794
from appliance.emrtd.lds.iris_19794 import EyeSubtype, IrisImageFormat
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.protocol import tlv
from appliance.emrtd.session import MrzKey, ReaderOptions
from appliance.errors import LdsError, Reason
from appliance.inspection.iris_step import judge
from hardware_mocks.iris_synth import IrisSynth
from hardware_mocks.virtual_chip import VirtualCardTransport, VirtualChip, make_profile
from hardware_mocks.virtual_chip.profile import iris_jp2

JP2 = iris_jp2(5)


def _dg4(**changes: object) -> bytes:
    rep = replace(iris_39794.IrisRepresentation(EyeSubtype.LEFT, JP2), **changes)  # type: ignore[arg-type]
    header = dg4.iris_header(EyeSubtype.LEFT, dg4.FORMAT_TYPE_39794_6)
    block = iris_39794.IrisImageDataBlock((rep,))
    return dg4.encode(dg4.Dg4((dg4.IrisBiometric(header, block),)))


def test_a_39794_dg4_round_trips_to_the_same_pixels() -> None:
    data = _dg4()
    parsed = dg4.parse(data)
    assert isinstance(parsed.biometrics[0].record, iris_39794.IrisImageDataBlock)
    assert dg4.encode(parsed) == data
    (eye,) = parsed.eyes
    assert (eye.eye, eye.format, eye.width, eye.height) == (
        EyeSubtype.LEFT, IrisImageFormat.MONO_JPEG2000, 640, 480,
    )  # fmt: skip
    legacy = dg4.for_images({EyeSubtype.LEFT: JP2}, IrisImageFormat.MONO_JPEG2000)
    assert np.array_equal(eye.pixels(), legacy.eyes[0].pixels())


def test_the_virtual_chip_issues_39794_dg4_behind_terminal_authentication() -> None:
    profile = make_profile(iris=True, iris_standard="39794-6")
    key = MrzKey(profile.document_number, profile.date_of_birth, profile.date_of_expiry)
    options = ReaderOptions(terminal=profile.eac_pki().credentials())
    document = read_chip(VirtualCardTransport(VirtualChip(profile)), key, options)
    assert document.eac is not None and document.eac.status is CheckStatus.PASS
    parsed = dg4.parse(document.files["DG4.bin"])
    assert isinstance(parsed.biometrics[0].record, iris_39794.IrisImageDataBlock)
    original, _ = IrisSynth(profile.seed).capture(0)
    pixels = parsed.eyes[0].pixels()
    assert float(np.abs(pixels.astype(int) - original.astype(int)).mean()) < 4.0
    # the iris step reads it as it reads 19794-6: the live eye is compared with it
    seen: list[int] = []

    def check(references):  # type: ignore[no-untyped-def]
        seen.append(len(references))
        from appliance.biometrics.iris.verifier import IrisResult

        return IrisResult("pass", Reason.OK, 0.1, 0.32)

    assert judge(check, True, document).status is CheckStatus.PASS and seen == [1]


def _fields(**replaced: bytes | None) -> list[bytes]:
    """The fields of one representation block, by name; None leaves one out."""
    fields = {
        "eye": b"\x80\x01\x02",
        "kind": tlv.encode(0xA1, b"\x80\x01\x02"),
        "depth": b"\x82\x01\x08",
        "format": tlv.encode(0xA3, b"\x80\x01\x04"),
        "orientation": b"\x84\x01\x01\x85\x01\x01\x86\x01\x02",
        "range": tlv.encode(0xA7, b"\x81\x01\x00"),
        "date": tlv.encode(0xA8, b"\x80\x02\x07\xea"),
        "image": tlv.encode(0x89, JP2),
    }
    fields.update(replaced)  # type: ignore[arg-type]
    return [f for f in fields.values() if f is not None]


def _block(
    *representations: list[bytes], version: bytes = b"\x80\x01\x01\x81\x02\x07\xe5"
) -> bytes:
    reps = b"".join(tlv.encode(0x30, b"".join(fields)) for fields in representations)
    inner = tlv.encode(0xA0, version) + tlv.encode(0xA1, reps)
    return tlv.encode(0xA1, tlv.encode(0x66, inner))


def test_the_test_builder_matches_the_encoder() -> None:
    rep = iris_39794.IrisRepresentation(EyeSubtype.LEFT, JP2, capture_year=2026)
    assert _block(_fields()) == iris_39794.encode(iris_39794.IrisImageDataBlock((rep,)))


def test_fields_of_later_editions_are_skipped() -> None:
    """Unknown fields (an extension [20] in the block, a private tag) do not stop the reader."""
    extended = _fields(extra=b"\x94\x01\x07", private=b"\xdf\x20\x01\x00")
    parsed = iris_39794.parse(_block(extended))
    assert parsed.representations[0].image == JP2
    assert parsed.representations[0].range_mm is None


@pytest.mark.parametrize(
    ("changes", "reason", "words"),
    [
        ({"image_data_format": iris_39794.ImageDataFormat.PNG}, Reason.LDS_UNSUPPORTED, "PNG"),
        ({"image_data_format": iris_39794.ImageDataFormat.PPM}, Reason.LDS_UNSUPPORTED, "PPM"),
        ({"bit_depth": 16}, Reason.LDS_UNSUPPORTED, "16-bit"),
        ({"image": b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 20}, Reason.LDS_MALFORMED, ""),
        ({"image": b"not an image"}, Reason.LDS_MALFORMED, "39794-6"),
    ],
)
def test_unsupported_or_broken_images_are_refused(
    changes: dict[str, object], reason: Reason, words: str
) -> None:
    with pytest.raises(LdsError) as caught:
        dg4.parse(_dg4(**changes))
    assert caught.value.reason is reason and words in caught.value.detail


def test_malformed_blocks_give_a_clear_reason() -> None:
    good = _block(_fields())
    cases = {
        "truncated": (good[:-5], "runs past the end"),
        "trailing bytes": (good + b"\x00\x01", "bytes after the data block"),
        "another block": (tlv.encode(0xA1, tlv.encode(0x65, b"")), "expected tag 66"),
        "no representation": (_block(), "no iris image"),
        "no version": (
            _block(_fields()).replace(b"\xa0\x07", b"\xa2\x07", 1),
            "versionBlock [0] missing",
        ),
        "no image data": (_block(_fields(image=None)), "irisImageData [9] missing"),
        "image data constructed": (_block(_fields(image=tlv.encode(0xA9, b""))), "wrong form"),
        "no capture date": (_block(_fields(date=None)), "captureDateTimeBlock [8] missing"),
        "a negative bit depth": (_block(_fields(depth=b"\x82\x01\xf8")), "bitDepth is not"),
        "an unknown eye": (_block(_fields(eye=b"\x80\x01\x07")), "unknown eye"),
        "a repeated field": (_block(_fields(extra=b"\x82\x01\x08")), "[2] repeated"),
        "an extension image format": (
            _block(_fields(format=tlv.encode(0xA3, b"\xa1\x00"))),
            "extension block",
        ),
        "an unknown image format": (
            _block(_fields(format=tlv.encode(0xA3, b"\x80\x01\x09"))),
            "unknown image format",
        ),
        "not a sequence": (
            _block(_fields()).replace(b"\x30\x82", b"\x31\x82", 1),
            "not a SEQUENCE",
        ),
        "too many representations": (
            _block(*[_fields()] * (iris_39794.MAX_REPRESENTATIONS + 1)),
            "more than 16",
        ),
    }
    for name, (data, words) in cases.items():
        with pytest.raises(LdsError) as caught:
            iris_39794.parse(data)
        assert caught.value.reason in (Reason.LDS_MALFORMED, Reason.LDS_UNSUPPORTED), name
        assert words in caught.value.detail, (name, caught.value.detail)
    assert len(iris_39794.parse(_block(_fields(), _fields())).representations) == 2


def test_a_header_that_names_19794_over_39794_data_is_refused() -> None:
    rep = iris_39794.IrisRepresentation(EyeSubtype.RIGHT, JP2)
    block = iris_39794.encode(iris_39794.IrisImageDataBlock((rep,)))
    header = dg4.iris_header(EyeSubtype.RIGHT)  # says 19794-6
    template = bt.BiometricTemplate(header, bt.CONSTRUCTED_DATA_BLOCK_TAG, block)
    with pytest.raises(LdsError) as caught:
        dg4.parse(tlv.encode(dg4.TAG, bt.encode_group((template,))))
    assert "39794-6" in caught.value.detail
