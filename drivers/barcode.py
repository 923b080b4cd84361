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


def _rotate(image: Any, angle: float) -> Any:
    """`image` turned by `angle` degrees on a white canvas large enough to hold all of it."""
    import cv2

    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2)
    matrix[0, 2] += size[0] / 2 - w / 2
    matrix[1, 2] += size[1] / 2 - h / 2
    return cv2.warpAffine(image, matrix, size, borderValue=255)


def _skew_candidates(grey: Any, limit: int = 3) -> list[float]:
    """Angles of the largest dark blocks (minimum-area rectangles after a morphological close):
    where a PDF417 symbol would lie if it is one of them."""
    import cv2

    _, dark = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    k = max(3, grey.shape[1] // 60)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    closed = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, kernel)
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:limit]:
        if cv2.contourArea(contour) < 0.002 * grey.size:
            break
        angle = float(cv2.minAreaRect(contour)[2])
        if abs(angle) > 1 and abs(abs(angle) - 90) > 1:
            angles.append(angle)
    return angles


class ZxingScanner:
    """zxing-cpp: 2D symbologies of travel documents, rotated and inverted symbols too.

    zxing-cpp's PDF417 detector misses symbols turned by more than a few degrees
    (`benchmarks/barcodes.py`: 0 % at 5-60°), so when a frame yields no PDF417 the dark blocks'
    orientations are estimated and the frame is turned upright and read again (`deskew`).
    """

    name = "zxing"

    def __init__(self, *, deskew: bool = True) -> None:
        import zxingcpp

        self.deskew = deskew

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
            grey = _grey(frame.image)
            found = self._zxing.read_barcodes(grey, formats=self._formats)
        except (ValueError, TypeError, RuntimeError):
            return []
        out = [self._symbol(result) for result in found]
        if self.deskew and not any(s.symbology == "pdf417" for s in out):
            out += self._deskewed_pdf417(grey, out)
        return out

    def _symbol(self, result: Any) -> DecodedSymbol:
        name = _ZXING_NAMES.get(result.format.name, result.format.name.lower())
        return DecodedSymbol(name, bytes(result.bytes))

    def _deskewed_pdf417(self, grey: Any, seen: list[DecodedSymbol]) -> list[DecodedSymbol]:
        pdf417 = (self._zxing.BarcodeFormat.PDF417,)
        try:
            for angle in _skew_candidates(grey):
                for turn in (angle, angle + 90):
                    found = self._zxing.read_barcodes(_rotate(grey, turn), formats=pdf417)
                    new = [self._symbol(r) for r in found]
                    new = [s for s in new if s not in seen]
                    if new:
                        return new
        except (ValueError, TypeError, RuntimeError):
            return []
        return []


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
