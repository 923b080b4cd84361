"""The kiosk's screens folded from lane events (appliance/api/kiosk_view.py): the traveller's
steps in order, a result that belongs to one check and runs out, no reason code on the screen."""

from __future__ import annotations

import json
from typing import Any

from appliance.api.kiosk_view import SCREENS, KioskView
from appliance.inspection.lane_events import EventLog, EventType


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fold(*events: tuple[EventType, dict[str, Any]], clock: Clock | None = None) -> KioskView:
    view = KioskView(clock=clock or Clock())
    log = EventLog()
    for type_, data in events:
        view.apply(log.emit(type_, **data))
    return view


def traveller(
    check: str, decision: str = "OPEN", reasons: tuple[str, ...] = ("OK",)
) -> list[tuple[EventType, dict[str, Any]]]:
    c = {"check_id": check}
    return [
        (EventType.STATE, {"state": "checking", **c}),
        (EventType.STEP, {"step": "document_presence", **c}),
        (EventType.STEP, {"step": "chip_access", **c}),
        (EventType.LANGUAGE, {"language": "fr", **c}),
        (EventType.INSTRUCTION, {"instruction": "remove_document", **c}),
        (EventType.INSTRUCTION, {"instruction": "look_at_camera", **c}),
        (EventType.INSTRUCTION, {"instruction": "turn_head_left", **c}),
        (EventType.STEP, {"step": "gate_sensors", **c}),
        (EventType.DECISION, {"decision": decision, "reasons": list(reasons),
                              "gate": "open" if decision == "OPEN" else "closed", **c}),
    ]  # fmt: skip


READY = (EventType.STATE, {"state": "ready"})


def test_a_traveller_goes_through_the_screens_in_order() -> None:
    view = fold(READY, *traveller("A"))
    screens = [c["screen"] for c in view.since(0)]
    screens = [s for i, s in enumerate(screens) if i == 0 or s != screens[i - 1]]
    assert screens[0] == "out-of-service"  # until the lane says it is ready
    assert screens[1:] == [
        "idle", "place-document", "reading", "remove-document", "face-capture", "liveness",
        "processing", "result-open",
    ]  # fmt: skip
    assert set(screens) <= set(SCREENS)
    liveness = next(c for c in view.since(0) if c["screen"] == "liveness")
    assert liveness["instruction"] == "turn_head_left" and liveness["countdown_s"] == 4.0
    assert {c["check_id"] for c in view.since(0) if c["screen"] != "idle"} <= {"A", None}
    assert view.current()["language"] == "fr"


def test_a_refusal_shows_no_reason_code() -> None:
    view = fold(READY, *traveller("A", "REFER", ("PA_DG_HASH_MISMATCH",)))
    current = view.current()
    assert current["screen"] == "result-refer"
    assert "PA_DG_HASH_MISMATCH" not in json.dumps(view.since(0))


def test_tailgating_and_an_unreadable_document_have_screens_of_their_own() -> None:
    assert fold(READY, *traveller("A", "REFER", ("TAILGATING",))).current()["screen"] == (
        "tailgating"
    )
    assert fold(READY, *traveller("A", "REFER", ("CHIP_COMMUNICATION",))).current()["screen"] == (
        "unreadable"
    )


def test_a_result_is_dropped_when_the_next_check_starts() -> None:
    view = fold(
        READY, *traveller("A"), READY, (EventType.STATE, {"state": "checking", "check_id": "B"})
    )
    assert view.current()["screen"] == "place-document"
    assert view.current()["check_id"] == "B"
    assert view.current()["language"] is None  # A's language went with A


def test_a_result_runs_out_and_sooner_once_the_lane_is_ready() -> None:
    clock = Clock()
    view = fold(READY, *traveller("A", "REFER", ("WATCHLIST_HIT",)), clock=clock)
    assert view.current()["screen"] == "result-refer"
    assert view.current()["expires_in_ms"] == 10_000
    clock.now += 9.9
    assert view.current()["screen"] == "result-refer"
    clock.now += 0.2
    view.poll()
    assert view.current()["screen"] == "processing"  # the lane's own screen again
    ready = fold(READY, *traveller("A"), READY, clock=clock)
    assert ready.current()["screen"] == "result-open"
    assert ready.current()["language"] == "fr"  # the result keeps its traveller's language
    clock.now += 4.1
    assert ready.current()["screen"] == "idle"
    assert ready.current()["language"] is None


def test_out_of_service_wins_and_names_the_part_not_the_reason() -> None:
    view = fold(
        READY,
        *traveller("A"),
        (EventType.FAULT, {"component": "reader", "reason": "READER_NOT_FOUND"}),
        (EventType.STATE, {"state": "out_of_service", "reason": "READER_NOT_FOUND"}),
    )
    current = view.current()
    assert current["screen"] == "out-of-service" and current["fault"] == "reader"
    assert "READER_NOT_FOUND" not in json.dumps(current)
    view.apply(EventLog().emit(EventType.STATE, state="ready"))
    assert view.current()["screen"] == "idle"


def test_a_traveller_who_walks_away_sees_the_timeout_then_idle() -> None:
    clock = Clock()
    view = fold(
        READY, *traveller("A"),
        (EventType.FAULT, {"component": "traveller", "reason": "TRAVELLER_TIMEOUT",
                           "check_id": "A"}),
        READY, clock=clock,
    )  # fmt: skip
    assert view.current()["screen"] == "timeout"
    clock.now += 5.1
    assert view.current()["screen"] == "idle"


def test_events_of_another_check_do_not_move_the_screen() -> None:
    view = fold(
        READY,
        *traveller("A")[:3],
        (EventType.DECISION, {"check_id": "Z", "decision": "OPEN", "gate": "open"}),
    )
    assert view.current()["screen"] == "reading"
