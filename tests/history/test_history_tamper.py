"""Every kind of tampering with the history is detected, named, and stops further appends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.cli import cli
from appliance.errors import ApplianceError, Reason
from appliance.history import checkpoint as cp
from appliance.history import merkle
from appliance.history.events import decode_leaf
from appliance.history.verify import VerifyResult, verify
from tests.support.history_support import check, gate_event, open_ledger, raw

SIZE = 12


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Twelve records, each appended (and signed) on its own, as a gate does."""
    with open_ledger(tmp_path) as ledger:
        for i in range(SIZE):
            ledger.append(check(n=i) if i % 3 == 0 else gate_event(i))
        assert verify(ledger).ok
    return tmp_path


def verified(directory: Path) -> VerifyResult:
    with open_ledger(directory) as ledger:
        return verify(ledger)


def kinds(result: VerifyResult) -> set[str]:
    return {p.kind for p in result.problems}


def leaf_of(directory: Path, index: int) -> bytes:
    conn = raw(directory)
    try:
        return bytes(conn.execute("SELECT leaf FROM records WHERE idx = ?", (index,)).fetchone()[0])
    finally:
        conn.close()


def rewrite(directory: Path, index: int, leaf: bytes, *, fix_hash: bool) -> None:
    conn = raw(directory)
    if fix_hash:
        conn.execute(
            "UPDATE records SET leaf = ?, leaf_hash = ? WHERE idx = ?",
            (leaf, merkle.leaf_hash(leaf), index),
        )
    else:
        conn.execute("UPDATE records SET leaf = ? WHERE idx = ?", (leaf, index))
    conn.close()


def test_an_edited_record_is_named(history: Path) -> None:
    rewrite(history, 6, leaf_of(history, 6).replace(b'"OPEN"', b'"REFER"'), fix_hash=False)
    result = verified(history)
    assert not result.ok
    assert ("record_modified", 6) in {(p.kind, p.index) for p in result.problems}
    assert result.first_bad_index == 6


def test_an_edit_with_recomputed_hashes_is_caught_by_the_signed_roots(history: Path) -> None:
    rewrite(history, 9, leaf_of(history, 9).replace(b'"OPEN"', b'"REFER"'), fix_hash=True)
    result = verified(history)
    mismatch = [p for p in result.problems if p.kind == "checkpoint_mismatch"]
    # Checkpoint 10 is the first signed root covering record 9; checkpoint 9 still matches.
    assert mismatch[0].index == 9 and mismatch[0].checkpoint_size == 10
    assert result.first_bad_index == 9


def test_a_deleted_record_is_named(history: Path) -> None:
    raw(history).execute("DELETE FROM records WHERE idx = 4")
    result = verified(history)
    assert ("record_missing", 4) in {(p.kind, p.index) for p in result.problems}


def test_deleting_and_renumbering_is_named(history: Path) -> None:
    conn = raw(history)
    conn.execute("DELETE FROM records WHERE idx = 4")
    conn.execute("UPDATE records SET idx = idx - 1 WHERE idx > 4")
    conn.close()
    result = verified(history)
    assert ("record_out_of_order", 4) in {(p.kind, p.index) for p in result.problems}
    assert "log_truncated" in kinds(result)


def test_reordered_records_are_named(history: Path) -> None:
    conn = raw(history)
    rows = {
        idx: (leaf, digest)
        for idx, leaf, digest in conn.execute(
            "SELECT idx, leaf, leaf_hash FROM records WHERE idx IN (2, 7)"
        )
    }
    for target, source in ((2, 7), (7, 2)):
        conn.execute(
            "UPDATE records SET leaf = ?, leaf_hash = ? WHERE idx = ?", (*rows[source], target)
        )
    conn.close()
    result = verified(history)
    named = {(p.kind, p.index) for p in result.problems}
    assert {("record_out_of_order", 2), ("record_out_of_order", 7)} <= named
    assert result.first_bad_index == 2


def test_truncating_the_newest_records_is_detected(history: Path) -> None:
    conn = raw(history)
    conn.execute("DELETE FROM records WHERE idx >= 9")
    conn.execute("DELETE FROM checkpoints WHERE size > 9")
    conn.execute("DELETE FROM nodes")  # a careful attacker cleans up everything in the DB
    conn.close()
    result = verified(history)
    truncated = [p for p in result.problems if p.kind == "log_truncated"]
    assert truncated and truncated[0].index == 9 and truncated[0].checkpoint_size == SIZE
    assert result.latest_file_size == SIZE


def test_a_deleted_checkpoint_file_is_detected(history: Path) -> None:
    (history / "checkpoint.latest").unlink()
    assert "latest_checkpoint_missing" in kinds(verified(history))


