"""Service benchmark: `appliance serve` with simulated hardware, measured from the outside.

    python -m benchmarks.service [--travellers 40] [--clients 50] [--duration 60] [--pcsc]

Starts the service as a real process on a free loopback port in a fresh data directory and
prints: cold start to READY (process spawn to the lane-ready line, first start with the
simulated authority's provisioning and a second start on the provisioned directory), the
service's RSS, the software time per traveller through the service (the lane's own
transaction time and the client's round trip for `POST /api/v1/sim/travellers`) at idle, then
`--clients` concurrent API clients on loopback for `--duration` seconds (a fifth of them on the
event stream, the rest polling health, lane, recent checks and metrics, each every `--poll`
seconds) with their p50/p99
latency and errors, and the per-traveller time under that load against the idle figure.
The load generator runs on the same (2-core) machine and competes with the service for CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.config import SIMULATED_CONFIG

_READY = re.compile(r"API on http://127\.0\.0\.1:(\d+)/api/v1")
POLLED = ("/api/v1/health", "/api/v1/lane", "/api/v1/checks?recent=5", "/metrics")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] if ordered else float("nan")


@dataclass
class Service:
    proc: subprocess.Popen[str]
    port: int
    ready_s: float

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.terminate()
        self.proc.wait(30)
        return time.monotonic() - started


def start(data_dir: Path, config: Path, faces: Path | None = None) -> Service:
    env = {**os.environ, "APPLIANCE_DATA_DIR": str(data_dir)}
    if faces is not None:  # travellers with real faces, the face models loaded
        env["APPLIANCE_SIM_FACES"] = str(faces)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "serve", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        match = _READY.search(line)
        if match:
            service = Service(proc, int(match.group(1)), time.monotonic() - started)
            threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
            log_in(data_dir, service.port)
            return service
    raise SystemExit(f"service did not start (exit {proc.wait()})")


#: the benchmark's session (cookie and CSRF token): /checks needs a logged-in officer
SESSION: dict[str, str] = {}


def log_in(data_dir: Path, port: int) -> None:
    from appliance.accounts.store import AccountStore, Role
    from appliance.errors import ApplianceError

    password = "benchmark password, not secret"
    store = AccountStore.open(data_dir)
    with contextlib.suppress(ApplianceError):  # made at the first start
        store.add("benchmark", Role.SUPERVISOR, password)
    store.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/api/v1/session",
        json.dumps({"username": "benchmark", "password": password}),
        {"Content-Type": "application/json"},
    )
    response = conn.getresponse()
    body = json.loads(response.read())
    SESSION.update(Cookie=str(response.getheader("Set-Cookie")).split(";", 1)[0],
                   **{"X-CSRF-Token": body["csrf_token"]})  # fmt: skip
    conn.close()


def request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> Any:
    payload = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if payload else {}
    headers.update(SESSION)
    conn.request(method, path, payload, headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 400:
        raise RuntimeError(f"{method} {path}: HTTP {response.status}")
    return json.loads(data) if response.headers.get_content_type() == "application/json" else data


def travellers(port: int, count: int, kinds: tuple[str, ...]) -> tuple[list[float], list[float]]:
    """(lane transaction ms, client round-trip ms) for `count` travellers, one at a time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lane, trip = [], []
    for n in range(count):
        t = time.perf_counter()
        answer = request(conn, "POST", "/api/v1/sim/travellers", {"kind": kinds[n % len(kinds)]})
        trip.append((time.perf_counter() - t) * 1000)
        lane.append(float(answer["transaction_ms"]))
    conn.close()
    return lane, trip


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def poller(port: int, stop: threading.Event, load: Load, index: int, every_s: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = index
    while not stop.is_set():
        path = POLLED[n % len(POLLED)]
        n += 1
        t = time.perf_counter()
        try:
            request(conn, "GET", path)
            with load.lock:
                load.latencies.append((time.perf_counter() - t) * 1000)
        except Exception as exc:
            with load.lock:
                load.errors.append(f"{path}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        time.sleep(every_s)
    conn.close()


def subscriber(port: int, stop: threading.Event, load: Load) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/api/v1/lane/events")
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"events: HTTP {response.status}")
        while not stop.is_set():
            line = response.readline()
            if not line:
                raise RuntimeError("event stream ended")
            if line.startswith(b"data: "):
                with load.lock:
                    load.events += 1
    except Exception as exc:
        if not stop.is_set():
            with load.lock:
                load.errors.append(f"events: {exc}")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=40)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of API load")
    parser.add_argument(
        "--poll",
        type=float,
        default=0.25,
        help="seconds each polling client waits between requests",
    )
    parser.add_argument("--pcsc", action="store_true", help="chips behind pcscd (vpcd)")
    parser.add_argument(
        "--faces", type=Path, help="a folder of photos per person (tests/data/faces): the face "
        "step runs with its models, impostors join the mix",
    )  # fmt: skip
    args = parser.parse_args()
    kinds: tuple[str, ...] = (
        "genuine",
        "genuine",
        "genuine",
        "forged_dg",
        "expired",
        "watchlisted",
    )
    if args.faces is not None:
        kinds += ("impostor",)
    with tempfile.TemporaryDirectory(prefix="service-bench-") as tmp:
        config = SIMULATED_CONFIG
        if args.pcsc:
            config = Path(tmp) / "pcsc.toml"
            config.write_text(
                SIMULATED_CONFIG.read_text() + '\n[chip]\nreader = "Virtual PCD 00 00"\n'
            )
        data = Path(tmp) / "data"
        first = start(data, config, args.faces)
        first.stop()
        service = start(data, config, args.faces)
        path = "pcscd + vpcd" if args.pcsc else "in-process chip"
        face = "face step with real photos" if args.faces else "no face step"
        print(f"appliance serve, simulated hardware ({path}, {face})")
        print(f"  cold start to READY: first start {first.ready_s:.2f} s (provisions the simulated "
              f"authority), provisioned {service.ready_s:.2f} s (target <= 3 s)")  # fmt: skip
        print(f"  RSS after start: {service.rss_mb():.0f} MB")
        travellers(service.port, 2, kinds)  # warm-up
        idle_lane, idle_trip = travellers(service.port, args.travellers, kinds)
        print(f"  per traveller at idle ({len(idle_lane)}): lane p50 {pct(idle_lane, 50):.1f} ms, "
              f"p95 {pct(idle_lane, 95):.1f} ms; round trip p50 {pct(idle_trip, 50):.1f} ms, "
              f"p95 {pct(idle_trip, 95):.1f} ms (target p95 <= 1500 ms)")  # fmt: skip
        load = Load()
        stop = threading.Event()
        subscribers = max(1, args.clients // 5)
        threads = [
            threading.Thread(target=subscriber, args=(service.port, stop, load), daemon=True)
            for _ in range(subscribers)
        ] + [
            threading.Thread(
                target=poller, args=(service.port, stop, load, i, args.poll), daemon=True
            )
            for i in range(args.clients - subscribers)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + args.duration
        busy_lane: list[float] = []
        busy_trip: list[float] = []
        while time.monotonic() < deadline:
            lane, trip = travellers(service.port, 5, kinds)
            busy_lane += lane
            busy_trip += trip
        stop.set()
        for thread in threads:
            thread.join(5)
        rss = service.rss_mb()
        stop_s = service.stop()
    lat = load.latencies
    print(f"  {args.clients} API clients for {args.duration:.0f} s ({subscribers} on the event "
          f"stream, {args.clients - subscribers} polling {', '.join(POLLED)} every "
          f"{args.poll:g} s):")  # fmt: skip
    print(f"    {len(lat)} requests, p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
          f"errors {len(load.errors)}; {load.events} events delivered")  # fmt: skip
    for error in load.errors[:5]:
        print(f"    error: {error}")
    ratio = statistics.median(busy_lane) / statistics.median(idle_lane) if busy_lane else math.nan
    print(f"    per traveller under load ({len(busy_lane)}): lane p50 {pct(busy_lane, 50):.1f} ms, "
          f"p95 {pct(busy_lane, 95):.1f} ms ({ratio:.2f}x idle p50, target within 1.10x); "
          f"round trip p50 {pct(busy_trip, 50):.1f} ms")  # fmt: skip
    print(f"  RSS after the load: {rss:.0f} MB; SIGTERM to exit: {stop_s:.2f} s")


if __name__ == "__main__":
    main()
