"""The wire format shared by the device's uplink and the central service (see sync/README.md).

Both sides import this module, so what a device signs and what central verifies can never
drift apart: the request-signing string, the header names, the replay window, and the JSON
shapes of a batch and of central's cursor.

A device signs every request with its Ed25519 key (registered at enrolment) over

    appliance-sync-request-v1\\n<device id>\\n<METHOD>\\n<path?query>\\n<unix time>\\n<nonce>\\n
    <hex SHA-256 of the body>

so the method, path, query, time and exact body are covered; central refuses a timestamp
outside the replay window and a nonce it has seen within it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time as _time
from collections.abc import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from appliance.history.events import DocumentRef

API_PREFIX = "/api/v1"
SIGNING_DOMAIN = "appliance-sync-request-v1"
HEADER_DEVICE = "X-Appliance-Device"
HEADER_TIME = "X-Appliance-Time"
HEADER_NONCE = "X-Appliance-Nonce"
HEADER_SIGNATURE = "X-Appliance-Signature"
#: a request whose time is further than this from central's clock is refused (seconds)
REPLAY_WINDOW_S = 300
#: the most events one batch may carry, and the largest body central reads
MAX_BATCH_EVENTS = 5000
MAX_BODY_BYTES = 32 * 1024 * 1024

NATIONAL_PSEUDONYM_LABEL = b"appliance-sync/national-pseudonym/v1\x00"
ARTEFACT_KINDS = (
    "masterlist", "crl", "deviations", "watchlist", "policy", "config", "model", "watchlist-delta"
)  # fmt: skip


def b64e(data: bytes) -> str:
    """Standard base64 with padding (keys, hashes, proofs, artefact content)."""
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    """Strict standard base64; raises ValueError."""
    return base64.b64decode(text.encode("ascii"), validate=True)


def national_pseudonym(key: bytes, document: DocumentRef) -> str:
    """The document as it leaves a device: HMAC-SHA256 under the authority's national
    pseudonymisation key (32 bytes, the same on every device) of the document as ICAO 9303
    prints it (`DocumentRef.normalised`: issuer|type|number), hex. The same document checked on
    two devices gets the same pseudonym, and central, holding the key, can look a number up."""
    if len(key) < 32:
        raise ValueError("the national pseudonymisation key must have at least 32 bytes")
    mac = hmac.new(key, NATIONAL_PSEUDONYM_LABEL + document.normalised(), hashlib.sha256)
    return mac.hexdigest()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signing_string(
    device_id: str, method: str, target: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    """What a request's signature covers (`target` is the path with its query, as sent)."""
    digest = hashlib.sha256(body).hexdigest()
    lines = [SIGNING_DOMAIN, device_id, method.upper(), target, timestamp, nonce, digest]
    return "\n".join(lines).encode("utf-8")


def sign_request(
    key: Ed25519PrivateKey,
    device_id: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The authentication headers of one request."""
    timestamp = str(int(_time.time() if now is None else now))
    nonce = nonce or secrets.token_urlsafe(16)
    signature = key.sign(signing_string(device_id, method, target, timestamp, nonce, body))
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIME: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: b64e(signature),
    }


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnrolRequest(_Model):
    """POST /api/v1/devices/enrol (unsigned: the one-time token authenticates it)."""

    token: str = Field(min_length=16, max_length=200)
    #: Ed25519 raw public key (base64) that signs this device's requests
    auth_key: str
    #: Ed25519 raw public key (base64) that signs the device's history checkpoints
    history_key: str
    #: the checkpoints' origin line, `appliance.history/<device id>`
    origin: str = Field(min_length=1, max_length=300)


class BatchEvent(_Model):
    index: int = Field(ge=0)
    #: the exact leaf bytes of the device's history (base64): central rehashes them
    leaf: str
    #: the document under the authority's national pseudonymisation key (64 hex), or null
    document: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class DeviceStatus(_Model):
    """What the device reports about itself with each batch (optional)."""

    backlog: int | None = Field(default=None, ge=0)
    artefacts: Mapping[str, int] = Field(default_factory=dict)


class Batch(_Model):
    """POST /api/v1/devices/{device_id}/batches."""

    events: list[BatchEvent] = Field(max_length=MAX_BATCH_EVENTS)
    #: the device's latest signed checkpoint note (size S)
    checkpoint: str = Field(max_length=4096)
    #: the checkpoint size central last witnessed (from the cursor) ...
    from_size: int = Field(ge=0)
    #: ... and the RFC 9162 consistency proof from it to S (base64 hashes)
    consistency: list[str] = Field(max_length=128)
    #: RFC 9162 consistency proof from the tree ending with this batch's last event to S
    inclusion: list[str] = Field(max_length=128)
    status: DeviceStatus | None = None


class Cursor(_Model):
    """What central holds of a device's log (GET .../cursor, and every batch answer)."""

    device_id: str
    #: the index of the next event central expects (= events stored)
    next_index: int
    #: the last index stored (next_index - 1), None before the first
    acknowledged: int | None
    #: the last checkpoint central witnessed
    checkpoint_size: int
    checkpoint_root: str
    witness: str
