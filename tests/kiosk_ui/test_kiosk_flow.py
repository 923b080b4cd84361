"""The traveller's kiosk in Debian's Chromium against a real `appliance serve` (simulated
hardware): the screens follow the lane, a refusal shows no reason, faults close the screen,
the language follows the passport, and the page survives a restart of the service."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path
from typing import Any

from appliance.errors import Reason
from tests.support.browser_support import axe_violations
from tests.support.kiosk_support import (
    open_kiosk,
    screens_of,
    stop_service,
    trace,
    traveller,
    wait_screen,
)
from tests.support.service_support import ServiceProcess, start_service

REASON_CODES = {r.value for r in Reason if len(r.value) > 3}


def visible_text(page: Any) -> str:
    return str(page.evaluate("() => document.body.innerText"))


def test_genuine_traveller_walks_through_the_screens_to_gate_open(
    browser: Any, kiosk_service: ServiceProcess, screenshots: Path
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle")
    assert axe_violations(page) == []
    answer = traveller(kiosk_service, "genuine")
    assert answer["decision"] == "OPEN"
    wait_screen(page, "result-open")
    page.screenshot(path=str(screenshots / "flow-result-open.png"))
    assert axe_violations(page) == []
    check = answer["check_id"]
    # every screen of this traveller, in order, each with this check's id
    assert screens_of(page, check) == [
        "place-document", "reading", "remove-document", "processing", "result-open",
    ]  # fmt: skip
    assert page.evaluate("() => document.documentElement.lang") == "de"  # the simulated issuer
    wait_screen(page, "idle", timeout_s=15)  # the result runs out once the lane is ready
    assert screens_of(page)[-1] == "idle"
    page.context.close()


def test_forged_document_ends_on_see_an_officer_without_a_reason(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle", timeout_s=15)
    answer = traveller(kiosk_service, "forged_dg")
    assert answer["decision"] == "REFER" and "PA_DG_HASH_MISMATCH" in answer["reasons"]
    wait_screen(page, "result-refer")
    text = visible_text(page) + page.content()
    assert not {code for code in REASON_CODES if re.search(rf"\b{code}\b", text)}
    assert axe_violations(page) == []
    page.context.close()


def test_reader_unplugged_closes_the_lane_and_it_comes_back(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle", timeout_s=15)
    kiosk_service.post("/api/v1/sim/reader", {"plugged": False})
    try:
        wait_screen(page, "out-of-service")
        assert "not available" in visible_text(page)  # the part, in words
        assert "READER_NOT_FOUND" not in page.content()
        assert axe_violations(page) == []
    finally:
        kiosk_service.post("/api/v1/sim/reader", {"plugged": True})
    wait_screen(page, "idle")
    page.context.close()


def test_traveller_who_walks_away_times_out_to_idle(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle", timeout_s=15)
    answer = traveller(kiosk_service, "genuine", leaves=True)
    assert answer["decision"] == "OPEN"
    wait_screen(page, "timeout", timeout_s=15)  # the gate closed again after 3 s
    assert axe_violations(page) == []
    wait_screen(page, "idle", timeout_s=15)
    assert screens_of(page, answer["check_id"])[-2:] == ["result-open", "timeout"]
    page.context.close()


def test_french_passport_speaks_french_and_the_switch_works(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle", timeout_s=15)
    traveller(kiosk_service, "genuine", nationality="FRA")
    wait_screen(page, "result-open")
    root = page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]")
    assert root == ["fr", "ltr"]
    assert "Porte ouverte" in visible_text(page)
    page.get_by_role("button", name="English").click()
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert "Gate open" in visible_text(page)
    assert page.locator('button[data-lang="en"]').get_attribute("aria-pressed") == "true"
    wait_screen(page, "idle", timeout_s=15)
    assert page.evaluate("() => document.documentElement.lang") == "en"  # next traveller: default
    page.context.close()


def test_arabic_passport_turns_the_page_right_to_left(
    browser: Any, kiosk_service: ServiceProcess, screenshots: Path
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle", timeout_s=15)
    traveller(kiosk_service, "forged_dg", nationality="SAU")
    wait_screen(page, "result-refer")
    root = page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]")
    assert root == ["ar", "rtl"]
    assert "يرجى مراجعة الموظف" in visible_text(page)
    page.screenshot(path=str(screenshots / "flow-ar-result-refer.png"))
    assert axe_violations(page) == []
    page.context.close()


def test_nothing_the_kiosk_receives_names_the_traveller(kiosk_service: ServiceProcess) -> None:
    """DG1's nationality reaches the lane's events and the kiosk as a language code only."""
    answer = traveller(kiosk_service, "genuine", nationality="FRA")
    check = answer["check_id"]
    screen = kiosk_service.get("/api/v1/kiosk/screen")
    assert screen["check_id"] == check and screen["language"] == "fr"
    last = kiosk_service.get("/api/v1/lane")["last_event"]
    url = f"{kiosk_service.url}/api/v1/lane/events?limit={last}"
    with urllib.request.urlopen(url, timeout=10) as r:
        lane = [
            json.loads(line[6:])
            for line in r.read().decode().splitlines()
            if line.startswith("data: ")
        ]
    mine = [e for e in lane if e.get("check_id") == check]
    assert {"type": "language", "language": "fr"}.items() <= next(
        e for e in mine if e["type"] == "language"
    ).items()
    assert "FRA" not in json.dumps(lane) and "FRA" not in json.dumps(screen)
    kiosk_service.log_in("officer")  # the record is the officer's to read, not the kiosk's
    assert kiosk_service.get(f"/api/v1/checks/{check}")["check_id"] == check  # the record's id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_page_reconnects_and_resynchronises_after_a_restart(browser: Any, tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "data").mkdir()
    service = start_service(tmp_path / "data", *_config_args(), "--port", str(port))
    page = open_kiosk(browser, service.url)
    try:
        wait_screen(page, "idle")
        stop_service(service)
        wait_screen(page, "out-of-service", timeout_s=15)  # the lane is gone: closed, at once
        assert "Reconnecting" in visible_text(page)
        service = start_service(tmp_path / "data", *_config_args(), "--port", str(port))
        wait_screen(page, "idle", timeout_s=30)  # back by itself, at the new service's screen
        answer = traveller(service, "genuine")
        wait_screen(page, "result-open")
        assert trace(page)[-1]["check_id"] == answer["check_id"]
    finally:
        stop_service(service)
        page.context.close()


def _config_args() -> tuple[Any, ...]:
    from appliance.config import SIMULATED_CONFIG

    return (SIMULATED_CONFIG,)


def test_the_service_prints_the_kiosk_address(kiosk_service: ServiceProcess) -> None:
    assert f"appliance: traveller's kiosk on {kiosk_service.url}/kiosk/" in kiosk_service.output


def test_tailgating_asks_for_one_person_at_a_time(
    browser: Any, kiosk_service: ServiceProcess
) -> None:
    page = open_kiosk(browser, kiosk_service.url)
    wait_screen(page, "idle", timeout_s=15)
    answer = traveller(kiosk_service, "tailgating", nationality="GBR")
    assert answer["decision"] == "REFER" and "TAILGATING" in answer["reasons"]
    wait_screen(page, "tailgating")
    assert "One person at a time" in visible_text(page)
    assert "TAILGATING" not in page.content()
    page.context.close()
