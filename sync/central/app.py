"""The central HTTP API (FastAPI): enrolment, signed ingest, queries, artefact downlink.

Handlers read the raw body (the signature covers its exact bytes), then do the database work
in the thread pool with a pooled psycopg connection. Every refusal is JSON
`{"reason": <stable Reason>, "detail": ...}` with the status in `STATUS`; a refused batch
also carries central's `cursor`, so a device can resume from what central really holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.h11_impl import H11Protocol

from appliance.errors import ApplianceError, Reason
from sync import protocol
from sync.central import artefacts, auth, ingest, queries
from sync.central.db import Database, unavailable

log = logging.getLogger("sync.central")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

STATUS: dict[Reason, int] = {
    Reason.SYNC_AUTH_FAILED: 401,
    Reason.SYNC_REPLAY: 401,
    Reason.SYNC_TOKEN_INVALID: 401,
    Reason.SYNC_DEVICE_REVOKED: 403,
    Reason.SYNC_NOT_FOUND: 404,
    Reason.SYNC_FORK_DETECTED: 409,
    Reason.SYNC_CURSOR_STALE: 409,
    Reason.FILE_TOO_LARGE: 413,
    Reason.SYNC_BATCH_INVALID: 422,
    Reason.SYNC_CHECKPOINT_INVALID: 422,
    Reason.SYNC_PROOF_INVALID: 422,
    Reason.SYNC_UNAVAILABLE: 503,
}


class _Refused(Exception):
    def __init__(self, error: ApplianceError, extra: dict[str, Any] | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.extra = extra or {}


def _target(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > protocol.MAX_BODY_BYTES:
        raise ApplianceError(Reason.FILE_TOO_LARGE, "request body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > protocol.MAX_BODY_BYTES:
                raise ApplianceError(Reason.FILE_TOO_LARGE, "request body too large")
            chunks.append(chunk)
    except ClientDisconnect as exc:  # a cut link: nothing was stored, nobody reads an answer
        raise ApplianceError(Reason.SYNC_BATCH_INVALID, "connection closed mid-request") from exc
    return b"".join(chunks)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise ApplianceError(
            Reason.SYNC_BATCH_INVALID, "request does not match the schema"
        ) from exc


def create_app(db: Database) -> FastAPI:
    app = FastAPI(title="appliance central", version="1", docs_url=None, redoc_url=None)

    @app.exception_handler(ApplianceError)
    async def _refused(request: Request, exc: ApplianceError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(_Refused)
    async def _refused_extra(request: Request, exc: _Refused) -> JSONResponse:
        return _error(exc.error, exc.extra)

    @app.exception_handler(psycopg.Error)
    async def _db_error(request: Request, exc: psycopg.Error) -> JSONResponse:
        if isinstance(exc, psycopg.OperationalError):
            return _error(unavailable(exc))
        log.error("database error: %s", type(exc).__name__)
        return _error(ApplianceError(Reason.INTERNAL_ERROR, "database error"))

    async def signed(request: Request, work: Callable[[auth.Device, bytes], T]) -> T:
        body = await _body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        method, target = request.method, _target(request)

        def run() -> T:
            with db.connection() as conn:
                device = auth.authenticate(conn, headers, method, target, body)
            return work(device, body)

        return await run_in_threadpool(run)

    @app.get(f"{protocol.API_PREFIX}/health")
    async def health() -> dict[str, Any]:
        def run() -> dict[str, Any]:
            with db.connection() as conn:
                row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            return {"status": "ok", "schema_version": row[0] if row else None}

        return await run_in_threadpool(run)

    @app.post(f"{protocol.API_PREFIX}/devices/enrol", status_code=201)
    async def enrol(request: Request) -> dict[str, Any]:
        request_body = _parse(protocol.EnrolRequest, await _body(request))

        def run() -> dict[str, Any]:
            with db.connection() as conn:
                device_id = auth.enrol(conn, request_body)
                return ingest.cursor(conn, device_id)

        return await run_in_threadpool(run)

    def own(device: auth.Device, device_id: str) -> None:
        if device.device_id != device_id:
            raise ApplianceError(Reason.SYNC_AUTH_FAILED, "a device may only use its own log")

    @app.get(f"{protocol.API_PREFIX}/devices/{{device_id}}/cursor")
    async def get_cursor(device_id: str, request: Request) -> dict[str, Any]:
        def work(device: auth.Device, body: bytes) -> dict[str, Any]:
            own(device, device_id)
            with db.connection() as conn:
                return ingest.cursor(conn, device_id)

        return await signed(request, work)

    @app.post(f"{protocol.API_PREFIX}/devices/{{device_id}}/batches")
    async def post_batch(device_id: str, request: Request) -> dict[str, Any]:
        def work(device: auth.Device, body: bytes) -> dict[str, Any]:
            own(device, device_id)
            batch = _parse(protocol.Batch, body)
            try:
                events = ingest.decode_events(device_id, batch)
                return ingest.ingest(db, device_id, batch, events)
            except ApplianceError as exc:
                if exc.reason in (Reason.SYNC_CURSOR_STALE, Reason.SYNC_FORK_DETECTED):
                    with db.connection() as conn:
                        raise _Refused(exc, {"cursor": ingest.cursor(conn, device_id)}) from exc
                raise

        return await signed(request, work)

    @app.get(f"{protocol.API_PREFIX}/devices")
    async def list_devices(request: Request) -> dict[str, Any]:
        def work(device: auth.Device, body: bytes) -> dict[str, Any]:
            with db.connection() as conn:
                return {"devices": queries.devices(conn)}

        return await signed(request, work)

    @app.get(f"{protocol.API_PREFIX}/documents/{{pseudonym}}/checks")
    async def document_checks(pseudonym: str, request: Request, limit: int = 1000) -> Any:
        def work(device: auth.Device, body: bytes) -> dict[str, Any]:
            with db.connection() as conn:
                return queries.document_checks(conn, pseudonym, limit)

        return await signed(request, work)

    @app.get(f"{protocol.API_PREFIX}/artefacts")
    async def list_artefacts(request: Request) -> dict[str, Any]:
        def work(device: auth.Device, body: bytes) -> dict[str, Any]:
            with db.connection() as conn:
                return {"artefacts": artefacts.current(conn)}

        return await signed(request, work)

    @app.get(f"{protocol.API_PREFIX}/artefacts/{{kind}}/{{version}}")
    async def get_artefact(kind: str, version: int, request: Request) -> dict[str, Any]:
        def work(device: auth.Device, body: bytes) -> dict[str, Any]:
            with db.connection() as conn:
                return artefacts.fetch(conn, kind, version)

        return await signed(request, work)

    return app


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY on every connection. asyncio sets it itself
    only on sockets it recognises as TCP, which excludes the listening socket uvicorn hands to
    its worker processes: there Nagle's algorithm against the client's delayed ACK added
    ~40 ms to every request after the first on a kept-alive connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_from_env() -> FastAPI:
    """The app over `$APPLIANCE_CENTRAL_DATABASE`: uvicorn's factory for each worker process
    (`appliance central serve --workers N`)."""
    from sync.central.db import database_url

    db = Database(database_url(None))
    db.open(wait_s=30.0)
    return create_app(db)


def _error(exc: ApplianceError, extra: dict[str, Any] | None = None) -> JSONResponse:
    status = STATUS.get(exc.reason, 500)
    if status == 500:
        log.error("central refused a request: %s", exc.reason.value)
    return JSONResponse(
        {"reason": exc.reason.value, "detail": exc.detail, **(extra or {})}, status_code=status
    )
