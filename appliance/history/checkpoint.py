"""Signed checkpoints: the device's Ed25519 signature over (origin, tree size, root, time).

A checkpoint is a C2SP `tlog-checkpoint` body inside a C2SP `signed-note`, the format
transparency-log witnesses already understand:

    appliance.history/<device id>\\n
    <tree size>\\n
    <base64 root hash>\\n
    time <YYYY-MM-DDTHH:MM:SS.ffffffZ>\\n
    prev <tree size of the checkpoint before this one>\\n   (absent on the empty tree's)
    \\n
    \u2014 <key name> <base64(4-byte key id || Ed25519 signature over the lines above)>\\n

The key id is the first four bytes of SHA-256(key name || '\\n' || 0x01 || public key), as the
signed-note spec defines for Ed25519. The device key is 32 raw bytes in a 0600 file.

The `prev` line chains every checkpoint to the one before it, so deleting a checkpoint row from
the database is seen. A note is accepted only in exactly the form `sign` writes it (parsed,
re-serialised and compared byte for byte): one device signature, canonical base64, no other
lines, so no byte of a stored note can change without `verify` noticing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import ApplianceError, Reason
from appliance.files import write_private
from appliance.history import files

_ED25519_ALG = b"\x01"
_DASH = "\u2014"
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_SIGNATURE_BYTES = 4 + 64


class CheckpointError(ValueError):
    """A checkpoint note that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str
    #: the tree size of the previous checkpoint of this log (None: the first, or an old note)
    prev: int | None = None

    def body(self) -> bytes:
        root = base64.b64encode(self.root).decode()
        prev = "" if self.prev is None else f"prev {self.prev}\n"
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.time}\n{prev}".encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519_ALG + public_bytes(key)).digest()[:4]


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The signed note text (key name = origin)."""
    body = checkpoint.body()
    signature = key.sign(body)
    return _note(checkpoint, key_id(checkpoint.origin, key.public_key()) + signature)


def _note(checkpoint: Checkpoint, blob: bytes) -> str:
    encoded = base64.b64encode(blob).decode()
    return f"{checkpoint.body().decode()}\n{_DASH} {checkpoint.origin} {encoded}\n"


def verify_note(note: str, key: Ed25519PublicKey, origin: str) -> Checkpoint:
    """Parse a signed note strictly and check the device signature; raise `CheckpointError`
    otherwise. Strictly: the note must be byte for byte what `sign` writes for the checkpoint it
    holds (one device signature line, canonical numbers and base64, nothing else)."""
    body_text, sep, signatures = note.partition("\n\n")
    if not sep or not body_text:
        raise CheckpointError("not a signed note")
    body = (body_text + "\n").encode()
    lines = body_text.split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise CheckpointError("checkpoint is for another log")
    signature_lines = signatures.split("\n")
    if len(signature_lines) != 2 or signature_lines[1] != "":
        raise CheckpointError("note must hold exactly one signature line")
    parts = signature_lines[0].split(" ")
    if len(parts) != 3 or parts[0] != _DASH or parts[1] != origin:
        raise CheckpointError("no signature by the device key")
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except ValueError as exc:
        raise CheckpointError("no signature by the device key") from exc
    if len(blob) != _SIGNATURE_BYTES or blob[:4] != key_id(origin, key):
        raise CheckpointError("no signature by the device key")
    try:
        key.verify(blob[4:], body)
    except InvalidSignature as exc:
        raise CheckpointError("signature does not verify") from exc
    checkpoint = _parse_body(lines, origin)
    if _note(checkpoint, blob) != note:
        raise CheckpointError("note is not in canonical form")
    return checkpoint


def _parse_body(lines: list[str], origin: str) -> Checkpoint:
    """origin, size, root, `time`, optional `prev`; nothing else (the caller re-serialises)."""
    if len(lines) not in (4, 5) or not lines[3].startswith("time "):
        raise CheckpointError("malformed checkpoint body")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
        prev = None
        if len(lines) == 5:
            if not lines[4].startswith("prev "):
                raise ValueError("unknown extension line")
            prev = int(lines[4].removeprefix("prev "))
    except ValueError as exc:
        raise CheckpointError("malformed checkpoint body") from exc
    time = lines[3].removeprefix("time ")
    if size < 0 or len(root) != 32 or not _TIME.fullmatch(time):
        raise CheckpointError("malformed checkpoint body")
    if prev is not None and not 0 <= prev < size:
        raise CheckpointError("malformed checkpoint body")
    checkpoint = Checkpoint(origin, size, root, time, prev)
    if checkpoint.body() != ("\n".join(lines) + "\n").encode():
        raise CheckpointError("note is not in canonical form")
    return checkpoint


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
            write_private(path, fresh, exclusive=True)
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
    write_private(path, note.encode("utf-8"))
