"""The browser test kit itself: Debian's Chromium comes up headless, axe-core finds what it must.

A kit that silently found nothing would make every accessibility test pass: a page with known
WCAG failures must be reported, and a clean one must not be.
"""

from __future__ import annotations

from typing import Any

from tests.support.browser_support import axe_violations, new_page

GOOD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fine</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'"></head>
<body><main><h1>Welcome</h1><p>Place your passport.</p>
<button type="button">Start</button></main></body></html>"""

BAD = """<!doctype html><html><head><meta charset="utf-8"></head>
<body><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button>
<p style="color:#777;background:#888">low contrast</p></body></html>"""


def test_chromium_renders_a_page_at_the_asked_viewport(browser: Any) -> None:
    page = new_page(browser, width=800, height=600, lang="fr-FR")
    page.set_content(GOOD)
    assert page.evaluate("() => [innerWidth, innerHeight]") == [800, 600]
    assert page.evaluate("() => navigator.language") == "fr-FR"
    assert "HeadlessChrome" in page.evaluate("() => navigator.userAgent")
    page.context.close()


def test_axe_reports_wcag_failures_and_none_on_a_clean_page(browser: Any) -> None:
    page = new_page(browser)
    page.set_content(BAD)
    ids = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "button-name", "html-has-lang", "color-contrast"} <= ids
    page.set_content(GOOD)  # its CSP forbids inline scripts: axe still gets in
    assert axe_violations(page) == []
    page.context.close()
