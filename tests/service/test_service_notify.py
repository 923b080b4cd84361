"""sd_notify client and the lane loop's watchdog heartbeat, against a real AF_UNIX datagram
socket standing in for systemd's notification socket."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.service.notify import Heartbeat, Notifier, watchdog_interval


class Receiver:
    """The service manager's end: a bound SOCK_DGRAM socket collecting datagrams."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)

    def messages(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return out


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[Receiver, str]]:
    path = tmp_path / "notify.sock"
    rx = Receiver(str(path))
    yield rx, str(path)
    rx.sock.close()


def test_ready_is_seen(receiver: tuple[Receiver, str]) -> None:
    rx, path = receiver
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.ready()
    assert rx.messages() == ["READY=1"]


def test_status_text_and_ready_with_status(receiver: tuple[Receiver, str]) -> None:
    rx, path = receiver
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.status("lane ready\nlistening on 127.0.0.1:8600")
    assert notifier.ready("serving")
    assert notifier.stopping()
    assert rx.messages() == [
        "STATUS=lane ready listening on 127.0.0.1:8600",
        "READY=1\nSTATUS=serving",
        "STOPPING=1",
    ]


def test_no_notify_socket_is_a_silent_no_op(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier.from_env({})
    heartbeat = Heartbeat.from_env(notifier, {"WATCHDOG_USEC": "1000000"})
    with caplog.at_level(logging.DEBUG):
        assert not notifier.enabled
        assert notifier.ready() is False
        assert notifier.watchdog() is False
        heartbeat.start()  # no thread without a socket to ping
        heartbeat.beat()
        heartbeat.stop()
    assert heartbeat._thread is None
    assert caplog.records == []


def test_abstract_socket() -> None:
    name = f"appliance-test-{uuid.uuid4().hex}"
    rx = Receiver("\0" + name)
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready()
        assert rx.messages() == ["READY=1"]
    finally:
        rx.sock.close()


def test_unsupported_socket_kind_is_off_not_an_error() -> None:
    assert not Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled


def test_watchdog_interval_from_environment() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    mine = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": mine}) == 2.0
    # the variables were meant for another process (e.g. the parent that spawned this one)
    assert watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None


def test_ping_only_after_a_beat(receiver: tuple[Receiver, str]) -> None:
    rx, path = receiver
    heartbeat = Heartbeat(Notifier.from_env({"NOTIFY_SOCKET": path}), 10.0)
    assert heartbeat.ping_if_alive() is False  # no beat yet
    heartbeat.beat()
    heartbeat.beat()
    assert heartbeat.ping_if_alive() is True
    assert heartbeat.ping_if_alive() is False  # nothing since the last ping
    heartbeat.beat()
    assert heartbeat.ping_if_alive() is True
    assert rx.messages() == ["WATCHDOG=1", "WATCHDOG=1"]


def test_stalled_lane_stops_watchdog_pings_while_a_beating_one_keeps_them(
    receiver: tuple[Receiver, str],
) -> None:
    rx, path = receiver
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())}
    heartbeat = Heartbeat.from_env(Notifier.from_env(env), env)
    assert heartbeat.enabled and heartbeat.interval_s == 0.2
    stalled = threading.Event()

    def lane_loop() -> None:  # beats until it "hangs"; other threads (this one) stay alive
        while not stalled.is_set():
            heartbeat.beat()
            time.sleep(0.01)

    lane = threading.Thread(target=lane_loop)
    heartbeat.start()
    try:
        lane.start()
        time.sleep(1.0)
        beating = [m for m in rx.messages() if m == "WATCHDOG=1"]
        stalled.set()
        lane.join()
        time.sleep(0.3)  # the pinger's next round may still cover the last beats
        rx.messages()
        time.sleep(1.0)
        after_stall = rx.messages()
    finally:
        stalled.set()
        heartbeat.stop()
    assert len(beating) >= 3  # ~10 expected at 0.1 s; generous for a loaded machine
    assert after_stall == []


def test_socket_gone_is_logged_once_without_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "notify.sock"
    rx = Receiver(str(path))
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(path)})
    assert notifier.ready()
    rx.sock.close()
    path.unlink()
    with caplog.at_level(logging.WARNING, logger="appliance.service.notify"):
        assert notifier.watchdog() is False
        assert notifier.status("still here") is False
        heartbeat = Heartbeat(notifier, 10.0)
        heartbeat.beat()
        assert heartbeat.ping_if_alive() is False
    assert len(caplog.records) == 1
    assert "service notification failed" in caplog.records[0].getMessage()
    assert caplog.records[0].exc_info is None
