"""`appliance selftest`: each configured part named with its state; each fault found."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

from appliance.cli import cli
from appliance.config import Config
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.history import Event, EventType, Ledger
from appliance.models import models_dir
from appliance.selftest import SelftestReport, run_selftest
from hardware_mocks import pki
from tests.support.check_support import HOLDER, provisioned, restore_logging

PARTS = ("card_reader", "camera", "gate_controller", "mrz_scanner", "trust_store", "policy",
         "watchlist", "clock", "disk", "history")  # fmt: skip


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    yield
    restore_logging()


def config(**sections: dict[str, Any]) -> Config:
    return Config.model_validate(sections)


def with_history(directory: Path, records: int = 3) -> None:
    with Ledger.open_default(directory, Config()) as ledger:
        for n in range(records):
            ledger.append(Event(EventType.MAINTENANCE, "OK", public={"n": n}))


def statuses(report: SelftestReport) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status.value, c.reason.value) for c in report.checks}


@pytest.fixture
def ready(data_dir: Path) -> Path:
    provisioned(data_dir)
    with_history(data_dir)
    return data_dir


def test_simulated_appliance_passes(ready: Path) -> None:
    result = CliRunner().invoke(cli, ["selftest", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "pass" and out["reason"] == "OK"
    checks = {c["name"]: c for c in out["checks"]}
    for name in PARTS:
        assert name in checks, name
        assert set(checks[name]) >= {"name", "status", "reason", "detail"}
    reader = checks["card_reader"]
    assert reader["status"] == "pass" and "simulated" in reader["detail"]
    assert checks["gate_controller"]["status"] == "pass"
    assert checks["camera"]["status"] == "skipped"  # no face step configured
    assert checks["history"]["status"] == "pass" and "3 records" in checks["history"]["detail"]
    models = [c for c in out["checks"] if c["name"].startswith("model:")]
    assert {c["name"] for c in models} >= {"model:face_embedder", "model:mrz_glyphs"}
    assert all(c["status"] == "pass" for c in models)
    assert [c["name"] for c in out["checks"] if c["name"].startswith("crl:")]
    assert out["timings_ms"]["total"] > 0
    # the logs are JSON lines on stderr, one per check
    logged = [json.loads(line) for line in result.stderr.splitlines()]
    assert {line["part"] for line in logged} >= set(PARTS)


def test_human_output_lists_every_part(ready: Path) -> None:
    result = CliRunner().invoke(cli, ["selftest"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Selftest: PASS")
    for name in PARTS:
        assert name in result.stdout


def test_model_with_a_wrong_sha256_fails(ready: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    for entry in manifest["models"]:
        (models / entry["file"]).parent.mkdir(parents=True, exist_ok=True)
        (models / entry["file"]).symlink_to(models_dir() / entry["file"])
    manifest["models"][0]["sha256"] = "0" * 64
    (models / "manifest.json").write_text(json.dumps(manifest))
    report = run_selftest(Config(), ready, models=models)
    bad = f"model:{manifest['models'][0]['name']}"
    assert statuses(report)[bad] == ("fail", "MODEL_UNAVAILABLE")
    assert "sha256" in (report.check(bad).detail if report.check(bad) else "")
    assert report.status.value == "fail" and report.exit_code == 1
    others = [c for c in report.checks if c.name.startswith("model:") and c.name != bad]
    assert others and all(c.status.value == "pass" for c in others)


def test_missing_model_file_fails(ready: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(models_dir() / "manifest.json", models / "manifest.json")
    report = run_selftest(Config(), ready, models=models)
    failed = [c for c in report.checks if c.name.startswith("model:")]
    assert failed and all(c.reason.value == "MODEL_UNAVAILABLE" for c in failed)
    assert all("missing" in c.detail for c in failed)


def test_empty_trust_store_fails(data_dir: Path) -> None:
    provisioned(data_dir)
    (data_dir / TRUST_FILE).unlink()
    with TrustStore(data_dir / TRUST_FILE):
        pass  # an empty store
    report = run_selftest(Config(), data_dir)
    assert statuses(report)["trust_store"] == ("fail", "TRUST_STORE_EMPTY")
    assert report.exit_code == 1


def test_expired_crl_warns_for_its_issuer_and_still_exits_0(ready: Path) -> None:
    csca = HOLDER.pki.csca
    late = pki.build_crl(
        csca,
        number=99,
        this_update=datetime(2025, 7, 1, tzinfo=UTC),
        next_update=datetime(2025, 8, 1, tzinfo=UTC),
    )
    with TrustStore(ready / TRUST_FILE) as store:
        assert import_file(late.public_bytes(Encoding.DER), store, "late.crl").ok
    report = run_selftest(Config(), ready)
    crls = [c for c in report.checks if c.name.startswith("crl:")]
    assert len(crls) == 1
    assert (crls[0].status.value, crls[0].reason.value) == ("warn", "CRL_STALE")
    assert "2025-08-01" in crls[0].detail
    assert report.status.value == "warn" and report.exit_code == 0
    result = CliRunner().invoke(cli, ["selftest", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "warn"


def test_unsigned_policy_fails(ready: Path) -> None:
    (ready / "policy.toml.sig").unlink()
    report = run_selftest(Config(), ready)
    assert statuses(report)["policy"] == ("fail", "POLICY_UNSIGNED")
    assert report.exit_code == 1


def test_rolled_back_policy_fails(ready: Path) -> None:
    old = {name: (ready / name).read_bytes() for name in ("policy.toml", "policy.toml.sig")}
    provisioned(ready, require_biometrics=True)  # the authority signs v2
    assert statuses(run_selftest(Config(), ready))["policy"] == ("pass", "OK")  # v2 accepted
    for name, content in old.items():
        (ready / name).write_bytes(content)  # v1 put back
    report = run_selftest(Config(), ready)
    assert statuses(report)["policy"] == ("fail", "POLICY_INVALID")


def test_stale_or_missing_watchlist_fails(ready: Path) -> None:
    later = datetime.now(UTC) + timedelta(hours=49)
    assert statuses(run_selftest(Config(), ready, now=later))["watchlist"] == (
        "fail",
        "WATCHLIST_STALE",
    )
    (ready / "watchlist.json").unlink()
    (ready / "watchlist.json.sig").unlink()
    assert statuses(run_selftest(Config(), ready))["watchlist"] == ("fail", "WATCHLIST_MISSING")


def test_tampered_history_fails(ready: Path) -> None:
    conn = sqlite3.connect(ready / "history" / "ledger.sqlite")
    with conn:
        (leaf,) = conn.execute("SELECT leaf FROM records WHERE idx = 1").fetchone()
        forged = bytes(leaf).replace(b'"OK"', b'"KO"', 1)
        conn.execute("UPDATE records SET leaf = ? WHERE idx = 1", (forged,))
    conn.close()
    report = run_selftest(Config(), ready)
    assert statuses(report)["history"] == ("fail", "HISTORY_TAMPERED")
    assert "record_modified" in (report.check("history") or report.checks[0]).detail
    result = CliRunner().invoke(cli, ["selftest", "--json"])
    assert result.exit_code == 1


def test_disk_below_the_configured_minimum_fails(ready: Path) -> None:
    free_mb = shutil.disk_usage(ready).free // 2**20
    too_much = config(selftest={"min_free_mb": free_mb * 4 + 1024})
    assert statuses(run_selftest(too_much, ready))["disk"] == ("fail", "DISK_LOW")
    close = config(selftest={"min_free_mb": max(free_mb * 2 // 3, 1)})
    assert statuses(run_selftest(close, ready))["disk"] == ("warn", "DISK_LOW")


def test_clock_before_the_release_date_fails(ready: Path) -> None:
    report = run_selftest(Config(), ready, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert statuses(report)["clock"] == ("fail", "CLOCK_BEFORE_BUILD")


def test_clock_behind_the_newest_history_record_fails(ready: Path) -> None:
    later = datetime.now(UTC) + timedelta(days=2)  # recorded while the clock was ahead
    with Ledger.open_default(ready, Config()) as ledger:
        ledger.append(Event(EventType.MAINTENANCE, "OK", time=later))
    report = run_selftest(Config(), ready)
    assert statuses(report)["clock"] == ("fail", "CLOCK_BEHIND_HISTORY")
    assert statuses(run_selftest(Config(), ready, now=later))["clock"] == ("pass", "OK")


def test_missing_reader_fails(ready: Path) -> None:
    report = run_selftest(config(chip={"reader": "No Such Reader 00 00"}), ready)
    assert statuses(report)["card_reader"] == ("fail", "READER_NOT_FOUND")


def test_gate_skipped_in_handheld_mode_and_missing_gate_fails(ready: Path) -> None:
    handheld = config(device={"mode": "handheld"})
    assert statuses(run_selftest(handheld, ready))["gate_controller"][0] == "skipped"
    missing = config(inspection={"gate_port": str(ready / "no-such-tty")})
    assert statuses(run_selftest(missing, ready))["gate_controller"] == ("fail", "GATE_FAULT")


def test_camera_frames_checked_against_the_expected_size(ready: Path) -> None:
    face = {"face_verifier": "appliance.inspection.face_step:from_config"}
    hd = config(inspection=face, face={"camera": "0"},
                hardware={"camera": "tests.support.check_support:open_hd_camera"})  # fmt: skip
    assert statuses(run_selftest(hd, ready))["camera"] == ("pass", "OK")
    tiny = config(inspection=face, face={"camera": "0"},
                  hardware={"camera": "tests.support.check_support:open_tiny_camera"})  # fmt: skip
    report = run_selftest(tiny, ready)
    assert statuses(report)["camera"] == ("fail", "CAMERA_UNAVAILABLE")
    assert "160x120" in (report.check("camera") or report.checks[0]).detail
    virtual = config(inspection=face)
    assert statuses(run_selftest(virtual, ready))["camera"] == ("fail", "CAMERA_UNAVAILABLE")


def test_unprovisioned_data_dir_fails_with_reasons(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["selftest", "--json"])
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["trust_store"]["reason"] == "TRUST_STORE_EMPTY"
    assert checks["policy"]["reason"] == "POLICY_UNSIGNED"
    assert checks["history"]["status"] == "skipped"
