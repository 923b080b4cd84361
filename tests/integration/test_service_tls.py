"""Beyond loopback the service listens with TLS only and asks for a login (#15 item 1):
`appliance serve --host 0.0.0.0` makes a simulated device's self-signed certificate, answers
https, refuses plain http, and from another address serves nothing anonymously; a product
config without a provisioned certificate does not start (exit 2, TLS_REQUIRED)."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from appliance.api.tls import paths
from tests.support.auth_support import PASSWORD, ensure_account
from tests.support.config_support import simulated_config

_READY = re.compile(r"API on https://0\.0\.0\.0:(\d+)/api/v1")


def own_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("203.0.113.1", 9))
        address: str = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def _request(url: str, context: ssl.SSLContext, method: str = "GET",
             body: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, object], str]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json",
                                                 **(headers or {})}, method=method)  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            return answer.status, json.loads(answer.read()), answer.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()), ""


def test_beyond_loopback_tls_and_logins(data_dir: Path) -> None:
    env = {**os.environ, "APPLIANCE_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []
    port: list[int] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            found = _READY.search(line)
            if found:
                port.append(int(found.group(1)))

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not port:
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        cert, key = paths(data_dir)
        assert cert.is_file() and (key.stat().st_mode & 0o077) == 0
        pinned = ssl.create_default_context(cafile=str(cert))
        pinned.check_hostname = False  # the certificate names this host; the test dials IPs
        local = f"https://127.0.0.1:{port[0]}/api/v1"
        assert _request(f"{local}/lane", pinned)[0] == 200  # the kiosk, on the device itself
        with pytest.raises((OSError, http.client.HTTPException)):  # plain http: no answer
            urllib.request.urlopen(f"http://127.0.0.1:{port[0]}/api/v1/health", timeout=10)
        address = own_address()
        if address is None:
            pytest.skip("no non-loopback address on this machine")
        remote = f"https://{address}:{port[0]}/api/v1"
        assert _request(f"{remote}/health", pinned)[0] == 200
        for path in ("/lane", "/checks", "/selftest"):
            status, body, _ = _request(f"{remote}{path}", pinned)
            assert status == 401 and body["reason"] == "AUTH_REQUIRED", path
        ensure_account(data_dir, "ana", "officer")
        status, body, cookie = _request(
            f"{remote}/session", pinned, "POST", {"username": "ana", "password": PASSWORD}
        )
        assert status == 200 and "Secure" in cookie and "HttpOnly" in cookie
        session = {"Cookie": cookie.split(";", 1)[0]}
        assert _request(f"{remote}/checks", pinned, headers=session)[0] == 200
        assert _request(f"{remote}/selftest", pinned, headers=session)[0] == 403
    finally:
        proc.terminate()
        proc.wait(15)
    assert "Traceback" not in "".join(lines)


def test_a_product_without_a_device_certificate_does_not_listen_beyond_loopback(
    data_dir: Path, tmp_path: Path
) -> None:
    config = simulated_config(
        tmp_path / "product.toml",
        hardware={"station": "appliance.inspection.station:open_station"},
    )
    done = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "serve", "--config", str(config),
         "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "TLS_REQUIRED" in done.stderr and "appliance tls create" in done.stderr
    assert "Traceback" not in done.stderr
