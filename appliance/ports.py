"""Hardware ports: the only way `appliance/` talks to hardware.

`drivers/` (real devices) and `hardware_mocks/` (simulated devices) implement these protocols;
the core never imports either package, it receives implementations by injection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class TransportError(Exception):
    """Raised by a `CardTransport` when the card cannot be reached.

    `removed` is true when the card left the field (or the reader was unplugged) mid-exchange,
    so the core can report `CHIP_REMOVED` rather than a generic communication fault.
    """

    def __init__(self, message: str, *, removed: bool = False) -> None:
        super().__init__(message)
        self.removed = removed


@dataclass(frozen=True)
class CardInfo:
    """What the reader knows about the card before any APDU: its ATR and the reader's name."""

    atr: bytes
    reader: str


@runtime_checkable
class CardTransport(Protocol):
    """An ISO/IEC 7816 contactless card behind a reader: raw APDUs in, raw responses out."""

    def connect(self) -> CardInfo:
        """Connect (exclusively) to the card in the reader; raise `TransportError` if none."""
        ...

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return the response data followed by SW1 SW2."""
        ...

    def disconnect(self) -> None:
        """Release the card; safe to call twice."""
        ...

    def card_present(self) -> bool:
        """True when a card is in the field now."""
        ...

    def max_apdu_size(self) -> int:
        """Largest command APDU the reader path accepts (261 for short-only readers)."""
        ...


class CardEventKind(StrEnum):
    INSERTED = "inserted"
    REMOVED = "removed"


@dataclass(frozen=True)
class CardEvent:
    kind: CardEventKind
    reader: str


class CardReader(Protocol):
    """A reader that can be watched for card presence and opened as a transport."""

    name: str

    def wait_for_event(self, timeout_s: float) -> CardEvent | None:
        """Block until a card is inserted or removed, or the timeout passes (returns None)."""
        ...

    def transport(self) -> CardTransport:
        """A transport bound to this reader."""
        ...


@dataclass(frozen=True)
class Frame:
    """One camera frame: BGR pixels as an `numpy.ndarray` (kept untyped to avoid a numpy import)."""

    image: object
    timestamp_s: float


class Camera(Protocol):
    def frames(self) -> Iterator[Frame]:
        """Yield frames until closed; raise `CameraError` when the device disappears."""
        ...

    def close(self) -> None: ...


class CameraError(Exception):
    """The camera is missing, disconnected or returned no frame."""


class GateState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    FAULT = "fault"
    UNKNOWN = "unknown"


class GateController(Protocol):
    """Exit-door controller. Fail-safe: the gate is closed unless told to open."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def state(self) -> GateState: ...


class MrzScanner(Protocol):
    """A device that yields MRZ text lines (an OCR swipe reader on a serial port, for example)."""

    def lines(self, timeout_s: float) -> list[str] | None:
        """The next MRZ read (2 or 3 lines), or None on timeout."""
        ...


@runtime_checkable
class FramedMrzScanner(MrzScanner, Protocol):
    """An `MrzScanner` that reads camera frames (fused, `appliance.mrz.ocr.camera_scanner`)
    and tells how many frames its latest read took, for the MRZ step's report."""

    @property
    def frames_used(self) -> int | None: ...


@dataclass(frozen=True)
class DecodedSymbol:
    """One barcode found in a frame: its symbology ("datamatrix", "qrcode", "pdf417",
    "aztec", ...) and its payload as the raw bytes the symbol encodes (seals are binary)."""

    symbology: str
    payload: bytes


class BarcodeScanner(Protocol):
    """A barcode decoder over camera frames or scanned images (zxing-cpp, zbar, a scanner)."""

    def decode(self, frame: Frame) -> list[DecodedSymbol]:
        """Every barcode found in the frame (empty when none); never raises for a bad frame."""
        ...
