"""Crash test: SIGKILL a process while it appends; every acknowledged event must survive.

A child appends events one at a time and prints each receipt's index and event id only after
`append` returned (that is what the gate waits for). The parent kills it with SIGKILL at a
random point, several rounds in a row on the same history, then reopens the history and checks
that each acknowledged event is at its index and that full verification passes.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from appliance.history.events import decode_leaf
from appliance.history.verify import verify
from tests.support.history_support import open_ledger, raw

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from pathlib import Path
from appliance.history.events import DocumentRef, Event, EventType, PersonalData
from appliance.history import DeviceIdentity, Ledger

ledger = Ledger(Path(sys.argv[1]), DeviceIdentity("gate-crash", "LAB"))
for n in range(1_000_000):
    event = Event(
        EventType.CHECK, "OPEN", ["OK"], {"round": int(sys.argv[2]), "n": n},
        DocumentRef("UTO", f"X{n:08d}"), PersonalData(surname="DOE", face_image=b"x" * 2000),
    )
    receipt = ledger.append(event)
    print(receipt.index, event.event_id, flush=True)
"""


def _parse(lines: str, acked: dict[int, str]) -> None:
    for line in lines.splitlines(keepends=True):
        if line.endswith("\n"):
            index, event_id = line.split()
            acked[int(index)] = event_id


def test_every_acknowledged_event_survives_sigkill(tmp_path: Path) -> None:
    rng = random.Random(20260301)
    acked: dict[int, str] = {}
    rounds = 5
    for round_no in range(rounds):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), str(round_no)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        target = rng.randint(45, 75)
        for _ in range(target):
            line = child.stdout.readline()
            assert line, f"child died on its own in round {round_no} (rc={child.poll()})"
            _parse(line, acked)
        time.sleep(rng.uniform(0, 0.008))  # land somewhere inside a later append
        child.send_signal(signal.SIGKILL)
        _parse(child.stdout.read(), acked)  # receipts printed before the kill count too
        child.wait()
        assert child.returncode == -signal.SIGKILL

    assert len(acked) >= 200
    with open_ledger(tmp_path) as ledger:
        result = verify(ledger)
        assert result.ok, [p.to_json() for p in result.problems]
        assert result.size >= max(acked) + 1
    conn = raw(tmp_path)
    try:
        for index, event_id in acked.items():
            row = conn.execute("SELECT leaf FROM records WHERE idx = ?", (index,)).fetchone()
            assert row is not None, f"acknowledged event {index} lost"
            assert decode_leaf(bytes(row[0])).event_id == event_id
    finally:
        conn.close()
