"""The supervisor's account management: the same operations as `appliance users`.

    GET  /api/v1/users                      every account (name, role, disabled, locked until)
    POST /api/v1/users                      {"name", "role", "password"}
    POST /api/v1/users/{name}/disable       no more logins; its sessions end now
    POST /api/v1/users/{name}/reset         {"password"}; enabled and unlocked; sessions end

Each change is a `config_change` event in the history (who changed which account, `via`
`api`, never a password) before the answer; `appliance users` records the same events
(`appliance/accounts/audit.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from appliance.accounts.audit import CHANGES
from appliance.accounts.store import Role
from appliance.api.access import AccessControl, principal_of
from appliance.errors import ApplianceError, Reason


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=32)
    role: Role
    password: str = Field(min_length=1, max_length=1024)


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=1024)


def users_router(control: AccessControl, prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/users")

    def changed(request: Request, change: str, name: str) -> None:
        session = principal_of(request.state)
        account = session.account if session else None
        control.audit("config_change", account, change=change, target=name, via="api")

    @router.get("")
    def list_accounts() -> dict[str, Any]:
        return {"accounts": [a.to_json() for a in control.store.list()]}

    @router.post("", status_code=201)
    def add(body: NewAccount, request: Request) -> dict[str, Any]:
        account = control.store.add(body.name, body.role, body.password)
        changed(request, CHANGES["add"], account.name)
        return account.to_json()

    @router.post("/{name}/disable")
    def disable(name: str, request: Request) -> dict[str, Any]:
        session = principal_of(request.state)
        if session is not None and session.account == name:
            raise ApplianceError(Reason.USAGE, "an account cannot disable itself")
        account = control.store.disable(name)
        control.sessions.end_account(name)
        changed(request, CHANGES["disable"], name)
        return account.to_json()

    @router.post("/{name}/reset")
    def reset(name: str, body: NewPassword, request: Request) -> dict[str, Any]:
        account = control.store.reset(name, body.password)
        control.sessions.end_account(name)
        changed(request, CHANGES["reset"], name)
        return account.to_json()

    return router
