"""Central over TLS: the device pins central's key at enrolment and talks to no other."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ApplianceError, Reason
from sync.device.state import SyncState
from tests.sync.central.test_central_cli import _self_signed
from tests.sync.conftest import REPO, free_port, issue_token
from tests.sync.device.conftest import assert_exactly_once


def _serve(database: str, port: int, cert: Path, key: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "appliance.cli", "central", "serve", "--database", database]
    cmd += ["--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)]
    proc = subprocess.Popen(cmd, cwd=REPO)
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 60
    while True:
        try:
            url = f"https://127.0.0.1:{port}/api/v1/health"
            with urllib.request.urlopen(url, context=context, timeout=2):
                return proc
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)


def test_central_tls_key_is_pinned_at_enrolment(
    database_url: str, make_device: Any, tmp_path: Path
) -> None:
    from sync.device import service

    cert, key, pin = _self_signed(tmp_path)
    port = free_port()
    proc = _serve(database_url, port, cert, key)
    try:
        device = make_device("tls")
        device.record(4)
        url = f"https://127.0.0.1:{port}"
        token = issue_token(database_url, device.device_id)
        result = service.enrol(device.config, device.data_dir, url, token, pin.hex())
        assert result["tls_pin"] == pin.hex()
        device.sync()
        assert_exactly_once(database_url, device, 4)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # central comes back with another key (or something else answers there): refused
    other = tmp_path / "other"
    other.mkdir()
    cert2, key2, _ = _self_signed(other)
    proc = _serve(database_url, port, cert2, key2)
    try:
        device.record(1)
        with pytest.raises(ApplianceError) as refused:
            device.sync(attempts=1)
        assert refused.value.reason is Reason.SYNC_TLS_PIN_MISMATCH
        assert SyncState(device.data_dir).cursor().next_index == 4
        status = device.status()
        assert status["last_error"]["reason"] == Reason.SYNC_TLS_PIN_MISMATCH.value
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_wrong_pin_at_enrolment_is_refused(
    database_url: str, make_device: Any, tmp_path: Path
) -> None:
    from sync.device import service

    cert, key, _ = _self_signed(tmp_path)
    port = free_port()
    proc = _serve(database_url, port, cert, key)
    try:
        device = make_device("wrongpin")
        token = issue_token(database_url, device.device_id)
        url = f"https://127.0.0.1:{port}"
        with pytest.raises(ApplianceError) as refused:
            service.enrol(device.config, device.data_dir, url, token, "00" * 32)
        assert refused.value.reason is Reason.SYNC_TLS_PIN_MISMATCH
        assert SyncState(device.data_dir).enrolment() is None
        with pytest.raises(ApplianceError):
            SyncState(device.data_dir).require_enrolment()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
