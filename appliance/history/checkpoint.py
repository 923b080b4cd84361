"""Signed checkpoints: the device's Ed25519 signature over (origin, tree size, root, time).

A checkpoint is a C2SP `tlog-checkpoint` body inside a C2SP `signed-note`, the format
transparency-log witnesses already understand:

    appliance.history/<device id>\\n
    <tree size>\\n
    <base64 root hash>\\n
    time <YYYY-MM-DDTHH:MM:SS.ffffffZ>\\n
    \\n
    \u2014 <key name> <base64(4-byte key id || Ed25519 signature over the lines above)>\\n

The key id is the first four bytes of SHA-256(key name || '\\n' || 0x01 || public key), as the
signed-note spec defines for Ed25519. The device key is 32 raw bytes in a 0600 file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import ApplianceError, Reason
from appliance.history import files

_ED25519_ALG = b"\x01"
_DASH = "\u2014"


class CheckpointError(ValueError):
    """A checkpoint note that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str

    def body(self) -> bytes:
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.time}\n".encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519_ALG + public_bytes(key)).digest()[:4]


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The signed note text (key name = origin)."""
    body = checkpoint.body()
    signature = key.sign(body)
    blob = base64.b64encode(key_id(checkpoint.origin, key.public_key()) + signature).decode()
    return f"{body.decode()}\n{_DASH} {checkpoint.origin} {blob}\n"


def verify_note(note: str, key: Ed25519PublicKey, origin: str) -> Checkpoint:
    """Parse a signed note and check the device signature; raise `CheckpointError` otherwise."""
    body_text, sep, signatures = note.partition("\n\n")
    if not sep or not body_text:
        raise CheckpointError("not a signed note")
    body = (body_text + "\n").encode()
    lines = body_text.split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise CheckpointError("checkpoint is for another log")
    wanted = key_id(origin, key)
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH or parts[1] != origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if blob[:4] != wanted:
            continue
        try:
            key.verify(blob[4:], body)
        except InvalidSignature as exc:
            raise CheckpointError("signature does not verify") from exc
        return _parse_body(lines, origin)
    raise CheckpointError("no signature by the device key")


def _parse_body(lines: list[str], origin: str) -> Checkpoint:
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as exc:
        raise CheckpointError("malformed checkpoint body") from exc
    if size < 0 or len(root) != 32 or str(size) != lines[1]:
        raise CheckpointError("malformed checkpoint body")
    time = ""
    for extension in lines[3:]:
        if extension.startswith("time "):
            time = extension.removeprefix("time ")
    return Checkpoint(origin, size, root, time)


def load_or_create_device_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The device signing key (32 raw bytes, mode 0600), created only with `create` (a new
    history): silently replacing the key of an existing log would hide who signed it."""
    try:
        raw = files.read_private(path)
    except FileNotFoundError:
        if not create:
            raise ApplianceError(
                Reason.HISTORY_TAMPERED, "device key missing for an existing history"
            ) from None
        fresh = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        with contextlib.suppress(FileExistsError):  # another process created it first
            files.write_private(path, fresh, exclusive=True)
        raw = files.read_private(path)
    if len(raw) != 32:
        raise ApplianceError(Reason.HISTORY_STORAGE, "device key file is damaged")
    return Ed25519PrivateKey.from_private_bytes(raw)


def read_latest(path: Path) -> str | None:
    """The latest checkpoint kept outside the database, or None if there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ApplianceError(Reason.HISTORY_STORAGE, "latest checkpoint unreadable") from exc


def write_latest(path: Path, note: str) -> None:
    files.write_private(path, note.encode("utf-8"))
