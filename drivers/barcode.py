"""Barcode decoders behind the `BarcodeScanner` port: zxing-cpp and zbar (pyzbar).

zxing-cpp reads DataMatrix (every VDS), PDF417, Aztec and QR and returns the symbol's raw bytes;
zbar, the design card's choice, reads QR and linear codes (its PDF417 support is incomplete and
it reads no DataMatrix or Aztec), and turns binary QR content into text by guessing an encoding.
`benchmarks/barcodes.py` measures both side by side; the appliance uses zxing-cpp by default.
A camera feeds either decoder frame by frame (`scan_camera`).
"""

from __future__ import annotations

import time
from typing import Any

from appliance.ports import BarcodeScanner, Camera, DecodedSymbol, Frame

_ZXING_NAMES = {
    "DataMatrix": "datamatrix",
    "QRCode": "qrcode",
    "MicroQRCode": "qrcode",
    "PDF417": "pdf417",
    "Aztec": "aztec",
}
_ZBAR_NAMES = {"QRCODE": "qrcode", "PDF417": "pdf417", "SQCODE": "sqcode"}


def _empty(image: Any) -> bool:
    return getattr(image, "size", 0) == 0 or getattr(image, "ndim", 0) not in (2, 3)


def _grey(image: Any) -> Any:
    import cv2

    if getattr(image, "ndim", 2) == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


class ZxingScanner:
    """zxing-cpp: 2D symbologies of travel documents, rotated and inverted symbols too."""

    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp

        self._zxing = zxingcpp
        self._formats = (
            zxingcpp.BarcodeFormat.DataMatrix,
            zxingcpp.BarcodeFormat.QRCode,
            zxingcpp.BarcodeFormat.PDF417,
            zxingcpp.BarcodeFormat.Aztec,
        )

    def decode(self, frame: Frame) -> list[DecodedSymbol]:
        if _empty(frame.image):
            return []
        try:
            found = self._zxing.read_barcodes(_grey(frame.image), formats=self._formats)
        except (ValueError, TypeError, RuntimeError):
            return []
        out = []
        for result in found:
            name = _ZXING_NAMES.get(result.format.name, result.format.name.lower())
            out.append(DecodedSymbol(name, bytes(result.bytes)))
        return out


class ZbarScanner:
    """zbar through pyzbar (needs the system library libzbar0)."""

    name = "zbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar

        self._pyzbar = pyzbar

    def decode(self, frame: Frame) -> list[DecodedSymbol]:
        if _empty(frame.image):
            return []
        try:
            found = self._pyzbar.decode(_grey(frame.image))
        except (ValueError, TypeError, RuntimeError, ZeroDivisionError):
            return []
        return [
            DecodedSymbol(_ZBAR_NAMES.get(result.type, result.type.lower()), bytes(result.data))
            for result in found
        ]


def open_scanner(decoder: str = "zxing") -> BarcodeScanner:
    """The configured decoder by name: "zxing" (default) or "zbar"."""
    if decoder == "zxing":
        return ZxingScanner()
    if decoder == "zbar":
        return ZbarScanner()
    raise ValueError(f"unknown barcode decoder {decoder!r} (zxing, zbar)")


def scan_camera(camera: Camera, scanner: BarcodeScanner, timeout_s: float) -> list[DecodedSymbol]:
    """Decode camera frames until one holds a barcode or `timeout_s` passes (then empty)."""
    deadline = time.monotonic() + timeout_s
    for frame in camera.frames():  # a vanished camera raises CameraError to the caller
        found = scanner.decode(frame)
        if found or time.monotonic() > deadline:
            return found
    return []
