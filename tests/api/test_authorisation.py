"""Who may use which route of the service (#15): every route of the app × every role and the
anonymous caller (on the device and beyond it) → the expected answer, a technician's answers
without traveller data, CSRF, lockout and throttling, expired and disabled sessions, TLS beyond
loopback, and the account events in the history.

The expected matrix is written out here, apart from `appliance/accounts/rules.py`: a route added
to the app without a row below fails `test_every_route_has_an_expected_row`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from appliance.accounts.sessions import Sessions
from appliance.accounts.store import MAX_FAILURES
from appliance.api.access import AccessControl
from appliance.api.app import create_app
from appliance.api.lane_service import LaneService
from tests.support.auth_support import (
    PASSWORD,
    REMOTE,
    ensure_account,
    local_client,
    log_in,
)
from tests.support.lane_support import sim_config, wait_ready

ROLES = ("officer", "supervisor", "technician", "auditor")
CALLERS = ("anonymous-local", "anonymous-remote", *ROLES)
_ROLES = set(ROLES)
_LOCAL = {"anonymous-local", *ROLES}
_ALL = set(CALLERS)
_OFFICE = {"officer", "supervisor"}
_TECH = {"technician", "supervisor"}

A = "/api/v1"
#: (method, path) -> who gets through (anyone else: 401 anonymous, 403 a role)
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", f"{A}/health"): _ALL,
    ("GET", f"{A}/openapi.json"): _LOCAL,
    ("POST", f"{A}/session"): _ALL,
    ("GET", f"{A}/session"): _ROLES,
    ("GET", f"{A}/lane"): _LOCAL,
    ("GET", f"{A}/lane/events"): _LOCAL,
    ("POST", f"{A}/checks"): _OFFICE,
    ("POST", f"{A}/checks/current/cancel"): _OFFICE,
    ("GET", f"{A}/checks"): _OFFICE,
    ("GET", f"{A}/checks/{{check_id}}"): _OFFICE,
    ("GET", f"{A}/checks/{{check_id}}/person"): _OFFICE,
    ("POST", f"{A}/checks/{{check_id}}/decision"): _OFFICE,
    ("GET", f"{A}/referrals"): _OFFICE,
    ("POST", f"{A}/mrz/read"): _OFFICE,
    ("POST", f"{A}/barcodes/read"): _OFFICE,
    ("GET", f"{A}/selftest"): _TECH,
    ("GET", f"{A}/history"): {"auditor", "supervisor"},
    ("GET", f"{A}/sim/kinds"): {"anonymous-local", *_OFFICE},
    ("POST", f"{A}/sim/travellers"): {"anonymous-local", *_OFFICE},
    ("POST", f"{A}/sim/reader"): {"anonymous-local", *_OFFICE},
    ("GET", "/metrics"): {"anonymous-local", *_TECH},
    ("GET", f"{A}/maintenance/overview"): _TECH,
    ("POST", f"{A}/maintenance/gate-test"): _TECH,
    ("GET", f"{A}/maintenance/models"): _TECH,
    ("GET", f"{A}/maintenance/trust"): _TECH,
    ("GET", f"{A}/maintenance/logs"): _TECH,
    ("POST", f"{A}/maintenance/import"): _TECH,
    ("GET", f"{A}/maintenance/bundle"): _TECH,
    ("GET", f"{A}/users"): {"supervisor"},
    ("POST", f"{A}/users"): {"supervisor"},
    ("POST", f"{A}/users/{{name}}/disable"): {"supervisor"},
    ("POST", f"{A}/users/{{name}}/reset"): {"supervisor"},
    ("GET", f"{A}/overrides"): {"supervisor"},
    ("*", "/guard"): _ALL,
    # the traveller's kiosk (#14): on the device itself only
    ("GET", f"{A}/kiosk/screen"): {"anonymous-local"},
    ("GET", f"{A}/kiosk/events"): {"anonymous-local"},
    ("GET", f"{A}/kiosk/preview/quality"): {"anonymous-local"},
    ("GET", f"{A}/kiosk/preview.mjpg"): {"anonymous-local"},
    ("GET", f"{A}/kiosk/speech"): {"anonymous-local"},
    ("GET", "/kiosk"): {"anonymous-local"},
    ("GET", "/kiosk/{rest:path}"): {"anonymous-local"},
    ("*", "/kiosk"): {"anonymous-local"},
    # last: it ends the caller's session
    ("DELETE", f"{A}/session"): _ROLES,
}
#: the kiosk's "not installed" answer, a route only when kiosk_ui/ is missing
WITHOUT_THE_PAGE = {("GET", "/kiosk/{rest:path}")}
#: streams with no end the test client could ask for: their refusals are checked here, and the
#: kiosk's browser tests open them as the device's own page does (tests/kiosk_ui)
ENDLESS = {("GET", f"{A}/kiosk/events"), ("GET", f"{A}/kiosk/preview.mjpg")}
#: query strings that keep a streaming or listing route short
QUERY = {f"{A}/lane/events": "?limit=1", f"{A}/checks": "?recent=1", f"{A}/history": "?recent=1"}


def flat_routes(routes: list[Any]) -> Iterator[Any]:
    """The app's routes, included routers opened (FastAPI keeps them as one entry each)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in flat_routes(app.routes):
        if isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
        elif isinstance(route, Mount):
            found.add(("*", route.path))
    return found


