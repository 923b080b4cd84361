"""The guard's screens, served by the service: `guard_ui/` at `/guard/`.

    install_guard_pages(app)      # officer (handheld), monitoring station, maintenance, login

The pages are static files (plain HTML, CSS and JavaScript, no build step, nothing from a CDN)
that call `/api/v1` with the session cookie and CSRF token; they hold no data themselves, so the
access rule for the mount is `anywhere` (`appliance/accounts/rules.py`) and every API call they
make is checked on its own. Found as the kiosk's files are: `APPLIANCE_GUARD_DIR`, else the
checkout, else beside the venv (`/opt/appliance/guard_ui`). Served with a strict CSP (own
origin only, no inline script) and no caching of the pages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

GUARD_DIR_ENV = "APPLIANCE_GUARD_DIR"
MOUNT = "/guard"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def guard_dir() -> Path | None:
    override = os.environ.get(GUARD_DIR_ENV)
    candidates = [Path(override)] if override else []
    candidates += [
        Path(__file__).resolve().parents[2] / "guard_ui",  # the repository
        Path(sys.prefix).parent / "guard_ui",  # /opt/appliance/guard_ui beside the venv
    ]
    return next((p for p in candidates if (p / "index.html").is_file()), None)


class _GuardFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_guard_pages(app: FastAPI) -> bool:
    """Mount `guard_ui/` at `/guard`; False (nothing mounted) where it is not installed."""
    directory = guard_dir()
    if directory is None:
        return False
    app.mount(MOUNT, _GuardFiles(directory=directory, html=True), name="guard")
    return True
