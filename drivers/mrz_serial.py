"""Serial OCR swipe / page readers that send the MRZ as text lines (the `MrzScanner` port).

Such readers, in their serial (or USB CDC serial) output mode, send each MRZ line as ASCII
terminated by CR, LF or CR LF; many frame a whole document as STX ... ETX, some end it with an
empty line, and some just stop sending. `MrzLineProtocol` is the sans-I/O core: bytes in,
complete documents out, so it is tested without a port. It accepts a document only when its
lines form an ICAO 9303 shape (3x30, 2x36 or 2x44) of MRZ characters; anything else (a reader's
'?' for an unreadable character, a partial swipe, line noise) becomes an `MRZ_UNREADABLE`
document so the caller can ask for another swipe. Check digits are the parser's business.

`SerialMrzScanner` is the thin pyserial adapter.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.errors import Reason

log = logging.getLogger(__name__)

STX, ETX = 0x02, 0x03
_MRZ_LINE = re.compile(r"[0-9A-Z<]+")
_SHAPES = {(3, 30), (2, 36), (2, 44)}
_MAX_LINE = 128  # longer runs without a terminator are noise, not MRZ


@dataclass(frozen=True)
class SerialRead:
    """One swipe: the MRZ lines, or None with the reason it could not be used."""

    lines: tuple[str, ...] | None
    reason: Reason = Reason.OK


class MrzLineProtocol:
    """Assemble documents from a byte stream; feed bytes, collect `SerialRead`s."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._in_frame = False

    def feed(self, data: bytes) -> list[SerialRead]:
        out: list[SerialRead] = []
        for byte in data:
            if byte == STX:
                out.extend(self._end_document())  # an unfinished document before it
                self._in_frame = True
            elif byte == ETX:
                self._end_line()
                out.extend(self._end_document())
                self._in_frame = False
            elif byte in (0x0D, 0x0A):
                if not self._buffer and byte == 0x0A:
                    continue  # the LF of a CR LF pair
                if not self._buffer and not self._in_frame and self._lines:
                    out.extend(self._end_document())  # empty line ends a document
                    continue
                self._end_line()
                out.extend(self._complete())
            else:
                self._buffer.append(byte)
                if len(self._buffer) > _MAX_LINE:
                    self._buffer.clear()
                    self._lines.append("")  # poison: this document is unusable
        return out

    def flush(self) -> list[SerialRead]:
        """The reader went quiet: whatever is pending is a document (or an unusable one)."""
        self._end_line()
        self._in_frame = False
        return self._end_document()

    @property
    def pending(self) -> bool:
        return bool(self._buffer or self._lines)

    def _end_line(self) -> None:
        if self._buffer:
            self._lines.append(self._buffer.decode("ascii", errors="replace").strip())
            self._buffer.clear()

    def _complete(self) -> list[SerialRead]:
        """Without framing, a document is done as soon as its lines make a full MRZ shape."""
        if self._in_frame or not self._lines:
            return []
        shape = (len(self._lines), len(self._lines[0]))
        if shape in _SHAPES and _valid(self._lines):
            return self._end_document()
        if len(self._lines) >= 3:  # nothing longer exists: give up on this one
            return self._end_document()
        return []

    def _end_document(self) -> list[SerialRead]:
        if not self._lines:
            return []
        lines, self._lines = self._lines, []
        if (len(lines), len(lines[0])) in _SHAPES and _valid(lines):
            return [SerialRead(tuple(lines))]
        log.info("serial MRZ reader: unusable read (%d lines)", len(lines))
        return [SerialRead(None, Reason.MRZ_UNREADABLE)]


def _valid(lines: list[str]) -> bool:
    length = len(lines[0])
    return all(len(line) == length and _MRZ_LINE.fullmatch(line) for line in lines)


class SerialMrzScanner:
    """`MrzScanner` over a serial port; `last_error` tells why the last swipe was dropped."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        idle_s: float = 0.3,
        opener: Callable[..., Any] | None = None,
    ) -> None:
        import serial

        open_port = opener or serial.serial_for_url
        self._serial = open_port(port, baudrate=baudrate, timeout=0.05)
        self._protocol = MrzLineProtocol()
        self._idle_s = idle_s
        self.last_error: Reason | None = None

    def lines(self, timeout_s: float) -> list[str] | None:
        """The next complete MRZ, or None when `timeout_s` passes without one."""
        deadline = time.monotonic() + timeout_s
        last_byte = time.monotonic()
        while time.monotonic() < deadline:
            data = self._serial.read(256)
            if data:
                last_byte = time.monotonic()
                reads = self._protocol.feed(data)
            elif self._protocol.pending and time.monotonic() - last_byte > self._idle_s:
                reads = self._protocol.flush()
            else:
                continue
            for read in reads:
                if read.lines is not None:
                    self.last_error = None
                    return list(read.lines)
                self.last_error = read.reason
        return None

    def close(self) -> None:
        self._serial.close()
