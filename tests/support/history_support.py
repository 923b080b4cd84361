"""Helpers shared by the history tests: a ledger on a controllable clock and sample events."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.history.events import DocumentRef, Event, EventType, PersonalData
from appliance.history.ledger import DeviceIdentity, Ledger
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
