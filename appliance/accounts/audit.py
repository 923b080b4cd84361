"""The history event of an account's login, logout or change: one builder for the service and
`appliance users`, so that a change made at the console is recorded exactly as one made by a
supervisor on the screens.

    history.append(account_event("config_change", "ana", change="user_add", target="bob",
                                 via="api"))

The event is an `officer_action` with the outcome (`login`, `logout`, `login_failed`,
`config_change`), one reason code and public fields only: the acting account's name (None when
no account acted: the console, a name typed that is no account), what changed and on whom
(`change`, `target`: an account name), and `via` (`api` or `cli`) for account changes. Never a
password, never anything of a traveller.
"""

from __future__ import annotations

from appliance.errors import Reason
from appliance.history.events import Event, EventType

#: `appliance users` actions -> the `change` of their history event (the API's too)
CHANGES = {"add": "user_add", "disable": "user_disable", "reset": "user_reset"}


def account_event(
    outcome: str, account: str | None, reason: Reason = Reason.OK, **public: str | None
) -> Event:
    body: dict[str, str | None] = {"account": account, **public}
    return Event(EventType.OFFICER_ACTION, outcome, reasons=(reason.value,), public=body)
