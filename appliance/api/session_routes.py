"""`/api/v1/session`: log in (POST), who am I (GET), log out (DELETE).

Login answers the CSRF token in the body and sets the session cookie: HttpOnly (no script reads
it), Secure (sent over TLS only; browsers treat loopback as secure), SameSite=Strict (no other
site's page sends it), Path=/. The CSRF token is read again with GET after a page reload. Every
login, failure and logout is in the history before the answer (`AccessControl.audit`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from appliance.accounts.sessions import COOKIE, Session
from appliance.api.access import AccessControl, principal_of
from appliance.errors import ApplianceError, Reason


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def _about(session: Session, control: AccessControl) -> dict[str, Any]:
    return {
        "account": session.account,
        "role": session.role.value,
        "csrf_token": session.csrf,
        "idle_s": control.sessions.idle_s,
        "absolute_s": control.sessions.absolute_s,
    }


_LOGIN_STATUS = {
    Reason.AUTH_FAILED: 401,
    Reason.ACCOUNT_LOCKED: 423,
    Reason.LOGIN_THROTTLED: 429,
    Reason.LANE_OUT_OF_SERVICE: 503,
}


def session_router(control: AccessControl, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix)

    @router.post("/session", response_model=None)
    def login(body: Login, request: Request) -> JSONResponse:
        address = request.client.host if request.client else "unknown"
        try:
            token, session = control.login(body.username, body.password, address)
        except ApplianceError as exc:
            return JSONResponse(
                {"status": "fail", "reason": exc.reason.value, "detail": exc.detail},
                _LOGIN_STATUS.get(exc.reason, 400),
            )
        response = JSONResponse(_about(session, control))
        response.set_cookie(
            COOKIE, token, httponly=True, secure=True, samesite="strict", path="/",
            max_age=int(control.sessions.absolute_s),
        )  # fmt: skip
        return response

    @router.get("/session")
    async def whoami(request: Request) -> dict[str, Any]:
        session = principal_of(request.state)
        if session is None:  # the middleware lets no anonymous caller here
            raise ApplianceError(Reason.AUTH_REQUIRED, "log in first")
        return _about(session, control)

    @router.delete("/session", response_model=None)
    def logout(request: Request) -> JSONResponse:
        token = request.cookies.get(COOKIE)
        if token is not None:
            control.logout(token)
        response = JSONResponse({"status": "logged_out"})
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    return router
