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

from pathlib import Path

from fastapi import FastAPI

from appliance.api.static_pages import PageFiles, page_dir

GUARD_DIR_ENV = "APPLIANCE_GUARD_DIR"
MOUNT = "/guard"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def guard_dir() -> Path | None:
    return page_dir("guard_ui", GUARD_DIR_ENV)


def install_guard_pages(app: FastAPI) -> bool:
    """Mount `guard_ui/` at `/guard`; False (nothing mounted) where it is not installed."""
    directory = guard_dir()
    if directory is None:
        return False
    app.mount(MOUNT, PageFiles(directory=directory, html=True, csp=CSP), name="guard")
    return True
