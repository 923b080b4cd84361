"""Exit-door controller: the line protocol, the pyserial driver against the virtual controller on
a pty (as it would open /dev/ttyUSB0), and fail-safe closed on every failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.errors import Reason
from appliance.inspection.gate_events import GateEventKind, parse_events
from appliance.ports import GateState
from drivers.gate import GateLine, GateLineProtocol, SerialGateController, encode_command
from hardware_mocks.gate import VirtualGateController


def test_protocol_splits_answers_and_events_across_chunks() -> None:
    protocol = GateLineProtocol()
    assert protocol.feed(b"OK OP") == []
    lines = protocol.feed(b"EN\r\nEVT TAILGATING\r\n\r\nSTATE closed\n")
    assert lines == [GateLine("OK", "OPEN"), GateLine("EVT", "TAILGATING"),
                     GateLine("STATE", "CLOSED")]  # fmt: skip
    assert lines[1].is_event and not lines[0].is_event
    assert encode_command("OPEN") == b"OPEN\r\n"


@pytest.mark.parametrize("noise", [b"\xff\xfe\r\n", b"HELLO\r\n", b"A" * 200 + b"\r\n"])
def test_protocol_turns_noise_into_errors(noise: bytes) -> None:
    assert GateLine("ERR", "GARBLED") in GateLineProtocol().feed(noise)


def test_unknown_sensor_report_is_a_fault() -> None:
    events = parse_events(["tailgating", "MANUAL_OPEN", "passed", "smoke"])
    assert [e.kind for e in events] == [GateEventKind.TAILGATING, GateEventKind.MANUAL_OPEN,
                                        GateEventKind.PASSED, GateEventKind.FAULT]  # fmt: skip
    assert [e.reason for e in events if e.alarm] == [Reason.TAILGATING, Reason.GATE_MANUAL_OPEN,
                                                     Reason.GATE_FAULT]  # fmt: skip


@pytest.fixture
def controller() -> Iterator[VirtualGateController]:
    with VirtualGateController(pass_delay_s=0.05) as sim:
        yield sim


@pytest.fixture
def gate(controller: VirtualGateController) -> Iterator[SerialGateController]:
    driver = SerialGateController(controller.port, answer_timeout_s=0.3)
    yield driver
    driver.shutdown()


def test_starts_closed_opens_and_the_traveller_passes(
    controller: VirtualGateController, gate: SerialGateController
) -> None:
    assert gate.state() is GateState.CLOSED
    gate.open()
    assert controller.opened == 1
    assert gate.wait_event("passed", 2.0) == ["passed"]
    assert gate.state() is GateState.CLOSED  # relocked behind the traveller


def test_sensor_events_reach_the_driver(
    controller: VirtualGateController, gate: SerialGateController
) -> None:
    controller.inject("tailgating")
    controller.inject("manual_open")
    assert gate.wait_event("manual_open", 2.0) == ["tailgating", "manual_open"]
    assert gate.poll_events() == []


def test_silent_controller_is_a_fault_never_an_open_door(
    controller: VirtualGateController, gate: SerialGateController
) -> None:
    controller.mute()
    gate.open()
    assert gate.state() is GateState.FAULT
    assert "fault" in gate.poll_events()
    controller.mute(False)
    assert gate.state() is GateState.CLOSED


def test_garbled_answers_are_a_fault(
    controller: VirtualGateController, gate: SerialGateController
) -> None:
    controller.garble()
    gate.open()
    assert gate.state() is GateState.FAULT


def test_unplugged_port_is_a_fault_not_an_exception(controller: VirtualGateController) -> None:
    gate = SerialGateController(controller.port, answer_timeout_s=0.2)
    gate._serial.close()  # the USB adapter disappears
    gate.open()
    assert gate.state() is GateState.FAULT
    assert "fault" in gate.poll_events()
