"""Who may use which route: the one table of the service's authorisation.

Every route of the app (method and path template, as FastAPI declares it) has exactly one rule
here; the access middleware (`appliance/api/access.py`) refuses a route without one (fail
closed), and `tests/api/test_authorisation.py` fails for a route missing from its own expected
matrix. Anonymous access is allowed only where the rule says so: `anywhere` for what carries
nothing (health, the login itself, static page files) and `loopback` for what the traveller's
kiosk on the device itself reads (the lane's state and events: no personal data) and for the
simulated lane's test hooks and local metrics scraping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appliance.accounts.store import Role

Anonymous = Literal["never", "loopback", "anywhere"]


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role] = frozenset()
    anonymous: Anonymous = "never"


ALL = frozenset(Role)
_OFFICE = frozenset({Role.OFFICER, Role.SUPERVISOR})
_TECH = frozenset({Role.TECHNICIAN, Role.SUPERVISOR})
_AUDIT = frozenset({Role.AUDITOR, Role.SUPERVISOR})

PUBLIC = Rule(ALL, "anywhere")
#: the kiosk's reads: anonymous on the device itself, any account elsewhere
KIOSK = Rule(ALL, "loopback")
ACCOUNT = Rule(ALL)
OFFICE = Rule(_OFFICE)
TECH = Rule(_TECH)
AUDIT = Rule(_AUDIT)
SUPERVISOR = Rule(frozenset({Role.SUPERVISOR}))
#: the simulated lane's hooks (`appliance sim traveller` on the device; 404 on a real lane)
SIM = Rule(_OFFICE, "loopback")
METRICS = Rule(_TECH, "loopback")
#: the traveller's kiosk screen (issue #14): on the device itself only, for nobody beyond it
#: (its camera preview shows the traveller's face)
KIOSK_ONLY = Rule(frozenset(), "loopback")

A = "/api/v1"

#: (method, path template) -> rule; a mount (static files) is ("*", its path)
RULES: dict[tuple[str, str], Rule] = {
    ("GET", f"{A}/health"): PUBLIC,
    ("GET", f"{A}/openapi.json"): KIOSK,
    ("POST", f"{A}/session"): PUBLIC,
    ("GET", f"{A}/session"): ACCOUNT,
    ("DELETE", f"{A}/session"): ACCOUNT,
    ("GET", f"{A}/lane"): KIOSK,
    ("GET", f"{A}/lane/events"): KIOSK,
    ("POST", f"{A}/checks"): OFFICE,
    ("POST", f"{A}/checks/current/cancel"): OFFICE,
    ("GET", f"{A}/checks"): OFFICE,
    ("GET", f"{A}/checks/{{check_id}}"): OFFICE,
    ("GET", f"{A}/checks/{{check_id}}/person"): OFFICE,
    ("POST", f"{A}/checks/{{check_id}}/decision"): OFFICE,
    ("GET", f"{A}/referrals"): OFFICE,
    ("POST", f"{A}/mrz/read"): OFFICE,
    ("POST", f"{A}/barcodes/read"): OFFICE,
    ("GET", f"{A}/selftest"): TECH,
    ("GET", f"{A}/history"): AUDIT,
    ("GET", f"{A}/sim/kinds"): SIM,
    ("POST", f"{A}/sim/travellers"): SIM,
    ("POST", f"{A}/sim/reader"): SIM,
    ("GET", "/metrics"): METRICS,
    ("GET", f"{A}/maintenance/overview"): TECH,
    ("POST", f"{A}/maintenance/gate-test"): TECH,
    ("GET", f"{A}/maintenance/models"): TECH,
    ("GET", f"{A}/maintenance/trust"): TECH,
    ("GET", f"{A}/maintenance/logs"): TECH,
    ("POST", f"{A}/maintenance/import"): TECH,
    ("GET", f"{A}/maintenance/bundle"): TECH,
    ("GET", f"{A}/users"): SUPERVISOR,
    ("POST", f"{A}/users"): SUPERVISOR,
    ("POST", f"{A}/users/{{name}}/disable"): SUPERVISOR,
    ("POST", f"{A}/users/{{name}}/reset"): SUPERVISOR,
    ("GET", f"{A}/overrides"): SUPERVISOR,
    # the guard's pages (static files: every call they make is checked on its own)
    ("*", "/guard"): PUBLIC,
    # the traveller's kiosk (kiosk_ui/, appliance/api/kiosk.py)
    ("GET", f"{A}/kiosk/screen"): KIOSK_ONLY,
    ("GET", f"{A}/kiosk/events"): KIOSK_ONLY,
    ("GET", f"{A}/kiosk/preview/quality"): KIOSK_ONLY,
    ("GET", f"{A}/kiosk/preview.mjpg"): KIOSK_ONLY,
    ("GET", f"{A}/kiosk/speech"): KIOSK_ONLY,
    ("GET", "/kiosk"): KIOSK_ONLY,
    ("GET", "/kiosk/{rest:path}"): KIOSK_ONLY,
    ("*", "/kiosk"): KIOSK_ONLY,
}


def rule_for(method: str, template: str) -> Rule | None:
    """The rule of a route (HEAD as GET); None when the table has none (refused)."""
    key_method = "GET" if method == "HEAD" else method
    return RULES.get((key_method, template)) or RULES.get(("*", template))
