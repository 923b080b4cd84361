"""MRZ dates (YYMMDD) and the century rules that turn them into calendar dates.

The MRZ drops the century, so it is inferred against a reference date (`today`, a parameter so
tests and replays are deterministic): a birth date is never in the future, and an expiry date
lies within `EXPIRY_WINDOW_YEARS` of the reference date (documents are valid for 10 years and
more, and an expired one must still read as expired, not as a date a century ahead).
A birth date may show '<<' for an unknown month or day, or be wholly unknown (9303-3 §4.7.1 b).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

EXPIRY_WINDOW_YEARS = 50

_BIRTH_PATTERN = re.compile(r"^(\d\d|<<)(\d\d|<<)(\d\d|<<)$")


@dataclass(frozen=True)
class MrzDate:
    """A date as printed (`yymmdd`) and, when complete and real, as a calendar date."""

    yymmdd: str
    value: date | None
    #: why `value` is None for a date whose characters were well formed ("" when it is set)
    problem: str = ""

    @property
    def iso(self) -> str | None:
        return self.value.isoformat() if self.value else None


def is_well_formed_birth(yymmdd: str) -> bool:
    """Digits, with '<<' allowed only as a whole unknown year, month or day."""
    return bool(_BIRTH_PATTERN.match(yymmdd))


def is_well_formed_expiry(yymmdd: str) -> bool:
    return len(yymmdd) == 6 and yymmdd.isascii() and yymmdd.isdigit()


def birth_date(yymmdd: str, today: date) -> MrzDate:
    """The birth date, in the latest century that does not put it after `today`."""
    if not is_well_formed_birth(yymmdd):
        return MrzDate(yymmdd, None, "not a date")
    if "<" in yymmdd:
        return MrzDate(yymmdd, None, "")  # partly unknown, as ICAO allows: no calendar date
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    century = today.year - today.year % 100
    for year in (century + yy, century - 100 + yy):
        candidate = _real_date(year, mm, dd)
        if candidate is None:
            # 29 February may exist in one century and not the other (1900 vs 2000)
            continue
        if candidate <= today:
            return MrzDate(yymmdd, candidate)
    return MrzDate(yymmdd, None, "not a calendar date in the past")


def expiry_date(yymmdd: str, today: date) -> MrzDate:
    """The expiry date in the century that puts it within `EXPIRY_WINDOW_YEARS` of `today`."""
    if not is_well_formed_expiry(yymmdd):
        return MrzDate(yymmdd, None, "not a date")
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    year = today.year - today.year % 100 + yy
    if year > today.year + EXPIRY_WINDOW_YEARS:
        year -= 100
    elif year <= today.year - EXPIRY_WINDOW_YEARS:
        year += 100
    candidate = _real_date(year, mm, dd)
    if candidate is None:
        return MrzDate(yymmdd, None, "not a calendar date")
    return MrzDate(yymmdd, candidate)


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
