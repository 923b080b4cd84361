"""`appliance central`: run the central sync service and administer it.

Loaded by name from `appliance/cli.py` (the `sync/` tree is not in the product wheel: a
device without it says "not available in this build"). Every command takes `--database URL`
(default `$APPLIANCE_CENTRAL_DATABASE`, else `postgresql:///appliance_central`) and applies
pending migrations first. Exit codes: 0 done, 1 refused (e.g. an artefact version not above
the current), 2 usage errors and faults (database unreachable).
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from appliance.cli_output import EXIT_FAILED, EXIT_FAULT, refuse
from appliance.errors import ApplianceError, Reason

_database = click.option(
    "--database", "database", default=None, help="PostgreSQL URL (libpq conninfo)."
)


def _fail(error: ApplianceError, as_json: bool = False) -> NoReturn:
    refused = error.reason in (Reason.SYNC_ARTEFACT_VERSION, Reason.WATCHLIST_INVALID)
    refuse(error.reason, error.detail, as_json, who="appliance central",
           exit_code=EXIT_FAILED if refused else EXIT_FAULT)  # fmt: skip


@contextmanager
def _opened(database: str | None, as_json: bool = False) -> Iterator[Any]:
    from sync.central.db import Database, database_url

    db = Database(database_url(database), min_size=1, max_size=2)
    try:
        try:
            db.open(wait_s=10.0)
        except Exception as exc:  # pool timeout, refused connection, bad URL
            raise ApplianceError(Reason.SYNC_UNAVAILABLE, "cannot reach the database") from exc
        with db.connection() as conn:
            yield conn
    except ApplianceError as exc:
        _fail(exc, as_json)
    finally:
        db.close()


@click.group()
def central() -> None:
    """The central sync service: witness of every device's history, queries, artefacts."""


@central.command()
@_database
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=click.IntRange(1, 65535))
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (each with its own connection pool).",
)
@click.option(
    "--throwaway-db",
    is_flag=True,
    help="A developer's first run: start a PostgreSQL cluster in a temporary directory "
    "(Debian's postgresql), print its URL, remove it on exit.",
)
def serve(
    database: str | None,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    workers: int,
    throwaway_db: bool,
) -> None:
    """Serve the API (FastAPI on uvicorn) over the PostgreSQL store."""
    if not throwaway_db:
        _serve(database, host, port, tls_cert, tls_key, workers)
        return
    from sync.central.pgcluster import TempCluster

    try:
        cluster = TempCluster(durable=True).start()
    except Exception as exc:  # no server binaries, initdb or pg_ctl failed
        _fail(ApplianceError(Reason.SYNC_UNAVAILABLE, f"no throwaway cluster ({exc})"))
    click.echo(f"central: throwaway database {cluster.url}", err=True)
    click.echo(f"  export APPLIANCE_CENTRAL_DATABASE='{cluster.url}'", err=True)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; as SystemExit here, so
    # the cluster below is still removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _serve(cluster.url, host, port, tls_cert, tls_key, workers)
    finally:
        cluster.stop()


def _serve(
    database: str | None,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    workers: int,
) -> None:
    import os

    import uvicorn

    from sync.central.app import NoDelayH11Protocol, create_app
    from sync.central.db import DATABASE_ENV, Database, database_url

    if (tls_cert is None) != (tls_key is None):
        _fail(ApplianceError(Reason.USAGE, "--tls-cert and --tls-key go together"))
    server: dict[str, Any] = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key}
    server["http"] = NoDelayH11Protocol
    if workers > 1:
        os.environ[DATABASE_ENV] = database_url(database)
        uvicorn.run(
            "sync.central.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            **server,
        )
        return
    db = Database(database_url(database))
    try:
        db.open(wait_s=30.0)
    except Exception as exc:
        _fail(ApplianceError(Reason.SYNC_UNAVAILABLE, f"cannot reach the database ({exc})"))
    try:
        uvicorn.run(
            create_app(db),
            host=host,
            port=port,
            log_level="warning",
            **server,
        )
    finally:
        db.close()


@central.command()
@_database
def migrate(database: str | None) -> None:
    """Apply pending schema migrations and print the schema version."""
    with _opened(database) as conn:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    click.echo(f"schema version {row[0]}")


