"""What the device keeps about sync, durably, in `<data dir>/sync/` (mode 0700, files 0600).

- `auth-ed25519.key`: the key that signs this device's requests (PEM, never leaves the device)
- `enrolment.json`: central's URL, this device's id, the pinned SPKI SHA-256 of central's TLS key
- `cursor.json`: what central last acknowledged: `next_index` (events stored there),
  `checkpoint_size` and `checkpoint_root` (the checkpoint it witnessed). Written only after a
  200 (or from the cursor central sends with a 409), so a crash can only make the device resend
- `artefacts.json`: the version of each artefact kind in force (the anti-rollback floor)
- `status.json`: the last error, the last refusal per artefact kind, revocation, last success,
  rounds failed since

Every file is written with `appliance.files.write_private` (temporary file, fsync, rename,
fsync of the directory): a reader after a power loss sees the old or the new state.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir, write_private

SYNC_DIR = "sync"
KEY_FILE = "auth-ed25519.key"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Enrolment:
    url: str
    device_id: str
    #: hex SHA-256 of central's TLS public key (SubjectPublicKeyInfo DER); None for http
    tls_pin: str | None
    enrolled_at: str


@dataclass
class Cursor:
    next_index: int = 0
    checkpoint_size: int = 0
    checkpoint_root: str = ""


@dataclass
class Status:
    last_error: dict[str, str] | None = None
    last_success: str | None = None
    revoked: bool = False
    fork: bool = False
    #: per artefact kind, the last version refused and why (the version in force stays)
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: rounds failed since the last successful one (the metrics' alarm on a silent outage)
    consecutive_failures: int = 0


class SyncState:
    """The sync directory of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.directory = data_dir / SYNC_DIR

    def _path(self, name: str) -> Path:
        return self.directory / name

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            body = json.loads(self._path(name).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ApplianceError(Reason.DATA_DIR_UNAVAILABLE, f"sync/{name} unreadable") from exc
        if not isinstance(body, dict):
            raise ApplianceError(Reason.DATA_DIR_UNAVAILABLE, f"sync/{name} malformed")
        return body

    def _write(self, name: str, body: dict[str, Any]) -> None:
        private_dir(self.directory)
        write_private(self._path(name), json.dumps(body, indent=1, sort_keys=True).encode())

    # -- the request-signing key

    def create_key(self) -> Ed25519PrivateKey:
        """A new key (enrolment); an existing one is kept (a device enrols once)."""
        existing = self.key()
        if existing is not None:
            return existing
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        private_dir(self.directory)
        write_private(self._path(KEY_FILE), pem)
        return key

    def key(self) -> Ed25519PrivateKey | None:
        try:
            loaded = serialization.load_pem_private_key(
                self._path(KEY_FILE).read_bytes(), password=None
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ApplianceError(Reason.DATA_DIR_UNAVAILABLE, "sync key unreadable") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ApplianceError(Reason.DATA_DIR_UNAVAILABLE, "sync key is not Ed25519")
        return loaded

    # -- enrolment, cursor, artefact versions, status

    def enrolment(self) -> Enrolment | None:
        body = self._read("enrolment.json")
        return None if body is None else Enrolment(**body)

    def require_enrolment(self) -> tuple[Enrolment, Ed25519PrivateKey]:
        enrolment, key = self.enrolment(), self.key()
        if enrolment is None or key is None:
            raise ApplianceError(Reason.SYNC_NOT_ENROLLED, "run `appliance sync enrol` first")
        return enrolment, key

    def save_enrolment(self, enrolment: Enrolment) -> None:
        self._write("enrolment.json", asdict(enrolment))

    def cursor(self) -> Cursor:
        body = self._read("cursor.json")
        return Cursor() if body is None else Cursor(**body)

    def save_cursor(self, cursor: Cursor) -> None:
        self._write("cursor.json", asdict(cursor))

    def artefacts(self) -> dict[str, int]:
        body = self._read("artefacts.json") or {}
        return {str(k): int(v) for k, v in body.items()}

    def save_artefact(self, kind: str, version: int) -> None:
        versions = self.artefacts()
        versions[kind] = version
        self._write("artefacts.json", dict(versions))

    def status(self) -> Status:
        body = self._read("status.json")
        return Status() if body is None else Status(**body)

    def save_status(self, status: Status) -> None:
        self._write("status.json", asdict(status))

    def record_error(self, reason: Reason, detail: str) -> None:
        status = self.status()
        status.last_error = {"reason": reason.value, "detail": detail, "at": now_iso()}
        if reason is Reason.SYNC_DEVICE_REVOKED:
            status.revoked = True
        if reason is Reason.SYNC_FORK_DETECTED:
            status.fork = True
        self.save_status(status)

    def record_failed_round(self, reason: Reason, detail: str) -> None:
        self.record_error(reason, detail)
        status = self.status()
        status.consecutive_failures += 1
        self.save_status(status)

    def record_success(self) -> None:
        status = self.status()
        status.last_error = None
        status.consecutive_failures = 0
        status.last_success = now_iso()
        status.revoked = False
        self.save_status(status)
