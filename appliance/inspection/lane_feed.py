"""What the lane tells the traveller's screen besides its states: whose check, which step,
which language, and what the camera sees; each step's outcome (status and reason code) for the
officer's report.

    events = TravellerFeed(EventLog(), "egate", session)   # the lane loop's `events`
    events.emit(EventType.STATE, state="checking")         # names a new check ...
    events.emit(EventType.STATE, state="ready")            # ... until the lane is ready again

It wraps the lane's `EventLog` (readers see the same log): a document's arrival (the state
`checking`) names the check and every event until the lane is ready again (states, steps,
instructions, the decision, time-outs) carries that `check_id`, so a screen can never show one
traveller's result to the next. The id is the history record's event id: the check session
asks for it (`CheckSession.name_check`) when it records the check. The language hint comes from
DG1's nationality through `language_of` (the kiosk's mapping file, set by the service): only
the language code enters the event log, never the nationality.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from appliance.inspection.lane_events import EventLog, EventType, Instruction, LaneEvent, LaneState
from appliance.inspection.preview import FramePreview
from appliance.inspection.report import StepName, StepResult
from appliance.inspection.steps import Transaction
from appliance.inspection.workflow import CheckSession


class TravellerFeed:
    """The lane's event log with the check id, step events, language hint and preview."""

    def __init__(self, log: EventLog, mode: str, session: CheckSession | None = None) -> None:
        self.log = log
        self.mode = mode
        self._lock = threading.Lock()
        self._check: uuid.UUID | None = None
        #: a language code for a DG1 nationality (the kiosk's mapping); None: no hint
        self.language_of: Callable[[str], str | None] | None = None
        #: the face step's frames for the kiosk's live preview
        self.preview = FramePreview()
        #: the lane's watchdog heartbeat: a check beats as each step starts, so a long but
        #: progressing check is not taken for a hung loop (each step has its own time limit)
        self.beat: Callable[[], None] = lambda: None
        if session is not None:
            self.attach(session)

    def attach(self, session: CheckSession) -> None:
        """Name the session's checks, follow its steps, show what its camera sees."""
        if session.on_step is None:
            session.on_step = self.on_step
        if session.name_check is None:
            session.name_check = self.current
        if session.on_step_done is None:
            session.on_step_done = self.on_step_done
        face = session.lane.face
        if face is not None and hasattr(face, "on_frame") and face.on_frame is None:
            face.on_frame = self.preview.publish

    def current(self) -> uuid.UUID | None:
        """The check under way (None between travellers)."""
        with self._lock:
            return self._check

    def emit(self, type_: EventType, **data: Any) -> LaneEvent:
        """Append to the log; a document's arrival names a new check, the lane ready (or
        stopped) ends it, and every event in between carries its id."""
        if type_ is EventType.STATE:
            state = data.get("state")
            with self._lock:
                if state == LaneState.CHECKING.value:
                    self._check = uuid.uuid4()
                elif state in (LaneState.READY.value, LaneState.STOPPED.value):
                    self._check = None
            if self._check is None:
                self.preview.clear()  # the traveller's picture never outlives the check
        check = self.current()
        if check is not None:
            data.setdefault("check_id", str(check))
        return self.log.emit(type_, **data)

    # the log's reading side, unchanged
    @property
    def last_seq(self) -> int:
        return self.log.last_seq

    def since(self, seq: int) -> list[LaneEvent]:
        return self.log.since(seq)

    def wait(self, seq: int, timeout_s: float) -> list[LaneEvent]:
        return self.log.wait(seq, timeout_s)

    def add_listener(self, listener: Callable[[], None]) -> None:
        self.log.add_listener(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        self.log.remove_listener(listener)

    def on_step_done(self, result: StepResult) -> None:
        """A step ended: its status and reason code for the officer's report (no detail text,
        no facts: the event log carries codes only)."""
        self.emit(
            EventType.STEP_RESULT,
            step=result.name.value,
            status=result.status.value,
            reason=result.reason.value,
            duration_ms=round(result.duration_ms, 1),
        )

    def on_step(self, name: StepName, tx: Transaction) -> None:
        """A step starts: the kiosk's progress; once the chip is read, its language hint (from
        DG1 only, as a language code) and, at an e-gate, the document can be taken back."""
        self.beat()
        self.emit(EventType.STEP, step=name.value)
        if name is not StepName.BIOMETRICS:
            self.preview.clear()  # the face step is over (or has not begun): no picture
        if name is not StepName.AUTHENTICITY or tx.document is None:
            return
        fields = tx.chip_mrz.fields if tx.chip_mrz is not None else None
        if fields is not None and self.language_of is not None:
            language = self.language_of(fields.nationality)
            if language:
                self.emit(EventType.LANGUAGE, language=language)
        if self.mode == "egate":
            self.emit(EventType.INSTRUCTION, instruction=Instruction.REMOVE_DOCUMENT.value)
