"""Ed25519-signed artefacts (the decision policy, the watchlist) and their trust anchors.

Format: the artefact file is kept byte for byte as the central system wrote it, next to a
detached signature file `<name>.sig` of one line:

    ed25519 <key id: 16 hex> <signature: base64>

The signature covers ``b"border-appliance signed artefact v1\\0" + kind + b"\\0" + content``,
so a signed watchlist can never pass for a policy (domain separation by `kind`). Trusted
public keys are PEM files in the data directory's ``artefact-keys/`` (placed there at
provisioning, or by `install_trusted_key`); the key id is the first 8 bytes of SHA-256 over
the raw public key. Every artefact carries a `version`; the highest one accepted is remembered
per kind, so an older (validly signed) file cannot be put back to roll a policy or a
watchlist back. Verification is fail-closed: a missing, unknown or wrong signature raises.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import ApplianceError, Reason

# re-exported for inspection/demo.py (`sc.write_private`) until the demo is taken apart
from appliance.files import write_private as write_private

DOMAIN = b"border-appliance signed artefact v1\x00"
SIGNATURE_SUFFIX = ".sig"
KEYS_DIR = "artefact-keys"
_ACCEPTED_DIR = "accepted-versions"


class ArtefactKind(StrEnum):
    POLICY = "policy"
    WATCHLIST = "watchlist"
    CONFIG = "config"  # remote_config: the keys central may set
    MODEL = "model"  # a model package (appliance.model_overlay)


_UNSIGNED = {
    ArtefactKind.POLICY: Reason.POLICY_UNSIGNED,
    ArtefactKind.WATCHLIST: Reason.WATCHLIST_INVALID,
    ArtefactKind.CONFIG: Reason.CONFIG_INVALID,
    ArtefactKind.MODEL: Reason.MODEL_UNAVAILABLE,
}
_INVALID = {
    ArtefactKind.POLICY: Reason.POLICY_INVALID,
    ArtefactKind.WATCHLIST: Reason.WATCHLIST_INVALID,
    ArtefactKind.CONFIG: Reason.CONFIG_INVALID,
    ArtefactKind.MODEL: Reason.MODEL_UNAVAILABLE,
}


def unsigned_reason(kind: ArtefactKind) -> Reason:
    return _UNSIGNED[kind]


def invalid_reason(kind: ArtefactKind) -> Reason:
    return _INVALID[kind]


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(key)).digest()[:8].hex()


def signing_message(kind: ArtefactKind, content: bytes) -> bytes:
    return DOMAIN + kind.value.encode("ascii") + b"\x00" + content


def sign(kind: ArtefactKind, content: bytes, key: Ed25519PrivateKey) -> bytes:
    """The detached signature file for `content` (what the central system publishes)."""
    signature = key.sign(signing_message(kind, content))
    line = f"ed25519 {key_id(key.public_key())} {base64.b64encode(signature).decode()}\n"
    return line.encode("ascii")


def write_signed(path: Path, kind: ArtefactKind, content: bytes, key: Ed25519PrivateKey) -> None:
    """Write an artefact and its signature (mode 0600, signature first: a reader never sees
    a new file with an old signature as valid, it sees a mismatch and refuses)."""
    write_private(signature_path(path), sign(kind, content, key))
    write_private(path, content)


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + SIGNATURE_SUFFIX)


@dataclass(frozen=True)
class TrustedKeys:
    """The Ed25519 public keys artefacts must be signed with, by key id."""

    keys: dict[str, Ed25519PublicKey]

    @classmethod
    def load(cls, directory: Path) -> TrustedKeys:
        """Every `*.pem` public key in `directory` (none: nothing verifies)."""
        keys: dict[str, Ed25519PublicKey] = {}
        if directory.is_dir():
            for path in sorted(directory.glob("*.pem")):
                try:
                    loaded = serialization.load_pem_public_key(path.read_bytes())
                except (ValueError, OSError):
                    continue  # an unreadable anchor trusts nothing
                if isinstance(loaded, Ed25519PublicKey):
                    keys[key_id(loaded)] = loaded
        return cls(keys)

    def verify(self, kind: ArtefactKind, content: bytes, signature_file: bytes | None) -> str:
        """Check the detached signature; return the signing key id or raise (fail closed)."""
        if signature_file is None:
            raise ApplianceError(unsigned_reason(kind), f"{kind.value}: no signature file")
        try:
            scheme, kid, encoded = signature_file.decode("ascii").split()
            signature = base64.b64decode(encoded, validate=True)
        except (UnicodeDecodeError, ValueError, binascii.Error) as exc:
            raise ApplianceError(
                invalid_reason(kind), f"{kind.value}: malformed signature"
            ) from exc
        if scheme != "ed25519":
            raise ApplianceError(invalid_reason(kind), f"{kind.value}: unknown signature scheme")
        key = self.keys.get(kid)
        if key is None:
            raise ApplianceError(
                unsigned_reason(kind), f"{kind.value}: signed by a key this device does not trust"
            )
        try:
            key.verify(signature, signing_message(kind, content))
        except InvalidSignature as exc:
            raise ApplianceError(invalid_reason(kind), f"{kind.value}: signature invalid") from exc
        return kid


def read_verified(path: Path, kind: ArtefactKind, trusted: TrustedKeys) -> bytes:
    """The content of a signed artefact on disk, only once its signature verifies."""
    try:
        content = path.read_bytes()
    except FileNotFoundError as exc:
        raise ApplianceError(unsigned_reason(kind), f"{kind.value}: file not installed") from exc
    except OSError as exc:
        raise ApplianceError(invalid_reason(kind), f"{kind.value}: unreadable") from exc
    try:
        signature: bytes | None = signature_path(path).read_bytes()
    except FileNotFoundError:
        signature = None
    except OSError as exc:
        raise ApplianceError(invalid_reason(kind), f"{kind.value}: signature unreadable") from exc
    trusted.verify(kind, content, signature)
    return content


class VersionGuard:
    """Anti-rollback: the highest version accepted per artefact kind, kept in the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / _ACCEPTED_DIR

    def highest(self, kind: ArtefactKind) -> int:
        try:
            return int((self.directory / kind.value).read_text().strip())
        except (FileNotFoundError, ValueError):
            return 0

    def check(self, kind: ArtefactKind, version: int) -> None:
        if version < self.highest(kind):
            raise ApplianceError(
                invalid_reason(kind), f"{kind.value}: version {version} is older than accepted"
            )

    def accept(self, kind: ArtefactKind, version: int) -> None:
        self.check(kind, version)
        if version > self.highest(kind):
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(self.directory / kind.value, f"{version}\n".encode())


def install_trusted_key(data_dir: Path, key: Ed25519PublicKey, name: str) -> Path:
    """Place a public key among the artefact trust anchors (provisioning, the demo)."""
    directory = data_dir / KEYS_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{name}.pem"
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_private(path, pem)
    return path
