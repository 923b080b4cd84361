"""Watchlist deltas: the entries added and removed between two published lists.

A full list is re-sent whole on every change; a device on a thin link (a ship, a remote
crossing) should fetch only what changed. A delta names the list it applies to (central's
artefact version and its own `version`, and the SHA-256 of the base file) and carries the
result's `version`, `issued_at`, its SHA-256 and the authority's signature of it (kind
`watchlist`), so the device rebuilds the new full list (`render_watchlist`, the one byte form),
checks it is exactly the signed result, and installs it through `import_watchlist` like any
full list (signature, version guard, issue time): a delta can never yield a list the authority
did not sign. The list key stays the base's (the entries are hashes under it); a new key needs
a full list. The delta itself is signed as kind `watchlist-delta` (the downlink checks that).

    {"format": "border-appliance/watchlist-delta",
     "base": {"artefact": 4, "version": 12, "sha256": "<hex>"},
     "result": {"version": 13, "issued_at": "...Z", "sha256": "<hex>", "signature": "ed25519 ..."},
     "add": [{"h": "<64 hex>", "category": "stolen"}, ...], "remove": ["<64 hex>", ...]}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from appliance.errors import ApplianceError, Reason
from appliance.signed.watchlist import CATEGORIES, parse_watchlist, render_watchlist

DELTA_FORMAT = "border-appliance/watchlist-delta"
DELTA_KIND = "watchlist-delta"


def _invalid(detail: str) -> ApplianceError:
    return ApplianceError(Reason.WATCHLIST_INVALID, detail)


def _digest(text: object) -> str:
    digest = str(text).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise _invalid("delta entry is not a SHA-256 hex digest")
    return digest


@dataclass(frozen=True)
class WatchlistDelta:
    base_artefact: int
    base_version: int
    base_sha256: str
    version: int
    issued_at: datetime
    result_sha256: str
    result_signature: str
    add: dict[str, str]
    remove: frozenset[str]


def parse_delta(content: bytes) -> WatchlistDelta:
    """Parse a (verified) delta; anything malformed is `WATCHLIST_INVALID`."""
    try:
        body = json.loads(content)
        if body.get("format") != DELTA_FORMAT:
            raise _invalid("not a watchlist delta of this format")
        base, result = body["base"], body["result"]
        add = {_digest(e["h"]): str(e["category"]) for e in body["add"]}
        if any(category not in CATEGORIES for category in add.values()):
            raise _invalid("unknown entry category")
        issued = datetime.fromisoformat(str(result["issued_at"]).replace("Z", "+00:00"))
        if issued.tzinfo is None:
            raise _invalid("issued_at must carry a time zone")
        delta = WatchlistDelta(
            base_artefact=int(base["artefact"]),
            base_version=int(base["version"]),
            base_sha256=_digest(base["sha256"]),
            version=int(result["version"]),
            issued_at=issued.astimezone(UTC),
            result_sha256=_digest(result["sha256"]),
            result_signature=str(result["signature"]),
            add=add,
            remove=frozenset(_digest(h) for h in body["remove"]),
        )
    except ApplianceError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _invalid("malformed watchlist delta") from exc
    if delta.version <= delta.base_version:
        raise _invalid("a delta must lead to a newer list than its base")
    return delta


def apply_delta(base: bytes, delta: WatchlistDelta) -> bytes:
    """The full list `delta` gives on top of `base` (its exact bytes), checked against the
    SHA-256 the authority signed; `WATCHLIST_INVALID` when it does not come out the same."""
    if hashlib.sha256(base).hexdigest() != delta.base_sha256:
        raise _invalid("the delta's base is not this list")
    listed = parse_watchlist(base)
    if listed.version != delta.base_version:
        raise _invalid("the delta's base version is not this list's")
    entries = dict(listed.entries)
    if not delta.remove <= entries.keys():
        raise _invalid("the delta removes entries the base does not hold")
    for digest in delta.remove:
        del entries[digest]
    entries.update(delta.add)
    result = render_watchlist(delta.version, delta.issued_at, listed.key, entries)
    if hashlib.sha256(result).hexdigest() != delta.result_sha256:
        raise _invalid("the list the delta gives is not the signed result")
    return result


def make_delta(
    base: bytes, base_artefact: int, new: bytes, sign_list: Callable[[bytes], str]
) -> tuple[bytes, bytes]:
    """Central's side: (the new full list in its one byte form, the delta from `base`).

    `sign_list` signs the full list as kind `watchlist` (the authority's key). Refused
    (`WATCHLIST_INVALID`): a list that does not parse, one not above the base's version, or
    one under another list key (publish it as a full list)."""
    old, target = parse_watchlist(base), parse_watchlist(new)
    if target.key != old.key:
        raise _invalid("the new list has another list key than the base: publish it in full")
    if target.version <= old.version:
        raise _invalid(f"list version {target.version} is not above the base's {old.version}")
    result = render_watchlist(target.version, target.issued_at, target.key, target.entries)
    add = {h: c for h, c in target.entries.items() if old.entries.get(h) != c}
    remove = sorted(h for h in old.entries if h not in target.entries)
    body = {
        "format": DELTA_FORMAT,
        "base": {
            "artefact": base_artefact,
            "version": old.version,
            "sha256": hashlib.sha256(base).hexdigest(),
        },
        "result": {
            "version": target.version,
            "issued_at": target.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": hashlib.sha256(result).hexdigest(),
            "signature": sign_list(result).strip(),
        },
        "add": [{"h": h, "category": add[h]} for h in sorted(add)],
        "remove": remove,
    }
    return result, json.dumps(body, indent=1).encode("utf-8")
