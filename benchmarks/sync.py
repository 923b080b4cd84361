"""Central sync benchmark: ingest from many devices at once, and a document query at scale.

    python -m benchmarks.sync [--devices 100] [--events 1000] [--batch 250] [--workers 2]
                              [--query-events 1000000] [--queries 500] [--quick] [--json]
                              [--drain 10000 [--drain-batch 1000] [--drain-only]]

Starts a throwaway PostgreSQL cluster with production durability (fsync and synchronous commit
on) and `appliance central serve` over it, on loopback. Phases:
1. ingest: --devices simulated devices, enrolled with one-time tokens, each holding --events
   checks signed into its history, all draining in parallel (one thread each) in batches of
   --batch through the signed API, with the witness's proofs checked: events/s from the first
   request to the last answer, and p50/p99 batch latency;
2. query: --query-events pseudonymised checks bulk-loaded (COPY) over 12 monthly partitions
   and 100 devices, then --queries GET /api/v1/documents/{pseudonym}/checks of random
   documents one after another: p50/p99 latency.
The simulated devices (their tree, signatures and request bodies) are prepared before the
clock starts, so the figures are central's.
3. drain (--drain N): one real device (a data directory with an `appliance.history` ledger
   holding N checks spread over the past week, with sealed personal data and the national
   key configured) enrolled with `sync.device.service.enrol`, then one `run_round`: seconds
   from the first request until central has acknowledged (committed) the last batch, which
   includes reading the history, unsealing each document number for its national pseudonym,
   the proofs and the signatures (the device's work as well as central's).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from sync import protocol
from sync.central import auth
from sync.central.db import Database
from sync.central.pgcluster import TempCluster
from sync.central.simdevice import CentralClient, SimulatedDevice

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _start_central(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "appliance.cli", "central", "serve", "--database", url]
    cmd += ["--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("central did not start")


def ingest(url: str, base: str, devices: int, events: int, batch: int) -> dict[str, Any]:
    documents = [secrets.token_hex(32) for _ in range(max(1, devices * events // 5))]
    prepared: list[tuple[CentralClient, list[bytes]]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for n in range(devices):
            device = SimulatedDevice(f"bench-{n:03d}", location=f"lane-{n % 8}")
            for _ in range(events):
                device.leaves.append(device.leaf(device.size, "x", "OPEN"))
                device.documents.append(random.choice(documents))
            device.sign_checkpoint()
            client = CentralClient(base, device.device_id, device.auth_key, timeout=120)
            status, body = client.enrol(device, auth.issue_token(conn, device.device_id))
            if status != 201:
                raise SystemExit(f"enrolment refused: {body}")
            client.close()  # preparing the others outlasts the server's keep-alive
            bodies = []
            for start in range(0, events, batch):
                from_size = 0 if start == 0 else events
                payload = device.batch(start, min(start + batch, events), from_size)
                bodies.append(json.dumps(payload).encode())
            prepared.append((client, bodies))

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(devices + 1)

    def drain(client: CentralClient, bodies: list[bytes]) -> None:
        barrier.wait()
        target = f"/api/v1/devices/{client.device_id}/batches"
        for body in bodies:
            headers = protocol.sign_request(client.key, client.device_id, "POST", target, body)
            began = time.perf_counter()
            try:
                status, answer = client.raw("POST", target, body, headers)
            except OSError as exc:
                status, answer = 0, type(exc).__name__
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status != 200:
                    errors.append(f"{status} {answer}")

    threads = [threading.Thread(target=drain, args=p) for p in prepared]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} batches refused, first: {errors[0]}")
    total = devices * events
    return {
        "devices": devices,
        "events": total,
        "batch": batch,
        "seconds": round(elapsed, 2),
        "events_per_s": round(total / elapsed),
        "batch_latency_ms_p50": round(_percentile(latencies, 0.50) * 1000, 1),
        "batch_latency_ms_p99": round(_percentile(latencies, 0.99) * 1000, 1),
    }


def bulk_load(url: str, count: int) -> list[str]:
    """`count` checks over 12 months and 100 devices, ~5 checks per document (COPY)."""
    now = datetime.now(UTC)
    first = now - timedelta(days=365)
    documents = [secrets.token_hex(32) for _ in range(max(1, count // 5))]
    db = Database(url, min_size=1, max_size=2)
    db.open()
    db.ensure_partitions(first + timedelta(days=d) for d in range(0, 366, 10))
    db.ensure_partitions([now])
    db.close()
    span = (now - first).total_seconds()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        copy_sql = (
            "COPY events (device_id, idx, time, event_id, type, location, document, outcome,"
            " reasons, leaf_hash) FROM STDIN"
        )
        with cur.copy(copy_sql) as copy:
            for i in range(count):
                device = i % 100
                moment = first + timedelta(seconds=span * i / count)
                copy.write_row(
                    (
                        f"bulk-{device:03d}",
                        i // 100,
                        moment,
                        uuid.uuid4(),
                        "check",
                        f"lane-{device % 8}",
                        random.choice(documents),
                        "OPEN",
                        ["OK"],
                        os.urandom(32),
                    )
                )
        conn.commit()
        conn.execute("ANALYZE events")
        conn.commit()
    return documents


def query(url: str, base: str, count: int, queries: int) -> dict[str, Any]:
    began = time.perf_counter()
    documents = bulk_load(url, count)
    loaded = time.perf_counter() - began
    device = SimulatedDevice("bench-officer")
    client = CentralClient(base, device.device_id, device.auth_key)
    with psycopg.connect(url, autocommit=True) as conn:
        client.enrol(device, auth.issue_token(conn, device.device_id))
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    client.close()
    latencies = []
    found = 0
    for _ in range(queries):
        document = random.choice(documents)
        start = time.perf_counter()
        status, body = client.signed("GET", f"/api/v1/documents/{document}/checks")
        latencies.append(time.perf_counter() - start)
        if status != 200:
            raise SystemExit(f"query refused: {body}")
        found += len(body["checks"])
    return {
        "central_events": int(row[0]) if row else 0,
        "load_seconds": round(loaded, 1),
        "queries": queries,
        "checks_per_document_mean": round(found / queries, 2),
        "query_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "query_ms_p99": round(_percentile(latencies, 0.99) * 1000, 2),
    }


def drain(base: str, database: str, count: int, batch: int) -> dict[str, Any]:
    """A week offline, then one device's backlog to central (see the module doc)."""
    import tempfile

    from appliance.config import Config
    from appliance.history import DocumentRef, Event, EventType, Ledger, PersonalData
    from sync.central.simdevice import TEST_NATIONAL_KEY
    from sync.device import service

    with tempfile.TemporaryDirectory(prefix="drain-") as tmp:
        root = Path(tmp)
        (root / "national.key").write_bytes(TEST_NATIONAL_KEY)
        config = Config.model_validate(
            {
                "device": {"device_id": f"drain-{os.getpid()}", "location": "ship-1"},
                "sync": {"national_key_file": str(root / "national.key"), "batch_size": batch},
                "data_dir": str(root / "data"),
            }
        )
        data = root / "data"
        data.mkdir(mode=0o700)
        week_ago = datetime.now(UTC) - timedelta(days=7)
        step = timedelta(days=7) / max(count, 1)
        with Ledger.open_default(data, config) as ledger:
            for start in range(0, count, 500):
                events = []
                for i in range(start, min(count, start + 500)):
                    number = f"D{i % (count // 3 + 1):08d}"
                    report = {"document": {"issuing_state": "UTO", "document_type": "P"}}
                    events.append(
                        Event(
                            EventType.CHECK,
                            "OPEN",
                            reasons=["OK"],
                            public={"report": report},
                            document=DocumentRef("UTO", number),
                            personal=PersonalData(surname="SIM", document_number=number),
                            time=week_ago + step * i,
                        )
                    )
                ledger.append_batch(events)
        with psycopg.connect(database, autocommit=True) as conn:
            token = auth.issue_token(conn, config.device.device_id)
        service.enrol(config, data, base, token)
        started = time.perf_counter()
        result = service.run_round(config, data, attempts=3)
        seconds = time.perf_counter() - started
        status = service.status(config, data)
    if status["backlog"] != 0 or result.acknowledged != count:
        raise SystemExit(f"drain incomplete: {status['backlog']} left")
    return {
        "events": count,
        "batch": batch,
        "seconds": round(seconds, 2),
        "events_per_s": round(count / seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000, help="events per device")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2, help="central server processes")
    parser.add_argument("--query-events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="20 devices x 200, 100k query")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--drain", type=int, default=0, help="checks one device drains (0: off)")
    parser.add_argument("--drain-batch", type=int, default=1000)
    parser.add_argument("--drain-only", action="store_true", help="only the drain phase")
    args = parser.parse_args(argv)
    if args.quick:
        args.devices, args.events, args.query_events, args.queries = 20, 200, 100_000, 200
    results: dict[str, Any] = {"cpus": os.cpu_count(), "workers": args.workers}
    with TempCluster(durable=True) as cluster:
        proc, base = _start_central(cluster.url, args.workers)
        try:
            if args.drain:
                results["drain"] = drain(base, cluster.url, args.drain, args.drain_batch)
            if not args.drain_only:
                results["ingest"] = ingest(cluster.url, base, args.devices, args.events, args.batch)
                results["query"] = query(cluster.url, base, args.query_events, args.queries)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    if "drain" in results:
        d = results["drain"]
        print(
            f"drain: {d['events']} checks of one device after a week offline, batches of"
            f" {d['batch']}: {d['seconds']} s to central durable ({d['events_per_s']} events/s)"
        )
    if not args.drain_only:
        i, q = results["ingest"], results["query"]
        print(
            f"ingest: {i['devices']} devices x {i['events'] // i['devices']} events in batches"
            f" of {i['batch']}: {i['events_per_s']} events/s ({i['seconds']} s),"
            f" batch latency p50 {i['batch_latency_ms_p50']} ms, p99 {i['batch_latency_ms_p99']} ms"
        )
        print(
            f"query: {q['central_events']} central events, {q['queries']} document queries:"
            f" p50 {q['query_ms_p50']} ms, p99 {q['query_ms_p99']} ms"
            f" ({q['checks_per_document_mean']} checks per document)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
