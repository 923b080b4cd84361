"""Puts a simulated card behind the real PC/SC stack through vsmartcard's vpcd driver.

Debian's `vsmartcard-vpcd` adds a virtual reader ("Virtual PCD 00 00") to pcscd whose driver
listens on TCP port 35963 (35964 for "Virtual PCD 00 01"); a virtual card connects to it as a
client. The port is reached inside the private pcscd's network namespace
(`hardware_mocks.pcsc_stack`), so no other machine can present a card. Every message in either
direction is a 2-byte big-endian length followed by the payload. From the driver, a 1-byte payload
is a control code (0 power off, 1 power on, 2 reset, 4 ask for the ATR); anything longer is a
command APDU, answered with the response APDU. Power on/off/reset get no reply.

With this bridge, `drivers/pcsc.py` and pyscard are exercised exactly as with a hardware reader.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from typing import Protocol

from appliance.errors import ApplianceError, Reason

log = logging.getLogger(__name__)

VPCD_PORT = 35963
_CTRL_OFF, _CTRL_ON, _CTRL_RESET, _CTRL_ATR = 0, 1, 2, 4


class SimulatedCard(Protocol):
    """The card-side interface a bridge needs (implemented by `VirtualChip`)."""

    def power_on(self) -> bytes: ...

    def power_off(self) -> None: ...

    def reset(self) -> bytes: ...

    def process_apdu(self, apdu: bytes) -> bytes: ...


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        buf += chunk
    return bytes(buf)


def _quick_ack(sock: socket.socket) -> None:
    """Ask Linux to ACK at once (TCP_QUICKACK is not sticky, so it is set before each read)."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def handle_message(card: SimulatedCard, payload: bytes) -> bytes | None:
    """One vpcd message in, the reply (or None) out: the sans-I/O core of the bridge."""
    if len(payload) == 1:
        code = payload[0]
        if code == _CTRL_ATR:
            return card.power_on()
        if code == _CTRL_ON:
            card.power_on()
        elif code == _CTRL_OFF:
            card.power_off()
        elif code == _CTRL_RESET:
            card.reset()
        return None
    return card.process_apdu(payload)


class VpcdBridge:
    """Connects one simulated card to vpcd; `insert()`/`remove()` model the card in the field.

    While removed, the socket is closed, which vpcd reports to pcscd as "no card": exactly what a
    traveller pulling the passport off the reader looks like to the terminal.
    """

    def __init__(
        self,
        card: SimulatedCard,
        host: str = "127.0.0.1",
        port: int = VPCD_PORT,
        *,
        remove_after_apdus: int | None = None,
    ) -> None:
        self.card = card
        #: leave the field (without answering) when this many APDUs have arrived: a traveller
        #: pulling the passport away in the middle of a read
        self.remove_after_apdus = remove_after_apdus
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.apdus = 0
        #: how long vpcd may take to ask for the ATR before the slot counts as occupied
        self.accept_timeout_s = 3.0

    def insert(self, timeout_s: float = 5.0) -> None:
        """Connect to vpcd, wait until it takes the card (its first request), and serve it.

        vpcd accepts one card per slot; a second one waits in the listen queue unanswered (or
        its connect times out), which used to surface much later as a bare `TimeoutError`.
        Raises `ApplianceError` READER_BUSY when the slot already holds a card (another run or
        a stale bridge) and READER_NOT_FOUND when no vpcd listens on the port.
        """
        if self._thread is not None:
            return
        self._stop.clear()
        where = f"vpcd reader slot on port {self.port}"
        try:
            sock = self._connect(timeout_s)
        except ConnectionRefusedError as exc:
            raise ApplianceError(
                Reason.READER_NOT_FOUND, f"no {where}: is pcscd running with vpcd?"
            ) from exc
        except TimeoutError as exc:
            raise ApplianceError(
                Reason.READER_BUSY, f"{where} is occupied: its queue is full (port in use)"
            ) from exc
        except OSError as exc:  # e.g. the private pcscd's namespace cannot be entered
            raise ApplianceError(
                Reason.READER_NOT_FOUND, f"cannot reach the {where}: {type(exc).__name__}"
            ) from exc
        # One small message each way per APDU: Nagle and delayed ACKs would add ~40 ms to each.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            # pcscd polls each slot about every 0.4 s: a slot that is free asks at once
            sock.settimeout(self.accept_timeout_s)
            first = self._read_message(sock)
        except TimeoutError as exc:
            sock.close()
            raise ApplianceError(
                Reason.READER_BUSY,
                f"{where} is occupied: another card is on it (another run, or a stale one)",
            ) from exc
        except OSError as exc:  # ConnectionError included: pcscd went away
            sock.close()
            raise ApplianceError(
                Reason.READER_NOT_FOUND, f"the {where} closed at once: {type(exc).__name__}"
            ) from exc
        sock.settimeout(None)
        self._sock = sock
        self._reply(sock, first)
        self._thread = threading.Thread(target=self._serve, name="vpcd-bridge", daemon=True)
        self._thread.start()

    def _connect(self, timeout_s: float) -> socket.socket:
        if self.host != "127.0.0.1":
            return socket.create_connection((self.host, self.port), timeout=timeout_s)
        from hardware_mocks.pcsc_stack import vpcd_connection

        return vpcd_connection(self.port, timeout_s)

    @staticmethod
    def _read_message(sock: socket.socket) -> bytes:
        (length,) = struct.unpack(">H", _recv_exact(sock, 2))
        return _recv_exact(sock, length)

    def _reply(self, sock: socket.socket, payload: bytes) -> bool:
        """Answer one message; False when the card leaves the field instead."""
        if len(payload) > 1:
            self.apdus += 1
            if self.remove_after_apdus is not None and self.apdus >= self.remove_after_apdus:
                sock.close()
                return False
        reply = handle_message(self.card, payload)
        if reply is not None:
            sock.sendall(struct.pack(">H", len(reply)) + reply)
        return True

    def remove(self) -> None:
        """Take the card out of the field: close the connection to vpcd."""
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.card.power_off()

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        try:
            while not self._stop.is_set():
                _quick_ack(sock)
                if not self._reply(sock, self._read_message(sock)):
                    return
        except (ConnectionError, OSError) as exc:
            if not self._stop.is_set():
                log.warning("vpcd bridge stopped: %s", type(exc).__name__)

    def __enter__(self) -> VpcdBridge:
        self.insert()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
