"""The supervisor's review of overrides: every officer decision that went against the machine.

    GET /api/v1/overrides?recent=N     the newest overrides: when, who (account and role), the
                                       machine's outcome, the officer's decision, reason, note

An override (`appliance/api/officer_routes.py`) is recorded with the officer's account, the
check it decided and the machine's outcome in public fields, and the note sealed as personal
data (free text may name the traveller); the supervisor, who may read the check's report, reads
the note too. Only the newest `LOOKUP` history records are searched, as the officer's routes do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from appliance.api.lane_service import LaneService
from appliance.api.officer_routes import LOOKUP, _history


def review_router(service: LaneService, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix)

    @router.get("/overrides")
    def overrides(recent: int = Query(50, ge=1, le=LOOKUP)) -> dict[str, Any]:
        """The newest overrides of the machine's outcome, newest first."""
        found: list[dict[str, Any]] = []
        for view in _history(service).recent(LOOKUP, reveal=True):
            leaf = view.leaf
            if leaf.type != "override":
                continue
            personal = view.personal
            note = personal.extra.get("note") if personal is not None else None
            found.append(
                {
                    "index": view.index,
                    "time": leaf.time,
                    "check_id": leaf.public.get("check_id"),
                    "account": leaf.public.get("account"),
                    "role": leaf.public.get("role"),
                    "automated": leaf.public.get("automated"),
                    "decision": leaf.outcome,
                    "reason": leaf.reasons[0] if leaf.reasons else None,
                    "note": note if isinstance(note, str) else None,
                    "note_status": view.personal_status,
                }
            )
            if len(found) >= recent:
                break
        return {"overrides": found}

    return router
