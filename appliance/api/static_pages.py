"""The screens' own files (the kiosk's and the guards'), found and served the same way.

Each screen is a folder of plain HTML/CSS/JS: in the repository (a checkout), or beside the
venv on a device (scripts/install.sh puts them in /opt/appliance), or where an environment
variable says. Served with a content security policy of the screen's own (own origin only), no
MIME sniffing, no referrer, and no caching, so an updated appliance is seen at the next load.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


def page_dir(folder: str, env: str) -> Path | None:
    """The screen's folder (it holds an `index.html`), or None where it is not installed."""
    override = os.environ.get(env)
    candidates = [Path(override)] if override else []
    candidates += [
        Path(__file__).resolve().parents[2] / folder,  # the repository
        Path(sys.prefix).parent / folder,  # /opt/appliance/<folder> beside the venv
    ]
    return next((p for p in candidates if (p / "index.html").is_file()), None)


class PageFiles(StaticFiles):
    """A screen's files with its security headers."""

    def __init__(self, *, csp: str, **options: Any) -> None:
        super().__init__(**options)
        self.csp = csp

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = self.csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"
        return response
