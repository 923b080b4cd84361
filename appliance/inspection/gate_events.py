"""Gate-controller events as inspection inputs: tailgating, a manually opened exit door, faults.

The gate controller (`drivers/gate.py` on a real lane, the virtual one in `hardware_mocks`)
reports what its sensors saw as short event names; this module turns them into typed events
with the reason and the officer's line (Frontex ABC operational guidelines: more than one
person in the gate, manual opening of the exit door). An event name this build does not know
is treated as a fault: the lane fails closed rather than ignoring a sensor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from appliance.errors import Reason


class GateEventKind(StrEnum):
    #: more than one person detected in the gate (mantrap sensors)
    TAILGATING = "tailgating"
    #: the exit door was opened by hand, key or emergency button, not by the appliance
    MANUAL_OPEN = "manual_open"
    #: the controller reports a fault (door jammed, sensor failure, unknown report)
    FAULT = "fault"
    #: the traveller left through the exit door and it closed again
    PASSED = "passed"


_REASONS = {
    GateEventKind.TAILGATING: Reason.TAILGATING,
    GateEventKind.MANUAL_OPEN: Reason.GATE_MANUAL_OPEN,
    GateEventKind.FAULT: Reason.GATE_FAULT,
}


@dataclass(frozen=True)
class GateEvent:
    kind: GateEventKind
    #: the controller's own words for an unknown event (kept for the technician)
    raw: str = ""

    @property
    def alarm(self) -> bool:
        """True for events that must refer the traveller and alert the officer."""
        return self.kind in _REASONS

    @property
    def reason(self) -> Reason:
        return _REASONS.get(self.kind, Reason.OK)


@runtime_checkable
class GateEventSource(Protocol):
    """What the workflow needs from a gate controller besides open/close/state."""

    def poll_events(self) -> list[str]:
        """Event names reported since the last call (never blocks)."""
        ...


@runtime_checkable
class GateSimulator(Protocol):
    """A simulated controller's test hook: make its sensors report an event."""

    def inject(self, event: str) -> None: ...


def parse_events(names: Iterable[str]) -> list[GateEvent]:
    """Typed events; an unknown name becomes a `FAULT` (fail closed)."""
    events = []
    for name in names:
        try:
            events.append(GateEvent(GateEventKind(name.strip().lower())))
        except ValueError:
            events.append(GateEvent(GateEventKind.FAULT, raw=name[:40]))
    return events
