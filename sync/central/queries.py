"""Read side: a document's checks across devices, the fleet's status, the stats line."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from appliance.errors import ApplianceError, Reason
from sync.central.auth import Conn

_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
MAX_CHECKS = 10_000


def _iso(moment: object) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else None


def document_checks(conn: Conn, pseudonym: str, limit: int = 1000) -> dict[str, Any]:
    """Every event of a document (national pseudonym) across devices, oldest first."""
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise ApplianceError(Reason.SYNC_BATCH_INVALID, "pseudonym must be 64 lowercase hex")
    limit = max(1, min(limit, MAX_CHECKS))
    rows = conn.execute(
        "SELECT time, device_id, location, type, outcome, reasons, idx, event_id FROM events"
        " WHERE document = %s ORDER BY time, device_id, idx LIMIT %s",
        (pseudonym, limit),
    ).fetchall()
    checks = [
        {
            "time": _iso(r[0]),
            "device_id": r[1],
            "location": r[2],
            "type": r[3],
            "outcome": r[4],
            "reasons": r[5],
            "index": r[6],
            "event_id": str(r[7]),
        }
        for r in rows
    ]
    return {"document": pseudonym, "checks": checks, "truncated": len(checks) == limit}


def devices(conn: Conn) -> list[dict[str, Any]]:
    """Per-device status: the witness, events stored, what the device last reported."""
    rows = conn.execute(
        "SELECT d.device_id, d.location, d.enrolled_at, d.revoked_at, d.last_seen,"
        " d.next_index, d.checkpoint_size, d.witness, d.backlog, d.artefacts,"
        " (SELECT count(*) FROM fork_alarms f WHERE f.device_id = d.device_id)"
        " FROM devices d ORDER BY d.device_id"
    ).fetchall()
    return [
        {
            "device_id": r[0],
            "location": r[1],
            "enrolled_at": _iso(r[2]),
            "revoked": r[3] is not None,
            "last_seen": _iso(r[4]),
            "events": r[5],
            "checkpoint_size": r[6],
            "witness": r[7],
            "backlog": r[8],
            "artefacts": r[9],
            "fork_alarms": r[10],
        }
        for r in rows
    ]


def stats(conn: Conn) -> dict[str, list[dict[str, Any]]]:
    """`appliance central stats --json`: exactly these keys per device."""
    keys = ("device_id", "events", "checkpoint_size", "witness", "last_seen")
    return {"devices": [{k: d[k] for k in keys} for d in devices(conn)]}
