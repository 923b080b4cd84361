"""The guard's screens in a real browser (#15): Debian's Chromium, headless, against a real
`appliance serve` on loopback.

- an officer logs in on a phone (360x740), checks a simulated document end to end, sees the
  chip photo beside the live capture and the document's timeline, overrides a REFER with a
  reason and a note, and the override is in the history;
- at the monitoring station a referral is counted, opened and decided;
- a technician runs the self-test and the gate test and downloads the diagnostics bundle;
- axe-core finds no WCAG 2.2 A/AA violation on any page; screenshots go to docs/screens/
  (`APPLIANCE_UPDATE_SCREENS=1`).

Measured figures (page load, report fill) are printed (`-s`) and kept in the report's note.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.auth_support import PASSWORD, ensure_account
from tests.support.browser_support import axe_violations, new_page
from tests.support.config_support import simulated_config
from tests.support.data_support import FACES
from tests.support.kiosk_support import stop_service
from tests.support.service_support import ServiceProcess, running_service, start_service

SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def handheld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("handheld")
    config = simulated_config(root / "handheld.toml", device={"mode": "handheld"})
    with running_service(root / "data", config) as service:
        yield service


@pytest.fixture(scope="module")
def egate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("egate")
    with running_service(root / "data") as service:
        yield service


def log_in(browser: Any, service: ServiceProcess, role: str, **viewport: int) -> tuple[Any, float]:
    """A page logged in as a new account of `role`; the load time of the page it lands on."""
    assert service.data_dir is not None
    name = f"ui-{role}"
    ensure_account(service.data_dir, name, role)
    page = new_page(browser, **viewport)
    page.goto(f"{service.url}/guard/")
    page.wait_for_selector("body[data-page=login]")
    assert_accessible(page, "login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    started = time.perf_counter()
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page, (time.perf_counter() - started) * 1000


def data_page_photo() -> bytes:
    import random

    import cv2
    import numpy as np

    from hardware_mocks.mrz_frames import render_page, scan

    page, _ = render_page(random.Random(5), "TD3", 300)
    photo = scan(page, random.Random(5), np.random.default_rng(5), 90)
    ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(jpeg.tobytes())


def expect(locator: Any) -> Any:
    """Playwright's auto-waiting assertions (imported here: the module loads without it)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def assert_accessible(page: Any, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def shoot(page: Any, name: str) -> None:
    """A full-page screenshot; into docs/screens/ with APPLIANCE_UPDATE_SCREENS=1 (so a test
    run leaves the checkout as it was), else only taken (the page renders whole)."""
    picture = page.screenshot(full_page=True)
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("APPLIANCE_UPDATE_SCREENS"):
        SCREENS.mkdir(parents=True, exist_ok=True)
        (SCREENS / f"{name}.png").write_bytes(picture)


