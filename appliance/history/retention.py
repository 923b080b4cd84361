"""The retention job: destroy the keys of every period whose retention time has passed.

Run it periodically (the service does, and `appliance history retention` runs it once). For each
expired period it first deletes the wrapped record keys, then overwrites and unlinks the period
key file; the leaves stay, so the log still verifies, but the personal data and the link between
pseudonyms and document numbers are gone. A `maintenance` event names the destroyed periods, so
`verify` can tell keys that retention destroyed from keys that someone deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from appliance.history.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    destroyed_periods: tuple[str, ...]
    records: int
    kept_periods: int


def run_retention(ledger: Ledger, now: datetime | None = None) -> RetentionReport:
    moment = now or ledger.clock()
    destroyed: list[str] = []
    periods = ledger.keys.periods()
    expired = [p for p in periods if ledger.policy.expired(p, moment)]
    # the keys and the event naming the periods first, in one transaction; then the files (a
    # crash in between leaves a file the next run destroys, with one more event)
    records, _ = ledger.forget_periods(expired)
    for period in expired:
        ledger.keys.destroy(period)
        destroyed.append(period.id)
    if destroyed:
        ledger.purge_wal()
        log.info("history retention: destroyed %d period key(s)", len(destroyed))
    return RetentionReport(tuple(destroyed), records, len(periods) - len(destroyed))
