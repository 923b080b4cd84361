"""Appending, durability receipts, lookups by document, proofs and privacy of the history."""

from __future__ import annotations

import logging
import math
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config import Config, data_dir
from appliance.errors import ApplianceError, Reason
from appliance.history import checkpoint as cp
from appliance.history import merkle
from appliance.history.events import DocumentRef, Event, EventType, decode_leaf
from appliance.history.ledger import Ledger
from appliance.history.verify import verify
from tests.history.test_history_merkle import reference_mth
from tests.support.history_support import ANNA, OTHER, Clock, check, gate_event, open_ledger, raw


def test_receipt_is_proven_by_its_signed_checkpoint(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        ledger.append(gate_event())
        receipt = ledger.append(check())
        assert receipt.index == 1
        assert receipt.checkpoint.size == 2
        # The note verifies under the device key alone and is also the file outside the DB.
        assert cp.verify_note(receipt.note, ledger.public_key, ledger.origin) == receipt.checkpoint
        assert (tmp_path / "checkpoint.latest").read_text() == receipt.note
        proof = ledger.inclusion_proof(receipt.index, receipt.checkpoint.size)
        assert merkle.verify_inclusion(receipt.leaf_hash, 1, 2, proof.path, receipt.checkpoint.root)


def test_batch_is_one_checkpoint_and_indices_follow(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        receipts = ledger.append_batch([gate_event(i) for i in range(5)])
        assert [r.index for r in receipts] == [0, 1, 2, 3, 4]
        assert {r.note for r in receipts} == {receipts[0].note}
        assert receipts[0].checkpoint.size == 5
        result = verify(ledger)
        assert result.ok and result.size == 5 and result.checkpoints == 2  # genesis + batch


def test_roots_and_proofs_match_an_independent_recomputation(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        sizes = []
        for batch in (1, 2, 3, 5, 8, 13):
            sizes.append(ledger.append_batch([gate_event(i) for i in range(batch)])[-1].index + 1)
    conn = raw(tmp_path)
    leaves = [bytes(r[0]) for r in conn.execute("SELECT leaf FROM records ORDER BY idx")]
    conn.close()
    with open_ledger(tmp_path) as ledger:
        latest, _ = ledger.latest_checkpoint()
        assert latest.root == reference_mth(leaves)
        for old in sizes:
            proof = ledger.consistency_proof(old)
            assert merkle.verify_consistency(
                old, latest.size, reference_mth(leaves[:old]), latest.root, proof.path
            )
        for index in range(0, len(leaves), 4):
            inclusion = ledger.inclusion_proof(index)
            assert merkle.verify_inclusion(
                merkle.leaf_hash(leaves[index]), index, latest.size, inclusion.path, latest.root
            )


def test_document_lookup_normalises_and_separates_documents(tmp_path: Path) -> None:
    clock = Clock()
    with open_ledger(tmp_path, clock) as ledger:
        ledger.append(check(ANNA))
        clock.advance(days=3)  # another retention period, another pseudonym key
        ledger.append(check(OTHER))
        ledger.append(check(ANNA, outcome="REFER"))
        views = ledger.checks_of(DocumentRef("uto", "L898902C3<", "PO"), reveal=True)
        assert [v.index for v in views] == [0, 2]
        assert [v.leaf.outcome for v in views] == ["OPEN", "REFER"]
        assert all(v.proven and v.personal_status == "available" for v in views)
        assert views[0].personal is not None
        assert views[0].personal.surname == "ERIKSSON"
        assert views[0].personal.face_image == b"\xff\xd8\xff\xe0FACE-JPEG-BYTES"
        # Pseudonyms differ between periods, so records cannot be linked without the keys.
        assert views[0].leaf.document != views[1].leaf.document
        assert [v.index for v in ledger.checks_of(OTHER)] == [1]
        assert ledger.checks_of(DocumentRef("UTO", "X00000000")) == []
        assert [v.index for v in ledger.recent(2)] == [2, 1]
        # The repeated-use window: only checks since a given time.
        assert [v.index for v in ledger.checks_of(ANNA, since=clock.now)] == [2]


def test_no_personal_data_on_disk_in_clear_or_in_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with open_ledger(tmp_path) as ledger:
        ledger.append(check(ANNA))
        ledger.checks_of(ANNA, reveal=True)
        ledger.erase(OTHER)
        verify(ledger)
        db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))
        for secret in (b"ERIKSSON", b"L898902C3", b"740812", b"FACE-JPEG-BYTES"):
            assert secret not in db_bytes
            assert secret.decode() not in caplog.text
        leaf = decode_leaf(bytes(raw(tmp_path).execute("SELECT leaf FROM records").fetchone()[0]))
        assert leaf.document is not None and len(leaf.document) == 64
        assert "L898902C3" not in repr(ANNA) and "ERIKSSON" not in repr(check().personal)


def test_key_files_are_private_and_in_the_configured_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path / "state"))
    config = Config()
    with Ledger.open_default(data_dir(config), config) as ledger:
        ledger.append(check())
    history = tmp_path / "state" / "history"
    keys = [history / "device-ed25519.key", *sorted((history / "keys").iterdir())]
    assert len(keys) == 2
    for path in [*keys, history / "ledger.sqlite", history / "checkpoint.latest"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(history.stat().st_mode) == 0o700


def test_a_readable_key_file_is_refused(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        ledger.append(check())
    (tmp_path / "device-ed25519.key").chmod(0o644)
    with pytest.raises(ApplianceError) as err:
        open_ledger(tmp_path)
    assert err.value.reason is Reason.HISTORY_STORAGE


def test_two_processes_worth_of_handles_interleave(tmp_path: Path) -> None:
    first, second = open_ledger(tmp_path), open_ledger(tmp_path)
    try:
        for i in range(6):
            (first if i % 2 else second).append(gate_event(i))
        assert [r.index for r in first.append_batch([gate_event(), gate_event()])] == [6, 7]
        assert verify(second).ok
    finally:
        first.close()
        second.close()


def test_bad_events_are_refused_with_a_reason(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        bad_payload = Event(EventType.CHECK, "OPEN", public={"score": math.nan})
        with pytest.raises(ApplianceError) as err:
            ledger.append(bad_payload)
        assert err.value.reason is Reason.USAGE
        with pytest.raises(ApplianceError) as err:
            ledger.append(check(DocumentRef("UTO", "L8989/02")))
        assert err.value.reason is Reason.USAGE
        with pytest.raises(ApplianceError):
            ledger.append_batch([])
        assert verify(ledger).size == 0  # nothing half-written


def test_a_checkpoint_by_another_key_is_not_accepted(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        receipt = ledger.append(gate_event())
        forged = cp.sign(receipt.checkpoint, Ed25519PrivateKey.generate())
        with pytest.raises(cp.CheckpointError):
            cp.verify_note(forged, ledger.public_key, ledger.origin)
