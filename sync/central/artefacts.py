"""Signed artefacts for the devices' downlink: publish, list, fetch.

Each artefact is signed in the project's signed-artefact format
(`appliance.signed.artefacts`: Ed25519 over the domain, the kind and the content, one
`ed25519 <key id> <base64>` line), so a device verifies it with the trust anchors it already
has. Content signatures do not cover a version, and a master list or a CRL has no version
field of ours, so central also signs a small manifest (kind `manifest`, same format): the
RFC 8785 JSON `{"kind", "version", "sha256", "size"}`. A device that checks the manifest knows
which version the content is, and can refuse to roll back to an older one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import ApplianceError, Reason
from appliance.signed import artefacts as signed
from appliance.signed.watchlist_delta import DELTA_KIND, make_delta
from sync import protocol
from sync.central.auth import Conn

MANIFEST_KIND = "manifest"


def signature_line(kind: str, content: bytes, key: Ed25519PrivateKey) -> str:
    """`appliance.signed`'s detached signature for any artefact kind (its `sign` takes the two
    kinds the lane reads today; the bytes signed and the line are the same)."""
    message = signed.DOMAIN + kind.encode("ascii") + b"\x00" + content
    signature = key.sign(message)
    return f"ed25519 {signed.key_id(key.public_key())} {protocol.b64e(signature)}\n"


def verify_line(kind: str, content: bytes, line: str, key: Ed25519PublicKey) -> bool:
    """Whether `line` is `key`'s signature of `content` as `kind` (what a device checks)."""
    try:
        scheme, kid, encoded = line.split()
        signature = protocol.b64d(encoded)
    except ValueError:
        return False
    if scheme != "ed25519" or kid != signed.key_id(key):
        return False
    try:
        key.verify(signature, signed.DOMAIN + kind.encode("ascii") + b"\x00" + content)
    except InvalidSignature:
        return False
    return True


def manifest_bytes(kind: str, version: int, content: bytes) -> bytes:
    body: dict[str, str | int] = {
        "kind": kind,
        "version": version,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
    }
    return rfc8785.dumps(body)


def _insert(conn: Conn, kind: str, version: int, content: bytes, key: Ed25519PrivateKey) -> None:
    """Store one signed version (content signed as `kind`, manifest as `manifest`)."""
    manifest = manifest_bytes(kind, version, content)
    conn.execute(
        "INSERT INTO artefacts (kind, version, content, sha256, signature, manifest,"
        " manifest_signature) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            kind,
            version,
            content,
            hashlib.sha256(content).hexdigest(),
            signature_line(kind, content, key),
            manifest.decode("ascii"),
            signature_line(MANIFEST_KIND, manifest, key),
        ),
    )


def _newest(conn: Conn, kind: str) -> tuple[int, bytes | None]:
    row = conn.execute(
        "SELECT version, content FROM artefacts WHERE kind = %s ORDER BY version DESC LIMIT 1",
        (kind,),
    ).fetchone()
    if row is None:
        return 0, None
    return int(row[0]), bytes(row[1])  # type: ignore[call-overload]


def publish(
    conn: Conn, kind: str, content: bytes, key: Ed25519PrivateKey, version: int | None = None
) -> int:
    """Store a new version (default: the current one + 1); return it.

    Kind `watchlist-delta` takes a new full watchlist (under the newest published list's key)
    and publishes, as one version N, both the full list (kind `watchlist`, in its one byte
    form) and the delta from the newest list to it, so a device whose list is not the delta's
    base fetches the full one of the same version."""
    if kind not in protocol.ARTEFACT_KINDS:
        raise ApplianceError(Reason.USAGE, f"unknown artefact kind {kind!r}")
    with conn.transaction():
        conn.execute("LOCK TABLE artefacts IN SHARE ROW EXCLUSIVE MODE")
        if kind == DELTA_KIND:
            return _publish_delta(conn, content, key, version)
        current, _ = _newest(conn, kind)
        if version is None:
            version = current + 1
        if version <= current:
            raise ApplianceError(
                Reason.SYNC_ARTEFACT_VERSION, f"{kind} version {version} is not above {current}"
            )
        _insert(conn, kind, version, content, key)
    return version


def _publish_delta(conn: Conn, new_list: bytes, key: Ed25519PrivateKey, version: int | None) -> int:
    base_version, base = _newest(conn, "watchlist")
    if base is None:
        raise ApplianceError(
            Reason.USAGE, "no watchlist published yet: publish the first list as `watchlist`"
        )
    floor = max(base_version, _newest(conn, DELTA_KIND)[0])
    version = floor + 1 if version is None else version
    if version <= floor:
        raise ApplianceError(
            Reason.SYNC_ARTEFACT_VERSION, f"watchlist version {version} is not above {floor}"
        )
    result, delta = make_delta(
        base, base_version, new_list, lambda c: signature_line("watchlist", c, key)
    )
    _insert(conn, "watchlist", version, result, key)
    _insert(conn, DELTA_KIND, version, delta, key)
    return version


def current(conn: Conn) -> list[dict[str, Any]]:
    """The newest version of each kind; a watchlist delta only while it leads to the newest
    watchlist (one superseded by a full list is not offered: a device would call it older)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (kind) kind, version, sha256, length(content), published_at"
        " FROM artefacts ORDER BY kind, version DESC"
    ).fetchall()
    newest = {str(r[0]): int(r[1]) for r in rows}  # type: ignore[call-overload]
    return [
        {
            "kind": r[0],
            "version": r[1],
            "sha256": r[2],
            "size": r[3],
            "published_at": r[4].isoformat(),  # type: ignore[attr-defined]
        }
        for r in rows
        if not (r[0] == DELTA_KIND and newest.get("watchlist", 0) > int(r[1]))  # type: ignore[call-overload]
    ]


def fetch(conn: Conn, kind: str, version: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT content, sha256, signature, manifest, manifest_signature, published_at"
        " FROM artefacts WHERE kind = %s AND version = %s",
        (kind, version),
    ).fetchone()
    if row is None:
        raise ApplianceError(Reason.SYNC_NOT_FOUND, f"no {kind} version {version}")
    return {
        "kind": kind,
        "version": version,
        "content": protocol.b64e(bytes(row[0])),  # type: ignore[call-overload]
        "sha256": row[1],
        "signature": row[2],
        "manifest": row[3],
        "manifest_signature": row[4],
        "published_at": row[5].isoformat(),  # type: ignore[attr-defined]
    }