def test_officer_checks_a_document_and_overrides_a_referral(
    browser: Any, handheld: ServiceProcess
) -> None:
    page, load_ms = log_in(browser, handheld, "officer", **PHONE)
    assert page.evaluate("document.body.dataset.page") == "officer"
    assert page.evaluate("() => [innerWidth, innerHeight]") == [360, 740]
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads the session
    assert_accessible(page, "officer")
    shoot(page, "officer-start")

    page.check("input[name=how][value=photo]")  # a photo of a data page: its MRZ is read
    page.set_input_files("#photo", files=[{"name": "page.jpg", "mimeType": "image/jpeg",
                                           "buffer": data_page_photo()}])  # fmt: skip
    expect(page.locator("#progress")).to_contain_text("MRZ read (TD3)", timeout=30_000)
    assert page.input_value("#mrz").count("<") > 10
    page.check("input[name=how][value=scan]")
    page.click("#start-button")  # the MRZ from the station's scanner
    expect(page.locator("#progress")).to_contain_text("Place")
    page.select_option("#sim-kind", "forged_dg")
    started = time.perf_counter()
    page.click("#sim-present")
    page.wait_for_selector("[data-part=decide] form", timeout=30_000)
    fill_ms = (time.perf_counter() - started) * 1000
    assert page.inner_text("[data-part=decision]").count("REFER") >= 1
    assert "PA_DG_HASH_MISMATCH" in page.inner_text("[data-part=decision]")
    faces = page.locator("[data-part=faces] figure")
    assert faces.count() == 2  # chip photo beside the live capture
    assert page.locator("[data-part=faces] img[alt='Photo stored in the chip']").count() == 1
    box_chip = faces.nth(0).bounding_box()
    box_live = faces.nth(1).bounding_box()
    assert box_chip and box_live and abs(box_chip["y"] - box_live["y"]) < 2  # side by side
    assert page.locator("[data-part=timeline] li").count() >= 1
    assert page.locator("[data-part=checks] tbody tr").count() >= 8
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    # works with no network: everything the page loaded came from the device itself
    fetched = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched and all(url.startswith(handheld.url + "/") for url in fetched), fetched
    assert_accessible(page, "officer report")
    shoot(page, "officer-report")

    page.check("input[name=decision][value=admit]")
    page.click("#decision-form button[type=submit]")  # an override without a note: refused
    assert "needs a note" in page.inner_text("#d-result")
    page.fill("#d-note", "laminate and photo checked under UV")
    page.click("#decision-form button[type=submit]")
    expect(page.locator("#d-result")).to_contain_text("Recorded")
    assert "override" in page.inner_text("#d-result")
    page.context.close()

    handheld.log_in("auditor")
    records = handheld.get("/api/v1/history?recent=20")["records"]
    overrides = [r for r in records if r["type"] == "override"]
    assert overrides and overrides[0]["outcome"] == "admit"
    assert overrides[0]["reasons"] == ["DOCUMENT_VERIFIED_MANUALLY"]
    print(f"\nofficer page load {load_ms:.0f} ms, report fill {fill_ms:.0f} ms")


#: records, in the page, when each check row and the full report are added to the report box
FILL_OBSERVER = """() => {
  window.fill = [];
  new MutationObserver((changes) => {
    const t = performance.now();
    for (const change of changes) for (const node of change.addedNodes) {
      if (node.nodeType !== 1) continue;
      const step = node.dataset.step;
      if (node.matches("#live-steps tr")) window.fill.push({ t, kind: "row", step });
      else if (node.matches("[data-part=decide]")) window.fill.push({ t, kind: "report" });
    }
  }).observe(document.getElementById("report"), { childList: true, subtree: true });
}"""


def test_officer_report_fills_step_by_step(browser: Any, handheld: ServiceProcess) -> None:
    page, _ = log_in(browser, handheld, "officer", **PHONE)
    page.evaluate(FILL_OBSERVER)
    page.click("#start-button")
    expect(page.locator("#progress")).to_contain_text("Place")
    page.select_option("#sim-kind", "expired")
    page.click("#sim-present")
    page.wait_for_selector("[data-part=decide] form", timeout=30_000)
    fill = page.evaluate("window.fill")
    rows = [f for f in fill if f["kind"] == "row"]
    report = next(f["t"] for f in fill if f["kind"] == "report")
    # every check's row arrived on its own, in the order of the checks, before the report
    assert len(rows) >= 8 and all(r["t"] < report for r in rows)
    assert rows[0]["step"] == "document_presence"
    assert len({round(r["t"]) for r in rows}) > 1, rows  # more than one update, not one burst
    assert rows[-1]["t"] - rows[0]["t"] > 10, rows
    steps = [r["step"] for r in rows]
    assert len(set(steps)) == len(steps)
    assert page.locator("[data-part=checks] tbody tr").count() == len(rows)
    # the validity row said why while the check was still going on (plain words and code)
    validity = page.locator("[data-part=checks] tbody tr", has_text="Document validity")
    assert "DOCUMENT_EXPIRED" in validity.inner_text()
    first_row_ms = int(page.get_attribute("#report", "data-first-row-ms") or "0")
    fill_ms = int(page.get_attribute("#report", "data-fill-ms") or "0")
    assert 0 < first_row_ms < fill_ms
    page.context.close()
    print(
        f"\nofficer report: first check row {first_row_ms} ms, full report {fill_ms} ms"
        f" after the chip was placed; {len(rows)} rows in {len({round(r['t']) for r in rows})}"
        " updates"
    )


