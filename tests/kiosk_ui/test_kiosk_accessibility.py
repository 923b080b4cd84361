"""WCAG 2.2 AA on every screen of the kiosk, in every language (axe-core in Debian's Chromium),
and what axe cannot see: touch targets, the keyboard, 200 % text, the live region, right to left,
and a page that loads nothing from elsewhere. Screens are shown with `?preview=` (no lane)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser_support import REPO, axe_violations
from tests.support.kiosk_support import LANGUAGES, SCREENS, open_kiosk, wait_screen
from tests.support.service_support import ServiceProcess

CATALOGUES = REPO / "kiosk_ui" / "i18n"


def preview(page: Any, url: str, screen: str, lang: str = "en", extra: str = "") -> None:
    # the live preview is an endless MJPEG image: never wait for the whole page's "load"
    page.goto(f"{url}/kiosk/?preview={screen}&lang={lang}{extra}", wait_until="domcontentloaded")
    wait_screen(page, screen)


def test_catalogues_have_every_message_in_every_language() -> None:
    keys = {lang: set(json.loads((CATALOGUES / f"{lang}.json").read_text())) for lang in LANGUAGES}
    assert all(k == keys["en"] for k in keys.values())
    assert json.loads((CATALOGUES / "ar.json").read_text())["_dir"] == "rtl"


def test_axe_finds_nothing_on_any_screen_in_any_language(
    browser: Any, kiosk_service: ServiceProcess, screenshots: Path
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    found: dict[str, list[dict[str, Any]]] = {}
    for lang in LANGUAGES:
        for screen in SCREENS:
            preview(page, kiosk_service.url, screen, lang, "&fault=reader")
            if lang in ("en", "ar"):
                page.screenshot(path=str(screenshots / f"{lang}-{screen}.png"))
            violations = axe_violations(page)
            if violations:
                found[f"{lang}/{screen}"] = violations
    assert found == {}
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_axe_finds_nothing_in_high_contrast_mode(
    browser: Any, kiosk_service: ServiceProcess, lang: str, screenshots: Path
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    found = {}
    for screen in SCREENS:
        preview(page, kiosk_service.url, screen, lang)
        page.locator("#contrast").click()
        assert page.evaluate("() => document.documentElement.classList.contains('hc')")
        if screen in ("idle", "result-open"):
            page.screenshot(path=str(screenshots / f"{lang}-hc-{screen}.png"))
        violations = axe_violations(page)
        if violations:
            found[screen] = violations
    assert found == {}
    page.context.close()


def test_arabic_is_laid_out_right_to_left(browser: Any, kiosk_service: ServiceProcess) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    preview(page, kiosk_service.url, "idle", "ar")
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == [
        "ar",
        "rtl",
    ]
    bar = page.locator("header .lane").bounding_box()
    switch = page.locator("header .tools").bounding_box()
    assert bar is not None and switch is not None
    assert bar["x"] > switch["x"]  # the lane's name starts on the right
    page.context.close()


def test_touch_targets_are_at_least_44_px(browser: Any, kiosk_service: ServiceProcess) -> None:
    page = open_kiosk(browser, kiosk_service.url, width=1080, height=1920)  # a portrait kiosk
    for lang in ("en", "ar", "zh"):
        preview(page, kiosk_service.url, "idle", lang)
        for button in page.locator("button").all():
            box = button.bounding_box()
            assert box is not None and box["width"] >= 44 and box["height"] >= 44, box
    page.context.close()


def test_the_switches_work_from_the_keyboard(browser: Any, kiosk_service: ServiceProcess) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    preview(page, kiosk_service.url, "place-document")
    for _ in range(2):  # English, then Français
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.lang") == "fr"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.documentElement.lang") == "fr"
    assert page.locator("#place-title").inner_text() == "Posez votre passeport"
    page.locator("#contrast").focus()
    page.keyboard.press("Space")
    assert page.locator("#contrast").get_attribute("aria-pressed") == "true"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.context.close()


def test_text_at_200_percent_loses_nothing(browser: Any, kiosk_service: ServiceProcess) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    for lang in ("de", "ar"):  # the longest words, and right to left
        for screen in SCREENS:
            preview(page, kiosk_service.url, screen, lang)
            page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
            fits = page.evaluate(
                """() => {
                  const root = document.documentElement;
                  const section = document.querySelector('main [data-screen]:not([hidden])');
                  const clipped = [...section.querySelectorAll('h1, .body, .hint')].filter((el) => {
                    const r = el.getBoundingClientRect();
                    const out = r.left < -1 || r.right > innerWidth + 1;
                    return out || el.scrollWidth > el.clientWidth + 1;
                  });
                  return root.scrollWidth <= innerWidth && clipped.length === 0;
                }"""
            )
            assert fits, f"{lang}/{screen} at 200 %"
    page.context.close()


def test_each_instruction_reaches_the_live_region(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    preview(page, kiosk_service.url, "liveness", "fr", "&instruction=turn_head_right")
    live = page.locator("#announce")
    assert live.get_attribute("aria-live") == "polite"
    assert "Tournez lentement la tête vers la droite." in live.inner_text()
    assert "Secondes restantes" in page.locator("#countdown").inner_text()
    page.context.close()


def test_the_page_loads_nothing_from_elsewhere(browser: Any, kiosk_service: ServiceProcess) -> None:
    page = open_kiosk(browser, "about:blank".replace("about:blank", kiosk_service.url))
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.reload()
    wait_screen(page, "idle", timeout_s=15)
    assert urls and all(u.startswith(kiosk_service.url) for u in urls), urls
    csp = page.request.get(f"{kiosk_service.url}/kiosk/").headers["content-security-policy"]
    assert "default-src 'self'" in csp
    page.context.close()


CONTRAST_JS = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("contrast", [False, True])
def test_every_switch_is_legible_pressed_or_not(
    browser: Any, kiosk_service: ServiceProcess, contrast: bool
) -> None:
    """axe skips text drawn in its own background colour: the switches are measured here."""
    page = open_kiosk(browser, kiosk_service.url)
    preview(page, kiosk_service.url, "idle", "fr")
    if contrast:
        page.locator("#contrast").click()
    for button in page.locator("button").all():
        ratio = button.evaluate(CONTRAST_JS)
        assert ratio >= 4.5, (button.inner_text(), ratio)
    page.context.close()


def test_spoken_prompts_say_each_screen_in_its_language(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    preview(page, kiosk_service.url, "place-document", "fr")
    heard: list[Any] = []
    page.on("response", lambda r: heard.append(r) if "/kiosk/speech" in r.url else None)
    page.locator("#speech").click()
    assert page.locator("#speech").get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(1500)
    assert heard, "no spoken prompt fetched"
    assert "lang=fr&prompt=place-document" in heard[0].url
    assert heard[0].status == 200 and heard[0].headers["content-type"] == "audio/wav"
    page.locator('button[data-lang="de"]').click()  # another language: said again, in German
    page.wait_for_timeout(1500)
    assert any("lang=de&prompt=place-document" in r.url for r in heard)
    page.context.close()
