"""PostgreSQL access: the connection pool, versioned migrations, monthly event partitions.

Migrations are plain numbered SQL files (`migrations/NNN_name.sql`) applied in order, each in
its own transaction with its number recorded in `schema_version`, under an advisory lock so
two starting replicas cannot apply one twice. Plain SQL rather than alembic: the service has
no ORM, the schema is reviewed as the SQL PostgreSQL runs (partitioning, partial indexes), and
a failed migration rolls back whole, leaving the version where it was.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from appliance.errors import ApplianceError, Reason

DATABASE_ENV = "APPLIANCE_CENTRAL_DATABASE"
DEFAULT_DATABASE = "postgresql:///appliance_central"
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_FILE = re.compile(r"(\d{3})_[a-z0-9_]+\.sql")
_MIGRATION_LOCK = 0x53594E43  # pg_advisory_lock key of the migration runner (session)
_PARTITION_LOCK = 0x53594E44  # ... and of partition creation


def database_url(explicit: str | None) -> str:
    return explicit or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE


def unavailable(exc: BaseException) -> ApplianceError:
    """A database that cannot be reached: the device retries later (503)."""
    return ApplianceError(Reason.SYNC_UNAVAILABLE, f"database unavailable ({type(exc).__name__})")


def migration_files() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        match = _MIGRATION_FILE.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return found


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Apply every migration not yet applied; return the schema version.

    The whole run holds a session advisory lock: two workers (`serve --workers 2`) or replicas
    starting on a fresh database would otherwise race on `CREATE TABLE IF NOT EXISTS
    schema_version` (a UniqueViolation on the catalogue) or on a migration's own DDL. Inside the
    lock the applied versions are read again, so the second one in finds them applied."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        with conn.transaction():
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        version = 0
        for number, path in migration_files():
            with conn.transaction():
                done = conn.execute(
                    "SELECT 1 FROM schema_version WHERE version = %s", (number,)
                ).fetchone()
                if done is None:
                    conn.execute(path.read_text(encoding="utf-8"))
                    conn.execute(
                        "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                        (number, path.name),
                    )
            version = number
        return version
    finally:
        with suppress(psycopg.Error):  # a broken connection releases its locks itself
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


def month_start(moment: datetime) -> date:
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


class Database:
    """The pool, and the months whose `events` partition is known to exist."""

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 16) -> None:
        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True},
            reconnect_timeout=3600,
        )
        self._months: set[date] = set()
        self._months_lock = threading.Lock()

    def open(self, *, wait_s: float = 10.0) -> None:
        self.pool.open(wait=True, timeout=wait_s)
        with self.connection() as conn:
            migrate(conn)
        self.ensure_partitions([datetime.now(UTC)])

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A pooled connection (autocommit; use `conn.transaction()`), or SYNC_UNAVAILABLE."""
        try:
            with self.pool.connection(timeout=5.0) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise unavailable(exc) from exc

    def ensure_partitions(self, moments: Iterable[datetime]) -> None:
        """Create the monthly partitions these times fall in (each in its own transaction,
        before the ingest transaction, so the DDL never waits inside a device's lock)."""
        missing = {month_start(m) for m in moments} - self._months
        if not missing:
            return
        with self._months_lock, self.connection() as conn:
            for first in sorted(missing):
                name = f"events_y{first.year:04d}m{first.month:02d}"
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
                    exists = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
                    if exists is None or exists[0] is None:
                        conn.execute(
                            f"CREATE TABLE {name} PARTITION OF events FOR VALUES "
                            f"FROM ('{first.isoformat()} 00:00:00+00') "
                            f"TO ('{_next_month(first).isoformat()} 00:00:00+00')"
                        )
                self._months.add(first)
