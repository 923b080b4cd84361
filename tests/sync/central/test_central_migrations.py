"""Schema migrations on a fresh database, run by several starters at once (`central serve
--workers 2` or replicas starting together): each succeeds and the schema is applied once."""

from __future__ import annotations

import threading

import psycopg

from sync.central.db import migrate, migration_files
from sync.central.pgcluster import TempCluster
from tests.sync.conftest import fresh_database

MIGRATORS = 4
ROUNDS = 4


def _concurrent_migrations(url: str) -> list[BaseException | int]:
    barrier = threading.Barrier(MIGRATORS)
    results: list[BaseException | int] = [0] * MIGRATORS
    conns = [psycopg.connect(url, autocommit=True) for _ in range(MIGRATORS)]

    def run(slot: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[slot] = migrate(conns[slot])
        except BaseException as exc:  # the test reports whatever it was
            results[slot] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(MIGRATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for conn in conns:
        conn.close()
    return results


def test_concurrent_migrators_on_a_fresh_database_all_succeed_and_apply_once(
    pg_cluster: TempCluster,
) -> None:
    latest = migration_files()[-1][0]
    for _ in range(ROUNDS):  # the race is a matter of timing: several fresh databases
        url = fresh_database(pg_cluster)
        results = _concurrent_migrations(url)
        assert results == [latest] * MIGRATORS, results
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'devices'"
            ).fetchone()
        assert [r[0] for r in rows] == [n for n, _ in migration_files()]
        assert tables == (1,)
        # the lock is released: a later start migrates (nothing to do) without waiting
        with psycopg.connect(url, autocommit=True) as conn:
            assert migrate(conn) == latest
