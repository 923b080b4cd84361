"""Helpers of the kiosk's browser tests: open the kiosk, wait for a screen, read what it showed."""

from __future__ import annotations

import subprocess
from typing import Any

from tests.support.browser_support import new_page
from tests.support.service_support import ServiceProcess

#: every screen of kiosk_ui/README.md and the catalogues of kiosk_ui/i18n/
SCREENS = (
    "idle", "place-document", "reading", "remove-document", "face-capture", "liveness",
    "processing", "result-open", "result-refer", "unreadable", "tailgating", "timeout",
    "out-of-service",
)  # fmt: skip
LANGUAGES = ("en", "fr", "de", "es", "ar", "zh")


def open_kiosk(
    browser: Any, url: str, *, query: str = "", width: int = 1280, height: int = 800
) -> Any:
    page = new_page(browser, width=width, height=height)
    page.goto(f"{url}/kiosk/{query}", wait_until="domcontentloaded")  # the preview never loads
    return page


def shown(page: Any) -> str:
    """The screen on show (the one `[data-screen]` section that is not hidden)."""
    return str(page.evaluate("() => document.body.dataset.screenShown"))


def wait_screen(page: Any, screen: str, timeout_s: float = 30) -> None:
    page.wait_for_function(
        "(s) => document.body.dataset.screenShown === s", arg=screen, timeout=timeout_s * 1000
    )
    section = page.locator(f'main [data-screen="{screen}"]')
    assert section.is_visible(), screen


def trace(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.kioskTrace"))


def screens_of(page: Any, check_id: str | None = None) -> list[str]:
    """The screens shown, in order, without repeats (those of one check when given)."""
    names = [t["screen"] for t in trace(page) if check_id is None or t["check_id"] == check_id]
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]


def traveller(service: ServiceProcess, kind: str, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = service.post("/api/v1/sim/travellers", {"kind": kind, **extra})
    return answer


def stop_service(service: ServiceProcess) -> None:
    if service.proc.poll() is None:
        service.proc.terminate()
        try:
            service.proc.wait(15)
        except subprocess.TimeoutExpired:
            service.proc.kill()
