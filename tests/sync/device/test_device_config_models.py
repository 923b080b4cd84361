"""Config and model artefacts through the real central, applied on the device: the remote
config (a few keys only) laid over the local file; models installed in the data directory's
overlay, which `appliance.models` consults before the shipped `models/`. Tampered, unsigned,
older, disallowed and half-written ones are refused or left out, the previous in force."""

from __future__ import annotations

import json
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance import model_overlay, models
from appliance.config import load_config
from appliance.errors import ApplianceError, Reason
from appliance.model_overlay import build_package
from appliance.selftest.material import model_checks
from appliance.selftest.result import Context
from appliance.signed.remote_config import REMOTE_FILE
from sync.device.uplink import Transient
from tests.sync.conftest import CentralServer
from tests.sync.device.conftest import publish

MODEL = "mrz_glyphs"


def _outcomes(result: Any) -> dict[str, tuple[int, bool, str]]:
    return {o.kind: (o.version, o.applied, o.reason.value) for o in result.artefacts}


@pytest.fixture
def overlay_off() -> Iterator[None]:
    """The process-wide overlay and caches back to the shipped models after the test."""
    yield
    models.use_overlay(None)
    model_overlay._cache.clear()
    models._load_session.cache_clear()


def _config(device: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("APPLIANCE_CONFIG", str(device.config_path))
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(device.data_dir))
    return load_config()


