"""Helpers shared by the history tests: a ledger on a controllable clock, sample events, and
`FakeHistory`, an in-memory `History` port for the lane's tests."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.errors import ApplianceError, Reason
from appliance.history import DeviceIdentity, Ledger, Receipt, RecordView
from appliance.history import checkpoint as cp
from appliance.history.events import (
    DocumentRef,
    Event,
    EventType,
    Leaf,
    PersonalData,
    format_time,
)
from appliance.history.periods import RetentionPolicy

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEVICE = DeviceIdentity("gate-test-07", "TEST-AIRPORT-T1")
ANNA = DocumentRef("UTO", "L898902C3", "P")
OTHER = DocumentRef("D", "C01X00T47", "P")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_ledger(directory: Path, clock: Clock | None = None, retention_days: int = 30) -> Ledger:
    return Ledger(
        directory,
        DEVICE,
        RetentionPolicy(retention_days=retention_days, period_days=1),
        clock or Clock(),
    )


def person(surname: str = "ERIKSSON", number: str = "L898902C3") -> PersonalData:
    return PersonalData(
        surname=surname,
        given_names="ANNA MARIA",
        date_of_birth="740812",
        document_number=number,
        nationality="UTO",
        face_image=b"\xff\xd8\xff\xe0FACE-JPEG-BYTES",
    )


def check(document: DocumentRef = ANNA, outcome: str = "OPEN", n: int = 0) -> Event:
    return Event(
        type=EventType.CHECK,
        outcome=outcome,
        reasons=["OK"] if outcome == "OPEN" else ["DOCUMENT_EXPIRED"],
        public={"n": n, "steps": {"mrz": "pass", "chip": "pass"}, "face_score": 0.71},
        document=document,
        personal=person(number=document.number),
    )


def gate_event(n: int = 0) -> Event:
    return Event(type=EventType.GATE_EVENT, outcome="CLOSED", public={"n": n})


def raw(directory: Path) -> sqlite3.Connection:
    """A plain connection for tampering, as an attacker with file access would."""
    conn = sqlite3.connect(directory / "ledger.sqlite", isolation_level=None)
    return conn


class FakeHistory:
    """The lane's `History` port in memory: it keeps the events appended (in `events`), answers
    `checks_of` from them, and fails the way the ledger does (`HISTORY_STORAGE`, as on a full
    disk) once `appends_before_failure` appends have succeeded, or on every lookup when
    `lookups_fail`. Nothing is signed: the receipts only carry the index and event id."""

    def __init__(
        self,
        *,
        appends_before_failure: int | None = None,
        lookups_fail: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.appends_before_failure = appends_before_failure
        self.lookups_fail = lookups_fail
        self.clock = clock
        self.events: list[Event] = []
        self.times: list[datetime] = []
        self.appends = 0
        self.closed = False

    def append(self, event: Event) -> Receipt:
        return self.append_batch([event])[0]

    def append_batch(self, events: Sequence[Event]) -> list[Receipt]:
        if self.closed:
            raise ApplianceError(Reason.HISTORY_STORAGE, "history closed")
        if self.appends_before_failure is not None and self.appends >= self.appends_before_failure:
            raise ApplianceError(Reason.HISTORY_STORAGE, "disk full")
        self.appends += 1
        now = self.clock()
        receipts = []
        for event in events:
            self.events.append(event)
            self.times.append(event.time or now)
            index = len(self.events) - 1
            event_id = str(event.event_id)
            checkpoint = cp.Checkpoint("fake", index + 1, bytes(32), format_time(now))
            digest = hashlib.sha256(event_id.encode()).digest()
            receipts.append(Receipt(index, event_id, digest, checkpoint, note=""))
        return receipts

    def checks_of(
        self, document: DocumentRef, *, since: datetime | None = None
    ) -> list[RecordView]:
        wanted = document.normalised()
        if self.lookups_fail:
            raise ApplianceError(Reason.HISTORY_STORAGE, "database disk image is malformed")
        return [
            self._view(index)
            for index, event in enumerate(self.events)
            if event.document is not None
            and event.document.normalised() == wanted
            and (since is None or self.times[index] >= since)
        ]

    def close(self) -> None:
        self.closed = True

    def _view(self, index: int) -> RecordView:
        event = self.events[index]
        leaf = Leaf(
            index=index,
            event_id=str(event.event_id),
            type=event.type.value,
            time=format_time(self.times[index]),
            device_id="fake",
            location="fake",
            document=hashlib.sha256(event.document.normalised()).hexdigest()
            if event.document is not None
            else None,
            outcome=event.outcome,
            reasons=tuple(event.reasons),
            public=dict(event.public),
            personal=None,
        )
        return RecordView(index, leaf, bytes(32), "none", None, proven=False)