@pytest.fixture
def service(data_dir: Path, tmp_path: Path) -> Iterator[LaneService]:
    lane = LaneService(sim_config(tmp_path), data_dir)
    yield lane
    assert lane.stop(10)


def callers(app: FastAPI, directory: Path) -> dict[str, TestClient]:
    clients = {
        "anonymous-local": local_client(app),
        "anonymous-remote": local_client(app, REMOTE),
    }
    for role in ROLES:  # logged in from a handheld on the network (over TLS)
        clients[role] = local_client(app, REMOTE)
        log_in(clients[role], directory, role)
    return clients


def call(client: TestClient, method: str, path: str) -> Any:
    if method == "*":  # a mount: its index page
        return client.get(f"{path}/")
    url = path.replace("{check_id}", "no-such-check").replace("{name}", "nobody")
    url += QUERY.get(path, "")
    if method == "POST":
        return client.request(method, url, json={})
    return client.request(method, url)


def test_every_route_has_an_expected_row(service: LaneService) -> None:
    routes = app_routes(create_app(service))
    assert routes - set(EXPECTED) == set(), "a route without a row: give it a rule"
    assert set(EXPECTED) - routes - WITHOUT_THE_PAGE == set(), "a row for a route that is gone"


def test_authorisation_matrix(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app) as first:
        wait_ready(first, service)
        clients = callers(app, service.directory)
        matrix: dict[str, dict[str, int]] = {}
        for method, path in sorted(app_routes(app), key=list(EXPECTED).index):
            row = matrix.setdefault(f"{method} {path}", {})
            for caller in CALLERS:
                if (method, path) in ENDLESS and caller in EXPECTED[(method, path)]:
                    continue
                answer = call(clients[caller], method, path)
                row[caller] = answer.status_code
                if caller in EXPECTED[(method, path)]:
                    assert answer.status_code not in (401, 403), (method, path, caller)
                    assert answer.status_code < 500 or answer.status_code == 503
                elif caller.startswith("anonymous"):
                    assert answer.status_code == 401, (method, path, caller)
                    assert answer.json()["reason"] == "AUTH_REQUIRED"
                else:
                    assert answer.status_code == 403, (method, path, caller)
                    assert answer.json()["reason"] == "ROLE_FORBIDDEN"
    print(json.dumps(matrix, indent=1))


