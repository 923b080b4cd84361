"""Kiosk benchmark: how fast the traveller's screen follows the lane, and the live preview.

    python -m benchmarks.kiosk [--travellers 30] [--faces tests/data/faces]

Starts `appliance serve` with simulated hardware (benchmarks/service.py), opens the kiosk in
Debian's Chromium (headless, through Playwright, as the browser tests do) and sends simulated
travellers one after another. The page records when each screen reached the DOM and when the
browser next painted (`window.kioskTrace`); the service stamps each screen with the time the
lane event behind it was emitted. Printed: event-to-screen latency (lane event emitted -> DOM
shows the screen, and -> the next paint) p50/p95/max over every screen change, by screen
too; with `--faces`, the preview's frame rate during the face step and its delay (the face
step handing a frame over -> the MJPEG part received by a client on loopback). Both clocks
are this machine's wall clock. The browser, the service and the travellers share the 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.config import SIMULATED_CONFIG
from benchmarks.service import pct, request, start

LAUNCH_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
KINDS = ("genuine", "forged_dg", "genuine", "expired", "genuine", "revoked_ds")


def _epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000


class PreviewReader:
    """Reads the MJPEG stream and notes each part's delay (received - handed over)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.delays_ms: list[float] = []
        self.received: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        conn.request("GET", "/api/v1/kiosk/preview.mjpg")
        response = conn.getresponse()
        while not self.stop.is_set():
            line = response.fp.readline()
            if not line:
                return
            if not line.startswith(b"--frame"):
                continue
            headers: dict[str, str] = {}
            while (header := response.fp.readline().strip()) != b"":
                name, _, value = header.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            response.fp.read(int(headers["content-length"]))
            now = time.time()
            self.received.append(now)
            self.delays_ms.append((now - float(headers["x-frame-time"])) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=30)
    parser.add_argument("--faces", type=Path, default=None, help="e.g. tests/data/faces")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        service = start(Path(tmp), SIMULATED_CONFIG, faces=args.faces)
        port = service.port
        preview = PreviewReader(port) if args.faces else None
        if preview is not None:
            preview.thread.start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=args.chromium, headless=True, args=list(LAUNCH_ARGS)
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"http://127.0.0.1:{port}/kiosk/")
                page.wait_for_function("() => document.body.dataset.screenShown === 'idle'")
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                face_s = 0.0
                for i in range(args.travellers):
                    kind = KINDS[i % len(KINDS)]
                    answer = request(conn, "POST", "/api/v1/sim/travellers", {"kind": kind})
                    face_s += answer.get("timings_ms", {}).get("biometrics", 0.0) / 1000
                    page.wait_for_function(
                        "(id) => window.kioskTrace.some((t) => t.check_id === id "
                        "&& t.painted_at && t.screen.startsWith('result'))",
                        arg=answer["check_id"],
                        timeout=60_000,
                    )
                time.sleep(0.5)
                trace: list[dict[str, Any]] = page.evaluate("() => window.kioskTrace")
                browser.close()
        finally:
            if preview is not None:
                preview.stop.set()
            service.proc.terminate()
            service.proc.wait(20)

    report(trace, args.travellers)
    if preview is not None:
        report_preview(preview, face_s)


def report(trace: list[dict[str, Any]], travellers: int) -> None:
    dom: list[float] = []
    paint: list[float] = []
    by_screen: dict[str, list[float]] = {}
    for entry in trace:
        if not entry.get("event_time") or entry.get("snapshot"):
            continue  # the screen on connecting, and screens that ran out (no event behind)
        emitted = _epoch_ms(entry["event_time"])
        dom.append(entry["at"] - emitted)
        if entry.get("painted_at"):
            paint.append(entry["painted_at"] - emitted)
        by_screen.setdefault(entry["screen"], []).append(entry["at"] - emitted)
    print(f"kiosk: {travellers} travellers, {len(dom)} screen changes in Chromium")
    for name, values in (("event -> DOM", dom), ("event -> paint", paint)):
        if values:
            print(
                f"  {name:15s} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms  "
                f"max {max(values):6.1f} ms  (n={len(values)})"
            )
    for screen, values in sorted(by_screen.items()):
        print(f"    {screen:16s} p50 {statistics.median(values):6.1f} ms  (n={len(values)})")


def report_preview(preview: PreviewReader, face_s: float) -> None:
    frames = len(preview.delays_ms)
    if not frames:
        print("preview: no frame received")
        return
    fps = frames / face_s if face_s else float("nan")
    print(
        f"preview: {frames} frames over {face_s:.1f} s of face steps = {fps:.1f} frames/s; "
        f"delay p50 {pct(preview.delays_ms, 50):.1f} ms  p95 {pct(preview.delays_ms, 95):.1f} ms"
    )


if __name__ == "__main__":
    main()
