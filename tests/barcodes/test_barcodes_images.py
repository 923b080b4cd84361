"""Decoding generated symbols from images: every symbology, rotated, blurred, JPEG, several per
image; zbar's limits stated by test (what the benchmark measures in full)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from appliance.ports import DecodedSymbol, Frame
from drivers.barcode import ZbarScanner, ZxingScanner, open_scanner
from hardware_mocks import barcode_seals as bs
from hardware_mocks.virtual_barcode_scanner import VirtualBarcodeScanner
from tests.support.barcode_support import AIRLINE, SIGNER

SEAL = bs.make_vds(SIGNER)
VDSNC = bs.make_vdsnc(SIGNER)
BCBP = bs.make_bcbp(AIRLINE).encode()


def _frame(image: np.ndarray) -> Frame:
    return Frame(image, time.time())


@pytest.mark.parametrize(
    ("payload", "symbology"),
    [(SEAL, "datamatrix"), (SEAL, "aztec"), (VDSNC, "qrcode"), (BCBP, "pdf417"), (BCBP, "aztec")],
)
def test_zxing_reads_each_symbology_byte_exact(payload: bytes, symbology: str) -> None:
    image = bs.symbol_image(payload, symbology)
    assert ZxingScanner().decode(_frame(image)) == [DecodedSymbol(symbology, payload)]


@pytest.mark.parametrize("rotation", [0, 17, 45, 90, 180, 233])
def test_zxing_reads_a_rotated_seal(rotation: int) -> None:
    image = bs.degrade(bs.symbol_image(SEAL, "datamatrix"), rotation_deg=rotation)
    assert [s.payload for s in ZxingScanner().decode(_frame(image))] == [SEAL]


def test_zxing_reads_a_blurred_small_jpeg_seal() -> None:
    import cv2

    image = bs.degrade(bs.symbol_image(SEAL, "datamatrix", 6), scale=0.6, blur_px=1.0)
    jpeg = bs.encode_image(image, jpeg_quality=50)
    pixels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert [s.payload for s in ZxingScanner().decode(_frame(pixels))] == [SEAL]


def test_several_symbols_in_one_image() -> None:
    page = bs.page(
        bs.symbol_image(SEAL, "datamatrix"),
        bs.symbol_image(VDSNC, "qrcode", 3),
        bs.symbol_image(BCBP, "pdf417", 2),
    )
    found = ZxingScanner().decode(_frame(page))
    assert sorted((s.symbology, s.payload) for s in found) == sorted(
        [("datamatrix", SEAL), ("qrcode", VDSNC), ("pdf417", BCBP)]
    )


def test_colour_frames_are_read_too() -> None:
    import cv2

    grey = bs.symbol_image(VDSNC, "qrcode", 3)
    colour = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    assert [s.payload for s in ZxingScanner().decode(_frame(colour))] == [VDSNC]


def test_zbar_reads_text_qr_but_no_datamatrix() -> None:
    zbar = ZbarScanner()
    assert [s.payload for s in zbar.decode(_frame(bs.symbol_image(VDSNC, "qrcode", 3)))] == [VDSNC]
    assert zbar.decode(_frame(bs.symbol_image(SEAL, "datamatrix"))) == []


def test_a_blank_or_odd_frame_is_no_symbol() -> None:
    for scanner in (ZxingScanner(), ZbarScanner()):
        assert scanner.decode(_frame(np.full((200, 200), 255, np.uint8))) == []
        assert scanner.decode(_frame(np.zeros((0, 0), np.uint8))) == []


def test_scanner_factory_and_virtual_scanner() -> None:
    assert isinstance(open_scanner("zxing"), ZxingScanner)
    with pytest.raises(ValueError):
        open_scanner("nonsense")
    virtual = VirtualBarcodeScanner()
    virtual.present(DecodedSymbol("datamatrix", SEAL))
    blank = _frame(np.zeros((1, 1), np.uint8))
    assert virtual.decode(blank) == [DecodedSymbol("datamatrix", SEAL)]
    assert virtual.decode(blank) == []


@pytest.mark.parametrize("rotation", [-50, -12, 8, 25, 70])
def test_a_turned_boarding_pass_is_deskewed(rotation: int) -> None:
    image = bs.degrade(bs.symbol_image(BCBP, "pdf417", 3), rotation_deg=rotation, blur_px=0.6)
    assert [s.payload for s in ZxingScanner().decode(_frame(image))] == [BCBP]
    # zxing-cpp alone misses it: the deskew pass is what reads it
    assert ZxingScanner(deskew=False).decode(_frame(image)) == []
