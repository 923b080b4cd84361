"""Face-check failure rates per traveller group, from the history (`appliance history stats`).

An e-gate that refers one group of travellers more often than another must be seen to do so.
Each check event carries, in its public part, the holder's *coarse* attributes (`cohort`:
sex as printed in the MRZ, a ten-year age band, nationality), taken from DG1 when the check is
recorded (`cohort_of`); never the date of birth, name or number, which stay sealed. From the
check events of a sliding window this module counts, per value of each attribute asked for,
the checks whose face step ran and how many of them failed with `FACE_NO_MATCH`,
`FACE_QUALITY` or a liveness failure (`FACE_NOT_LIVE`). A group with fewer checks than
`min_group_size` is not shown (only how many such groups and checks there were), so a rare
nationality cannot single out a traveller; a shown group whose rate exceeds that of all
other checks by `alarm_factor` raises an alarm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from appliance.history.events import EventType, Leaf, decode_leaf, format_time
from appliance.history.store import LedgerStore

ATTRIBUTES = ("sex", "age_band", "nationality")
#: failure kind -> the face step's reason codes that count as it
FAILURES: Mapping[str, tuple[str, ...]] = {
    "face_no_match": ("FACE_NO_MATCH",),
    "face_quality": ("FACE_QUALITY",),
    "liveness": ("FACE_NOT_LIVE",),
}
UNKNOWN = "unknown"
_BANDS = ((18, "0-17"), (30, "18-29"), (40, "30-39"), (50, "40-49"), (60, "50-59"), (70, "60-69"))


def age_band(birth_iso: str | None, on: date) -> str:
    """The ten-year band of the age on `on` ("18-29" .. "60-69", "0-17", "70+"), or
    "unknown" without a full date of birth."""
    try:
        born = date.fromisoformat(birth_iso or "")
    except ValueError:
        return UNKNOWN
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age < 0:
        return UNKNOWN
    return next((band for limit, band in _BANDS if age < limit), "70+")


def cohort_of(sex: str, birth_iso: str | None, nationality: str, on: date) -> dict[str, str]:
    """The coarse, non-identifying attributes a check event carries in clear."""
    letter = sex.strip().upper()
    code = nationality.strip().upper().replace("<", "")
    return {
        "sex": letter if letter in ("F", "M") else ("X" if letter in ("X", "<") else UNKNOWN),
        "age_band": age_band(birth_iso, on),
        "nationality": code if code.isalpha() and 1 <= len(code) <= 3 else UNKNOWN,
    }


@dataclass(frozen=True)
class FaceCheck:
    """What the statistics need of one check: its cohort and its face step's reason."""

    cohort: Mapping[str, str]
    reason: str


def face_check(leaf: Leaf) -> FaceCheck | None:
    """The face outcome of a check event, or None when it is not a check, carries no cohort,
    or its face step did not run (skipped or absent)."""
    if leaf.type != EventType.CHECK.value:
        return None
    cohort = leaf.public.get("cohort")
    report = leaf.public.get("report")
    if not isinstance(cohort, dict) or not isinstance(report, dict):
        return None
    for step in report.get("steps") or ():
        if isinstance(step, dict) and step.get("name") == "biometrics":
            if step.get("status") not in ("pass", "fail"):
                return None
            return FaceCheck({k: str(v) for k, v in cohort.items()}, str(step.get("reason")))
    return None


@dataclass
class _Tally:
    checks: int = 0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAILURES, 0))

    def add(self, check: FaceCheck) -> None:
        self.checks += 1
        for kind, reasons in FAILURES.items():
            if check.reason in reasons:
                self.failures[kind] += 1


def _rate(failures: int, checks: int) -> float | None:
    return round(failures / checks, 6) if checks else None


def group_stats(
    checks: Iterable[FaceCheck],
    by: Sequence[str],
    min_group_size: int,
    alarm_factor: float,
) -> dict[str, Any]:
    """Per attribute in `by`: the shown groups' checks and failure rates, the hidden groups'
    count, and the alarms (a shown group's rate > alarm_factor x the rate of all other checks,
    which must number at least min_group_size too)."""
    checks = list(checks)
    overall = _Tally()
    for check in checks:
        overall.add(check)
    result: dict[str, Any] = {
        "checks": overall.checks,
        "rates": {k: _rate(v, overall.checks) for k, v in overall.failures.items()},
        "by": {},
        "alarms": [],
    }
    for attribute in by:
        tallies: dict[str, _Tally] = {}
        for check in checks:
            tallies.setdefault(check.cohort.get(attribute, UNKNOWN), _Tally()).add(check)
        shown: dict[str, Any] = {}
        hidden = [t for t in tallies.values() if t.checks < min_group_size]
        for value, tally in sorted(tallies.items()):
            if tally.checks < min_group_size:
                continue
            others = overall.checks - tally.checks
            shown[value] = {
                "checks": tally.checks,
                "failures": dict(tally.failures),
                "rates": {k: _rate(v, tally.checks) for k, v in tally.failures.items()},
            }
            for kind, failed in tally.failures.items():
                other_failed = overall.failures[kind] - failed
                if others < min_group_size or failed == 0:
                    continue
                mine, theirs = failed / tally.checks, other_failed / others
                if mine > alarm_factor * theirs:
                    result["alarms"].append(
                        {
                            "attribute": attribute,
                            "group": value,
                            "failure": kind,
                            "rate": round(mine, 6),
                            "others_rate": round(theirs, 6),
                            "ratio": round(mine / theirs, 3) if theirs else None,
                            "factor": alarm_factor,
                        }
                    )
        result["by"][attribute] = {
            "groups": shown,
            "hidden_groups": len(hidden),
            "hidden_checks": sum(t.checks for t in hidden),
        }
    return result


def face_checks_since(store: LedgerStore, since: datetime) -> list[FaceCheck]:
    """The face outcomes of the check events recorded at or after `since` (public parts only:
    nothing sealed is opened)."""
    with store.snapshot():
        rows = store.conn.execute(
            "SELECT leaf FROM records WHERE time >= ? ORDER BY idx", (format_time(since),)
        ).fetchall()
    found = []
    for (leaf_bytes,) in rows:
        try:
            check = face_check(decode_leaf(bytes(leaf_bytes)))
        except ValueError:
            continue  # a damaged leaf is `history verify`'s to report
        if check is not None:
            found.append(check)
    return found


def window_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
