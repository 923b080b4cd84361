"""Accounts and logged-in clients for the service tests (`appliance/accounts`, `/session`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from appliance.accounts.store import AccountStore, Role
from appliance.errors import ApplianceError, Reason

PASSWORD = "correct horse battery staple"
LOOPBACK = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.7", 40000)


def ensure_account(directory: Path, name: str, role: Role | str) -> None:
    store = AccountStore.open(directory)
    try:
        store.add(name, Role(role), PASSWORD)
    except ApplianceError as exc:
        assert exc.reason is Reason.ACCOUNT_EXISTS
    finally:
        store.close()


def local_client(app: FastAPI, client: tuple[str, int] = LOOPBACK) -> TestClient:
    """A TestClient from this machine (or `REMOTE`), over https so Secure cookies are sent."""
    return TestClient(app, base_url="https://testserver", client=client)


def log_in(client: TestClient, directory: Path, role: Role | str = "supervisor",
           name: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Create the account if needed, log in, and send the CSRF token from now on."""
    name = name or f"test-{Role(role).value}"
    ensure_account(directory, name, role)
    answer = client.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    return body
