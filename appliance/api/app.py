"""The local API of the running appliance (FastAPI): `/api/v1`, `/metrics`, loopback only.

    app = create_app(service)        # a started or not-yet-started LaneService

What the screens that come next (traveller kiosk, guard handheld, technician page) read and
drive: health (503 until the lane is ready), the lane's state and its ordered event stream
(server-sent events, no personal data), handheld checks (start, cancel), recent checks and one
check's report, history records, Prometheus metrics. In simulated mode `/api/v1/sim/...` puts a
simulated traveller at the lane and pulls the simulated reader; elsewhere those routes answer
404. Input is validated by pydantic; every refusal is JSON with a stable `reason` code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.access import (
    AccessControl,
    AccessMiddleware,
    AccessRefused,
    authorise,
    refusal,
)
from appliance.api.guard_pages import install_guard_pages
from appliance.api.kiosk import install_kiosk
from appliance.api.lane_service import LaneService
from appliance.api.maintenance_routes import LogBuffer, maintenance_router
from appliance.api.officer_routes import NotFound, officer_router
from appliance.api.review_routes import review_router
from appliance.api.session_routes import session_router
from appliance.api.users_routes import users_router
from appliance.emrtd.session import CanKey, MrzKey
from appliance.errors import ApplianceError, Reason
from appliance.inspection.lane_loop import LaneLoop
from appliance.inspection.lane_requests import OfficerInput

API = "/api/v1"
#: seconds between keep-alive comments on an idle event stream
KEEPALIVE_S = 15.0
#: how many of the newest history records `GET /checks/{id}` searches beyond the lane's memory
HISTORY_LOOKUP = 200

_STATUS = {
    Reason.USAGE: 400,
    Reason.LANE_BUSY: 409,
    Reason.LANE_OUT_OF_SERVICE: 503,
    Reason.AUTH_REQUIRED: 401,
    Reason.ROLE_FORBIDDEN: 403,
    Reason.DECISION_NOTE_REQUIRED: 422,
    Reason.ACCOUNT_UNKNOWN: 404,
    Reason.PASSWORD_WEAK: 422,
    Reason.SPEECH_UNAVAILABLE: 503,
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartCheck(_Body):
    """Start a handheld check (the officer's button), with what the officer typed, if anything:
    the printed MRZ, or the document number and dates, or the CAN (at most one of them)."""

    mrz: list[Annotated[str, Field(pattern=r"^[A-Z0-9<]{30,44}$")]] | None = Field(
        default=None, min_length=2, max_length=3
    )
    document_number: str | None = Field(default=None, pattern=r"^[A-Z0-9<]{1,20}$")
    date_of_birth: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    date_of_expiry: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    can: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    def officer_input(self) -> OfficerInput | None:
        dates = (self.document_number, self.date_of_birth, self.date_of_expiry)
        given = [self.mrz is not None, any(d is not None for d in dates), self.can is not None]
        if sum(given) > 1:
            raise ApplianceError(Reason.USAGE, "give the MRZ, or number and dates, or the CAN")
        if self.can is not None:
            return OfficerInput(access_key=CanKey(self.can))
        if any(d is not None for d in dates):
            if not all(d is not None for d in dates):
                raise ApplianceError(Reason.USAGE, "number, birth and expiry dates together")
            number, birth, expiry = (str(d) for d in dates)
            return OfficerInput(access_key=MrzKey(number.rstrip("<"), birth, expiry))
        if self.mrz is not None:
            return OfficerInput(mrz_lines=tuple(self.mrz))
        return None


class SimTraveller(_Body):
    kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")
    #: wait for the lane's decision (else return at once with the reference)
    wait: bool = True
    timeout_s: float = Field(default=60.0, gt=0, le=300)
    #: an ICAO nationality code for DG1 (the kiosk's language follows it)
    nationality: str | None = Field(default=None, pattern=r"^[A-Z]{1,3}$")
    #: the traveller walks away instead of through the open gate
    leaves: bool = False


class SimReader(_Body):
    plugged: bool


def _refusal(status: int, reason: Reason, detail: str) -> JSONResponse:
    return JSONResponse({"status": "fail", "reason": reason.value, "detail": detail}, status)


class _Wakeup:
    """Wakes the event-stream coroutines when the lane thread appends an event."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event = asyncio.Event()

    def fire_threadsafe(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


def create_app(service: LaneService, access: AccessControl | None = None) -> FastAPI:
    wakeup = _Wakeup()
    control = access or AccessControl(service.directory, lambda: service.history)
    logs = LogBuffer()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wakeup.loop = asyncio.get_running_loop()
        wakeup.event = asyncio.Event()
        service.events.add_listener(wakeup.fire_threadsafe)
        logging.getLogger().addHandler(logs)  # the technician's log view and bundle
        try:
            yield
        finally:
            service.events.remove_listener(wakeup.fire_threadsafe)
            logging.getLogger().removeHandler(logs)

    app = FastAPI(
        title="Border appliance",
        version="1",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(authorise)],  # who may use which route: appliance/api/access.py
    )
    app.state.service = service
    app.state.access = control
    # who may use which route: one table, one middleware (appliance/api/access.py)
    app.add_middleware(AccessMiddleware, control=control, routes=lambda: app.router.routes)
    app.include_router(session_router(control, API))
    app.include_router(officer_router(service, API))
    app.include_router(maintenance_router(service, control, logs, API))
    app.include_router(users_router(control, API))
    app.include_router(review_router(service, API))
    api = APIRouter(prefix=API)

    @app.exception_handler(AccessRefused)
    async def _access_refused(request: Request, exc: AccessRefused) -> JSONResponse:
        return refusal(exc.error)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _refusal(404, exc.reason, exc.detail)

    @app.exception_handler(ApplianceError)
    async def _appliance_error(request: Request, exc: ApplianceError) -> JSONResponse:
        return _refusal(_STATUS.get(exc.reason, 409), exc.reason, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            {
                "status": "fail",
                "reason": Reason.USAGE.value,
                "detail": f"{where}: {first.get('msg', 'invalid')}",
                "errors": [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors],
            },
            422,
        )

    # Endpoints that only read the lane's memory run on the event loop (`async def`: no thread
    # hand-off); those that read the history, which the lane appends to, run in the thread pool.
    def lane() -> LaneLoop:
        loop = service.loop
        if loop is None:
            raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the lane is not ready")
        return loop

    @api.get("/health")
    async def health() -> JSONResponse:
        status, body = service.health()
        return JSONResponse(body, status)

    @api.get("/lane")
    async def lane_state() -> dict[str, Any]:
        return lane().status()

    @api.get("/lane/events")
    async def lane_events(
        request: Request,
        since: int = Query(0, ge=0, description="send the events after this sequence number"),
        limit: int | None = Query(None, ge=1, le=100_000, description="end after this many"),
    ) -> StreamingResponse:
        last = request.headers.get("last-event-id", "")
        start = int(last) if last.isdigit() else since

        async def stream() -> AsyncIterator[str]:
            seq, sent = start, 0
            while True:
                waiter = wakeup.event
                for event in service.events.since(seq):
                    seq = event.seq
                    sent += 1
                    data = json.dumps(event.to_json(), separators=(",", ":"))
                    yield f"id: {event.seq}\nevent: {event.type.value}\ndata: {data}\n\n"
                    if limit is not None and sent >= limit:
                        return
                if await request.is_disconnected():
                    return
                try:
                    await asyncio.wait_for(waiter.wait(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @api.post("/checks", status_code=202)
    async def start_check(body: StartCheck | None = None) -> dict[str, Any]:
        loop = lane()
        loop.start_check(body.officer_input() if body is not None else None)
        return {"status": "waiting_document", "lane": loop.status()["state"]}

    @api.post("/checks/current/cancel")
    async def cancel_check() -> dict[str, Any]:
        return {"cancelled": lane().cancel_check()}

    @api.get("/checks")
    def recent_checks(recent: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
        """The newest checks, newest first: this run's from memory, older ones from the
        history (so they survive a restart) without holding the history while the lane runs."""
        loop = lane()
        checks = [record.summary() for record in loop.recent(recent)]
        history = service.history
        if len(checks) < recent and history is not None:
            seen = {c["check_id"] for c in checks}
            for view in history.recent((recent - len(checks) + len(seen)) * 4):
                if view.leaf.type == "check" and view.leaf.event_id not in seen:
                    checks.append(_check_summary(view.index, view.leaf.event_id, view.leaf))
                if len(checks) >= recent:
                    break
        return {"checks": checks}

    @api.get("/checks/{check_id}", response_model=None)
    def one_check(check_id: str) -> dict[str, Any] | JSONResponse:
        if len(check_id) > 64:
            raise ApplianceError(Reason.USAGE, "check id too long")
        record = lane().check(check_id)
        if record is not None:
            return record.to_json()
        history = service.history  # an older check: among the newest records (bounded: the
        for view in history.recent(HISTORY_LOOKUP) if history is not None else []:  # lane waits
            if view.leaf.type == "check" and view.leaf.event_id == check_id:
                summary = _check_summary(view.index, view.leaf.event_id, view.leaf)
                return {**summary, "report": view.leaf.public.get("report")}
        return _refusal(404, Reason.USAGE, "no such check")

    @api.get("/selftest")
    def selftest() -> dict[str, Any]:
        """One named check per configured part (`appliance selftest`), status and reason."""
        lane()
        return service.selftest()

    @api.get("/history")
    def history_records(recent: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
        """The newest history records (every type), without personal data."""
        history = service.history
        if history is None:
            raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the lane is not ready")
        return {
            "records": [
                {
                    "index": v.index,
                    "event_id": v.leaf.event_id,
                    "type": v.leaf.type,
                    "time": v.leaf.time,
                    "outcome": v.leaf.outcome,
                    "reasons": list(v.leaf.reasons),
                    "personal": v.personal_status,
                    "proven": v.proven,
                }
                for v in history.recent(recent)
            ]
        }

    # ------------------------------------------------------------------ simulated mode

    def simulation() -> Any:
        hook = service.simulation
        if hook is None:
            raise _NotSimulated()
        return hook

    @api.get("/sim/kinds")
    async def sim_kinds() -> dict[str, Any]:
        return {"kinds": simulation().traveller_kinds()}

    @api.post("/sim/travellers")
    async def sim_traveller(body: SimTraveller) -> dict[str, Any]:
        hook = simulation()
        lane()
        ref = await asyncio.to_thread(  # builds a chip
            hook.place_traveller, body.kind, nationality=body.nationality, leaves=body.leaves
        )
        if not body.wait:
            return {"kind": body.kind, "ref": ref}
        deadline = time.monotonic() + body.timeout_s
        while time.monotonic() < deadline:
            record = service.find_ref(ref)
            if record is not None:
                return {"kind": body.kind, "ref": ref, **record.summary()}
            await asyncio.sleep(0.01)
        raise ApplianceError(Reason.TRAVELLER_TIMEOUT, f"no decision within {body.timeout_s:g} s")

    @api.post("/sim/reader")
    async def sim_reader(body: SimReader) -> dict[str, Any]:
        hook = simulation()
        (hook.plug_reader if body.plugged else hook.unplug_reader)()
        return {"plugged": body.plugged}

    @app.exception_handler(_NotSimulated)
    async def _not_simulated(request: Request, exc: _NotSimulated) -> JSONResponse:
        return _refusal(404, Reason.USAGE, "not a simulated service")

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    install_kiosk(app, service, API)  # the traveller's screen: /kiosk/, /api/v1/kiosk/...
    app.include_router(api)
    install_guard_pages(app)  # the guard's screens: /guard/ (guard_ui/)
    return app


class _NotSimulated(Exception):
    pass


def _check_summary(index: int, event_id: str, leaf: Any) -> dict[str, Any]:
    report = leaf.public.get("report") or {}
    steps = report.get("steps", []) if isinstance(report, dict) else []
    return {
        "check_id": event_id,
        "history_index": index,
        "time": leaf.time,
        "decision": leaf.outcome,
        "reasons": list(leaf.reasons),
        "mode": report.get("mode") if isinstance(report, dict) else None,
        "timings_ms": {s["name"]: s["duration_ms"] for s in steps if isinstance(s, dict)},
    }
