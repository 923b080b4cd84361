"""E-gate exit-door controller on a serial line (the `GateController` port), fail-safe closed.

The controller speaks a small ASCII line protocol (CR LF terminated), the kind door and
mantrap controllers expose on RS-232/RS-485:

    host -> controller          controller -> host
    OPEN                        OK OPEN
    CLOSE                       OK CLOSED
    STATE?                      STATE CLOSED | STATE OPEN | STATE FAULT
    PING                        PONG
                                ERR <word>              (command refused)
                                EVT <event>             (unsolicited, any time)

Events: TAILGATING (more than one person in the gate), MANUAL_OPEN (exit door opened by key or
emergency button), FAULT, PASSED (the traveller left and the door closed again).

Fail-safe: the driver sends CLOSE when it starts and when it is closed; any answer missing,
garbled or refused marks the gate `FAULT` (and reports a `fault` event) and the driver sends
CLOSE again: it never assumes the door opened. The controller itself relocks on its own after a
hold time, which `hardware_mocks/gate.py` simulates. `GateLineProtocol` is the sans-I/O core.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.ports import GateState

log = logging.getLogger(__name__)

_MAX_LINE = 80
_STATES = {"CLOSED": GateState.CLOSED, "OPEN": GateState.OPEN, "FAULT": GateState.FAULT}


@dataclass(frozen=True)
class GateLine:
    """One line from the controller: an answer (`kind` OK/STATE/PONG/ERR) or an event."""

    kind: str
    value: str

    @property
    def is_event(self) -> bool:
        return self.kind == "EVT"


class GateLineProtocol:
    """Bytes in, lines out. Overlong or non-ASCII lines become `ERR GARBLED`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[GateLine]:
        out: list[GateLine] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._buffer:
                    out.append(self._parse(bytes(self._buffer)))
                    self._buffer.clear()
            elif len(self._buffer) >= _MAX_LINE:
                self._buffer.clear()
                out.append(GateLine("ERR", "GARBLED"))
            else:
                self._buffer.append(byte)
        return out

    @staticmethod
    def _parse(raw: bytes) -> GateLine:
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return GateLine("ERR", "GARBLED")
        kind, _, value = text.partition(" ")
        if kind not in ("OK", "STATE", "PONG", "ERR", "EVT"):
            return GateLine("ERR", "GARBLED")
        return GateLine(kind, value.strip().upper())


def encode_command(command: str) -> bytes:
    return command.encode("ascii") + b"\r\n"


class SerialGateController:
    """`GateController` and `GateEventSource` over a serial port."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        answer_timeout_s: float = 0.5,
        opener: Callable[..., Any] | None = None,
    ) -> None:
        import serial

        open_port = opener or serial.serial_for_url
        self._serial = open_port(port, baudrate=baudrate, timeout=0.02)
        self._protocol = GateLineProtocol()
        self._timeout = answer_timeout_s
        self._events: list[str] = []
        self._state = GateState.UNKNOWN
        self.close()

    # -- GateController ----------------------------------------------------------------------

    def open(self) -> None:
        """Ask the controller to open; on any failure the gate is `FAULT` and re-closed."""
        answer = self._exchange("OPEN", "OK")
        if answer is not None and answer.value == "OPEN":
            self._state = GateState.OPEN
        else:
            self._fault()

    def close(self) -> None:
        answer = self._exchange("CLOSE", "OK")
        if answer is not None and answer.value == "CLOSED":
            self._state = GateState.CLOSED
        else:
            self._state = GateState.FAULT
            self._events.append("fault")

    def state(self) -> GateState:
        answer = self._exchange("STATE?", "STATE")
        self._state = _STATES.get(answer.value, GateState.FAULT) if answer else GateState.FAULT
        return self._state

    # -- GateEventSource ---------------------------------------------------------------------

    def poll_events(self) -> list[str]:
        """Events reported since the last call, lower case (`tailgating`, `passed`...)."""
        try:
            self._pump(None, 0.0)
        except Exception as exc:  # the port is gone: that is a fault the lane must see
            log.warning("gate: serial error %s", type(exc).__name__)
            self._events.append("fault")
        events, self._events = self._events, []
        return events

    def wait_event(self, name: str, timeout_s: float) -> list[str]:
        """Collect events until `name` arrives or the time is up; returns all collected."""
        deadline = time.monotonic() + timeout_s
        collected: list[str] = []
        while True:
            collected += self.poll_events()
            if name in collected or time.monotonic() >= deadline:
                return collected
            time.sleep(0.01)

    def shutdown(self) -> None:
        """Leave the door closed and release the port."""
        with contextlib.suppress(Exception):
            self.close()
        self._serial.close()

    # -- internals ---------------------------------------------------------------------------

    def _fault(self) -> None:
        log.warning("gate: controller did not confirm; closing")
        self._state = GateState.FAULT
        self._events.append("fault")
        with contextlib.suppress(Exception):
            self._serial.write(encode_command("CLOSE"))

    def _exchange(self, command: str, expect: str) -> GateLine | None:
        try:
            self._pump(None, 0.0)  # events that arrived before the command stay events
            self._serial.write(encode_command(command))
            return self._pump(expect, self._timeout)
        except Exception as exc:  # port gone (USB unplugged, closed): fault, never a crash
            log.warning("gate: serial error %s", type(exc).__name__)
            return None

    def _pump(self, expect: str | None, timeout_s: float) -> GateLine | None:
        """Read lines; queue events; return the first answer of kind `expect` (or ERR)."""
        deadline = time.monotonic() + timeout_s
        while True:
            waiting = self._serial.in_waiting
            if not waiting and expect is None:
                return None
            # whatever is waiting, else block up to the port timeout for one byte
            data = self._serial.read(waiting or 1)
            for line in self._protocol.feed(data or b""):
                if line.is_event:
                    self._events.append(line.value.lower())
                elif expect is not None and line.kind in (expect, "ERR"):
                    return line if line.kind == expect else None
            if expect is not None and time.monotonic() >= deadline:
                return None


def open_gate(port: str) -> SerialGateController:
    """Factory for `appliance.wiring`: the gate controller on `port` (/dev/ttyUSB0, a pty)."""
    return SerialGateController(port)
