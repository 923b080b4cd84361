"""Signed requests to central over one keep-alive connection (stdlib `http.client`).

Every attempt is signed afresh (`sync.protocol.sign_request`: a new nonce and time), so a retry
is never refused as a replay. Central authenticates itself with TLS: at enrolment the device
records the SHA-256 of central's public key (SubjectPublicKeyInfo) and afterwards talks only to
a server holding that key (`SYNC_TLS_PIN_MISMATCH`). The pin replaces the CA check on purpose:
central's certificate is often self-issued on a closed network, and a pinned key cannot be
replaced by any CA a device happens to trust.

A connection refused, a timeout, a reset or a cut answer raises `Unreachable` (retry later); an
answer, whatever its status, is returned as (status, JSON body).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import ApplianceError, Reason
from sync import protocol


class Unreachable(Exception):
    """Central did not answer (refused, timed out, reset, or the answer was cut)."""


def spki_sha256(certificate_der: bytes) -> str:
    """The pin of a TLS certificate: hex SHA-256 of its SubjectPublicKeyInfo."""
    cert = x509.load_der_x509_certificate(certificate_der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def _insecure_context() -> ssl.SSLContext:
    """TLS without CA checks: the pin (checked right after the handshake) is the check."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class CentralClient:
    def __init__(
        self,
        url: str,
        device_id: str,
        key: Ed25519PrivateKey | None,
        *,
        tls_pin: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApplianceError(Reason.USAGE, "central URL must be http(s)://host[:port]")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.device_id = device_id
        self.key = key
        self.tls_pin = tls_pin
        self.timeout = timeout
        self.peer_pin: str | None = None
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=_insecure_context()
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.https:
            sock = conn.sock
            der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
            self.peer_pin = spki_sha256(der) if der else None
            if self.tls_pin is not None and self.peer_pin != self.tls_pin:
                conn.close()
                raise ApplianceError(
                    Reason.SYNC_TLS_PIN_MISMATCH, "central's TLS key is not the one pinned"
                )
        return conn

    def _once(
        self, method: str, target: str, body: bytes, signed: bool
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if signed:
            assert self.key is not None
            headers |= protocol.sign_request(self.key, self.device_id, method, target, body)
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.request(method, target, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            self.close()
            raise Unreachable(type(exc).__name__) from exc
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {}
        return response.status, parsed if isinstance(parsed, dict) else {}

    def request(
        self, method: str, target: str, payload: Any = None, *, signed: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """One request; a kept-alive connection that central closed meanwhile is retried once
        on a new connection (signed afresh). Raises `Unreachable` or `ApplianceError`."""
        body = b"" if payload is None else json.dumps(payload).encode()
        reused = self._conn is not None
        try:
            return self._once(method, target, body, signed)
        except Unreachable as exc:
            cause = exc.__cause__
            if not reused or not isinstance(
                cause, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError
            ):
                raise
        return self._once(method, target, body, signed)


def refusal(status: int, body: dict[str, Any]) -> tuple[Reason, str]:
    """Central's stable reason and detail from a refusal (an unknown reason is kept as
    `SYNC_UNAVAILABLE` for 5xx, else `SYNC_BATCH_INVALID`)."""
    fallback = Reason.SYNC_UNAVAILABLE if status >= 500 else Reason.SYNC_BATCH_INVALID
    try:
        reason = Reason(str(body.get("reason")))
    except ValueError:
        reason = fallback
    detail = str(body.get("detail", ""))[:300] or f"HTTP {status}"
    return reason, detail
