"""The kiosk with the face step (simulated travellers with real faces, `APPLIANCE_SIM_FACES`):
the camera screen and its live preview come between the document and the result, and an
impostor is sent to an officer."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.support.browser_support import axe_violations, require_chromium
from tests.support.data_support import FACES
from tests.support.kiosk_support import open_kiosk, screens_of, stop_service, traveller, wait_screen
from tests.support.service_support import ServiceProcess, start_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faces_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    require_chromium()
    data = tmp_path_factory.mktemp("kiosk-faces")
    service = start_service(data, timeout_s=120, env={"APPLIANCE_SIM_FACES": str(FACES)})
    try:
        yield service
    finally:
        stop_service(service)


def first_preview_frame(url: str, into: list[bytes]) -> None:
    with urllib.request.urlopen(f"{url}/api/v1/kiosk/preview.mjpg?frames=1", timeout=60) as r:
        assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        body = r.read()
    head, _, rest = body.partition(b"\r\n\r\n")
    assert b"Content-Type: image/jpeg" in head
    length = int(next(h for h in head.split(b"\r\n") if h.startswith(b"Content-Length")).split()[1])
    into.append(rest[:length])


def test_genuine_traveller_sees_the_camera_and_its_preview(
    browser: Any, faces_service: ServiceProcess, screenshots: Path
) -> None:
    page = open_kiosk(browser, faces_service.url)
    wait_screen(page, "idle")
    frames: list[bytes] = []
    reader = threading.Thread(target=first_preview_frame, args=(faces_service.url, frames))
    reader.start()
    answer = traveller(faces_service, "genuine")
    reader.join(60)
    assert answer["decision"] == "OPEN", answer
    wait_screen(page, "result-open")
    assert screens_of(page, answer["check_id"]) == [
        "place-document", "reading", "remove-document", "face-capture", "processing",
        "result-open",
    ]  # fmt: skip
    assert frames, "no preview frame during the face step"
    picture = cv2.imdecode(np.frombuffer(frames[0], np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[1] <= 640
    assert faces_service.get("/api/v1/kiosk/preview/quality") == {"instruction": None}  # gone
    assert axe_violations(page) == []
    page.context.close()


def test_impostor_is_sent_to_an_officer(browser: Any, faces_service: ServiceProcess) -> None:
    page = open_kiosk(browser, faces_service.url)
    wait_screen(page, "idle", timeout_s=15)
    answer = traveller(faces_service, "impostor")
    assert answer["decision"] == "REFER" and "FACE_NO_MATCH" in answer["reasons"]
    wait_screen(page, "result-refer")
    assert "face-capture" in screens_of(page, answer["check_id"])
    assert "FACE_NO_MATCH" not in page.content()
    page.context.close()
