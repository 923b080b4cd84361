"""Device enrolment (one-time tokens) and signed-request authentication.

A token, printed once by `appliance central token --device NAME`, is kept only as its
SHA-256; enrolment spends it in the same transaction that registers the device's two public
keys. Afterwards every request is signed by the device's key (`sync.protocol.sign_request`);
central checks the signature over method, path, time, nonce and body hash, refuses a time
outside the replay window, a nonce already seen within it, and a revoked device.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.errors import ApplianceError, Reason
from appliance.history.merkle import EMPTY_ROOT
from sync import protocol

Conn = psycopg.Connection[tuple[object, ...]]
DEFAULT_TOKEN_TTL = timedelta(hours=24)
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


@dataclass(frozen=True)
class Device:
    device_id: str
    auth_key: bytes
    history_key: bytes
    origin: str
    revoked: bool


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def valid_device_id(device_id: str) -> bool:
    """ASCII letters, digits, '.', '_', '-': safe in a URL path, and the history keeps such an
    id unchanged in its checkpoints' origin line."""
    return _DEVICE_ID.fullmatch(device_id) is not None


def issue_token(conn: Conn, device_id: str, ttl: timedelta = DEFAULT_TOKEN_TTL) -> str:
    """A fresh one-time enrolment token for a device name not yet enrolled."""
    if not valid_device_id(device_id):
        raise ApplianceError(Reason.USAGE, "device name: 1-100 of A-Z a-z 0-9 . _ -")
    token = secrets.token_urlsafe(32)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM devices WHERE device_id = %s", (device_id,)).fetchone():
            raise ApplianceError(Reason.USAGE, "device already enrolled (names are not reused)")
        conn.execute(
            "INSERT INTO enrolment_tokens (token_hash, device_id, expires_at)"
            " VALUES (%s, %s, now() + %s)",
            (_hash_token(token), device_id, ttl),
        )
    return token


def _ed25519(encoded: str, what: str) -> bytes:
    try:
        raw = protocol.b64d(encoded)
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ApplianceError(Reason.SYNC_BATCH_INVALID, f"{what} is not an Ed25519 key") from exc
    return raw


def enrol(conn: Conn, request: protocol.EnrolRequest) -> str:
    """Spend the token and register the device; return its device id."""
    auth_key = _ed25519(request.auth_key, "auth_key")
    history_key = _ed25519(request.history_key, "history_key")
    with conn.transaction():
        row = conn.execute(
            "UPDATE enrolment_tokens SET used_at = now()"
            " WHERE token_hash = %s AND used_at IS NULL AND expires_at > now()"
            " RETURNING device_id",
            (_hash_token(request.token),),
        ).fetchone()
        if row is None:
            raise ApplianceError(Reason.SYNC_TOKEN_INVALID, "token unknown, used or expired")
        device_id = str(row[0])
        if request.origin != f"appliance.history/{device_id}":
            raise ApplianceError(
                Reason.SYNC_BATCH_INVALID, "origin must be appliance.history/<device id>"
            )
        inserted = conn.execute(
            "INSERT INTO devices (device_id, auth_key, history_key, origin, checkpoint_root)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO NOTHING RETURNING 1",
            (device_id, auth_key, history_key, request.origin, EMPTY_ROOT),
        ).fetchone()
        if inserted is None:
            raise ApplianceError(Reason.SYNC_TOKEN_INVALID, "device already enrolled")
    return device_id


def revoke(conn: Conn, device_id: str) -> bool:
    row = conn.execute(
        "UPDATE devices SET revoked_at = coalesce(revoked_at, now())"
        " WHERE device_id = %s RETURNING 1",
        (device_id,),
    ).fetchone()
    return row is not None


def authenticate(
    conn: Conn,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    *,
    now: float | None = None,
) -> Device:
    """The device that signed this request, or raise (401 / 403). Records the nonce (in the
    caller's transaction, or at once in autocommit): a device signs each attempt afresh."""
    device_id = headers.get(protocol.HEADER_DEVICE.lower(), "")
    stamp = headers.get(protocol.HEADER_TIME.lower(), "")
    nonce = headers.get(protocol.HEADER_NONCE.lower(), "")
    signature_b64 = headers.get(protocol.HEADER_SIGNATURE.lower(), "")
    if not (device_id and stamp and nonce and signature_b64) or len(nonce) > 100:
        raise ApplianceError(Reason.SYNC_AUTH_FAILED, "request is not signed")
    try:
        moment = int(stamp)
        signature = protocol.b64d(signature_b64)
    except ValueError as exc:
        raise ApplianceError(Reason.SYNC_AUTH_FAILED, "malformed signature headers") from exc
    row = conn.execute(
        "SELECT auth_key, history_key, origin, revoked_at IS NOT NULL FROM devices"
        " WHERE device_id = %s",
        (device_id,),
    ).fetchone()
    if row is None:
        raise ApplianceError(Reason.SYNC_AUTH_FAILED, "unknown device")
    device = Device(device_id, bytes(row[0]), bytes(row[1]), str(row[2]), bool(row[3]))  # type: ignore[call-overload]
    message = protocol.signing_string(device_id, method, target, stamp, nonce, body)
    try:
        Ed25519PublicKey.from_public_bytes(device.auth_key).verify(signature, message)
    except InvalidSignature as exc:
        raise ApplianceError(Reason.SYNC_AUTH_FAILED, "signature does not verify") from exc
    if device.revoked:
        raise ApplianceError(Reason.SYNC_DEVICE_REVOKED, "device revoked")
    clock = time.time() if now is None else now
    if abs(clock - moment) > protocol.REPLAY_WINDOW_S:
        raise ApplianceError(Reason.SYNC_REPLAY, f"request time off by {int(clock - moment)} s")
    with conn.transaction():
        # A nonce need not survive a crash of the database server (that would reopen the replay
        # window of the last few milliseconds' requests, at most REPLAY_WINDOW_S): no WAL flush
        # for it, which would otherwise cost every read request a disk sync.
        conn.execute("SET LOCAL synchronous_commit TO off")
        seen = conn.execute(
            "INSERT INTO request_nonces (device_id, nonce) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            (device_id, nonce),
        ).fetchone()
    if seen is None:
        raise ApplianceError(Reason.SYNC_REPLAY, "nonce already used")
    if random.random() < 0.01:  # housekeeping, not security
        conn.execute(
            "DELETE FROM request_nonces WHERE seen_at < now() - %s",
            (timedelta(seconds=2 * protocol.REPLAY_WINDOW_S),),
        )
    return device
