"""A virtual e-gate exit-door controller on a pseudo-terminal (the protocol of `drivers/gate.py`).

`drivers.gate.SerialGateController` opens `gate.port` (the pty's slave side, /dev/pts/N)
exactly as it would open /dev/ttyUSB0. The simulated controller answers OPEN / CLOSE / STATE? /
PING, and behaves as a real one does on its own: after OPEN the traveller walks through
(`EVT PASSED` after `pass_delay_s`) and the door relocks; a door left open relocks after
`hold_s` (fail-safe closed). Test hooks make its sensors report `tailgating`, `manual_open`
or `fault` (`inject`), stop it answering (`mute`), or garble its output (`garble`).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from types import TracebackType

EVENTS = ("tailgating", "manual_open", "fault", "passed")


class VirtualGateController:
    def __init__(self, pass_delay_s: float = 0.05, hold_s: float = 8.0) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.port = os.ttyname(self._slave)
        self.pass_delay_s = pass_delay_s
        self.hold_s = hold_s
        self.state = "CLOSED"
        self.opened = 0
        self.muted = False
        self._garble = False
        self._opened_at: float | None = None
        #: a traveller is walking through a door the host opened
        self._walking = False
        self._walks = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="virtual-gate", daemon=True)
        self._thread.start()

    # -- test hooks --------------------------------------------------------------------------

    def inject(self, event: str) -> None:
        """The sensors report `event` (one of EVENTS, or anything: an unknown report)."""
        if event == "manual_open":
            self.state = "OPEN"
            self._opened_at = time.monotonic()
        self._send(f"EVT {event.upper()}")

    def walk_through_next(self, walks: bool = True) -> None:
        """Whether the traveller walks through the door the host opens next (False: the
        traveller walked away, the lane times out and closes the door)."""
        self._walks = walks

    def mute(self, muted: bool = True) -> None:
        """Stop answering commands (a controller that hung or lost power)."""
        self.muted = muted

    def garble(self, on: bool = True) -> None:
        """Answer with line noise instead of the protocol."""
        self._garble = on

    # -- the controller ----------------------------------------------------------------------

    def _send(self, line: str) -> None:
        payload = b"\xfe\xff?%\r\n" if self._garble else line.encode("ascii") + b"\r\n"
        with self._lock, contextlib.suppress(OSError):
            os.write(self._master, payload)

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.01)
            except (OSError, ValueError):
                return
            if ready:
                try:
                    chunk = os.read(self._master, 256)
                except OSError:
                    return
                buffer += chunk
                while b"\n" in buffer or b"\r" in buffer:
                    cut = min(i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0)
                    line, buffer = buffer[:cut], buffer[cut + 1 :]
                    if line.strip():
                        self._command(line.decode("ascii", "replace").strip().upper())
            self._tick()

    def _command(self, command: str) -> None:
        if self.muted:
            return
        if command == "OPEN":
            self.state = "OPEN"
            self.opened += 1
            self._walking = self._walks
            self._opened_at = time.monotonic()
            self._send("OK OPEN")
        elif command == "CLOSE":
            self.state = "CLOSED"
            self._opened_at = None
            self._walking = False
            self._send("OK CLOSED")
        elif command == "STATE?":
            self._send(f"STATE {self.state}")
        elif command == "PING":
            self._send("PONG")
        else:
            self._send("ERR UNKNOWN")

    def _tick(self) -> None:
        """The traveller walks through an open door; an unattended open door relocks."""
        if self.state != "OPEN" or self._opened_at is None:
            return
        elapsed = time.monotonic() - self._opened_at
        if self._walking and elapsed >= self.pass_delay_s:
            self.state = "CLOSED"
            self._opened_at = None
            self._walking = False
            self._send("EVT PASSED")
        elif elapsed >= self.hold_s:
            self.state = "CLOSED"
            self._opened_at = None

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> VirtualGateController:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def start_virtual_gate() -> VirtualGateController:
    """Factory for `appliance.wiring`: a simulated controller; open `.port` with the driver."""
    return VirtualGateController()