def test_monitoring_station_counts_opens_and_decides(browser: Any, egate: ServiceProcess) -> None:
    answer = egate.post("/api/v1/sim/travellers", {"kind": "watchlisted"})
    assert answer["decision"] == "REFER"
    page, load_ms = log_in(browser, egate, "supervisor", width=1280, height=900)
    assert page.evaluate("document.body.dataset.page") == "monitor"
    assert int(page.inner_text("#pending")) >= 1
    assert "WATCHLIST_HIT" in page.inner_text("#referrals")
    assert_accessible(page, "monitor")
    page.click("#referrals button")
    page.wait_for_selector("[data-part=decide] form", timeout=30_000)
    page.check("input[name=decision][value=second_line]")
    page.click("#decision-form button[type=submit]")
    expect(page.locator("#d-result")).to_contain_text("Recorded")
    expect(page.locator("#pending")).to_have_text("0")
    assert page.locator("#overrides tr").count() == 0  # second line of a REFER: no override
    # a supervisor reviews the overrides: an expired passport admitted with a note
    egate.post("/api/v1/sim/travellers", {"kind": "expired"})
    referral = page.locator("#referrals tr", has_text="DOCUMENT_EXPIRED")
    expect(referral).to_have_count(1)
    referral.locator("button").click()
    expect(page.locator("#report[data-check-id] [data-part=decide] form")).to_have_count(1)
    page.check("input[name=decision][value=admit]")
    page.fill("#d-note", "extension letter from the consulate seen")
    page.click("#decision-form button[type=submit]")
    expect(page.locator("#d-result")).to_contain_text("override")
    review = page.locator("#overrides tr")
    expect(review).to_have_count(1)
    assert "extension letter" in review.inner_text() and "ui-supervisor" in review.inner_text()
    assert "DOCUMENT_VERIFIED_MANUALLY" in review.inner_text()
    assert_accessible(page, "monitor report")
    shoot(page, "monitor")
    page.context.close()
    print(f"\nmonitor page load {load_ms:.0f} ms")


def test_a_staler_answer_arriving_last_does_not_undo_a_newer_one(browser: Any) -> None:
    """The monitoring station refreshes on every lane event, and the service answers those
    requests in parallel: an older answer (without the newest referral) that arrived last
    took the referral off the screen until the next event. Only the newest call's answer is
    shown now, and an unchanged table keeps its nodes (a button under the pointer or holding
    the keyboard focus stays)."""
    page = new_page(browser)
    page.set_content("<ul id='list'></ul>")
    page.add_script_tag(path=str(Path(__file__).resolve().parents[2] / "guard_ui" / "guard.js"))
    shown = page.evaluate(
        """async () => {
          const answers = [], shown = [];
          const list = document.getElementById("list");
          const load = G.newest(() => new Promise((resolve) => answers.push(resolve)), (rows) => {
            shown.push(rows.join(","));
            G.rows(list, rows, (r) => G.el("li", {}, G.el("button", { text: r })));
          });
          const older = load(), newer = load();
          answers[1](["watchlist", "expired"]); await newer;
          answers[0](["watchlist"]); await older;
          const button = list.querySelector("li:last-child button");
          button.focus();
          const again = load();
          answers[2](["watchlist", "expired"]); await again;
          return { shown, rows: list.children.length, kept: document.activeElement === button };
        }"""
    )
    assert shown == {"shown": ["watchlist,expired", "watchlist,expired"], "rows": 2, "kept": True}
    page.context.close()