def test_a_technician_never_sees_a_traveller(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app) as local:
        wait_ready(local, service)
        log_in(local, service.directory, "supervisor")
        refs = []
        for kind in ("genuine", "forged_dg", "watchlisted", "expired"):
            answer = local.post(f"{A}/sim/travellers", json={"kind": kind})
            assert answer.status_code == 200, answer.text
            refs.append(answer.json()["ref"])
        hook = service.simulation
        assert hook is not None
        profiles = [hook.traveller(ref).profile for ref in refs]  # type: ignore[union-attr]
        # the device does hold them (so the search below would find them if they leaked)
        revealed = service.history.recent(10, reveal=True)  # type: ignore[union-attr]
        names = {v.personal.surname for v in revealed if v.personal is not None}
        assert {p.surname for p in profiles} <= names
        technician = local_client(app, REMOTE)
        log_in(technician, service.directory, "technician")
        seen = []
        for method, path in sorted(app_routes(app)):
            if "technician" in EXPECTED[(method, path)] and method == "GET":
                answer = call(technician, method, path)
                assert answer.status_code == 200, (path, answer.text)
                seen.append(answer.text)
        said = "\n".join(seen)
        for profile in profiles:
            face = profile.face_image or b""
            for value in (
                profile.document_number,
                profile.surname,
                profile.given_names,
                profile.date_of_birth,
                profile.mrz_lines[-1],
                base64.b64encode(face[:48]).decode()[:40],
                face[:48].hex(),
            ):
                assert value and value not in said, value


def test_state_changes_need_the_csrf_token(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "officer")
        token = client.headers.pop("X-CSRF-Token")
        for method, path in ((("POST", f"{A}/checks")), ("DELETE", f"{A}/session")):
            refused = client.request(method, path)
            assert refused.status_code == 403 and refused.json()["reason"] == "CSRF_INVALID"
            wrong = client.request(method, path, headers={"X-CSRF-Token": token[:-2] + "xx"})
            assert wrong.status_code == 403 and wrong.json()["reason"] == "CSRF_INVALID"
        # with the token: through (an e-gate lane has no start button: 400, not 403)
        assert client.post(f"{A}/checks", headers={"X-CSRF-Token": token}).status_code == 400
        assert client.get(f"{A}/session").json()["csrf_token"] == token


def test_session_cookie_flags_and_logout(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app) as client:
        wait_ready(client, service)
        ensure_account(service.directory, "ana", "officer")
        answer = client.post(f"{A}/session", json={"username": "ana", "password": PASSWORD})
        cookie = answer.headers["set-cookie"].lower()
        for flag in ("httponly", "secure", "samesite=strict", "path=/"):
            assert flag in cookie
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        assert client.get(f"{A}/checks").status_code == 200
        assert client.delete(f"{A}/session").status_code == 200
        after = client.get(f"{A}/checks")
        assert after.status_code == 401 and after.json()["reason"] == "AUTH_REQUIRED"
    events = [
        (v.leaf.outcome, v.leaf.public.get("account"))
        for v in service.history.recent(10)  # type: ignore[union-attr]
        if v.leaf.type == "officer_action"
    ]
    assert ("login", "ana") in events and ("logout", "ana") in events


def test_lockout_throttling_and_the_history(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app, REMOTE) as client:
        wait_ready(local_client(app), service)
        ensure_account(service.directory, "ana", "officer")
        wrong = {"username": "ana", "password": "not the password at all"}
        answers = [client.post(f"{A}/session", json=wrong) for _ in range(MAX_FAILURES)]
        assert [a.status_code for a in answers[:-1]] == [401] * (MAX_FAILURES - 1)
        assert answers[-1].status_code == 423 and answers[-1].json()["reason"] == "ACCOUNT_LOCKED"
        right = client.post(f"{A}/session", json={"username": "ana", "password": PASSWORD})
        assert right.status_code == 423, "a locked account stays locked, right password or not"
        nobody = {"username": "my passport is X123", "password": "guess guess guess"}
        assert client.post(f"{A}/session", json=nobody).json()["reason"] == "AUTH_FAILED"
        codes = [client.post(f"{A}/session", json=nobody).status_code for _ in range(5)]
        assert codes[-1] == 429  # 10 attempts a minute from one address, then throttled
    leaves = [v.leaf for v in service.history.recent(50)]  # type: ignore[union-attr]
    failures = [leaf for leaf in leaves if leaf.outcome == "login_failed"]
    assert len(failures) >= MAX_FAILURES + 1
    assert {leaf.public.get("account") for leaf in failures} == {"ana", None}
    text = json.dumps([leaf.public for leaf in leaves])
    assert "not the password" not in text and PASSWORD not in text and "X123" not in text


