"""A simulated barcode scanner: hands out prepared payloads, one batch per frame.

For flows that need "a traveller shows a seal" without images (the lane, the API): queue the
payloads (built by `hardware_mocks.barcode_seals`) and each `decode` returns the next batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from appliance.ports import DecodedSymbol, Frame


class VirtualBarcodeScanner:
    name = "virtual"

    def __init__(self, batches: Iterable[list[DecodedSymbol]] = ()) -> None:
        self._batches: deque[list[DecodedSymbol]] = deque(batches)

    def present(self, *symbols: DecodedSymbol) -> None:
        """Queue what the next frame will show."""
        self._batches.append(list(symbols))

    def decode(self, frame: Frame) -> list[DecodedSymbol]:
        return self._batches.popleft() if self._batches else []


def open_virtual_scanner(decoder: str = "virtual") -> VirtualBarcodeScanner:
    return VirtualBarcodeScanner()
