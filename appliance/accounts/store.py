"""Local accounts in the device's data directory: Argon2id hashes, roles, lockout.

    store = AccountStore.open(directory)         # <data dir>/accounts.sqlite (0600)
    store.add("ana", Role.OFFICER, password)
    account = store.authenticate("ana", password, now)   # AUTH_FAILED / ACCOUNT_LOCKED

Why a table of its own and not the history: accounts change (passwords, lockout counters) and
the history is append-only; what happened to them (logins, failures, changes) is recorded in the
history by the service. Only the Argon2id hash (argon2-cffi's encoded form, parameters inside)
is stored. An unknown account costs the same hash as a known one, so timing does not tell which
names exist. After `MAX_FAILURES` failed logins in a row an account is locked for `LOCK_S`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir

#: failed logins in a row before an account is locked
MAX_FAILURES = 5
#: how long a locked account stays locked
LOCK_S = 15 * 60
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_NAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    disabled: bool
    failures: int
    locked_until: str | None
    created: str

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role.value,
            "disabled": self.disabled,
            "failures": self.failures,
            "locked_until": self.locked_until,
            "created": self.created,
        }


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ApplianceError(
            Reason.USAGE, "account names are 2-32 of a-z 0-9 . _ -, starting with a letter"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ApplianceError(Reason.PASSWORD_WEAK, f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ApplianceError(Reason.USAGE, f"at most {MAX_PASSWORD} characters")
    return password


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AccountStore:
    """The accounts table (thread-safe: one connection under a lock)."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()  # Argon2id, RFC 9106 low-memory profile
        self._lock = threading.Lock()
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, role TEXT NOT NULL,"
            " hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
            " failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created TEXT NOT NULL)"
        )
        self._dummy = self.hasher.hash("not a password of anyone")

    @classmethod
    def open(cls, directory: Path, hasher: PasswordHasher | None = None) -> AccountStore:
        try:
            return cls(private_dir(directory) / "accounts.sqlite", hasher)
        except (OSError, sqlite3.Error) as exc:
            raise ApplianceError(Reason.DATA_DIR_UNAVAILABLE, "cannot open the accounts") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ management

    def add(self, name: str, role: Role, password: str) -> Account:
        check_name(name)
        digest = self.hasher.hash(check_password(password))
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO accounts (name, role, hash, created) VALUES (?, ?, ?, ?)",
                    (name, role.value, digest, _iso(_now())),
                )
            except sqlite3.IntegrityError as exc:
                raise ApplianceError(Reason.ACCOUNT_EXISTS, f"account {name} exists") from exc
        return self.get(name)

    def get(self, name: str) -> Account:
        with self._lock:
            row = self._db.execute(
                "SELECT name, role, disabled, failures, locked_until, created FROM accounts"
                " WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise ApplianceError(Reason.ACCOUNT_UNKNOWN, f"no account {name}")
        return Account(row[0], Role(row[1]), bool(row[2]), row[3], row[4], row[5])

    def list(self) -> list[Account]:
        with self._lock:
            names = [r[0] for r in self._db.execute("SELECT name FROM accounts ORDER BY name")]
        return [self.get(name) for name in names]

    def disable(self, name: str) -> Account:
        self._update(name, "UPDATE accounts SET disabled = 1 WHERE name = ?", (name,))
        return self.get(name)

    def reset(self, name: str, password: str) -> Account:
        """A new password; the account is enabled and unlocked again."""
        digest = self.hasher.hash(check_password(password))
        self._update(
            name,
            "UPDATE accounts SET hash = ?, disabled = 0, failures = 0, locked_until = NULL"
            " WHERE name = ?",
            (digest, name),
        )
        return self.get(name)

    def _update(self, name: str, sql: str, args: tuple[object, ...]) -> None:
        with self._lock:
            changed = self._db.execute(sql, args).rowcount
        if not changed:
            raise ApplianceError(Reason.ACCOUNT_UNKNOWN, f"no account {name}")

    # ------------------------------------------------------------------ login

    def authenticate(self, name: str, password: str, now: datetime | None = None) -> Account:
        """The account when the password is right; `AUTH_FAILED` (unknown, wrong, disabled:
        one answer, so a name cannot be probed) or `ACCOUNT_LOCKED`."""
        moment = now or _now()
        with self._lock:
            row = self._db.execute(
                "SELECT hash, disabled, failures, locked_until FROM accounts WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None or len(password) > MAX_PASSWORD:
            self._verify(self._dummy, "x")
            raise ApplianceError(Reason.AUTH_FAILED, "wrong account name or password")
        digest, disabled, failures, locked_until = row
        if locked_until is not None and _iso(moment) < locked_until:
            raise ApplianceError(Reason.ACCOUNT_LOCKED, f"locked until {locked_until}")
        if not self._verify(digest, password) or disabled:
            failures += 1
            lock = _iso(moment + timedelta(seconds=LOCK_S)) if failures >= MAX_FAILURES else None
            with self._lock:
                self._db.execute(
                    "UPDATE accounts SET failures = ?, locked_until = ? WHERE name = ?",
                    (0 if lock else failures, lock, name),
                )
            if lock:
                raise ApplianceError(Reason.ACCOUNT_LOCKED, f"locked until {lock}")
            raise ApplianceError(Reason.AUTH_FAILED, "wrong account name or password")
        with self._lock:
            self._db.execute(
                "UPDATE accounts SET failures = 0, locked_until = NULL WHERE name = ?", (name,)
            )
            if self.hasher.check_needs_rehash(digest):
                self._db.execute(
                    "UPDATE accounts SET hash = ? WHERE name = ?",
                    (self.hasher.hash(password), name),
                )
        return self.get(name)

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self.hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