def test_a_forged_checkpoint_signature_is_detected(history: Path) -> None:
    conn = raw(history)
    note = str(conn.execute("SELECT note FROM checkpoints WHERE size = 5").fetchone()[0])
    body, _, signature = note.partition("\n\n")
    flipped = signature[:-6] + ("A" if signature[-6] != "A" else "B") + signature[-5:]
    conn.execute("UPDATE checkpoints SET note = ? WHERE size = 5", (f"{body}\n\n{flipped}",))
    conn.close()
    result = verified(history)
    assert [(p.kind, p.checkpoint_size) for p in result.problems] == [("checkpoint_invalid", 5)]


def test_a_checkpoint_signed_by_another_key_is_detected(history: Path) -> None:
    with open_ledger(history) as ledger:
        latest, _ = ledger.latest_checkpoint()
    impostor = cp.sign(
        cp.Checkpoint(latest.origin, latest.size, bytes(32), latest.time),
        Ed25519PrivateKey.generate(),
    )
    (history / "checkpoint.latest").write_text(impostor)
    result = verified(history)
    assert "checkpoint_invalid" in kinds(result)


def test_a_removed_device_key_is_not_silently_replaced(history: Path) -> None:
    (history / "device-ed25519.key").unlink()
    with pytest.raises(ApplianceError) as err:
        open_ledger(history)
    assert err.value.reason is Reason.HISTORY_TAMPERED
    assert not (history / "device-ed25519.key").exists()


def test_a_moved_lookup_column_is_detected(history: Path) -> None:
    raw(history).execute("UPDATE records SET document = NULL WHERE idx = 3")
    assert ("record_modified", 3) in {(p.kind, p.index) for p in verified(history).problems}


def test_appending_to_a_tampered_log_is_refused(history: Path) -> None:
    """Even when the attacker rebuilds every cached tree node, the signed root disagrees."""
    rewrite(history, 11, leaf_of(history, 11).replace(b'"CLOSED"', b'"OPENED"'), fix_hash=True)
    conn = raw(history)
    builder = merkle.TreeBuilder()
    nodes = []
    for (digest,) in conn.execute("SELECT leaf_hash FROM records ORDER BY idx").fetchall():
        nodes.extend(builder.append(bytes(digest)))
    conn.execute("DELETE FROM nodes")
    conn.executemany("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    conn.close()
    with open_ledger(history) as ledger, pytest.raises(ApplianceError) as err:
        ledger.append(gate_event())
    assert err.value.reason is Reason.HISTORY_TAMPERED


def test_appending_after_truncation_is_refused(history: Path) -> None:
    conn = raw(history)
    conn.execute("DELETE FROM records WHERE idx >= 10")
    conn.execute("DELETE FROM checkpoints WHERE size > 10")
    conn.close()
    with open_ledger(history) as ledger, pytest.raises(ApplianceError) as err:
        ledger.append(gate_event())
    assert err.value.reason is Reason.HISTORY_TAMPERED


def test_tampered_show_is_not_proven(history: Path) -> None:
    leaf = leaf_of(history, 3)
    assert decode_leaf(leaf).index == 3
    rewrite(history, 3, leaf.replace(b'"OPEN"', b'"REFER"'), fix_hash=True)
    with open_ledger(history) as ledger:
        views = {v.index: v for v in ledger.recent(SIZE)}
    assert not views[3].proven and views[4].proven


def test_cli_verify_exits_1_and_names_the_record(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI reads <data dir>/history; point it at a data dir holding this history.
    data = history.parent / "data"
    data.mkdir()
    history.rename(data / "history")
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(data))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    runner = CliRunner()
    ok = runner.invoke(cli, ["history", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    # The CLI opens with the config's device identity; its own records still verify.
    raw(data / "history").execute("DELETE FROM records WHERE idx = 5")
    bad = runner.invoke(cli, ["history", "verify", "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert report["status"] == "fail" and report["reason"] == "HISTORY_TAMPERED"
    assert report["first_bad_index"] == 5
    text = runner.invoke(cli, ["history", "verify"])
    assert text.exit_code == 1 and "record_missing: record 5" in text.output


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pristine")
    with open_ledger(directory) as ledger:
        for i in range(24):
            ledger.append(check(n=i) if i % 4 == 0 else gate_event(i))
    return directory


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    index=st.integers(min_value=0, max_value=23),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    flip=st.integers(min_value=1, max_value=255),
    fix_hash=st.booleans(),
)
def test_any_single_byte_edit_is_named(
    pristine: Path, tmp_path: Path, index: int, position: float, flip: int, fix_hash: bool
) -> None:
    copy = tmp_path / f"copy-{index}-{flip}-{fix_hash}-{position}"
    shutil.copytree(pristine, copy)
    leaf = bytearray(leaf_of(copy, index))
    leaf[int(position * len(leaf))] ^= flip
    rewrite(copy, index, bytes(leaf), fix_hash=fix_hash)
    result = verified(copy)
    assert not result.ok
    assert result.first_bad_index == index
    shutil.rmtree(copy)
