"""Erasure on request and the retention job: personal data goes, the log still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.errors import ApplianceError, Reason
from appliance.history.events import Event, EventType
from appliance.history.retention import run_retention
from appliance.history.verify import verify
from tests.support.history_support import ANNA, OTHER, START, Clock, check, open_ledger, raw


def test_erasing_one_document_keeps_the_others_and_the_chain(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        ledger.append(check(ANNA))
        ledger.append(check(OTHER))
        ledger.append(check(ANNA, outcome="REFER"))
        root_before = ledger.latest_checkpoint()[0].root
        conn = raw(tmp_path)
        wrapped = [bytes(r[0]) for r in conn.execute("SELECT wrapped FROM record_keys")]
        conn.close()

        result = ledger.erase(ANNA)

        assert result.records == 2
        anna = ledger.checks_of(ANNA, reveal=True)
        assert [(v.index, v.personal_status, v.personal) for v in anna] == [
            (0, "erased", None),
            (2, "erased", None),
        ]
        assert all(v.proven for v in anna)  # where and how often is still answered
        other = ledger.checks_of(OTHER, reveal=True)
        assert other[0].personal is not None and other[0].personal.document_number == "C01X00T47"
        # The old leaves are untouched: the old signed root is still a prefix of the new tree.
        assert ledger.consistency_proof(3).new_size == 4
        assert ledger.inclusion_proof(0, 3).path
        assert ledger.latest_checkpoint()[0].size == 4
        assert verify(ledger).ok
        audit = ledger.recent(1)[0].leaf
        assert audit.type == "officer_action" and audit.document is None
        assert audit.public == {"action": "erasure_on_request", "records": 2, "indices": [0, 2]}
    # The erased wrapped keys are gone from the database and its WAL (secure_delete + truncate).
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))
    assert wrapped[0] not in on_disk and wrapped[2] not in on_disk
    assert wrapped[1] in on_disk
    with open_ledger(tmp_path) as ledger:
        assert ledger.latest_checkpoint()[0].root != root_before  # the audit event was added


def test_erasing_an_unknown_document_changes_nothing_but_the_audit(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        ledger.append(check(ANNA))
        assert ledger.erase(OTHER).records == 0
        assert ledger.checks_of(ANNA)[0].personal_status == "available"


def test_retention_destroys_expired_periods_only(tmp_path: Path) -> None:
    clock = Clock()
    with open_ledger(tmp_path, clock, retention_days=30) as ledger:
        ledger.append(check(ANNA))  # day 0
        clock.advance(days=20)
        ledger.append(check(ANNA, outcome="REFER"))  # day 20
        clock.advance(days=11)  # day 31: day 0's period ended 30 days ago

        report = run_retention(ledger)

        assert report.destroyed_periods == ("20260301-20260302",)
        assert report.records == 1 and report.kept_periods == 1
        assert not (tmp_path / "keys" / "period-20260301-20260302.key").exists()
        # The expired record can no longer be linked to the document, nor decrypted...
        assert [v.index for v in ledger.checks_of(ANNA)] == [1]
        statuses = {v.index: v.personal_status for v in ledger.recent(5)}
        assert statuses == {0: "expired", 1: "available", 2: "none"}
        # the retention event names the destroyed period, so verify can tell it from a deletion
        event = ledger.recent(1)[0].leaf
        assert (event.type, event.outcome) == ("maintenance", "EXPIRED")
        assert event.public == {
            "action": "retention",
            "periods": ["20260301-20260302"],
            "records": 1,
        }
        # ...and the log still verifies, old checkpoints included.
        assert verify(ledger).ok
        # Nothing more to do on a second run.
        assert run_retention(ledger).destroyed_periods == ()


def test_events_older_than_retention_are_not_stored(tmp_path: Path) -> None:
    with open_ledger(tmp_path, retention_days=30) as ledger:
        stale = check(ANNA)
        stale = Event(
            type=EventType.CHECK,
            outcome="OPEN",
            document=stale.document,
            personal=stale.personal,
            time=START.replace(month=1),
        )
        with pytest.raises(ApplianceError) as err:
            ledger.append(stale)
        assert err.value.reason is Reason.USAGE


def test_cli_erase_show_and_retention(data_dir: Path) -> None:
    from appliance.config import Config
    from appliance.history.ledger import Ledger

    with Ledger.open_default(data_dir, Config()) as ledger:
        ledger.append(check(ANNA))
        ledger.append(check(OTHER))
    runner = CliRunner()
    shown = runner.invoke(
        cli, ["history", "show", "--document", "L898902C3", "--issuer", "UTO", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["records"][0]["personal_status"] == "available"
    assert "ERIKSSON" not in shown.output  # only with --personal
    revealed = runner.invoke(
        cli, ["history", "show", "--document", "L898902C3", "--issuer", "UTO", "--personal"]
    )
    assert "ERIKSSON" in revealed.output

    erased = runner.invoke(
        cli, ["history", "erase", "--document", "L898902C3", "--issuer", "UTO", "--json"]
    )
    assert erased.exit_code == 0 and json.loads(erased.output)["erased_records"] == 1
    shown = runner.invoke(cli, ["history", "show", "--document", "L898902C3", "--issuer", "UTO"])
    assert shown.exit_code == 0 and "personal: erased" in shown.output
    recent = json.loads(runner.invoke(cli, ["history", "show", "--recent", "--json"]).output)
    assert [r["index"] for r in recent["records"]] == [2, 1, 0]
    assert runner.invoke(cli, ["history", "verify"]).exit_code == 0
    kept = json.loads(runner.invoke(cli, ["history", "retention", "--json"]).output)
    assert kept["destroyed_periods"] == [] and kept["kept_periods"] >= 1


def test_cli_usage_errors_exit_2(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["history", "show"]).exit_code == 2
    assert runner.invoke(cli, ["history", "show", "--document", "X1"]).exit_code == 2
    bad = runner.invoke(
        cli, ["history", "erase", "--document", "L8/9", "--issuer", "UTO", "--json"]
    )
    assert bad.exit_code == 2 and json.loads(bad.output)["reason"] == "USAGE"