def test_technician_selftest_gate_test_and_bundle(browser: Any, egate: ServiceProcess) -> None:
    egate.post("/api/v1/sim/travellers", {"kind": "genuine"})
    page, load_ms = log_in(browser, egate, "technician", width=1280, height=900)
    assert page.evaluate("document.body.dataset.page") == "maintenance"
    assert_accessible(page, "maintenance")
    # the parts' health at a glance: the self-test runs as the page opens
    expect(page.locator("#selftest-status")).to_contain_text("Self-test:", timeout=60_000)
    parts = page.inner_text("#selftest")
    assert all(part in parts for part in ("reader", "camera", "gate", "mrz_scanner", "disk"))
    page.click("#run-selftest")
    expect(page.locator("#selftest-status")).to_contain_text("Self-test:", timeout=60_000)
    assert page.locator("#selftest tr").count() >= 5
    page.click("#gate-test")
    expect(page.locator("#gate-result")).to_contain_text("Gate test passed", timeout=30_000)
    assert page.locator("#models tr").count() >= 1 and page.locator("#cscas tr").count() >= 1
    with page.expect_download() as download:
        page.click("#bundle")
    data = Path(download.value.path()).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert "diagnostics/selftest.json" in tar.getnames()
    assert_accessible(page, "maintenance after tests")
    shoot(page, "maintenance")
    page.context.close()
    print(f"\nmaintenance page load {load_ms:.0f} ms")


