"""The lane's vocabulary for its screens: states, instructions for the traveller, the event log.

Every observer (the kiosk's event stream, the technician's page, the demo's printer, the
metrics) reads the same ordered log: each event has a sequence number, so a client that
reconnects asks for what came after the last one it saw. Events carry codes only (states,
instructions, verdicts, reason codes, timings, and the `check_id` of the traveller's check on
every event between the document's arrival and the next traveller): never a name, a document
number, a birth date or a photo, because the kiosk screen faces the queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class LaneState(StrEnum):
    #: opening devices, loading the policy and the models
    STARTING = "starting"
    #: waiting for a document (e-gate) or for an officer to start a check (handheld)
    READY = "ready"
    #: handheld: a check was started, waiting for the document
    WAITING_DOCUMENT = "waiting_document"
    #: a document is being checked
    CHECKING = "checking"
    #: the gate opened: waiting for the traveller to walk through
    PASSAGE = "passage"
    #: the decision is made: waiting for the document to be taken back
    REMOVE_DOCUMENT = "remove_document"
    #: a device the lane needs is missing or silent; the gate stays closed
    OUT_OF_SERVICE = "out_of_service"
    #: the loop has ended (service stopping)
    STOPPED = "stopped"


class Instruction(StrEnum):
    """What the kiosk tells the traveller (the kiosk translates the code)."""

    PLACE_DOCUMENT = "place_document"
    KEEP_DOCUMENT = "keep_document"
    LOOK_AT_CAMERA = "look_at_camera"
    #: the liveness challenge (an unattended e-gate)
    TURN_HEAD_LEFT = "turn_head_left"
    TURN_HEAD_RIGHT = "turn_head_right"
    REMOVE_DOCUMENT = "remove_document"
    WALK_THROUGH = "walk_through"
    SEE_OFFICER = "see_officer"
    LANE_CLOSED = "lane_closed"

    @classmethod
    def for_prompt(cls, text: str) -> Instruction | None:
        """The face step's words for the traveller (the liveness challenge) as a kiosk code."""
        lowered = text.lower()
        if "left" in lowered:
            return cls.TURN_HEAD_LEFT
        if "right" in lowered:
            return cls.TURN_HEAD_RIGHT
        return cls.LOOK_AT_CAMERA if lowered else None


class EventType(StrEnum):
    STATE = "state"
    INSTRUCTION = "instruction"
    DECISION = "decision"
    FAULT = "fault"
    GATE = "gate"
    #: a step of the check started (`step`: a `StepName`); the kiosk follows the traveller
    STEP = "step"
    #: a step of the check ended (`step`, `status`, `reason`: codes only, never its detail
    #: text); the officer's report fills row by row
    STEP_RESULT = "step_result"
    #: the language the document suggests (`language`: a code of the kiosk's catalogues, from
    #: DG1's nationality through a mapping file: the nationality itself is never in an event)
    LANGUAGE = "language"


@dataclass(frozen=True)
class LaneEvent:
    seq: int
    time: str
    type: EventType
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "type": self.type.value, **self.data}


class EventLog:
    """An ordered, bounded, thread-safe log of lane events with change listeners.

    The lane loop's thread appends; readers ask for the events after a sequence number
    (`since`) or block for them (`wait`); listeners (the API's event loop) are called after each
    append and must not block.
    """

    def __init__(self, keep: int = 2000) -> None:
        self._events: deque[LaneEvent] = deque(maxlen=keep)
        self._seq = 0
        self._cond = threading.Condition()
        self._listeners: list[Callable[[], None]] = []

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self._seq

    def emit(self, type_: EventType, **data: Any) -> LaneEvent:
        with self._cond:
            self._seq += 1
            event = LaneEvent(
                self._seq, datetime.now(UTC).isoformat(timespec="milliseconds"), type_, data
            )
            self._events.append(event)
            self._cond.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return event

    def since(self, seq: int) -> list[LaneEvent]:
        with self._cond:
            return [e for e in self._events if e.seq > seq]

    def wait(self, seq: int, timeout_s: float) -> list[LaneEvent]:
        """Events after `seq`, waiting up to `timeout_s` for the first one."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq, timeout_s)
            return [e for e in self._events if e.seq > seq]

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)
