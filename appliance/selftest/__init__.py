"""`appliance selftest`: one named check per configured part, as a technician needs it.

    report = run_selftest(config, data_dir(config))     # SelftestReport; .to_json(), .exit_code

Each check is a function of the config, the data directory and the time, returning
`PartCheck(name, status, reason, detail)`; none raises (a fault is a `fail` with its reason),
so the command line and the service's `GET /api/v1/selftest` can both call `run_selftest`.
The service passes the ports it already holds (`SelftestPorts`), so a self-test never opens a
serial port or a reader a running lane owns; the command line opens them itself.

Statuses: `pass`; `warn` (works, needs attention soon: a CRL past its nextUpdate, free space
under twice the minimum); `fail` (a part the lane needs is broken: travellers would be
referred or the lane cannot run); `skipped` (not configured here). The run fails when one check
fails (exit 1); warnings are shown and exit 0, because the lane still decides correctly then
(revocation of an issuer whose CRL is stale is judged by the inspection itself, fail closed).

The clock must not be earlier than the newest history record (a clock that went back) nor
than `appliance.VERSION_DATE`, the date this version was released (a clock that lost its
time): a constant kept with `__version__`, set when the version is cut. File times are no
evidence (an archive keeps them, a copy resets them), the model manifest carries no date, and
the product wheel has no build step that could stamp one. A constant can only err old, which
weakens the check, never new, which would fail a good clock.

The history check is the full `Ledger.verify()`: the history offers no incremental verify
since a verified checkpoint yet, so its cost grows with the log (see `benchmarks.history`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from appliance.config import Config
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import ApplianceError, Reason
from appliance.inspection.policy import PolicyConfig
from appliance.models import models_dir
from appliance.selftest.devices import camera, card_reader, gate_controller, mrz_scanner
from appliance.selftest.material import model_checks, policy_check, trust_checks, watchlist_check
from appliance.selftest.result import (
    Context,
    PartCheck,
    SelftestPorts,
    SelftestReport,
    failed,
    timed,
)
from appliance.selftest.system import clock, disk, history, sync_check

__all__ = ["PartCheck", "SelftestPorts", "SelftestReport", "run_selftest"]

log = logging.getLogger("appliance.selftest")


def _guarded(name: str, run: Callable[[], PartCheck | list[PartCheck]]) -> Iterator[PartCheck]:
    """Run one check; an unexpected error is that part's failure, never the run's."""
    started = time.perf_counter()
    try:
        got = run()
    except ApplianceError as exc:
        got = failed(name, exc.reason, exc.detail)
    except Exception as exc:
        log.exception("selftest check raised", extra={"part": name})
        got = failed(name, Reason.INTERNAL_ERROR, type(exc).__name__)
    if isinstance(got, list):
        if got and all(c.duration_ms == 0 for c in got):  # one timing for the group
            got[0] = timed(got[0], started)
        yield from got
    else:
        yield timed(got, started)


def run_selftest(
    config: Config,
    directory: Path,
    *,
    now: datetime | None = None,
    models: Path | None = None,
    ports: SelftestPorts | None = None,
) -> SelftestReport:
    """Every check, in a fixed order; never raises."""
    started = time.perf_counter()
    ctx = Context(
        config,
        directory,
        now or datetime.now(UTC),
        models or models_dir(),
        ports or SelftestPorts(),
    )
    checks: list[PartCheck] = []
    policy_box: list[PolicyConfig | None] = [None]

    def policy() -> PartCheck:
        check, policy_box[0] = policy_check(ctx)
        return check

    plan: list[tuple[str, Callable[[], PartCheck | list[PartCheck]]]] = [
        ("card_reader", lambda: card_reader(ctx)),
        ("camera", lambda: camera(ctx)),
        ("gate_controller", lambda: gate_controller(ctx)),
        ("mrz_scanner", lambda: mrz_scanner(ctx)),
        ("models", lambda: model_checks(ctx)),
        ("trust_store", lambda: trust_checks(ctx)),
        ("policy", policy),
        ("watchlist", lambda: watchlist_check(ctx, policy_box[0])),
        ("disk", lambda: disk(ctx)),
        ("history", lambda: history(ctx)),
        ("clock", lambda: clock(ctx)),
        ("sync", lambda: sync_check(ctx)),
    ]
    for name, run in plan:
        for check in _guarded(name, run):
            checks.append(check)
            level = logging.WARNING if check.status is CheckStatus.FAIL else logging.INFO
            log.log(
                level,
                "selftest check",
                extra={"part": check.name, "status": check.status, "reason": check.reason,
                       "duration_ms": check.duration_ms},
            )  # fmt: skip
    total = round((time.perf_counter() - started) * 1000, 3)
    return SelftestReport(tuple(checks), total)
