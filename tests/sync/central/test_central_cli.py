"""`appliance central`: loaded lazily (a device without sync/ still runs), a first run on a
throwaway PostgreSQL cluster, a clear failure when the database is unreachable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from sync.central.pgcluster import TempCluster
from tests.sync.conftest import REPO, free_port


def test_without_sync_the_group_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sync.central.cli", None)  # as if sync/ were absent
    result = CliRunner().invoke(cli, ["central", "stats"])
    assert result.exit_code == 2
    assert "not available in this build" in result.output


def test_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"postgresql://nobody@/none?host={tmp_path}&connect_timeout=1"
    cmd = [sys.executable, "-m", "appliance.cli", "central", "stats", "--json", "--database", url]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert json.loads(result.stdout)["reason"] == "SYNC_UNAVAILABLE"
    assert "Traceback" not in result.stderr


def test_throwaway_database_first_run(pg_cluster: TempCluster) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "appliance.cli", "central", "serve", "--throwaway-db"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    cluster_dir: Path | None = None
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("central: throwaway database postgresql://"), line
        cluster_dir = Path(line.rsplit("host=", 1)[1].strip())
        assert cluster_dir.is_dir()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as r:
                    assert json.load(r)["schema_version"] == 1
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not cluster_dir.exists()  # removed on exit
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if cluster_dir is not None and (cluster_dir / "data").exists():  # left by a failure
            TempCluster(root=cluster_dir).stop()


def _self_signed(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A certificate for 127.0.0.1, its key, and its SPKI SHA-256 (what a device pins)."""
    import datetime
    import hashlib
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "central.crt", tmp_path / "central.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert_path, key_path, hashlib.sha256(spki).digest()


def test_serves_tls_with_a_pinnable_key(database_url: str, tmp_path: Path) -> None:
    import hashlib
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path, pin = _self_signed(tmp_path)
    port = free_port()
    cmd = [sys.executable, "-m", "appliance.cli", "central", "serve", "--database", database_url]
    cmd += ["--port", str(port), "--tls-cert", str(cert_path), "--tls-key", str(key_path)]
    proc = subprocess.Popen(cmd, cwd=REPO)
    context = ssl.create_default_context(cafile=str(cert_path))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"https://127.0.0.1:{port}/api/v1/health"
                with urllib.request.urlopen(url, context=context) as r:
                    assert json.load(r)["status"] == "ok"
                    break
            except (OSError, urllib.error.URLError):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        peer = ssl.get_server_certificate(("127.0.0.1", port)).encode()
        served = x509.load_pem_x509_certificate(peer).public_key()
        spki = served.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert hashlib.sha256(spki).digest() == pin
    finally:
        proc.terminate()
        proc.wait(timeout=30)
