"""Ingest and witness: idempotent batches, fork alarms, forged proofs, a real device history."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from appliance.history import (
    DeviceIdentity,
    DocumentRef,
    Event,
    EventType,
    Ledger,
    PersonalData,
    merkle,
)
from sync import protocol
from sync.central.simdevice import CentralClient, SimulatedDevice, national_pseudonym
from tests.sync.conftest import CentralServer, enrolled, issue_token


def _stored(database: str, device_id: str) -> list[tuple[int, bytes]]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT idx, leaf_hash FROM events WHERE device_id = %s ORDER BY idx", (device_id,)
        ).fetchall()
    return [(int(i), bytes(h)) for i, h in rows]


def _alarms(database: str, device_id: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM fork_alarms WHERE device_id = %s", (device_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_batches_stored_in_order_with_the_witnessed_checkpoint(
    shared_central: CentralServer,
) -> None:
    device, client = enrolled(shared_central, "ingest")
    device.check(5)
    status, body = client.send(device.batch(0, 3, 0, backlog=2, artefacts={"watchlist": 3}))
    assert status == 200, body
    # events 0..2 stored, checkpoint 5 witnessed (the batch may lag the checkpoint)
    assert (body["next_index"], body["acknowledged"], body["checkpoint_size"]) == (3, 2, 5)
    cursor = {k: v for k, v in body.items() if k in protocol.Cursor.model_fields}
    assert protocol.Cursor.model_validate(cursor).witness == "ok"  # the documented shape
    status, body = client.send(device.batch(3, 5, 5))
    assert status == 200, body
    assert (body["next_index"], body["stored"], body["duplicates"]) == (5, 2, 0)
    hashes = [merkle.leaf_hash(leaf) for leaf in device.leaves]
    assert _stored(shared_central.database, device.device_id) == list(enumerate(hashes))


def test_same_batch_twice_is_stored_once(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "idem")
    device.check(4)
    batch = device.batch(0, 4, 0)
    assert client.send(batch)[0] == 200
    # the device did not get the answer and resends the very same batch (a new signature)
    status, body = client.send(batch)
    assert status == 409 and body["reason"] == "SYNC_CURSOR_STALE"  # from_size is now 4
    status, body = client.send(device.batch(0, 4, 4))
    assert status == 200, body
    assert (body["stored"], body["duplicates"], body["next_index"]) == (0, 4, 4)
    # an overlapping batch stores only what is new
    device.check(2)
    status, body = client.send(device.batch(2, 6, 4))
    assert status == 200 and (body["stored"], body["duplicates"]) == (2, 2)
    assert [i for i, _ in _stored(shared_central.database, device.device_id)] == list(range(6))


def test_refused_stale_batch_names_the_cursor_to_resume_from(
    shared_central: CentralServer,
) -> None:
    device, client = enrolled(shared_central, "gap")
    device.check(6)
    assert client.send(device.batch(0, 2, 0))[0] == 200
    status, body = client.send(device.batch(4, 6, 6))  # events 2, 3 skipped
    assert (status, body["reason"]) == (409, "SYNC_CURSOR_STALE")
    assert body["cursor"]["next_index"] == 2
    assert _stored(shared_central.database, device.device_id)[-1][0] == 1


def test_rewritten_log_same_size_is_a_fork(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "fork-same")
    device.check(4)
    assert client.send(device.batch(0, 4, 0))[0] == 200
    device.rewrite(1)  # same size, another root
    status, body = client.send(device.batch(4, 4, 4))
    assert (status, body["reason"]) == (409, "SYNC_FORK_DETECTED")
    assert body["cursor"]["witness"] == "fork"
    assert _alarms(shared_central.database, device.device_id) == 1


def test_rewritten_log_that_grew_is_a_fork_and_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "fork-grown")
    device.check(4)
    assert client.send(device.batch(0, 4, 0))[0] == 200
    device.rewrite(2)
    device.check(3)
    status, body = client.send(device.batch(4, 7, 4))
    assert (status, body["reason"]) == (409, "SYNC_FORK_DETECTED")
    assert _alarms(shared_central.database, device.device_id) == 1
    assert len(_stored(shared_central.database, device.device_id)) == 4  # nothing of the fork
    # the device stays refused until someone looks: even an honest-looking batch
    status, body = client.send(device.batch(4, 7, 4))
    assert (status, body["reason"]) == (409, "SYNC_FORK_DETECTED")


def test_forged_consistency_proof_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "forged-consistency")
    device.check(3)
    assert client.send(device.batch(0, 3, 0))[0] == 200
    device.check(4)
    batch = device.batch(3, 7, 3)
    batch["consistency"] = [protocol.b64e(b"\x07" * 32) for _ in batch["consistency"]]
    status, body = client.send(batch)
    assert (status, body["reason"]) == (409, "SYNC_FORK_DETECTED")
    assert len(_stored(shared_central.database, device.device_id)) == 3


def test_events_not_in_the_signed_tree_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "forged-inclusion")
    device.check(4)
    genuine = device.batch(0, 4, 0)
    other = SimulatedDevice(device.device_id)
    other.check(4)
    # the signed checkpoint and its proofs are genuine, the events are not the log's
    forged = dict(genuine, events=other.batch(0, 4, 0)["events"])
    status, body = client.send(forged)
    assert (status, body["reason"]) == (422, "SYNC_PROOF_INVALID")
    # a forged inclusion proof is refused too
    device.check(2)
    batch = device.batch(0, 3, 0)
    batch["inclusion"] = [protocol.b64e(b"\x01" * 32)] * len(batch["inclusion"])
    status, body = client.send(batch)
    assert (status, body["reason"]) == (422, "SYNC_PROOF_INVALID")
    assert _stored(shared_central.database, device.device_id) == []
    assert client.send(device.batch(0, 6, 0))[0] == 200  # the honest batch still goes in


def test_checkpoint_signed_by_another_key_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "foreign-checkpoint")
    impostor = SimulatedDevice(device.device_id)
    impostor.check(2)
    status, body = client.send(impostor.batch(0, 2, 0))
    assert (status, body["reason"]) == (422, "SYNC_CHECKPOINT_INVALID")


def test_leaf_of_another_device_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "other-leaf")
    other = SimulatedDevice("someone-else", history_key=device.history_key)
    other.check(1)
    batch = other.batch(0, 1, 0)
    batch["checkpoint"] = device.sign_checkpoint()  # size 0: checks nothing
    status, body = client.send(batch)
    assert (status, body["reason"]) == (422, "SYNC_BATCH_INVALID")


def test_real_device_history_is_accepted(shared_central: CentralServer, tmp_path: Path) -> None:
    """The wire format matches what appliance.history really writes (leaves, notes, proofs)."""
    ledger = Ledger(tmp_path / "history", DeviceIdentity(f"real-{tmp_path.name[-8:]}", "gate-3"))
    with ledger:
        passport = DocumentRef("UTO", "L898902C3")
        for outcome in ("OPEN", "REFER", "OPEN"):
            personal = PersonalData(surname="ERIKSSON", document_number="L898902C3")
            ledger.append(Event(EventType.CHECK, outcome, document=passport, personal=personal))
        device = SimulatedDevice(ledger.device.device_id)
        client = CentralClient(shared_central.url, device.device_id, device.auth_key)
        request = device.enrol_request(issue_token(shared_central.database, device.device_id))
        request["history_key"] = protocol.b64e(protocol.raw_public_key(ledger.public_key))
        status, _ = client.raw("POST", "/api/v1/devices/enrol", json.dumps(request).encode())
        assert status == 201
        leaves = [bytes(r[0]) for r in ledger.conn.execute("SELECT leaf FROM records ORDER BY idx")]
        checkpoint, note = ledger.latest_checkpoint()
        pseudonym = national_pseudonym("UTO", "L898902C3")
        batch = {
            "events": [
                {"index": i, "leaf": protocol.b64e(leaf), "document": pseudonym}
                for i, leaf in enumerate(leaves)
            ],
            "checkpoint": note,
            "from_size": 0,
            "consistency": [],
            "inclusion": [
                protocol.b64e(h)
                for h in merkle.consistency_proof(ledger.node, len(leaves), checkpoint.size)
            ],
        }
        status, body = client.send(batch)
        assert status == 200, body
        assert body["next_index"] == 3 and body["checkpoint_size"] == checkpoint.size
        status, body = client.signed("GET", f"/api/v1/documents/{pseudonym}/checks")
        assert status == 200
        assert [c["outcome"] for c in body["checks"]] == ["OPEN", "REFER", "OPEN"]
        assert {c["location"] for c in body["checks"]} == {"gate-3"}
