"""`History`: the port through which the lane records checks and looks up earlier ones.

The inspection code (`CheckSession`, the repeated-use step, the demo lane) depends on this
protocol, not on `Ledger`, so a test can hand the lane a small fake (a history that fails like
a full disk, or one seeded with earlier passages) instead of patching the ledger's methods.

It lives here rather than in `appliance/ports.py` on purpose: the ports there are the hardware
seams that drivers and mocks implement and import, and they stay free of the history's types
(and of SQLite and the crypto libraries behind them). This one names `Event`, `Receipt` and
`RecordView`, so it sits beside them. Only the calls the lane makes belong here; the CLI,
verification, erasure and retention keep using `Ledger` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from appliance.history.append import Receipt
from appliance.history.events import DocumentRef, Event
from appliance.history.queries import RecordView


@runtime_checkable
class History(Protocol):
    """What the lane needs of the history (`Ledger` is the implementation)."""

    def append(self, event: Event) -> Receipt:
        """Record one event; return only once it is durable (raise `ApplianceError` if not)."""
        ...

    def append_batch(self, events: Sequence[Event]) -> list[Receipt]:
        """Record events together, all durable on return (gate-controller events)."""
        ...

    def checks_of(
        self, document: DocumentRef, *, since: datetime | None = None
    ) -> list[RecordView]:
        """The records of `document` since `since`, oldest first (the repeated-use check)."""
        ...

    def close(self) -> None:
        """Release the history when the lane stops."""
        ...
