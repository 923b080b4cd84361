"""A loopback HTTP/1.1 proxy that injects network faults between a device and central.

Each request the device sends is given the next fault of a schedule:

- `pass`: forwarded, and its answer returned;
- `delay`: the same, `delay_s` later;
- `drop`: the connection is closed before anything reaches central;
- `blackhole`: the request is swallowed, no answer ever comes (the client times out);
- `truncate`: half the request reaches central, then both connections close;
- `reset`: the request reaches central and is answered there, but the device's connection is
  reset before the answer (what a device sees when a link dies mid-response);
- `duplicate`: the request reaches central twice (the device sees the first answer);
- `reorder`: the request is held, the device's connection reset; it reaches central only after
  the device's next request, as a late copy whose answer nobody reads.

Requests and answers are framed by Content-Length (what `CentralClient` and uvicorn send).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

FAULTS = ("pass", "delay", "drop", "blackhole", "truncate", "reset", "duplicate", "reorder")


def _read_message(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """One HTTP message (head + Content-Length body) from `sock`, or None at EOF."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buffer[:head_end]).split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buffer) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    message = bytes(buffer[: head_end + length])
    del buffer[: head_end + length]
    return message


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dying link or middlebox does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    def __init__(self, upstream_port: int, schedule: Iterator[str], delay_s: float = 0.3) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.schedule = schedule
        self.delay_s = delay_s
        self.seen: dict[str, int] = {}
        self._held: bytes | None = None
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> FaultProxy:
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._spawn(self._serve, client)

    def _next_fault(self) -> str:
        with self._lock:
            fault = next(self.schedule, "pass")
            self.seen[fault] = self.seen.get(fault, 0) + 1
            return fault

    def _exchange(self, request: bytes) -> bytes | None:
        """Send one request to central on a fresh connection; its answer (None if none)."""
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(request)
            return _read_message(upstream, bytearray())

    def _late(self, request: bytes) -> None:
        with contextlib.suppress(OSError):
            self._exchange(request)

    def _serve(self, client: socket.socket) -> None:
        buffer = bytearray()
        try:
            while not self._stopped.is_set():
                request = _read_message(client, buffer)
                if request is None:
                    break
                with self._lock:
                    held, self._held = self._held, None
                fault = self._next_fault()
                if fault == "reorder":
                    with self._lock:
                        self._held = request
                    _reset(client)
                    return
                if fault == "drop":
                    _reset(client)
                    return
                if fault == "blackhole":
                    self._stopped.wait(120)
                    return
                if fault == "truncate":
                    with socket.create_connection(self.upstream, timeout=30) as upstream:
                        upstream.sendall(request[: len(request) // 2])
                    client.close()
                    return
                if fault == "delay":
                    time.sleep(self.delay_s)
                answer = self._exchange(request)
                if held is not None:  # the held request arrives after this newer one
                    self._spawn(self._late, held)
                if fault == "duplicate":
                    self._late(request)
                if answer is None or fault == "reset":
                    _reset(client)
                    return
                client.sendall(answer)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.close()
