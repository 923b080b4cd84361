"""Authorisation of every request, from one table (`appliance/accounts/rules.py`).

    app = FastAPI(dependencies=[Depends(authorise)])          # every API route
    app.add_middleware(AccessMiddleware, control=control, routes=lambda: app.router.routes)

The middleware sees every request first: beyond loopback it must have come over TLS
(`TLS_REQUIRED`, whatever the route), and the session cookie, if any, is resolved. Then the rule
of the route that answers is applied by one function, `decide` (by the middleware for the app's
own non-API routes: the OpenAPI document and static page mounts; by the app-wide dependency
`authorise` for API routes, once the router has chosen one; no rule: refused):

- a rule that allows anonymous use from here passes (the session is attached if it could act);
- otherwise a live session is needed (`AUTH_REQUIRED`, `SESSION_EXPIRED`), of an account that
  is still enabled, with a role the rule names (`ROLE_FORBIDDEN`);
- a state change (any method but GET/HEAD/OPTIONS) made with a session carries its CSRF token
  in `X-CSRF-Token` (`CSRF_INVALID`); SameSite=Strict cookies are the second fence.

Why not a check per endpoint: one table covers every route, and a new route is refused until
it is given a rule. The endpoint finds the caller in `request.state.principal` (a `Session` or
None).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from appliance.accounts.audit import account_event
from appliance.accounts.rules import rule_for
from appliance.accounts.sessions import COOKIE, CSRF_HEADER, Session, Sessions
from appliance.accounts.store import AccountStore
from appliance.errors import ApplianceError, Reason
from appliance.history.port import History

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback_address(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AccessControl:
    """Accounts, sessions and the audit trail behind the login routes and the middleware."""

    def __init__(
        self,
        directory: Path,
        history: Callable[[], History | None],
        sessions: Sessions | None = None,
    ) -> None:
        self.directory = directory
        self.history = history
        self.sessions = sessions or Sessions()
        self._store: AccountStore | None = None

    @property
    def store(self) -> AccountStore:
        if self._store is None:  # opened at first use: the data directory is the lane's
            self._store = AccountStore.open(self.directory)
        return self._store

    def audit(self, outcome: str, account: str | None, reason: Reason = Reason.OK,
              **public: str | None) -> None:  # fmt: skip
        """Record an account event in the history (the account name, never a password, never a
        name typed that is no account); durable before the caller answers."""
        history = self.history()
        if history is None:
            raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the history is not open yet")
        history.append(account_event(outcome, account, reason, **public))

    def login(self, name: str, password: str, address: str) -> tuple[str, Session]:
        if self.history() is None:  # a login that cannot be recorded does not happen
            raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the history is not open yet")
        self.sessions.throttle(address)
        try:
            account = self.store.authenticate(name, password)
        except ApplianceError as exc:
            known = self._exists(name)
            self.audit("login_failed", name if known else None, exc.reason)
            raise
        token, session = self.sessions.create(account.name, account.role)
        self.audit("login", account.name, role=account.role.value)
        return token, session

    def logout(self, token: str) -> None:
        session = self.sessions.end(token)
        if session is not None:
            self.audit("logout", session.account)

    def principal(self, token: str) -> Session:
        session = self.sessions.get(token)
        try:
            account = self.store.get(session.account)
        except ApplianceError:
            account = None
        if account is None or account.disabled or account.role is not session.role:
            self.sessions.end_account(session.account)
            raise ApplianceError(Reason.AUTH_REQUIRED, "the account was disabled or changed")
        return session

    def _exists(self, name: str) -> bool:
        try:
            self.store.get(name)
        except ApplianceError:
            return False
        return True


_STATUS = {
    Reason.AUTH_REQUIRED: 401,
    Reason.SESSION_EXPIRED: 401,
    Reason.ROLE_FORBIDDEN: 403,
    Reason.CSRF_INVALID: 403,
    Reason.TLS_REQUIRED: 403,
}


def _top_level(routes: Sequence[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The app's own route (not in an included router) that will answer, if any."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            text: str = value.decode("latin-1")
            for part in text.split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE and val:
                    return val
    return None


def _header(scope: Scope, wanted: str) -> str | None:
    for name, value in scope.get("headers", []):
        if name.decode("latin-1").lower() == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


class _Caller:
    """Who is calling, as the middleware found out before routing."""

    def __init__(self, local: bool, session: Session | None, refused: ApplianceError | None):
        self.local = local
        self.session = session
        self.refused = refused


def decide(caller: _Caller, method: str, template: str, csrf_token: str | None) -> Session | None:
    """The rule of the route applied to the caller: the session to act as (None: anonymous),
    or `ApplianceError` (AUTH_REQUIRED, SESSION_EXPIRED, ROLE_FORBIDDEN, CSRF_INVALID)."""
    rule = rule_for(method, template)
    if rule is None:
        raise ApplianceError(Reason.ROLE_FORBIDDEN, "no access rule for this route")
    session = caller.session
    csrf_ok = method in _SAFE or (session is not None and session.csrf_ok(csrf_token))
    anonymous_ok = rule.anonymous == "anywhere" or (rule.anonymous == "loopback" and caller.local)
    if anonymous_ok:  # with a session only when it could act here (role and CSRF token)
        return session if session is not None and session.role in rule.roles and csrf_ok else None
    if session is None:
        raise caller.refused or ApplianceError(Reason.AUTH_REQUIRED, "log in first")
    if session.role not in rule.roles:
        raise ApplianceError(Reason.ROLE_FORBIDDEN, f"not for the {session.role.value} role")
    if not csrf_ok:
        raise ApplianceError(Reason.CSRF_INVALID, "missing or wrong X-CSRF-Token")
    return session


class AccessMiddleware:
    """TLS beyond loopback and the caller's session for every request; the rule of the app's
    own non-API routes (the OpenAPI document, static page mounts). API routes are decided by
    `authorise`, the app-wide dependency, once the router has chosen the route."""

    def __init__(
        self, app: ASGIApp, control: AccessControl, routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self.control = control
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            caller = self._caller(scope)
            scope.setdefault("state", {})["caller"] = caller
            route = _top_level(self.routes(), scope)
            if isinstance(route, Route | Mount) and not isinstance(route, APIRoute):
                template = str(getattr(route, "path", ""))
                method = "*" if isinstance(route, Mount) else scope["method"]
                principal = decide(caller, method, template, _header(scope, CSRF_HEADER))
                scope["state"]["principal"] = principal
        except ApplianceError as exc:
            await _refuse(send, _STATUS.get(exc.reason, 403), exc)
            return
        await self.app(scope, receive, send)

    def _caller(self, scope: Scope) -> _Caller:
        client = scope.get("client")
        local = is_loopback_address(client[0] if client else None)
        if not local and scope.get("scheme") != "https":
            raise ApplianceError(Reason.TLS_REQUIRED, "use https beyond this device")
        token = _cookie(scope)
        if token is None:
            return _Caller(local, None, None)
        try:
            return _Caller(local, self.control.principal(token), None)
        except ApplianceError as exc:
            return _Caller(local, None, exc)


async def authorise(request: Request) -> None:
    """The app-wide dependency: the rule of the API route the router chose."""
    route = request.scope.get("route")
    caller = getattr(request.state, "caller", None)
    if not isinstance(route, APIRoute) or not isinstance(caller, _Caller):
        raise AccessRefused(ApplianceError(Reason.ROLE_FORBIDDEN, "no access rule"))
    try:
        request.state.principal = decide(
            caller, request.method, route.path, request.headers.get(CSRF_HEADER)
        )
    except ApplianceError as exc:
        raise AccessRefused(exc) from None


class AccessRefused(Exception):
    """Raised by `authorise`; the app answers it as the middleware does (`refusal`)."""

    def __init__(self, error: ApplianceError) -> None:
        super().__init__(error.reason.value)
        self.error = error


def refusal(error: ApplianceError) -> JSONResponse:
    status = _STATUS.get(error.reason, 403)
    headers = {"WWW-Authenticate": 'Cookie realm="appliance"'} if status == 401 else None
    return JSONResponse(
        {"status": "fail", "reason": error.reason.value, "detail": error.detail}, status, headers
    )


async def _refuse(send: Send, status: int, exc: ApplianceError) -> None:
    body = json.dumps({"status": "fail", "reason": exc.reason.value, "detail": exc.detail}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Cookie realm="appliance"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def principal_of(state: Any) -> Session | None:
    """The caller of a request (`request.state`), as the middleware found it."""
    found: Session | None = getattr(state, "principal", None)
    return found
