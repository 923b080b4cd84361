"""Self-test of the device itself: clock, disk, history, and sync with central."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from datetime import UTC, date
from pathlib import Path

from appliance import VERSION_DATE
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger
from appliance.selftest.result import (
    HISTORY_DB,
    HISTORY_DIR,
    Context,
    PartCheck,
    failed,
    parse_time,
    passed,
    skipped,
    warned,
)
from appliance.signed.watchlist import CLOCK_SKEW
from appliance.wiring import optional_factory


def clock(ctx: Context) -> PartCheck:
    """Not before the date this version was released (`appliance.VERSION_DATE`), nor before
    the newest record of this device's history (less the watchlist's clock skew): a clock
    that went back would misdate records, the watchlist's age and the repeated-use window."""
    released = date.fromisoformat(VERSION_DATE)
    now = ctx.now.astimezone(UTC)
    if now.date() < released:
        detail = f"clock says {now.date().isoformat()}, before the release date {VERSION_DATE}"
        return failed("clock", Reason.CLOCK_BEFORE_BUILD, detail)
    newest = ctx.newest_record
    if newest is not None and now < newest - CLOCK_SKEW:
        detail = (
            f"clock says {now:%Y-%m-%dT%H:%M:%SZ}, the newest record {newest:%Y-%m-%dT%H:%M:%SZ}"
        )
        return failed("clock", Reason.CLOCK_BEHIND_HISTORY, detail)
    return passed("clock", f"{now.isoformat(timespec='seconds')}, after the release and history")


def _tree_bytes(path: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for item in path.rglob("*"):
            with contextlib.suppress(OSError):
                if item.is_file():
                    total += item.stat().st_size
    return total


def disk(ctx: Context) -> PartCheck:
    """Free space where the data directory lives against `[selftest] min_free_mb`."""
    minimum = ctx.config.selftest.min_free_mb * 1024 * 1024
    free = shutil.disk_usage(ctx.directory).free
    history = _tree_bytes(ctx.directory / HISTORY_DIR)
    detail = (
        f"{free / 2**20:.0f} MiB free (minimum {minimum / 2**20:.0f} MiB); "
        f"history {history / 2**20:.1f} MiB"
    )
    if free < minimum:
        return failed("disk", Reason.DISK_LOW, detail)
    if free < 2 * minimum:
        return warned("disk", Reason.DISK_LOW, detail)
    return passed("disk", detail)


def history(ctx: Context) -> PartCheck:
    """The full verify (Merkle tree, checkpoint signatures, record keys)."""
    if not (ctx.directory / HISTORY_DIR / HISTORY_DB).exists():
        return skipped("history", "no history yet (created by the first check)")
    try:
        with Ledger.open_default(ctx.directory, ctx.config) as ledger:
            result = ledger.verify()
            newest = ledger.recent(1) if result.ok else []
    except ApplianceError as exc:
        return failed("history", exc.reason, exc.detail)
    except (sqlite3.Error, OSError) as exc:
        return failed("history", Reason.HISTORY_STORAGE, type(exc).__name__)
    if newest:
        ctx.newest_record = parse_time(newest[0].leaf.time.replace("Z", "+00:00"))
    if not result.ok:
        kinds = ", ".join(sorted({p.kind for p in result.problems}))
        detail = f"{result.problems_total} problem(s): {kinds}; verified to {result.verified_size}"
        return failed("history", Reason.HISTORY_TAMPERED, detail)
    return passed(
        "history",
        f"{result.size} records, {result.checkpoints} signed checkpoints verified (full verify)",
    )


# ------------------------------------------------------------------------------- the run


#: the sync part lives with the device side of sync, loaded by name (as the CLI loads groups)
SYNC_CHECK = "sync.device.service:selftest_check"


def sync_check(ctx: Context) -> PartCheck:
    """Sync with central: backlog alarm, revocation, fork, refused artefacts (sync/device)."""
    check = optional_factory(SYNC_CHECK)
    if check is None:
        return skipped("sync", "not in this build")
    status, reason, detail = check(ctx.config, ctx.directory)
    return PartCheck("sync", CheckStatus(status), reason, detail)
