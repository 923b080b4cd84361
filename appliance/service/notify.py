"""systemd service notification (sd_notify) and the lane loop's watchdog heartbeat.

The protocol is a few `KEY=VALUE` lines in one datagram to the AF_UNIX socket named by
`NOTIFY_SOCKET` (a path, or an abstract name written with a leading '@'); it is documented in
sd_notify(3) and stable, so it is written here over the socket rather than taken from a library:
`sdnotify` (last release 2017) hides every error and knows nothing of the watchdog variables,
and `systemd-python` needs libsystemd's headers and a C build on the device.

Without `NOTIFY_SOCKET` (a terminal, a test, another service manager) every call is a no-op.
A socket that has gone away never stops the appliance: the failure is logged once, as one line,
and the call returns False.

The watchdog: `Heartbeat.beat()` is called by the lane loop on each iteration; a thread sends
`WATCHDOG=1` every half interval only if a beat happened since its last ping, so a hung lane
loop stops the pings (and systemd restarts the service) even while the HTTP threads still answer.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(value: str | None) -> str | None:
    """The `AF_UNIX` address named by `NOTIFY_SOCKET`: a path as is, '@name' as the abstract
    '\\0name'; None when unset or of a kind this client does not speak (e.g. vsock)."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def encode(assignments: Mapping[str, str]) -> bytes:
    """One notification datagram; a value's newlines become spaces (one assignment per line)."""
    lines = (f"{key}={' '.join(str(value).splitlines())}" for key, value in assignments.items())
    return "\n".join(lines).encode()


def watchdog_interval(
    environ: Mapping[str, str] | None = None, pid: int | None = None
) -> float | None:
    """Seconds of `WatchdogSec=` for this process (`WATCHDOG_USEC`), or None when the watchdog
    is off, the value is not a positive integer, or `WATCHDOG_PID` names another process."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner and owner.strip() != str(os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC is not an integer; watchdog pings off")
        return None
    return value / 1_000_000 if value > 0 else None


class Notifier:
    """Sends notifications to the service manager; a no-op without `NOTIFY_SOCKET`."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._failing = False
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET")
        address = socket_address(raw)
        if raw and address is None:
            log.warning("NOTIFY_SOCKET of an unsupported kind; service notifications off")
        return cls(address)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, **assignments: str) -> bool:
        """Send one datagram; True when it was delivered to the socket."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(encode(assignments), self.address)
        except OSError as exc:
            with self._lock:
                first, self._failing = not self._failing, True
            if first:  # one line, no traceback: the service keeps running without systemd
                log.warning("service notification failed: %s", exc.strerror or exc)
            return False
        with self._lock:
            self._failing = False
        return True

    def ready(self, status: str | None = None) -> bool:
        """The service is up: the API answers and the lane is ready (`Type=notify`)."""
        return self.send(READY="1", **({"STATUS": status} if status else {}))

    def status(self, text: str) -> bool:
        """A one-line state for `systemctl status` (never personal data)."""
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG="1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send(STOPPING="1", **({"STATUS": status} if status else {}))


class Heartbeat:
    """Watchdog pings that follow the lane loop: the lane calls `beat()` each iteration (its
    waits must be bounded well under half the interval), the pinger thread sends `WATCHDOG=1`
    every `interval_s / 2` only when a beat happened since the previous ping."""

    def __init__(self, notifier: Notifier, interval_s: float | None) -> None:
        self.notifier = notifier
        self.interval_s = interval_s
        self._beats = 0
        self._pinged_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(cls, notifier: Notifier, environ: Mapping[str, str] | None = None) -> Heartbeat:
        return cls(notifier, watchdog_interval(environ))

    @property
    def enabled(self) -> bool:
        return self.notifier.enabled and self.interval_s is not None

    def beat(self) -> None:
        """The lane loop is alive (cheap; called from the lane loop's thread only)."""
        self._beats += 1

    def ping_if_alive(self) -> bool:
        """One pinger step: send `WATCHDOG=1` when the lane beat since the last ping."""
        beats = self._beats
        if beats == self._pinged_at:
            return False
        self._pinged_at = beats
        return self.notifier.watchdog()

    def start(self) -> None:
        """Start the pinger thread (nothing when the watchdog is off)."""
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        assert self.interval_s is not None
        period = self.interval_s / 2
        while not self._stop.wait(period):
            self.ping_if_alive()
