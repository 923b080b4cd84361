"""A simulated serial OCR swipe reader on a pseudo-terminal.

The driver opens `reader.port` (the pty's slave device, e.g. /dev/pts/7) exactly as it would open
/dev/ttyUSB0; the simulator writes swipes into the master side with the framing, line endings,
chunking and pauses of real readers, or garbled reads ('?' for characters it could not read).
"""

from __future__ import annotations

import contextlib
import os
import time
import tty
from enum import StrEnum
from types import TracebackType


class Framing(StrEnum):
    CR = "cr"  # each line ends with CR, nothing else
    CRLF = "crlf"  # CR LF per line
    CR_BLANK = "cr_blank"  # CR per line, an empty line after the document
    STX_ETX = "stx_etx"  # STX line CR line CR ETX


class SimulatedMrzReader:
    """Owns a pty pair; `present` plays one document swipe into it."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no CR/LF translation or echo on the line
        self.port = os.ttyname(self._slave)

    def present(
        self,
        lines: list[str],
        framing: Framing = Framing.CR,
        chunk: int = 0,
        pause_s: float = 0.0,
    ) -> None:
        """Send one swipe; `chunk` > 0 splits the bytes into pieces with `pause_s` between."""
        payload = _frame(lines, framing)
        if chunk <= 0:
            os.write(self._master, payload)
            return
        for i in range(0, len(payload), chunk):
            os.write(self._master, payload[i : i + chunk])
            if pause_s:
                time.sleep(pause_s)

    def send_raw(self, data: bytes) -> None:
        os.write(self._master, data)

    def close(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SimulatedMrzReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _frame(lines: list[str], framing: Framing) -> bytes:
    body = [line.encode("ascii") for line in lines]
    if framing is Framing.CR:
        return b"".join(line + b"\r" for line in body)
    if framing is Framing.CRLF:
        return b"".join(line + b"\r\n" for line in body)
    if framing is Framing.CR_BLANK:
        return b"".join(line + b"\r" for line in body) + b"\r"
    return b"\x02" + b"".join(line + b"\r" for line in body) + b"\x03"