def test_auditor_page_is_accessible(browser: Any, egate: ServiceProcess) -> None:
    page, _ = log_in(browser, egate, "auditor", width=1280, height=900)
    assert page.evaluate("document.body.dataset.page") == "audit"
    assert page.locator("#records tr").count() >= 1
    assert_accessible(page, "audit")
    shoot(page, "audit")
    page.context.close()


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service of its own: this test logs in often, and logins are throttled per address."""
    root = tmp_path_factory.mktemp("office")
    with running_service(root / "data") as service:
        yield service


def nav_pages(page: Any) -> list[str]:
    return [str(p) for p in page.eval_on_selector_all("#pages a", "l => l.map(a => a.dataset.nav)")]


def try_log_in(browser: Any, service: ServiceProcess, name: str, password: str) -> Any:
    page = new_page(browser, width=1280, height=900)
    page.goto(f"{service.url}/guard/")
    page.wait_for_selector("body[data-page=login]")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    return page


def test_supervisor_manages_accounts_on_the_users_page(
    browser: Any, office: ServiceProcess
) -> None:
    page, load_ms = log_in(browser, office, "supervisor", width=1280, height=900)
    assert nav_pages(page) == ["officer", "monitor", "maintenance", "audit", "users"]
    started = time.perf_counter()
    page.click("#pages a[data-nav=users]")
    page.wait_for_selector("body[data-page=users][data-ready='1']")
    users_ms = (time.perf_counter() - started) * 1000
    assert page.locator("#pages a[aria-current=page]").inner_text() == "Accounts"
    assert "ui-supervisor" in page.inner_text("#accounts")
    assert_accessible(page, "users")

    page.fill("#new-name", "ui-new-officer")
    page.select_option("#new-role", "officer")
    page.fill("#new-password", "short")
    page.click("#add-user button[type=submit]")  # refused: the reason in words and its code
    expect(page.locator("#users-result")).to_contain_text("PASSWORD_WEAK")
    page.fill("#new-password", PASSWORD)
    page.click("#add-user button[type=submit]")
    expect(page.locator("#users-result")).to_contain_text("Added ui-new-officer (officer)")
    row = page.locator("#accounts tr[data-account=ui-new-officer]")
    expect(row).to_contain_text("active")
    assert page.input_value("#new-password") == ""  # the password does not stay on the screen
    shoot(page, "users")

    officer = try_log_in(browser, office, "ui-new-officer", PASSWORD)  # the new account works
    officer.wait_for_selector("body[data-page=officer][data-ready='1']", timeout=30_000)
    assert nav_pages(officer) == ["officer", "monitor"]  # no accounts page for an officer
    refused = officer.evaluate("fetch('/api/v1/users').then(r => r.status)")
    assert refused == 403
    officer.goto(f"{office.url}/guard/users.html")  # typed by hand: sent to its own page
    officer.wait_for_selector("body[data-page=officer]")
    officer.goto(f"{office.url}/guard/monitor.html")  # no overrides to review for an officer
    officer.wait_for_selector("body[data-page=monitor][data-ready='1']")
    assert not officer.locator("[data-part=overrides]").is_visible()

    page.click("button[aria-label='Disable ui-new-officer']")
    expect(page.locator("#users-result")).to_contain_text("Disabled ui-new-officer")
    expect(row).to_contain_text("disabled")
    assert officer.evaluate("fetch('/api/v1/checks').then(r => r.status)") == 401  # ended now
    officer.context.close()
    again = try_log_in(browser, office, "ui-new-officer", PASSWORD)  # disabled: no login
    expect(again.locator("#error")).to_contain_text("AUTH_FAILED")
    assert again.evaluate("document.body.dataset.page") == "login"
    again.context.close()

    page.select_option("#reset-name", "ui-new-officer")
    page.fill("#reset-password", "another long password")
    page.click("#reset-user button[type=submit]")
    expect(page.locator("#users-result")).to_contain_text("New password for ui-new-officer")
    expect(row).to_contain_text("active")
    back = try_log_in(browser, office, "ui-new-officer", "another long password")
    back.wait_for_selector("body[data-page=officer][data-ready='1']", timeout=30_000)
    back.context.close()
    assert_accessible(page, "users after changes")
    page.context.close()

    for role in ("technician", "auditor"):  # one page each: no navigation, no accounts link
        other, _ = log_in(browser, office, role, width=1280, height=900)
        assert nav_pages(other) == []
        assert other.evaluate("fetch('/api/v1/users').then(r => r.status)") == 403
        other.context.close()
    office.log_in("auditor")
    records = office.get("/api/v1/history?recent=50")["records"]
    assert sum(1 for r in records if r["outcome"] == "config_change") >= 3
    print(f"\nsupervisor page load {load_ms:.0f} ms, accounts page {users_ms:.0f} ms")


@pytest.fixture(scope="module")
def handheld_faces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A handheld whose simulated travellers have real faces (`APPLIANCE_SIM_FACES`): the face
    step compares the live capture with the chip photo."""
    root = tmp_path_factory.mktemp("handheld-faces")
    config = simulated_config(root / "handheld.toml", device={"mode": "handheld"})
    service = start_service(
        root / "data", config, timeout_s=120, env={"APPLIANCE_SIM_FACES": str(FACES)}
    )
    try:
        yield service
    finally:
        stop_service(service)


@pytest.mark.slow
def test_officer_sees_the_live_face_beside_the_chip_photo_with_score_and_threshold(
    browser: Any, handheld_faces: ServiceProcess
) -> None:
    page, _ = log_in(browser, handheld_faces, "officer", **PHONE)
    page.click("#start-button")
    expect(page.locator("#progress")).to_contain_text("Place")
    page.select_option("#sim-kind", "genuine")
    page.click("#sim-present")
    page.wait_for_selector("[data-part=decide] form", timeout=60_000)
    faces = page.locator("[data-part=faces]")
    assert faces.locator("img[alt='Photo stored in the chip']").count() == 1
    assert faces.locator("img[alt='Live capture at the lane']").count() == 1
    chip, live = (faces.locator("figure").nth(i).bounding_box() for i in (0, 1))
    assert chip and live and abs(chip["y"] - live["y"]) < 2 and live["x"] > chip["x"]
    said = faces.inner_text()
    assert re.search(r"score -?\d+(\.\d+)?, threshold \d+(\.\d+)?", said), said
    assert "Face: passed" in said and "Liveness:" in said
    assert_accessible(page, "officer report with faces")  # no screenshot: real people's faces
    page.context.close()
