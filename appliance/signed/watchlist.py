"""Offline watchlist of lost and stolen documents, as keyed hashes, from a signed file.

The device never holds the clear document numbers. An entry is

    HMAC-SHA256(list key, "ISSUER|T|NUMBER")

over the same normalisation the history uses for its pseudonyms (`DocumentRef.normalised`:
ICAO state code, first letter of the document code, number without fillers). The central
system draws a fresh 32-byte key for every list it publishes and ships it inside the signed
file. Choice, and its limit: the key stops precomputed tables and linking entries across list
versions or with other systems' hashes, but whoever holds the device holds the key, so a
determined attacker can still test guessed numbers one by one (an offline check cannot avoid
that; SLTD itself is a list of clear numbers). The file is JSON, signed like the policy
(`appliance.signed.artefacts`, kind `watchlist`), with a monotonic `version` and an `issued_at`
time so a stale list fails closed (`WATCHLIST_STALE`) rather than silently missing new reports. An
`issued_at` more than `CLOCK_SKEW` (5 minutes: NTP-synchronised clocks agree far better, a device
whose clock is wrong by more should not decide) after the device's clock is invalid
(`WATCHLIST_INVALID`), both when importing and at every check: a list dated in the future
would otherwise never grow stale.

    {"format": "border-appliance/watchlist", "version": 3, "issued_at": "2026-05-01T08:00:00Z",
     "hash": "HMAC-SHA256", "key": "<base64, 32 bytes>",
     "entries": [{"h": "<64 hex>", "category": "stolen"}, ...]}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.errors import ApplianceError, Reason
from appliance.history.events import DocumentRef
from appliance.signed import artefacts as sc

FORMAT = "border-appliance/watchlist"
WATCHLIST_FILE = "watchlist.json"
CATEGORIES = ("lost", "stolen", "revoked", "invalidated")
_KIND = sc.ArtefactKind.WATCHLIST
#: how far `issued_at` may lie ahead of the device's clock before the list is refused
CLOCK_SKEW = timedelta(minutes=5)


def entry_hash(key: bytes, document: DocumentRef) -> str:
    return hmac.new(key, document.normalised(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Watchlist:
    version: int
    issued_at: datetime
    key: bytes = field(repr=False)
    entries: dict[str, str] = field(repr=False)

    def lookup(self, document: DocumentRef) -> str | None:
        """The category ("lost", "stolen"...) when the document is listed, else None."""
        return self.entries.get(entry_hash(self.key, document))

    def age(self, now: datetime) -> timedelta:
        return now - self.issued_at

    def issued_in_future(self, now: datetime) -> bool:
        """Dated beyond `CLOCK_SKEW` after `now`: the list or the device clock is wrong."""
        return self.issued_at - now > CLOCK_SKEW

    def __len__(self) -> int:
        return len(self.entries)


def _invalid(detail: str) -> ApplianceError:
    return ApplianceError(Reason.WATCHLIST_INVALID, detail)


def parse_watchlist(content: bytes) -> Watchlist:
    """Parse a (verified) watchlist file; anything malformed is `WATCHLIST_INVALID`."""
    try:
        body = json.loads(content)
        if body.get("format") != FORMAT or body.get("hash") != "HMAC-SHA256":
            raise _invalid("not a watchlist of this format")
        version = body["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _invalid("version must be a positive integer")
        issued = datetime.fromisoformat(str(body["issued_at"]).replace("Z", "+00:00"))
        if issued.tzinfo is None:
            raise _invalid("issued_at must carry a time zone")
        key = base64.b64decode(body["key"], validate=True)
        if len(key) < 16:
            raise _invalid("list key too short")
        entries: dict[str, str] = {}
        for entry in body["entries"]:
            digest, category = str(entry["h"]).lower(), str(entry.get("category", "stolen"))
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise _invalid("entry is not a SHA-256 hex digest")
            if category not in CATEGORIES:
                raise _invalid("unknown entry category")
            entries[digest] = category
    except ApplianceError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise _invalid("malformed watchlist") from exc
    return Watchlist(version, issued.astimezone(UTC), key, entries)


def build_watchlist(
    documents: Iterable[tuple[DocumentRef, str]],
    version: int,
    issued_at: datetime,
    key: bytes | None = None,
) -> bytes:
    """The file the central system publishes (to be signed): hashes only, entries sorted."""
    list_key = key or os.urandom(32)
    entries = {entry_hash(list_key, doc): category for doc, category in documents}
    return render_watchlist(version, issued_at, list_key, entries)


def render_watchlist(
    version: int, issued_at: datetime, key: bytes, entries: Mapping[str, str]
) -> bytes:
    """The one byte form of a list (entries sorted by hash): central renders a list and a
    device rebuilds it from a delta (`watchlist_delta`) to the same bytes, so the sha256 and
    the authority's signature of the result hold on both sides."""
    body = {
        "format": FORMAT,
        "version": version,
        "issued_at": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hash": "HMAC-SHA256",
        "key": base64.b64encode(key).decode("ascii"),
        "entries": [{"h": h, "category": entries[h]} for h in sorted(entries)],
    }
    return json.dumps(body, indent=1).encode("utf-8")


def import_watchlist(
    data_dir: Path, content: bytes, signature: bytes | None, now: datetime | None = None
) -> Watchlist:
    """Verify a published watchlist and install it; a refused file changes nothing."""
    trusted = sc.TrustedKeys.load(data_dir / sc.KEYS_DIR)
    trusted.verify(_KIND, content, signature)
    watchlist = parse_watchlist(content)
    if watchlist.issued_in_future(now or datetime.now(UTC)):
        raise _invalid("watchlist issued in the future (check the device clock)")
    guard = sc.VersionGuard(data_dir)
    guard.check(_KIND, watchlist.version)
    path = data_dir / WATCHLIST_FILE
    sc.write_private(sc.signature_path(path), signature or b"")
    sc.write_private(path, content)
    guard.accept(_KIND, watchlist.version)
    return watchlist


def load_watchlist(data_dir: Path) -> Watchlist:
    """The installed watchlist, re-verified on every load (the disk is not trusted)."""
    trusted = sc.TrustedKeys.load(data_dir / sc.KEYS_DIR)
    content = sc.read_verified(data_dir / WATCHLIST_FILE, _KIND, trusted)
    watchlist = parse_watchlist(content)
    sc.VersionGuard(data_dir).check(_KIND, watchlist.version)
    return watchlist
