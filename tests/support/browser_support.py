"""A real browser for the UI tests: Debian's Chromium driven headless by Playwright for Python.

    def test_page(browser):                      # the session's Chromium (fixture below)
        page = new_page(browser, width=1280, height=800, lang="fr-FR")
        page.goto(url)
        assert axe_violations(page) == []

Playwright drives `/usr/bin/chromium` (the `chromium` package of `scripts/setup.sh`) through
`executable_path`: no browser is ever downloaded (`playwright install` is never run), and each
launch gets a fresh profile of its own. axe-core comes from `.npm-test/` (npm, pinned by the
set-up), read from disk and injected into the page under test: nothing is fetched at test time.

Where the browser or axe-core is missing the tests that need them skip on a developer machine,
and fail under the README's test command (`APPLIANCE_TESTS_NEED_PCSC`) or in CI: the set-up
installed them there, so a missing one is a broken set-up, not a reason to test less.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("APPLIANCE_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = REPO / ".npm-test" / "node_modules" / "axe-core" / "axe.min.js"

#: headless, offline and quiet: no GPU, no QUIC, no first-run page, no background fetches
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: the WCAG 2.x level A and AA rules (2.0, 2.1, 2.2) axe-core runs: the kiosk's target
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")


def _must_have() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("APPLIANCE_TESTS_NEED_PCSC"))


def missing(what: str) -> None:
    """Fail where the set-up ran (CI, the README's test command), skip elsewhere."""
    if _must_have():
        pytest.fail(f"{what} (scripts/setup.sh installs it)")
    pytest.skip(what)


def require_chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("Playwright for Python is not installed")
    return CHROMIUM


def require_axe() -> str:
    if not AXE_JS.is_file():
        missing(f"axe-core not installed at {AXE_JS.relative_to(REPO)}")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's headless Chromium (a `playwright.sync_api.Browser`)."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    downloads = tmp_path_factory.mktemp("chromium-downloads")
    with sync_playwright() as pw:
        # launch() gives the browser a fresh temporary profile (user-data-dir) of its own
        instance = pw.chromium.launch(
            executable_path=str(executable),
            headless=True,
            args=list(LAUNCH_ARGS),
            downloads_path=str(downloads),
            timeout=60_000,
        )
        try:
            yield instance
        finally:
            instance.close()


def new_page(
    browser: Any,
    *,
    width: int = 1280,
    height: int = 800,
    lang: str = "en-GB",
    device_scale_factor: float = 1,
) -> Any:
    """A page in a new, isolated context (own cookies and storage) with this viewport."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale=lang,
        device_scale_factor=device_scale_factor,
        service_workers="block",
    )
    return context.new_page()


def axe_violations(page: Any, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2.x A/AA rules on the page as it is now.

    Each violation is shortened to what a failing assertion should show: the rule, its impact,
    the help text and the first few offending elements.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # evaluated through the DevTools protocol, so the page's own CSP does not block it
        page.evaluate(require_axe() + "\n;typeof window.axe")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        list(tags),
    )
    return [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v.get("help"),
            "nodes": [n.get("target") for n in v.get("nodes", [])[:5]],
        }
        for v in result["violations"]
    ]
