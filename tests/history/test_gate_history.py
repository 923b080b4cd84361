"""The history says what the exit door did, not only what was decided: a gate that times out
leaves a FAILED_TO_OPEN event (GATE_FAULT) linked to the check, and never an OPENED one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.history import History, Ledger, RecordView
from appliance.inspection.policy import Verdict
from appliance.inspection.workflow import CheckResult, CheckSession, act_on
from appliance.ports import GateState
from drivers.gate import SerialGateController
from hardware_mocks.gate import VirtualGateController
from tests.inspection.test_inspection_workflow import DEVICE, POLICY, TRAVELLER, clean_watchlist
from tests.support.inspection_support import lane, transaction


@pytest.fixture
def controller() -> Iterator[VirtualGateController]:
    with VirtualGateController(pass_delay_s=2.0) as sim:
        yield sim


@pytest.fixture
def gate(controller: VirtualGateController) -> Iterator[SerialGateController]:
    """A driver that waits long for answers: an answering controller is never a time-out."""
    driver = SerialGateController(controller.port, answer_timeout_s=3.0)
    yield driver
    controller.mute(False)
    driver.shutdown()


def gate_actions(history: History) -> list[RecordView]:
    assert isinstance(history, Ledger)  # the lane's real ledger: its records are read back
    return [v for v in reversed(history.recent(50)) if v.leaf.type == "gate_action"]


def linked(view: RecordView, result: CheckResult) -> bool:
    assert result.receipt is not None
    check = view.leaf.public["check"]
    return check == {"index": result.receipt.index, "event_id": result.receipt.event_id}


def test_a_gate_that_times_out_is_recorded_as_failed_to_open(
    tmp_path: Path, controller: VirtualGateController
) -> None:
    gate = SerialGateController(controller.port, answer_timeout_s=0.3)
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        session = CheckSession(ln, DEVICE)
        result = session.run(transaction(TRAVELLER))
        assert result.decision.verdict is Verdict.OPEN and result.receipt is not None
        controller.mute()  # the controller stops answering: OPEN times out
        state = session.act_on(result, gate)
        assert state is GateState.FAULT
        actions = gate_actions(ln.history)
        assert [(a.leaf.outcome, a.leaf.reasons) for a in actions] == [
            ("FAILED_TO_OPEN", ("GATE_FAULT",))
        ]
        action = actions[0]
        assert linked(action, result) and action.index > result.receipt.index and action.proven
        assert action.leaf.public["state"] == "fault"
        assert not any(a.leaf.outcome == "OPENED" for a in actions)
    controller.mute(False)
    gate.shutdown()


def test_an_opened_gate_is_recorded_as_opened(
    tmp_path: Path, controller: VirtualGateController, gate: SerialGateController
) -> None:
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        session = CheckSession(ln, DEVICE)
        result = session.run(transaction(TRAVELLER))
        assert session.act_on(result, gate) is GateState.OPEN
        assert controller.opened == 1
        (action,) = gate_actions(ln.history)
        assert (action.leaf.outcome, action.leaf.reasons) == ("OPENED", ("OK",))
        assert linked(action, result)
        # the same document again is referred: the door is kept closed, and that is recorded
        again = session.run(transaction(TRAVELLER))
        assert session.act_on(again, gate) is GateState.CLOSED
        assert [a.leaf.outcome for a in gate_actions(ln.history)] == ["OPENED", "KEPT_CLOSED"]


class RaisingGate:
    """A controller whose driver raises (a serial port that vanished mid-command)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def open(self) -> None:
        self.calls.append("open")
        raise TimeoutError("no answer")

    def close(self) -> None:
        self.calls.append("close")

    def state(self) -> GateState:
        return GateState.CLOSED


def test_a_driver_that_raises_is_a_fault_and_the_door_is_closed(tmp_path: Path) -> None:
    with lane(tmp_path, POLICY, watchlist=clean_watchlist()) as ln:
        session = CheckSession(ln, DEVICE)
        result = session.run(transaction(TRAVELLER))
        door = RaisingGate()
        assert act_on(result, door, ln.history) is GateState.FAULT
        assert door.calls == ["open", "close"]
        (action,) = gate_actions(ln.history)
        assert action.leaf.outcome == "FAILED_TO_OPEN" and linked(action, result)
