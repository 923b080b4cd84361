"""Prometheus metrics of the running lane (`GET /metrics`), in a registry of its own.

Decisions by verdict and reason, per-step and per-transaction durations, chip errors by
reason, lane faults, the lane's state, uptime and how long the models and the lane took to
load. Labels are codes only (no personal data). Each service has its own `CollectorRegistry`,
so tests can build several apps in one process. Sync's metrics (backlog, acknowledged index,
last success, failures, artefact versions, alarms) join the same registry through
`attach_sync`, loaded by name from `sync.device.metrics` (absent from a build without sync).
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from appliance.config import Config
from appliance.errors import Reason
from appliance.inspection.lane_events import LaneState
from appliance.inspection.lane_loop import CHIP_STEPS
from appliance.inspection.lane_records import CheckRecord
from appliance.wiring import optional_factory

#: sync's collector lives with the device side of sync, loaded by name
SYNC_COLLECTOR = "sync.device.metrics:collector"

#: seconds; a step is milliseconds to a few seconds (a face capture with liveness)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class LaneMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.started = time.monotonic()
        self.decisions = Counter(
            "appliance_decisions", "Decisions by verdict and reason", ["verdict", "reason"],
            registry=r,
        )  # fmt: skip
        self.steps = Histogram(
            "appliance_step_duration_seconds", "Duration of each inspection step", ["step"],
            buckets=_BUCKETS, registry=r,
        )  # fmt: skip
        self.transactions = Histogram(
            "appliance_transaction_duration_seconds",
            "Software time of one traveller (check, decision, history, gate command)",
            buckets=_BUCKETS, registry=r,
        )  # fmt: skip
        self.chip_errors = Counter(
            "appliance_chip_errors", "Chip access and read failures by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.faults = Counter(
            "appliance_lane_faults", "Lane faults by component and reason",
            ["component", "reason"], registry=r,
        )  # fmt: skip
        self.state = Gauge(
            "appliance_lane_state", "1 for the lane's current state", ["state"], registry=r
        )
        self.uptime = Gauge("appliance_uptime_seconds", "Seconds since start", registry=r)
        self.uptime.set_function(lambda: time.monotonic() - self.started)
        self.load = Gauge(
            "appliance_model_load_seconds", "Seconds to load each part at start", ["part"],
            registry=r,
        )  # fmt: skip
        self.set_state(LaneState.STARTING)

    def observe(self, record: CheckRecord) -> None:
        decision = record.result.decision
        for reason in decision.reasons:
            self.decisions.labels(decision.verdict.value, reason.value).inc()
        self.transactions.observe(record.transaction_ms / 1000)
        for step in record.result.report.steps:
            if step.status.value != "skipped":
                self.steps.labels(step.name.value).observe(step.duration_ms / 1000)
            if step.name in CHIP_STEPS and step.reason is not Reason.OK:
                self.chip_errors.labels(step.reason.value).inc()

    def fault(self, component: str, reason: str) -> None:
        if reason != Reason.OK.value:
            self.faults.labels(component, reason).inc()

    def set_state(self, state: LaneState) -> None:
        for each in LaneState:
            self.state.labels(each.value).set(1 if each is state else 0)

    def loaded(self, part: str, seconds: float) -> None:
        self.load.labels(part).set(seconds)

    def attach_sync(self, config: Config, directory: Path) -> bool:
        """Add sync's metrics, read from `directory`'s sync state at each scrape; False when
        this build has no sync."""
        factory = optional_factory(SYNC_COLLECTOR)
        if factory is None:
            return False
        self.registry.register(factory(config, directory))
        return True

    def render(self) -> bytes:
        return generate_latest(self.registry)
