"""Benchmark of the local history: durable appends/s, full verification of N events, proofs.

    python benchmarks/history.py [--events 1000000] [--batch 10000] [--dir PATH] [--keep]

Phases, all on one history in a temporary directory (or --dir):
1. single durable appends (one fsynced transaction + signed checkpoint + synced file each),
   the way an e-gate appends one traveller at a time: events/s and latency percentiles;
2. batched durable appends (100 events per transaction and checkpoint);
3. bulk generation of --events events in batches of --batch (progress printed);
4. `verify` of the whole history: every leaf rehashed, tree regrown, every signature checked;
5. inclusion and consistency proofs: size in bytes and time to build and to verify;
6. a document lookup (`history show --document`) in the full history.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from appliance.history import DeviceIdentity, Ledger, merkle
from appliance.history.events import DocumentRef, Event, EventType, PersonalData
from appliance.history.verify import verify

FACE = os.urandom(15_000)  # a DG2-sized face image (JPEG 2000, ~15 kB)


def event(n: int, face: bool) -> Event:
    return Event(
        type=EventType.CHECK,
        outcome="OPEN" if n % 10 else "REFER",
        reasons=["OK"] if n % 10 else ["FACE_NO_MATCH"],
        public={
            "steps": {"mrz": 12, "chip": 850, "pa": 40, "face": 310},
            "face_score": 0.734,
            "lane": n % 4,
        },
        document=DocumentRef("UTO", f"L{n:08d}"),
        personal=PersonalData(
            surname="ERIKSSON",
            given_names="ANNA MARIA",
            date_of_birth="740812",
            document_number=f"L{n:08d}",
            nationality="UTO",
            face_image=FACE if face else None,
        ),
    )


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=300, help="single durable appends")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the history directory")
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="history-bench-"))
    directory = root / "history"
    print(f"history benchmark in {directory} (python {sys.version.split()[0]})")
    ledger = Ledger(directory, DeviceIdentity("bench-gate-01", "BENCH"))
    try:
        latencies = []
        started = time.perf_counter()
        for n in range(args.single):
            t0 = time.perf_counter()
            ledger.append(event(n, face=True))
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
        print(
            f"single durable append (15 kB face): {args.single / elapsed:8.1f} events/s  "
            f"p50 {pct(latencies, 50):.2f} ms  p99 {pct(latencies, 99):.2f} ms"
        )

        batches, size = 20, 100
        started = time.perf_counter()
        for b in range(batches):
            ledger.append_batch([event(b * size + i, face=True) for i in range(size)])
        elapsed = time.perf_counter() - started
        print(f"batched durable append ({size}/batch):  {batches * size / elapsed:8.1f} events/s")

        print(f"generating {args.events:,} events in batches of {args.batch:,} ...")
        started = time.perf_counter()
        done = 0
        next_report = 100_000
        while done < args.events:
            count = min(args.batch, args.events - done)
            ledger.append_batch([event(done + i, face=False) for i in range(count)])
            done += count
            if done >= next_report or done == args.events:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:>10,} events  {rate:8.0f} events/s", flush=True)
                next_report += 100_000
        bulk_rate = args.events / (time.perf_counter() - started)
        print(f"bulk append (no face image):          {bulk_rate:8.0f} events/s")

        result = verify(ledger)
        if not result.ok:
            raise SystemExit(f"verification failed: {result.problems[:3]}")
        db_mb = sum(p.stat().st_size for p in directory.glob("ledger.sqlite*")) / 1e6
        print(
            f"verify {result.size:,} events, {result.checkpoints:,} checkpoints: "
            f"{result.elapsed_s:.2f} s ({result.size / result.elapsed_s:,.0f} events/s); "
            f"database {db_mb:,.0f} MB"
        )

        latest, _ = ledger.latest_checkpoint()
        rng = random.Random(1)
        build, check, sizes = [], [], []
        for _ in range(200):
            index = rng.randrange(latest.size)
            t0 = time.perf_counter()
            proof = ledger.inclusion_proof(index)
            t1 = time.perf_counter()
            ok = merkle.verify_inclusion(
                proof.leaf_hash, index, proof.size, proof.path, latest.root
            )
            t2 = time.perf_counter()
            assert ok
            build.append((t1 - t0) * 1000)
            check.append((t2 - t1) * 1e6)
            sizes.append(len(proof.path) * merkle.HASH_SIZE)
        print(
            f"inclusion proof at size {latest.size:,}: {statistics.mean(sizes):.0f} B "
            f"(max {max(sizes)} B), build p50 {pct(build, 50):.2f} ms, "
            f"verify p50 {pct(check, 50):.0f} us"
        )

        old_sizes = [
            int(r[0]) for r in ledger.conn.execute("SELECT size FROM checkpoints WHERE size > 0")
        ]
        build, check, sizes = [], [], []
        for old in rng.sample(old_sizes, min(100, len(old_sizes))):
            t0 = time.perf_counter()
            proof = ledger.consistency_proof(old)
            t1 = time.perf_counter()
            old_cp = ledger.verify_note(proof.old_note)
            assert merkle.verify_consistency(old, latest.size, old_cp.root, latest.root, proof.path)
            t2 = time.perf_counter()
            build.append((t1 - t0) * 1000)
            check.append((t2 - t1) * 1e6)
            sizes.append(len(proof.path) * merkle.HASH_SIZE)
        print(
            f"consistency proof to size {latest.size:,}: {statistics.mean(sizes):.0f} B "
            f"(max {max(sizes)} B), build p50 {pct(build, 50):.2f} ms, "
            f"verify p50 {pct(check, 50):.0f} us (incl. signature)"
        )

        t0 = time.perf_counter()
        views = ledger.checks_of(DocumentRef("UTO", "L00000007"))
        lookup = (time.perf_counter() - t0) * 1000
        print(
            f"document lookup in {latest.size:,} events: {len(views)} record(s), "
            f"proven, {lookup:.1f} ms"
        )
    finally:
        ledger.close()
        if not args.keep and args.dir is None:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
