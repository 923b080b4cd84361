"""`appliance users`: the local accounts of the service's screens.

    printf '%s\n' "$PASSWORD" | appliance users add ana --role officer --password-stdin
    appliance users list [--json] | users disable NAME | users reset NAME --password-stdin

The password is read from stdin only (never an argument: it would show in `ps` and the shell's
history). Every change is a `config_change` event in the tamper-evident history, the same as the
API's (`appliance/accounts/audit.py`: `via` `cli`, the account changed, never the password).
Exit codes: 0 done, 2 usage errors (a name taken or unknown, a weak password) and faults (the
history cannot be opened: nothing is changed).
"""

from __future__ import annotations

import json
import sys

import click

from appliance.accounts.audit import CHANGES, account_event
from appliance.accounts.store import Account, AccountStore, Role
from appliance.config import data_dir, load_config
from appliance.errors import ApplianceError
from appliance.history import Ledger

_password_stdin = click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from stdin."
)


def _store() -> AccountStore:
    return AccountStore.open(data_dir(load_config()))


def _password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _change(store: AccountStore, action: str, name: str, password: str | None,
            role: Role | None) -> Account:  # fmt: skip
    if action == "add":
        assert role is not None and password is not None
        return store.add(name, role, password)
    if action == "reset":
        assert password is not None
        return store.reset(name, password)
    return store.disable(name)


def _run(action: str, name: str, password: str | None = None, role: Role | None = None) -> None:
    """Change the account, then record it in the history as the API does (`via` `cli`, no
    acting account); a history that cannot be opened refuses the change before it is made."""
    try:
        config = load_config()
        directory = data_dir(config)
        with Ledger.open_default(directory, config) as history:
            store = AccountStore.open(directory)
            try:
                account = _change(store, action, name, password, role)
            finally:
                store.close()
            history.append(
                account_event(
                    "config_change", None, change=CHANGES[action], target=account.name, via="cli"
                )
            )
    except ApplianceError as exc:
        click.echo(f"appliance users {action}: {exc.reason.value}: {exc.detail}", err=True)
        sys.exit(2)
    except OSError:  # the history's directory or files cannot be made or read
        click.echo(f"appliance users {action}: HISTORY_STORAGE: cannot open the history", err=True)
        sys.exit(2)
    click.echo(f"{account.name}: {account.role.value}{' (disabled)' if account.disabled else ''}")


@click.group("users")
def users() -> None:
    """Local accounts of the officer, supervisor, technician and auditor screens."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@_password_stdin
def add(name: str, role: str, password_stdin: bool) -> None:
    """Create an account (password from stdin, at least 12 characters)."""
    _run("add", name, _password(), Role(role))


@users.command("reset")
@click.argument("name")
@_password_stdin
def reset(name: str, password_stdin: bool) -> None:
    """A new password (from stdin); enables and unlocks the account."""
    _run("reset", name, _password())


@users.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Refuse every further login of the account (its sessions end at their next request)."""
    _run("disable", name)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_users(as_json: bool) -> None:
    """Every account: name, role, disabled, failed logins, locked until."""
    try:
        store = _store()
        accounts = store.list()
        store.close()
    except ApplianceError as exc:
        click.echo(f"appliance users list: {exc.reason.value}: {exc.detail}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps({"accounts": [a.to_json() for a in accounts]}, sort_keys=True))
        return
    for a in accounts:
        state = (
            "disabled"
            if a.disabled
            else f"locked until {a.locked_until}"
            if a.locked_until
            else "active"
        )
        click.echo(f"{a.name}\t{a.role.value}\t{state}")
