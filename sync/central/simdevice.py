"""A simulated device for the tests, the benchmark and the walkthrough: a history kept in
memory in the real leaf and checkpoint formats (`appliance.history`), and a signed HTTP client.

It is not the device's uplink (that reads the real history, see sync/README.md) but speaks the
same protocol, so it can also misbehave on purpose: rewrite its log, forge a proof, replay.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.history import checkpoint as cp
from appliance.history import merkle
from appliance.history.events import DocumentRef, Event, EventType, encode_leaf, format_time
from sync import protocol

#: the national pseudonymisation key of the simulated authority (tests, the walkthrough)
TEST_NATIONAL_KEY = b"simulated national pseudonymisation key, 32+ bytes"


def national_pseudonym(issuer: str, number: str, key: bytes = TEST_NATIONAL_KEY) -> str:
    """A document's national pseudonym (`sync.protocol.national_pseudonym`)."""
    return protocol.national_pseudonym(key, DocumentRef(issuer, number))


@dataclass
class SimulatedDevice:
    device_id: str
    location: str = "lane-1"
    auth_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    history_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    leaves: list[bytes] = field(default_factory=list)
    documents: list[str | None] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))

    @property
    def origin(self) -> str:
        return f"appliance.history/{self.device_id}"

    @property
    def size(self) -> int:
        return len(self.leaves)

    def enrol_request(self, token: str) -> dict[str, str]:
        return {
            "token": token,
            "auth_key": protocol.b64e(protocol.raw_public_key(self.auth_key.public_key())),
            "history_key": protocol.b64e(protocol.raw_public_key(self.history_key.public_key())),
            "origin": self.origin,
        }

    def leaf(self, index: int, document: str | None, outcome: str) -> bytes:
        event = Event(
            EventType.CHECK,
            outcome,
            reasons=["OK"] if outcome == "OPEN" else ["WATCHLIST_HIT"],
            public={"lane": self.location},
            event_id=uuid.uuid4(),
        )
        period_pseudonym = None if document is None else secrets.token_hex(32)
        return encode_leaf(
            index=index,
            event=event,
            time=format_time(self.start + timedelta(milliseconds=index)),
            device_id=self.device_id,
            location=self.location,
            document=period_pseudonym,
            personal=None,
        )

    def check(self, count: int = 1, document: str | None = None, outcome: str = "OPEN") -> None:
        """Append `count` checks (of `document`, a national pseudonym) and sign a checkpoint."""
        for _ in range(count):
            self.leaves.append(self.leaf(self.size, document, outcome))
            self.documents.append(document)
        self.sign_checkpoint()

    def sign_checkpoint(self) -> str:
        hashes = [merkle.leaf_hash(leaf) for leaf in self.leaves]
        root = merkle.MemoryTree(hashes).root() if hashes else merkle.EMPTY_ROOT
        prev = max(self.notes) if self.notes else None
        if prev is not None and prev >= self.size:
            prev = None
        time = format_time(datetime.now(UTC))
        note = cp.sign(cp.Checkpoint(self.origin, self.size, root, time, prev), self.history_key)
        self.notes[self.size] = note
        return note

    def rewrite(self, index: int) -> None:
        """Replace a record (what a tampered device would do) and re-sign the log."""
        self.leaves[index] = self.leaf(index, self.documents[index], "OPEN")
        self.notes = {}
        self.sign_checkpoint()

    def batch(
        self, start: int, end: int, from_size: int, size: int | None = None, **status: Any
    ) -> dict[str, Any]:
        """Events [start, end) with the checkpoint at `size` (default the latest) and the two
        consistency proofs (from_size -> size, end -> size)."""
        size = self.size if size is None else size
        tree = merkle.MemoryTree(merkle.leaf_hash(leaf) for leaf in self.leaves[:size])
        consistency = merkle.consistency_proof(tree.node, min(from_size, size), size)
        inclusion = merkle.consistency_proof(tree.node, end, size)
        body: dict[str, Any] = {
            "events": [
                {
                    "index": i,
                    "leaf": protocol.b64e(self.leaves[i]),
                    "document": self.documents[i],
                }
                for i in range(start, end)
            ],
            "checkpoint": self.notes[size],
            "from_size": from_size,
            "consistency": [protocol.b64e(h) for h in consistency],
            "inclusion": [protocol.b64e(h) for h in inclusion],
        }
        if status:
            body["status"] = status
        return body


class CentralClient:
    """Signed requests to central over one keep-alive HTTP connection (stdlib only)."""

    def __init__(
        self, base_url: str, device_id: str, key: Ed25519PrivateKey, timeout: float = 30.0
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.device_id = device_id
        self.key = key
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def raw(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._conn.connect()
            # headers and body go out in separate writes: without this, Nagle's algorithm and
            # the server's delayed ACK add ~40 ms to every request
            assert self._conn.sock is not None
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            self._conn.request(method, target, body=body, headers=all_headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        return response.status, json.loads(data) if data else None

    def signed(self, method: str, target: str, payload: Any = None, **sign: Any) -> tuple[int, Any]:
        """One signed request. A kept-alive connection the server has meanwhile closed fails
        before any answer: then once more on a new connection, signed afresh (a new nonce;
        every request of this API may be repeated)."""
        body = b"" if payload is None else json.dumps(payload).encode()
        reused = self._conn is not None
        headers = protocol.sign_request(self.key, self.device_id, method, target, body, **sign)
        try:
            return self.raw(method, target, body, headers)
        except (http.client.RemoteDisconnected, BrokenPipeError):
            if not reused:
                raise
        headers = protocol.sign_request(self.key, self.device_id, method, target, body, **sign)
        return self.raw(method, target, body, headers)

    def enrol(self, device: SimulatedDevice, token: str) -> tuple[int, Any]:
        body = json.dumps(device.enrol_request(token)).encode()
        return self.raw("POST", f"{protocol.API_PREFIX}/devices/enrol", body)

    def cursor(self) -> tuple[int, Any]:
        return self.signed("GET", f"{protocol.API_PREFIX}/devices/{self.device_id}/cursor")

    def send(self, batch: dict[str, Any]) -> tuple[int, Any]:
        return self.signed("POST", f"{protocol.API_PREFIX}/devices/{self.device_id}/batches", batch)
