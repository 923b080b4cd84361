"""Record encryption, per-period keys and keyed document pseudonyms.

Each retention period has one 64-byte key file (mode 0600): 32 bytes wrap the record keys
(AES key wrap, RFC 3394) and 32 bytes key the document pseudonyms (HMAC-SHA256). Each record's
personal data is sealed with AES-256-GCM under its own random key, bound to the event id as
associated data; the wrapped record key is kept beside the log, outside the hashed leaf.

So there are two ways to erase, neither touching a leaf:
- a document on request: delete the wrapped keys of its records (other records keep theirs);
- a whole period when its retention ends: destroy the period file, which also makes the
  pseudonyms of that period unlinkable to any document number.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir, write_private
from appliance.history import files
from appliance.history.events import DocumentRef, PersonalData, SealedPersonal
from appliance.history.periods import Period

_KEY_FILE_SIZE = 64
_PSEUDONYM_LABEL = b"appliance-history/document-pseudonym/v1\x00"
_AAD_LABEL = b"appliance-history/personal/v1\x00"


@dataclass(frozen=True)
class PeriodKeys:
    period: Period
    wrap_key: bytes
    pseudonym_key: bytes

    def __repr__(self) -> str:
        return f"PeriodKeys({self.period.id}, <secret>)"


class KeyStore:
    """The period key files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)

    def _path(self, period: Period) -> Path:
        return self.directory / f"period-{period.id}.key"

    def load(self, period: Period) -> PeriodKeys | None:
        """The period's keys, or None once destroyed (or never created)."""
        try:
            raw = files.read_private(self._path(period))
        except FileNotFoundError:
            return None
        if len(raw) != _KEY_FILE_SIZE:
            raise ApplianceError(Reason.HISTORY_STORAGE, f"period key {period.id} is damaged")
        return PeriodKeys(period, raw[:32], raw[32:])

    def load_or_create(self, period: Period) -> PeriodKeys:
        keys = self.load(period)
        if keys is not None:
            return keys
        with contextlib.suppress(FileExistsError):  # another process created it first
            write_private(self._path(period), os.urandom(_KEY_FILE_SIZE), exclusive=True)
        keys = self.load(period)
        if keys is None:
            raise ApplianceError(Reason.HISTORY_STORAGE, "period key vanished while creating it")
        return keys

    def periods(self) -> list[Period]:
        """Periods whose keys still exist, oldest first."""
        found = []
        for path in self.directory.glob("period-*.key"):
            try:
                found.append(Period.parse(path.stem.removeprefix("period-")))
            except ValueError:
                continue
        return sorted(found)

    def destroy(self, period: Period) -> bool:
        return files.destroy(self._path(period))


def pseudonym(keys: PeriodKeys, document: DocumentRef) -> str:
    """HMAC-SHA256 of the normalised (issuer|type|number) under the period's pseudonym key."""
    mac = hmac.new(keys.pseudonym_key, _PSEUDONYM_LABEL + document.normalised(), hashlib.sha256)
    return mac.hexdigest()


def _aad(event_id: str, period_id: str) -> bytes:
    return _AAD_LABEL + event_id.encode() + b"\x00" + period_id.encode()


def seal(personal: PersonalData, keys: PeriodKeys, event_id: str) -> tuple[SealedPersonal, bytes]:
    """Encrypt under a fresh record key; return the sealed payload and the wrapped key."""
    record_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(record_key).encrypt(
        nonce, personal.to_bytes(), _aad(event_id, keys.period.id)
    )
    wrapped = aes_key_wrap(keys.wrap_key, record_key)
    return SealedPersonal(keys.period.id, nonce, ciphertext), wrapped


def unseal(
    sealed: SealedPersonal, wrapped_key: bytes, keys: PeriodKeys, event_id: str
) -> PersonalData:
    """Decrypt a record; `HISTORY_TAMPERED` if the key or ciphertext was altered."""
    try:
        record_key = aes_key_unwrap(keys.wrap_key, wrapped_key)
        plain = AESGCM(record_key).decrypt(
            sealed.nonce, sealed.ciphertext, _aad(event_id, sealed.period)
        )
        return PersonalData.from_bytes(plain)
    except (InvalidUnwrap, InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise ApplianceError(Reason.HISTORY_TAMPERED, "personal payload does not decrypt") from exc


def opens(sealed: SealedPersonal, wrapped_key: bytes, keys: PeriodKeys, event_id: str) -> bool:
    """Whether a wrapped record key unwraps and opens its record (what `verify` checks for
    every record key: a zeroed, garbled or swapped key would hide the data as if erased)."""
    try:
        record_key = aes_key_unwrap(keys.wrap_key, wrapped_key)
        AESGCM(record_key).decrypt(sealed.nonce, sealed.ciphertext, _aad(event_id, sealed.period))
    except (InvalidUnwrap, InvalidTag, ValueError, TypeError):
        return False
    return True
