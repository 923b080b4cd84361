"""Local accounts (`appliance/accounts/store.py`) and `appliance users` (#15 item 1)."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.accounts.store import LOCK_S, MAX_FAILURES, AccountStore, Role
from appliance.cli import cli
from appliance.config import load_config
from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger

PASSWORD = "correct horse battery staple"


def test_passwords_are_argon2id_hashes_in_a_private_file(tmp_path: Path) -> None:
    store = AccountStore.open(tmp_path)
    store.add("ana", Role.OFFICER, PASSWORD)
    store.close()
    path = tmp_path / "accounts.sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (digest,) = sqlite3.connect(path).execute("SELECT hash FROM accounts").fetchone()
    assert digest.startswith("$argon2id$") and PASSWORD not in digest


def test_login_lockout_and_reset(tmp_path: Path) -> None:
    store = AccountStore.open(tmp_path)
    store.add("ana", Role.OFFICER, PASSWORD)
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert store.authenticate("ana", PASSWORD, now).role is Role.OFFICER
    for attempt in range(1, MAX_FAILURES + 1):
        with pytest.raises(ApplianceError) as failed:
            store.authenticate("ana", "wrong password!", now)
        expected = Reason.ACCOUNT_LOCKED if attempt == MAX_FAILURES else Reason.AUTH_FAILED
        assert failed.value.reason is expected
    with pytest.raises(ApplianceError) as locked:
        store.authenticate("ana", PASSWORD, now + timedelta(seconds=LOCK_S - 1))
    assert locked.value.reason is Reason.ACCOUNT_LOCKED
    assert store.authenticate("ana", PASSWORD, now + timedelta(seconds=LOCK_S + 1)).name == "ana"
    store.reset("ana", "another long password")
    with pytest.raises(ApplianceError):
        store.authenticate("ana", PASSWORD, now)
    assert store.authenticate("ana", "another long password", now).name == "ana"


def test_unknown_disabled_and_weak(tmp_path: Path) -> None:
    store = AccountStore.open(tmp_path)
    with pytest.raises(ApplianceError) as weak:
        store.add("ana", Role.OFFICER, "short")
    assert weak.value.reason is Reason.PASSWORD_WEAK
    store.add("ana", Role.OFFICER, PASSWORD)
    with pytest.raises(ApplianceError) as taken:
        store.add("ana", Role.AUDITOR, PASSWORD)
    assert taken.value.reason is Reason.ACCOUNT_EXISTS
    with pytest.raises(ApplianceError) as unknown:
        store.authenticate("bob", PASSWORD)
    assert unknown.value.reason is Reason.AUTH_FAILED  # the same answer as a wrong password
    store.disable("ana")
    with pytest.raises(ApplianceError) as disabled:
        store.authenticate("ana", PASSWORD)
    assert disabled.value.reason is Reason.AUTH_FAILED
    with pytest.raises(ApplianceError) as bad_name:
        store.add("Robert'); DROP", Role.OFFICER, PASSWORD)
    assert bad_name.value.reason is Reason.USAGE


def test_users_command(data_dir: Path) -> None:
    run = CliRunner()
    added = run.invoke(cli, ["users", "add", "ana", "--role", "officer", "--password-stdin"],
                       input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0 and added.output.strip() == "ana: officer"
    tech = run.invoke(cli, ["users", "add", "tom", "--role", "technician", "--password-stdin"],
                      input=PASSWORD + "\n")  # fmt: skip
    assert tech.exit_code == 0
    again = run.invoke(cli, ["users", "add", "ana", "--role", "auditor", "--password-stdin"],
                       input=PASSWORD + "\n")  # fmt: skip
    assert again.exit_code == 2 and "ACCOUNT_EXISTS" in again.output
    weak = run.invoke(cli, ["users", "add", "bob", "--role", "officer", "--password-stdin"],
                      input="short\n")  # fmt: skip
    assert weak.exit_code == 2 and "PASSWORD_WEAK" in weak.output
    no_stdin = run.invoke(cli, ["users", "add", "bob", "--role", "officer"])
    assert no_stdin.exit_code == 2
    assert run.invoke(cli, ["users", "disable", "tom"]).exit_code == 0
    listed = json.loads(run.invoke(cli, ["users", "list", "--json"]).output)["accounts"]
    assert [(a["name"], a["role"], a["disabled"]) for a in listed] == [
        ("ana", "officer", False),
        ("tom", "technician", True),
    ]
    reset = run.invoke(cli, ["users", "reset", "tom", "--password-stdin"],
                       input="a brand new password\n")  # fmt: skip
    assert reset.exit_code == 0
    store = AccountStore.open(data_dir)
    assert store.authenticate("tom", "a brand new password").role is Role.TECHNICIAN
    assert run.invoke(cli, ["users", "disable", "nobody"]).exit_code == 2
    assert PASSWORD not in json.dumps(listed)


def test_users_command_changes_are_in_the_history_like_the_api_ones(data_dir: Path) -> None:
    run = CliRunner()
    for args, stdin in (
        (["add", "ana", "--role", "officer", "--password-stdin"], PASSWORD),
        (["disable", "ana"], None),
        (["reset", "ana", "--password-stdin"], "a brand new password"),
        (["add", "ana", "--role", "auditor", "--password-stdin"], PASSWORD),  # refused
    ):
        run.invoke(cli, ["users", *args], input=None if stdin is None else stdin + "\n")
    with Ledger.open_default(data_dir, load_config()) as history:
        leaves = [v.leaf for v in history.recent(20)]
        assert history.verify().ok
    changes = [leaf for leaf in leaves if leaf.outcome == "config_change"]

    # the API's event (appliance/api/users_routes.py), with the console as the actor
    def key(kind: str, reasons: tuple[str, ...] | list[str], public: dict[str, object]) -> str:
        return json.dumps([kind, list(reasons), public], sort_keys=True)

    expected = {"account": None, "target": "ana", "via": "cli"}
    assert sorted(key(c.type, c.reasons, dict(c.public)) for c in changes) == sorted(
        key("officer_action", ["OK"], {**expected, "change": change})
        for change in ("user_add", "user_disable", "user_reset")
    )
    text = json.dumps([dict(leaf.public) for leaf in leaves])
    assert PASSWORD not in text and "brand new" not in text


def test_users_command_refuses_a_change_it_cannot_record(data_dir: Path) -> None:
    (data_dir / "history").write_text("not a directory")  # the history cannot be opened
    run = CliRunner()
    added = run.invoke(cli, ["users", "add", "ana", "--role", "officer", "--password-stdin"],
                       input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 2 and "Traceback" not in added.output
    assert AccountStore.open(data_dir).list() == []
