"""Retention periods: the unit of key destruction.

Records are encrypted under the key of the period their event falls in (`period_days` long,
counted in whole UTC days from 1970-01-01). A period's keys are destroyed once the period ended
`retention_days` ago, so no personal data outlives the retention time by more than one period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_EPOCH = date(1970, 1, 1)
_PERIOD_ID = re.compile(r"(\d{8})-(\d{8})")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def id(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD_ID.fullmatch(text)
        if not match:
            raise ValueError("not a period id")
        start = datetime.strptime(match.group(1), "%Y%m%d").date()
        end = datetime.strptime(match.group(2), "%Y%m%d").date()
        if end <= start:
            raise ValueError("period ends before it starts")
        return cls(start, end)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(UTC).date() < self.end


@dataclass(frozen=True)
class RetentionPolicy:
    retention_days: int = 30
    period_days: int = 1

    def __post_init__(self) -> None:
        if self.retention_days < 0 or self.period_days < 1:
            raise ValueError("retention_days must be >= 0 and period_days >= 1")

    def period_of(self, moment: datetime) -> Period:
        day = moment.astimezone(UTC).date()
        first = _EPOCH + timedelta(days=(day - _EPOCH).days // self.period_days * self.period_days)
        return Period(first, first + timedelta(days=self.period_days))

    def expires_at(self, period: Period) -> datetime:
        return datetime.combine(period.end, time(), UTC) + timedelta(days=self.retention_days)

    def expired(self, period: Period, now: datetime) -> bool:
        return now >= self.expires_at(period)