@central.command()
@_database
@click.option("--device", "device_id", required=True, help="The device's id (its config's).")
@click.option("--ttl-hours", default=24, show_default=True, type=click.IntRange(1, 24 * 30))
def token(database: str | None, device_id: str, ttl_hours: int) -> None:
    """Print a one-time enrolment token for a new device."""
    from sync.central import auth

    with _opened(database) as conn:
        try:
            issued = auth.issue_token(conn, device_id, timedelta(hours=ttl_hours))
        except ApplianceError as exc:
            _fail(exc)
    click.echo(issued)


@central.command()
@_database
@click.option("--device", "device_id", required=True)
def revoke(database: str | None, device_id: str) -> None:
    """Refuse every further request of a device."""
    from sync.central import auth

    with _opened(database) as conn:
        if not auth.revoke(conn, device_id):
            _fail(ApplianceError(Reason.USAGE, "no such device"))
    click.echo(f"revoked {device_id}")


@central.command()
@_database
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(database: str | None, as_json: bool) -> None:
    """Per device: events stored, witnessed checkpoint size, witness state, last seen."""
    from sync.central import queries

    with _opened(database, as_json) as conn:
        result = queries.stats(conn)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for d in result["devices"]:
        click.echo(
            f"{d['device_id']}: {d['events']} events, checkpoint {d['checkpoint_size']},"
            f" witness {d['witness']}, last seen {d['last_seen'] or 'never'}"
        )


@central.command()
@_database
@click.option("--document", "number", required=True, help="Document number as printed.")
@click.option("--issuer", required=True, help="Issuing state (ICAO 9303 code).")
@click.option("--type", "doc_type", default="P", show_default=True, help="Document code.")
@click.option(
    "--national-key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The authority's national pseudonymisation key (the devices' one, raw bytes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def checks(
    database: str | None,
    number: str,
    issuer: str,
    doc_type: str,
    key_path: Path,
    as_json: bool,
) -> None:
    """Every check of a document across all devices (when, where, outcome)."""
    from appliance.history.events import DocumentRef
    from appliance.inputs import read_input_file
    from sync import protocol
    from sync.central import queries

    try:
        key = read_input_file(key_path, 4096)
        pseudonym = protocol.national_pseudonym(key, DocumentRef(issuer, number, doc_type))
    except ApplianceError as exc:
        _fail(exc, as_json)
    except ValueError as exc:
        _fail(ApplianceError(Reason.USAGE, str(exc)), as_json)
    with _opened(database, as_json) as conn:
        result = queries.document_checks(conn, pseudonym, queries.MAX_CHECKS)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for check in result["checks"]:
        click.echo(
            f"{check['time']}  {check['device_id']}  {check['location']}  {check['outcome']}"
            f"  {','.join(check['reasons'])}"
        )
    click.echo(f"{len(result['checks'])} checks")


@central.command()
@_database
@click.argument(
    "kind",
    type=click.Choice(
        [
            "masterlist",
            "crl",
            "deviations",
            "watchlist",
            "policy",
            "config",
            "model",
            "watchlist-delta",
        ]
    ),
)
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The border authority's Ed25519 private key (PEM).",
)
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    default=None,
    help="Default: the current version + 1.",
)
def publish(
    database: str | None, kind: str, file: Path, key_path: Path, version: int | None
) -> None:
    """Sign an artefact with KEY and publish it as a new version for the devices.

    watchlist-delta: FILE is the next full watchlist under the newest list's key; it is
    published as that version in full and as a delta from the newest list."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from appliance.inputs import read_input_file
    from sync.central import artefacts

    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        _fail(ApplianceError(Reason.FILE_UNREADABLE, f"key unreadable ({type(exc).__name__})"))
    if not isinstance(key, Ed25519PrivateKey):
        _fail(ApplianceError(Reason.USAGE, "the key must be an Ed25519 private key"))
    try:
        content = read_input_file(file, 512 * 1024 * 1024)
    except ApplianceError as exc:
        _fail(exc)
    with _opened(database) as conn:
        try:
            published = artefacts.publish(conn, kind, content, key, version)
        except ApplianceError as exc:
            _fail(exc)
    click.echo(f"published {kind} version {published}")
