"""What the traveller's kiosk shows, folded from the lane's events: one screen at a time.

    view = KioskView()
    view.apply(event)                 # each lane event, in order (the lane thread)
    view.current()                    # {"screen": "reading", "check_id": ..., ...}
    view.since(version)               # the screen changes after `version`, oldest first

The page (`kiosk_ui/`) decides nothing: it shows the screen this fold names, in the language
it is told (or the traveller picked). The fold never passes a reason code or personal data on:
a refusal is `result-refer` (or `tailgating`, `unreadable`: what the traveller can act on);
the officer reads the reason elsewhere. A result belongs to one check: it is dropped the moment
another check starts, shown for at most `result_max_s`, and once the lane is ready again for at
most `result_hold_s`, so a screen can never say "gate open" to the next traveller. Timed
changes (a result or notice running out) are made by `poll`, which the event stream calls.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from appliance.errors import Reason
from appliance.inspection.lane_events import EventType, LaneEvent, LaneState

#: the screens, as `data-screen` names them (kiosk_ui/README.md)
SCREENS = (
    "idle",
    "place-document",
    "reading",
    "remove-document",
    "face-capture",
    "liveness",
    "processing",
    "result-open",
    "result-refer",
    "unreadable",
    "tailgating",
    "timeout",
    "out-of-service",
)

#: reasons that mean the document could not be read: the traveller may try again
UNREADABLE = frozenset(
    {
        Reason.MRZ_UNREADABLE.value,
        Reason.MRZ_FORMAT.value,
        Reason.MRZ_CHECK_DIGIT.value,
        Reason.CHIP_NOT_PRESENT.value,
        Reason.CHIP_REMOVED.value,
        Reason.CHIP_COMMUNICATION.value,
        Reason.CHIP_ACCESS_DENIED.value,
    }
)

_STEP_SCREENS = {
    "document_presence": "place-document",
    "mrz": "place-document",
    "chip_access": "reading",
    "data_groups": "reading",
    "gate_sensors": "processing",
}

_INSTRUCTION_SCREENS = {
    "look_at_camera": "face-capture",
    "turn_head_left": "liveness",
    "turn_head_right": "liveness",
}

_RESULTS = ("result-open", "result-refer", "unreadable", "tailgating")
_CLOSED = (LaneState.STARTING.value, LaneState.STOPPED.value, LaneState.OUT_OF_SERVICE.value)


class KioskView:
    """The kiosk's current screen and its recent changes (thread-safe)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        result_hold_s: float = 4.0,
        result_max_s: float = 10.0,
        notice_s: float = 5.0,
        liveness_step_s: float = 4.0,
        keep: int = 200,
    ) -> None:
        self.clock = clock
        self.liveness_step_s = liveness_step_s
        self.result_hold_s = result_hold_s
        self.result_max_s = result_max_s
        self.notice_s = notice_s
        self._lock = threading.Lock()
        self._base = "out-of-service"
        self._check_id: str | None = None
        self._language: str | None = None
        self._instruction: str | None = None
        self._fault: str | None = "lane"
        #: a result or notice over the lane's screen: (screen, check_id, shown at, for how long)
        self._overlay: tuple[str, str | None, float, float] | None = None
        #: the language of the check the overlay belongs to (it outlives the check)
        self._overlay_language: str | None = None
        self._event_seq = 0
        self._event_time: str | None = None
        self._version = 0
        self._shown: dict[str, Any] = {}
        self._changes: deque[dict[str, Any]] = deque(maxlen=keep)
        self._record()

    # ------------------------------------------------------------------ the fold

    def apply(self, event: LaneEvent) -> None:
        with self._lock:
            self._apply(event)
            self._event_seq, self._event_time = event.seq, event.time
            self._record(by_event=True)

    def _apply(self, event: LaneEvent) -> None:
        data = event.data
        check_id = data.get("check_id")
        if event.type is EventType.STATE:
            state = str(data.get("state"))
            if state in _CLOSED:
                self._base, self._overlay = "out-of-service", None
                self._fault = self._fault or "lane"
            elif state == LaneState.READY.value:
                self._base, self._fault = "idle", None
                self._check_id = self._language = self._instruction = None
            elif state in (LaneState.CHECKING.value, LaneState.WAITING_DOCUMENT.value):
                if check_id != self._check_id:  # a new traveller: nothing of the last one
                    self._overlay, self._language = None, None
                self._base, self._check_id, self._instruction = "place-document", check_id, None
                self._fault = None
            elif state == LaneState.REMOVE_DOCUMENT.value:
                self._base = "remove-document"
        elif event.type is EventType.STEP:
            screen = _STEP_SCREENS.get(str(data.get("step")))
            if screen is not None and self._current_check(check_id):
                self._base = screen
        elif event.type is EventType.INSTRUCTION:
            instruction = str(data.get("instruction"))
            if not self._current_check(check_id):
                return
            if instruction in _INSTRUCTION_SCREENS:
                self._base, self._instruction = _INSTRUCTION_SCREENS[instruction], instruction
            elif instruction == "remove_document" and self._overlay is None:
                self._base = "remove-document"
        elif event.type is EventType.LANGUAGE:
            if self._current_check(check_id):
                self._language = str(data.get("language"))
        elif event.type is EventType.DECISION:
            if check_id == self._check_id:
                self._base = "processing"
                self._overlay = (_result_screen(data), check_id, self.clock(), self.result_max_s)
                self._overlay_language = self._language
        elif event.type is EventType.FAULT:
            component, reason = str(data.get("component")), str(data.get("reason"))
            if component == "traveller" and reason == Reason.TRAVELLER_TIMEOUT.value:
                self._overlay = ("timeout", check_id, self.clock(), self.notice_s)
                self._overlay_language = self._language
            elif component in ("reader", "gate", "lane") and reason != Reason.OK.value:
                self._fault = component
        elif (
            event.type is EventType.GATE
            and "tailgating" in data.get("events", ())
            and self._check_id is None
        ):  # between travellers: a notice for whoever is in the gate
            self._overlay = ("tailgating", None, self.clock(), self.notice_s)
            self._overlay_language = None

    def _current_check(self, check_id: Any) -> bool:
        return check_id is not None and check_id == self._check_id

    # ------------------------------------------------------------------ what the page reads

    def _screen(self, now: float) -> tuple[str, str | None, float | None, str | None]:
        """(screen, its check id, seconds until it runs out or None, its language)."""
        if self._base == "out-of-service":
            return "out-of-service", None, None, None
        if self._overlay is not None:
            screen, check_id, shown_at, limit = self._overlay
            if self._base == "idle" and screen in _RESULTS:
                limit = min(limit, self.result_hold_s)  # the lane is ready for the next one
            left = shown_at + limit - now
            if left > 0:
                return screen, check_id, left, self._overlay_language
        return self._base, self._check_id, None, self._language

    def _payload(self) -> dict[str, Any]:
        screen, check_id, left, language = self._screen(self.clock())
        return {
            "screen": screen,
            "check_id": check_id,
            "language": language if check_id is not None else None,
            "instruction": self._instruction if screen == "liveness" else None,
            "fault": self._fault if screen == "out-of-service" else None,
            "countdown_s": self.liveness_step_s if screen == "liveness" else None,
            "expires_in_ms": None if left is None else int(left * 1000),
        }

    def _record(self, *, by_event: bool = False) -> None:
        """Note a change of screen: caused by the lane event `event_seq` (`by_event`), or by
        a result or notice running out."""
        payload = self._payload()
        same = {k: v for k, v in payload.items() if k != "expires_in_ms"}
        if same == {k: v for k, v in self._shown.items() if k != "expires_in_ms"}:
            return
        self._version += 1
        self._shown = payload
        self._changes.append(
            {
                **payload,
                "version": self._version,
                "event_seq": self._event_seq if by_event else None,
                "event_time": self._event_time if by_event else None,
            }
        )

    def poll(self) -> None:
        """Make the timed changes that are due (a result or a notice that ran out)."""
        with self._lock:
            self._record()

    def next_change_s(self) -> float | None:
        """Seconds until the current screen runs out by itself, if it does."""
        with self._lock:
            return self._screen(self.clock())[2]

    def current(self) -> dict[str, Any]:
        """The screen as it is now (what a page that just connected shows)."""
        with self._lock:
            self._record()
            latest = self._changes[-1]
            return {**latest, **self._payload()}

    def since(self, version: int) -> list[dict[str, Any]]:
        with self._lock:
            self._record()
            return [c for c in self._changes if c["version"] > version]

    @property
    def version(self) -> int:
        with self._lock:
            return self._version


def _result_screen(decision: dict[str, Any]) -> str:
    if decision.get("decision") == "OPEN" and decision.get("gate") in ("open", "OPEN"):
        return "result-open"
    reasons = set(decision.get("reasons") or ())
    if Reason.TAILGATING.value in reasons:
        return "tailgating"
    if reasons & UNREADABLE:
        return "unreadable"
    return "result-refer"