def test_a_remote_config_sets_only_its_keys_and_a_bad_one_leaves_the_old(
    central: CentralServer, make_device: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = make_device("remote-config")
    device.enrol(central)
    assert _config(device, monkeypatch).sync.interval_s == 30.0  # the local file's default
    publish(central.database, "config", b"version = 2\n[sync]\ninterval_s = 90\n")
    assert _outcomes(device.sync())["config"] == (1, True, "OK")
    config = _config(device, monkeypatch)
    assert (config.sync.interval_s, config.sync.batch_size) == (90.0, 50)  # local batch_size
    assert device.status()["remote_config"] == {"version": 2, "keys": ["sync.interval_s"]}
    shown = json.loads(device.cli("status", "--json").stdout)
    assert shown["remote_config"]["version"] == 2 and shown["artefacts"]["config"] == 1

    refused = [
        # a key central may not set: code named by whoever writes it
        (b'version = 3\n[hardware]\ngate = "evil:open"\n', "CONFIG_INVALID"),
        (b"version = 3\n[device]\ndevice_id = 'other'\n", "CONFIG_INVALID"),
        (b"version = 3\n[sync]\nnational_key_file = '/tmp/k'\n", "CONFIG_INVALID"),
        (b"version = 3\n[sync]\nbatch_size = 99999\n", "CONFIG_INVALID"),  # out of bounds
        (b"version = 1\n[sync]\ninterval_s = 5\n", "CONFIG_INVALID"),  # older
    ]
    for content, reason in refused:
        publish(central.database, "config", content)
        version, applied, got = _outcomes(device.sync())["config"]
        assert (applied, got) == (False, reason), content
        assert _config(device, monkeypatch).sync.interval_s == 90.0
    publish(central.database, "config", b"version = 3\n[sync]\ninterval_s = 5\n")
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute(
            "UPDATE artefacts SET content = %s WHERE kind = 'config' AND version = %s",
            (b"version = 3\n[sync]\ninterval_s = 6\n", version + 1),
        )
    assert _outcomes(device.sync())["config"][1:] == (False, "SYNC_ARTEFACT_INVALID")
    publish(central.database, "config", b"version = 4\n", key=Ed25519PrivateKey.generate())
    assert _outcomes(device.sync())["config"][1:] == (False, "SYNC_ARTEFACT_UNSIGNED")
    assert _config(device, monkeypatch).sync.interval_s == 90.0
    publish(central.database, "config", b"version = 5\n[monitoring]\nwindow_days = 7\n")
    assert _outcomes(device.sync())["config"][1:] == (True, "OK")
    config = _config(device, monkeypatch)
    assert (config.sync.interval_s, config.monitoring.window_days) == (30.0, 7)

    # the overlay altered on disk no longer verifies: left out, the local file holds, alarm
    path = device.data_dir / REMOTE_FILE
    path.write_bytes(path.read_bytes().replace(b"= 7", b"= 9"))
    assert _config(device, monkeypatch).monitoring.window_days == 30
    status = device.status()
    assert status["remote_config"] is None
    assert "CONFIG_INVALID" in [a["reason"] for a in status["alarms"]]


def _package(version: int, model: bytes | None = None, **extra: Any) -> bytes:
    shipped = models.manifest_entry(MODEL, models.models_dir())
    entry = {**shipped, "name": MODEL, "version": version, "note": "from central", **extra}
    if model is None:
        model = (models.models_dir() / shipped["file"]).read_bytes()
    return build_package(entry, model)


def test_a_model_is_installed_in_the_overlay_and_used_before_the_shipped_one(
    central: CentralServer, make_device: Any, overlay_off: None
) -> None:
    device = make_device("models")
    device.enrol(central)
    publish(central.database, "model", _package(2))
    (outcome,) = [o for o in device.sync().artefacts if o.kind == "model"]
    assert (outcome.version, outcome.applied, outcome.detail) == (
        1,
        True,
        "applied: mrz_glyphs v2, in force at the lane's next start",
    )
    # before the data directory is named, the shipped model; then the overlay's
    assert "note" not in models.manifest_entry(MODEL)
    models.use_overlay(device.data_dir)
    entry = models.manifest_entry(MODEL)
    assert (entry["version"], entry["note"], entry["file"]) == (
        2,
        "from central",
        "mrz_glyphs-v2.onnx",
    )
    assert models.load_session(MODEL) is not None
    assert device.status()["models"] == {MODEL: 2}
    ctx = Context(device.config, device.data_dir, datetime.now(UTC), models.models_dir())
    (check,) = [c for c in model_checks(ctx) if c.name == f"model:{MODEL}"]
    assert (check.status.value, check.detail) == (
        "pass",
        "overlay v2: signed entry verified, loads",
    )

    def still_v2(reason: str) -> None:
        outcomes = [o for o in device.sync().artefacts if o.kind == "model"]
        assert [(o.applied, o.reason.value) for o in outcomes] == [(False, reason)]
        assert models.manifest_entry(MODEL)["version"] == 2
        assert sorted(p.name for p in (device.data_dir / "models").iterdir()) == [
            "mrz_glyphs-v2.onnx",
            "mrz_glyphs.entry",
        ]

    publish(central.database, "model", _package(1))  # older than the accepted
    still_v2("MODEL_UNAVAILABLE")
    publish(central.database, "model", _package(3, name="not_ours"))
    still_v2("MODEL_UNAVAILABLE")
    publish(central.database, "model", _package(3, model=b"not an onnx model"))
    still_v2("MODEL_UNAVAILABLE")
    forged = _package(3).replace(b'"version": 3', b'"version": 4')  # header unlike the file?
    bad_file = _package(3)[:-10] + b"0123456789"  # the file is not the entry's sha256
    publish(central.database, "model", bad_file)
    still_v2("MODEL_UNAVAILABLE")
    publish(central.database, "model", _package(3), key=Ed25519PrivateKey.generate())
    still_v2("SYNC_ARTEFACT_UNSIGNED")
    publish(central.database, "model", _package(3))
    with psycopg.connect(central.database, autocommit=True) as conn:
        conn.execute(
            "UPDATE artefacts SET content = %s WHERE kind = 'model' AND version = 7", (forged,)
        )
    still_v2("SYNC_ARTEFACT_INVALID")

    # half-written: a crash after the new file, before the entry's rename: v2 stays in force
    directory = device.data_dir / "models"
    (directory / "mrz_glyphs-v3.onnx").write_bytes(b"half")
    assert models.manifest_entry(MODEL)["version"] == 2
    # the overlay's file altered on disk: refused at the next start, not the shipped one
    model_file = directory / "mrz_glyphs-v2.onnx"
    model_file.write_bytes(model_file.read_bytes()[:-1] + b"\x00")
    model_overlay._cache.clear()
    models._load_session.cache_clear()
    with pytest.raises(ApplianceError) as refused:
        models.load_session(MODEL)
    assert refused.value.reason.value == "MODEL_UNAVAILABLE"
    (check,) = [c for c in model_checks(ctx) if c.name == f"model:{MODEL}"]
    assert check.status.value == "fail"


def test_models_published_while_offline_are_all_applied_in_order(
    central: CentralServer, make_device: Any, overlay_off: None, tmp_path: Path
) -> None:
    device = make_device("models-offline")
    device.enrol(central)
    publish(central.database, "model", _package(2))
    publish(central.database, "model", _package(3))
    outcomes = [o for o in device.sync().artefacts if o.kind == "model"]
    assert [(o.version, o.applied) for o in outcomes] == [(1, True), (2, True)]
    assert device.status()["models"] == {MODEL: 3}
    assert not (device.data_dir / "models" / "mrz_glyphs-v2.onnx").exists()


@contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """A data directory that is full, for this process: the kernel refuses (EFBIG) any write
    that would make a file larger than `limit` (Python ignores SIGXFSZ, so writes raise)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_model_the_full_disk_cannot_take_is_fetched_again_not_refused(
    central: CentralServer, make_device: Any, overlay_off: None
) -> None:
    device = make_device("models-disk-full")
    device.enrol(central)
    package = _package(2)
    publish(central.database, "model", package)
    with _file_size_limit(len(package) // 2), pytest.raises(Transient) as failed:
        device.sync(attempts=1)
    assert failed.value.reason is Reason.DATA_DIR_UNAVAILABLE
    assert "model v1: not written" in failed.value.detail
    status = device.status()
    assert "model" not in status.get("refused", {})  # nothing wrong with the model itself
    assert status.get("models", {}) == {}
    assert not list((device.data_dir / "models").glob("*.onnx"))  # no half-written file left
    shown = json.loads(device.cli("status", "--json").stdout)
    assert shown["last_error"]["reason"] == "DATA_DIR_UNAVAILABLE"
    # space again: the same version is fetched and applied at the next round
    (outcome,) = [o for o in device.sync().artefacts if o.kind == "model"]
    assert (outcome.version, outcome.applied) == (1, True)
    assert device.status()["models"] == {MODEL: 2}
