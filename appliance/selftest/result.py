"""The self-test's vocabulary: one `PartCheck` per part, the `SelftestReport`, the ports a
running service lends it and the context every check reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.config import Config
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import Reason
from appliance.ports import Camera, CardTransport, GateController

#: seconds a camera may take to deliver its test frames
CAMERA_TIMEOUT_S = 5.0
CAMERA_FRAMES = 3
#: where `Ledger.open_default` keeps the history (its database appears on the first append)
HISTORY_DIR, HISTORY_DB = "history", "ledger.sqlite"


@dataclass(frozen=True)
class PartCheck:
    """One part's state; `detail` is for the technician and holds no personal data."""

    name: str
    status: CheckStatus
    reason: Reason = Reason.OK
    detail: str = ""
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
        }


def passed(name: str, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.PASS, Reason.OK, detail)


def failed(name: str, reason: Reason, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.FAIL, reason, detail)


def warned(name: str, reason: Reason, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.WARN, reason, detail)


def skipped(name: str, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.SKIPPED, Reason.OK, detail)


@dataclass(frozen=True)
class SelftestReport:
    checks: tuple[PartCheck, ...]
    total_ms: float

    @property
    def status(self) -> CheckStatus:
        statuses = {c.status for c in self.checks}
        for status in (CheckStatus.FAIL, CheckStatus.WARN):
            if status in statuses:
                return status
        return CheckStatus.PASS

    @property
    def reason(self) -> Reason:
        return next((c.reason for c in self.checks if c.status is self.status), Reason.OK)

    @property
    def exit_code(self) -> int:
        return 1 if self.status is CheckStatus.FAIL else 0

    def check(self, name: str) -> PartCheck | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason.value,
            "checks": [c.to_json() for c in self.checks],
            "timings_ms": {"total": self.total_ms, **{c.name: c.duration_ms for c in self.checks}},
        }


@dataclass
class SelftestPorts:
    """Ports a running service already holds (None: the self-test opens the configured one)."""

    card: CardTransport | None = None
    gate: GateController | None = None
    camera: Callable[[], Camera] | None = None


@dataclass
class Context:
    config: Config
    directory: Path
    now: datetime
    models: Path
    ports: SelftestPorts = field(default_factory=SelftestPorts)
    #: the time of the newest history record (set by the history check, read by the clock's)
    newest_record: datetime | None = None


def timed(check: PartCheck, started: float) -> PartCheck:
    ms = round((time.perf_counter() - started) * 1000, 3)
    return PartCheck(check.name, check.status, check.reason, check.detail, ms)


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
