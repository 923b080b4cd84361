"""The tamper-evident local history of document checks (see docs/history.md).

The workflow appends an `Event` and opens the gate only once `Ledger.append` has returned its
`Receipt` (the event is then committed, fsynced and covered by a signed checkpoint):

    with Ledger.open_default(data_dir(config), config) as history:
        receipt = history.append(Event(EventType.CHECK, "OPEN", reasons=["OK"], ...))
        earlier = history.checks_of(DocumentRef("UTO", "L898902C3"))  # repeated-use check

The lane holds it as a `History` (the port, `appliance.history.port`).
"""

from appliance.history.append import Receipt
from appliance.history.events import DocumentRef, Event, EventType, PersonalData
from appliance.history.ledger import Ledger
from appliance.history.periods import RetentionPolicy
from appliance.history.port import History
from appliance.history.queries import RecordView
from appliance.history.store import DeviceIdentity

__all__ = [
    "DeviceIdentity",
    "DocumentRef",
    "Event",
    "EventType",
    "History",
    "Ledger",
    "PersonalData",
    "Receipt",
    "RecordView",
    "RetentionPolicy",
]