def test_idle_and_absolute_expiry_and_disabled_accounts(service: LaneService) -> None:
    now = [1000.0]
    sessions = Sessions(idle_s=60, absolute_s=300, clock=lambda: now[0])
    control = AccessControl(service.directory, lambda: service.history, sessions)
    app = create_app(service, control)
    with local_client(app) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "officer")
        now[0] += 59
        assert client.get(f"{A}/checks").status_code == 200
        now[0] += 61
        idle = client.get(f"{A}/checks")
        assert idle.status_code == 401 and idle.json()["reason"] == "SESSION_EXPIRED"
        log_in(client, service.directory, "officer")
        for _ in range(5):  # busy all along, but a shift ends
            now[0] += 50
            assert client.get(f"{A}/checks").status_code == 200
        now[0] += 60
        ended = client.get(f"{A}/checks")
        assert ended.status_code == 401 and ended.json()["reason"] == "SESSION_EXPIRED"
        log_in(client, service.directory, "officer")
        control.store.disable("test-officer")
        gone = client.get(f"{A}/checks")
        assert gone.status_code == 401 and gone.json()["reason"] == "AUTH_REQUIRED"
        login = client.post(f"{A}/session", json={"username": "test-officer", "password": PASSWORD})
        assert login.status_code == 401 and login.json()["reason"] == "AUTH_FAILED"


def test_beyond_loopback_plain_http_is_refused(service: LaneService) -> None:
    app = create_app(service)
    with TestClient(app, base_url="http://testserver", client=REMOTE) as client:
        for path in (f"{A}/health", f"{A}/lane", f"{A}/session"):
            refused = client.get(path)
            assert refused.status_code == 403 and refused.json()["reason"] == "TLS_REQUIRED"


def test_a_supervisor_manages_accounts_and_the_history_says_so(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "supervisor")
        officer = local_client(app, REMOTE)
        log_in(officer, service.directory, "officer")
        made = client.post(f"{A}/users", json={"name": "ana", "role": "officer",
                                                "password": PASSWORD})  # fmt: skip
        assert made.status_code == 201 and made.json()["role"] == "officer"
        again = client.post(f"{A}/users", json={"name": "ana", "role": "auditor",
                                                 "password": PASSWORD})  # fmt: skip
        assert again.status_code == 409 and again.json()["reason"] == "ACCOUNT_EXISTS"
        weak = client.post(f"{A}/users", json={"name": "bob", "role": "officer", "password": "x"})
        assert weak.status_code == 422 and weak.json()["reason"] == "PASSWORD_WEAK"
        names = [a["name"] for a in client.get(f"{A}/users").json()["accounts"]]
        assert "ana" in names and "test-officer" in names
        assert officer.get(f"{A}/checks").status_code == 200
        assert client.post(f"{A}/users/test-officer/disable").status_code == 200
        ended = officer.get(f"{A}/checks")  # the disabled account's session ends at once
        assert ended.status_code == 401
        reset = client.post(f"{A}/users/test-officer/reset", json={"password": "a new password!"})
        assert reset.status_code == 200 and reset.json()["disabled"] is False
        assert client.post(f"{A}/users/nobody/disable").status_code == 404
        assert client.post(f"{A}/users/test-supervisor/disable").status_code == 400
    leaves = [v.leaf for v in service.history.recent(30)]  # type: ignore[union-attr]
    changes = [
        (leaf.public.get("account"), leaf.public.get("change"), leaf.public.get("target"))
        for leaf in leaves
        if leaf.outcome == "config_change"
    ]
    assert ("test-supervisor", "user_add", "ana") in changes
    assert ("test-supervisor", "user_disable", "test-officer") in changes
    assert ("test-supervisor", "user_reset", "test-officer") in changes
    assert {leaf.public.get("via") for leaf in leaves if leaf.outcome == "config_change"} == {"api"}
    assert PASSWORD not in json.dumps([dict(leaf.public) for leaf in leaves])
