"""The enrolled iris gallery (registered travellers), encrypted at rest and erasable.

Sealed the way the history seals personal data (`appliance/history/crypto.py`): each
enrolment (name and templates) is encrypted with AES-256-GCM under its own random key, bound
to its record id as associated data; the record key is kept wrapped (AES key wrap, RFC 3394)
under the gallery key, a 32-byte file of mode 0600 in the data directory. Nothing of a
template or a name is in the gallery file in clear. Erasing a traveller rewrites the file
without their record (atomically, `appliance.files.write_private`), dropping its wrapped key
with it; a copy of the file taken earlier stays unreadable without the gallery key.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from appliance.biometrics.iris.encode import IrisTemplate
from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir, write_private
from appliance.inputs import read_input_file

_AAD_LABEL = b"appliance-iris/enrolment/v1\x00"
_KEY_SIZE = 32
#: a gallery file holds ~700 bytes per template: 64 MiB is ~90 000 enrolments
MAX_GALLERY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Enrolment:
    record_id: str
    name: str
    templates: tuple[IrisTemplate, ...]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


class IrisGallery:
    """The gallery in `directory` (created mode 0700): `gallery.key` and `gallery.json`."""

    def __init__(self, directory: Path) -> None:
        self.directory = private_dir(directory)
        self.key_path = self.directory / "gallery.key"
        self.path = self.directory / "gallery.json"

    def _key(self, create: bool) -> bytes | None:
        if create and not self.key_path.exists():
            with contextlib.suppress(FileExistsError):  # another process made it first
                write_private(self.key_path, os.urandom(_KEY_SIZE), exclusive=True)
        try:
            key = read_input_file(self.key_path, _KEY_SIZE)
        except ApplianceError:
            return None
        if len(key) != _KEY_SIZE:
            raise ApplianceError(Reason.IRIS_GALLERY_DAMAGED, "the gallery key is damaged")
        return key

    def _records(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(read_input_file(self.path, MAX_GALLERY_BYTES))
            records = raw["records"]
            if raw.get("version") != 1 or not isinstance(records, list):
                raise ValueError("unknown layout")
            return [dict(r) for r in records]
        except ApplianceError as exc:
            raise ApplianceError(Reason.IRIS_GALLERY_DAMAGED, exc.detail) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ApplianceError(
                Reason.IRIS_GALLERY_DAMAGED, "the gallery file is damaged"
            ) from exc

    def _write(self, records: list[dict[str, str]]) -> None:
        write_private(self.path, json.dumps({"version": 1, "records": records}).encode())

    def _open(self, record: dict[str, str], key: bytes) -> Enrolment:
        try:
            record_id = record["id"]
            record_key = aes_key_unwrap(key, _unb64(record["key"]))
            plain = AESGCM(record_key).decrypt(
                _unb64(record["nonce"]), _unb64(record["data"]), _AAD_LABEL + record_id.encode()
            )
            body = json.loads(plain)
            templates = tuple(IrisTemplate.from_bytes(_unb64(t)) for t in body["templates"])
            return Enrolment(record_id, str(body["name"]), templates)
        except (InvalidUnwrap, InvalidTag, ValueError, KeyError, TypeError) as exc:
            raise ApplianceError(
                Reason.IRIS_GALLERY_DAMAGED, "an enrolment does not decrypt"
            ) from exc

    def _seal(self, name: str, templates: list[IrisTemplate], key: bytes) -> dict[str, str]:
        record_id = secrets.token_hex(16)
        record_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        body = json.dumps({"name": name, "templates": [_b64(t.to_bytes()) for t in templates]})
        data = AESGCM(record_key).encrypt(nonce, body.encode(), _AAD_LABEL + record_id.encode())
        return {
            "id": record_id,
            "key": _b64(aes_key_wrap(key, record_key)),
            "nonce": _b64(nonce),
            "data": _b64(data),
        }

    def enrolments(self) -> list[Enrolment]:
        """Every enrolment, decrypted (`IRIS_GALLERY_DAMAGED` if one does not open)."""
        records = self._records()
        if not records:
            return []
        key = self._key(create=False)
        if key is None:
            raise ApplianceError(Reason.IRIS_GALLERY_DAMAGED, "the gallery key is missing")
        return [self._open(record, key) for record in records]

    def enrol(self, name: str, templates: list[IrisTemplate]) -> Enrolment:
        """Add (or replace: one enrolment per name) a traveller's templates."""
        if not name or not templates:
            raise ApplianceError(Reason.USAGE, "an enrolment needs a name and a template")
        key = self._key(create=True)
        if key is None:
            raise ApplianceError(Reason.IRIS_GALLERY_DAMAGED, "the gallery key cannot be read")
        records = self._records()
        kept = [r for r in records if self._open(r, key).name != name]
        sealed = self._seal(name, templates, key)
        self._write([*kept, sealed])
        return Enrolment(sealed["id"], name, tuple(templates))

    def erase(self, name: str) -> int:
        """Remove a traveller's enrolment; `IRIS_NOT_ENROLLED` if there is none."""
        records = self._records()
        key = self._key(create=False)
        if not records or key is None:
            raise ApplianceError(Reason.IRIS_NOT_ENROLLED, "no such enrolment")
        kept = [r for r in records if self._open(r, key).name != name]
        removed = len(records) - len(kept)
        if removed == 0:
            raise ApplianceError(Reason.IRIS_NOT_ENROLLED, "no such enrolment")
        self._write(kept)
        return removed
