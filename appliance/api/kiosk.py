"""The traveller's kiosk, served by the service: the page (`kiosk_ui/`) and its screen stream.

    install_kiosk(app, service)       # in create_app: /kiosk/ and /api/v1/kiosk/...

`/kiosk/` serves the static page (HTML, CSS, JS, message catalogues, pictures: nothing from
elsewhere, a CSP that allows this origin only). `/api/v1/kiosk/events` is a server-sent event
stream of screens (`KioskView`): on connecting, the page gets the screen as it is now, then
every change in order; after a restart of the service the browser reconnects by itself and
starts again from the new service's screen. `/api/v1/kiosk/screen` answers the same once.
`/api/v1/kiosk/preview.mjpg` streams the face step's frames with the face box drawn in (MJPEG,
`appliance/inspection/preview.py`), `/api/v1/kiosk/preview/quality` the quality gate's
instruction for the newest one. These routes are for the kiosk's browser on the device
(loopback, no login) and carry no personal data but the preview's live picture, which exists
only during the face step: screen names, the check id, a language code.

The language hint: the lane tells its DG1 nationality to `language_of`, which answers with a
code of the kiosk's catalogues from `kiosk_ui/nationality-languages.json`; only that code
reaches an event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.responses import Response

from appliance.api.kiosk_speech import spoken
from appliance.api.kiosk_view import KioskView
from appliance.api.lane_service import LaneService
from appliance.api.static_pages import PageFiles, page_dir
from appliance.errors import ApplianceError, Reason
from appliance.inspection.preview import FramePreview

#: where the kiosk's files are: this variable, else the checkout, else beside the venv
KIOSK_DIR_ENV = "APPLIANCE_KIOSK_DIR"
#: seconds between keep-alive comments on an idle screen stream
KEEPALIVE_S = 15.0
#: how long the page waits before reconnecting (the SSE `retry:` field)
RETRY_MS = 1000
#: the MJPEG stream's part boundary
BOUNDARY = "frame"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)


def kiosk_dir() -> Path | None:
    return page_dir("kiosk_ui", KIOSK_DIR_ENV)


@cache
def _nationalities(path: Path) -> dict[str, str]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k).upper(): str(v) for k, v in table.get("nationalities", {}).items()}


def language_of(nationality: str, directory: Path | None = None) -> str | None:
    """The kiosk language for an ICAO nationality code (`FRA` -> `fr`), or None."""
    directory = directory or kiosk_dir()
    if directory is None:
        return None
    return _nationalities(directory / "nationality-languages.json").get(
        nationality.strip("<").upper()
    )


class _Wakeup:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event = asyncio.Event()

    def fire_threadsafe(self) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


def install_kiosk(app: FastAPI, service: LaneService, api: str = "/api/v1") -> KioskView:
    """Add the kiosk's routes to `app`; returns the view that folds the lane's events."""
    view = KioskView(liveness_step_s=service.config.face.liveness_step_timeout_s)
    wakeup = _Wakeup()
    seen = [0]

    def on_event() -> None:  # in the lane thread: fold, then wake the streams
        runtime = service.runtime
        loop = runtime.loop if runtime is not None else None
        if loop is not None and loop.events.language_of is None:
            loop.events.language_of = language_of
        for event in service.events.since(seen[0]):
            seen[0] = event.seq
            view.apply(event)
        wakeup.fire_threadsafe()

    service.events.add_listener(on_event)
    on_event()
    app.state.kiosk_view = view

    @app.get(f"{api}/kiosk/screen")
    async def kiosk_screen() -> dict[str, Any]:
        return view.current()

    @app.get(f"{api}/kiosk/events")
    async def kiosk_events(request: Request) -> StreamingResponse:
        if wakeup.loop is None:
            wakeup.loop = asyncio.get_running_loop()

        async def stream() -> AsyncIterator[str]:
            current = view.current()  # a (re)connecting page starts from the screen now
            version = current["version"]
            yield f"retry: {RETRY_MS}\n" + _frame(current)
            while True:
                waiter = wakeup.event
                view.poll()
                for change in view.since(version):
                    version = change["version"]
                    yield _frame(change)
                if await request.is_disconnected():
                    return
                due = view.next_change_s()
                wait_s = KEEPALIVE_S if due is None else min(KEEPALIVE_S, due + 0.01)
                try:
                    await asyncio.wait_for(waiter.wait(), wait_s)
                except TimeoutError:
                    if due is None:
                        yield ": keep-alive\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def preview() -> FramePreview | None:
        loop = service.loop
        return loop.events.preview if loop is not None else None

    @app.get(f"{api}/kiosk/preview/quality")
    async def kiosk_quality() -> dict[str, Any]:
        source = preview()
        frame = source.latest() if source is not None else None
        return {"instruction": frame.instruction if frame is not None else None}

    @app.get(f"{api}/kiosk/preview.mjpg")
    async def kiosk_preview(
        request: Request, frames: int | None = Query(None, ge=1, le=100_000)
    ) -> StreamingResponse:
        """The face step's frames as they come (MJPEG: an `<img>` shows it as is)."""

        async def stream() -> AsyncIterator[bytes]:
            seq = sent = 0
            while frames is None or sent < frames:
                source = preview()
                if source is None:
                    await asyncio.sleep(0.5)
                    frame = None
                else:
                    frame = await asyncio.to_thread(source.wait_next, seq, 0.5)
                if await request.is_disconnected():
                    return
                if frame is None:
                    continue
                seq = frame.seq
                jpeg = await asyncio.to_thread(frame.jpeg)
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\nX-Frame-Seq: {frame.seq}\r\n"
                    f"X-Frame-Time: {frame.time_s:.4f}\r\n\r\n"
                )
                yield head.encode() + jpeg + b"\r\n"
                sent += 1

        return StreamingResponse(
            stream(),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
        )

    directory = kiosk_dir()

    @app.get(f"{api}/kiosk/speech")
    async def kiosk_speech(
        lang: str = Query(..., max_length=8), prompt: str = Query(..., max_length=40)
    ) -> Response:
        """A screen's words, spoken (WAV): for travellers who cannot read the screen."""
        if directory is None:
            raise ApplianceError(Reason.SPEECH_UNAVAILABLE, "kiosk_ui not installed")
        audio = await asyncio.to_thread(spoken, directory, lang, prompt)
        return Response(audio, media_type="audio/wav", headers={"Cache-Control": "max-age=3600"})

    if directory is None:

        @app.get("/kiosk/{rest:path}")
        async def no_kiosk(rest: str) -> JSONResponse:
            return JSONResponse(
                {"status": "fail", "reason": "USAGE", "detail": "kiosk_ui not installed"}, 404
            )

    else:

        @app.get("/kiosk", include_in_schema=False)
        async def kiosk_root() -> RedirectResponse:
            return RedirectResponse("/kiosk/")

        app.mount("/kiosk", PageFiles(directory=directory, html=True, csp=CSP), name="kiosk")
    return view


def _frame(screen: dict[str, Any]) -> str:
    data = json.dumps(screen, separators=(",", ":"))
    return f"id: {screen['version']}\nevent: screen\ndata: {data}\n\n"
