"""Serial MRZ readers: the line protocol (sans-I/O) and the pyserial driver over a real pty."""

from __future__ import annotations

import time

import pytest

from appliance.errors import Reason
from drivers.mrz_serial import MrzLineProtocol, SerialMrzScanner, SerialRead
from hardware_mocks.mrz_serial_reader import Framing, SimulatedMrzReader

TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\r".join(s.encode() for s in TD3) + b"\r", TD3),
        (b"\r\n".join(s.encode() for s in TD1) + b"\r\n", TD1),
        (b"\x02" + b"\r".join(s.encode() for s in TD2) + b"\r\x03", TD2),
    ],
)
def test_each_framing_yields_the_document(payload: bytes, expected: list[str]) -> None:
    assert MrzLineProtocol().feed(payload) == [SerialRead(tuple(expected))]


def test_bytes_arriving_one_at_a_time_assemble_the_same_document() -> None:
    proto = MrzLineProtocol()
    reads: list[SerialRead] = []
    for byte in ("\r\n".join(TD1) + "\r\n").encode():
        reads += proto.feed(bytes([byte]))
    assert reads == [SerialRead(tuple(TD1))]


def test_two_lines_of_thirty_wait_for_the_third() -> None:
    proto = MrzLineProtocol()
    assert proto.feed(("\r".join(TD1[:2]) + "\r").encode()) == []
    assert proto.feed((TD1[2] + "\r").encode()) == [SerialRead(tuple(TD1))]


@pytest.mark.parametrize(
    "payload",
    [
        (TD3[0] + "\r" + TD3[1].replace("7408", "74?8") + "\r").encode(),  # '?': unread char
        b"\x02" + TD3[0].encode() + b"\r\x03",  # a partial swipe, framed
        b"\x02" + TD3[0].encode() + b"\r" + TD2[1].encode() + b"\r\x03",  # mixed lengths
        b"hello world\r\r",
    ],
)
def test_garbled_or_partial_reads_are_unreadable_never_guessed(payload: bytes) -> None:
    proto = MrzLineProtocol()
    reads = proto.feed(payload) + proto.flush()
    assert reads and all(r == SerialRead(None, Reason.MRZ_UNREADABLE) for r in reads)


def test_endless_noise_is_dropped_and_the_next_swipe_still_reads() -> None:
    proto = MrzLineProtocol()
    reads = proto.feed(b"\xff" * 500 + b"\r" + ("\r".join(TD3) + "\r").encode())
    assert reads[-1] == SerialRead(tuple(TD3))
    assert all(r.lines is None for r in reads[:-1])


def test_a_quiet_reader_flushes_an_unterminated_document() -> None:
    proto = MrzLineProtocol()
    assert proto.feed(("\r".join(TD1)).encode()) == []
    assert proto.pending
    assert proto.flush() == [SerialRead(tuple(TD1))]


@pytest.mark.parametrize("framing", list(Framing))
def test_driver_reads_each_framing_over_a_pty(framing: Framing) -> None:
    with SimulatedMrzReader() as reader:
        scanner = SerialMrzScanner(reader.port, idle_s=0.1)
        try:
            reader.present(TD3, framing=framing, chunk=7, pause_s=0.002)
            assert scanner.lines(timeout_s=3.0) == TD3
            reader.present(TD1, framing=framing)
            assert scanner.lines(timeout_s=3.0) == TD1
        finally:
            scanner.close()


def test_driver_times_out_with_none_and_reports_a_bad_swipe() -> None:
    with SimulatedMrzReader() as reader:
        scanner = SerialMrzScanner(reader.port, idle_s=0.1)
        try:
            started = time.monotonic()
            assert scanner.lines(timeout_s=0.3) is None
            assert time.monotonic() - started < 2.0
            reader.send_raw(b"P<UTO??????\r")  # reader gave up mid-swipe, then went quiet
            assert scanner.lines(timeout_s=0.6) is None
            assert scanner.last_error is Reason.MRZ_UNREADABLE
            reader.present(TD2, framing=Framing.CRLF)
            assert scanner.lines(timeout_s=3.0) == TD2
            assert scanner.last_error is None
        finally:
            scanner.close()
