"""The running lane behind the API: one process owns the hardware ports, one thread the loop.

`LaneService.start()` opens the lane in a background thread (devices, models, signed policy,
history) and then runs the `LaneLoop` there; until that has happened `ready` is false and the
health endpoint answers 503. A lane that cannot be opened (policy refused, a device missing)
leaves `error` set: `appliance serve` then stops with exit 2. `stop()` asks the loop to finish
the current traveller (the gate is closed, the decision already durable) and closes the devices.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.api.metrics import LaneMetrics
from appliance.config import Config
from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger
from appliance.inspection.lane_events import EventLog, EventType, LaneState
from appliance.inspection.lane_loop import LaneLoop
from appliance.inspection.lane_records import CheckRecord
from appliance.inspection.lane_setup import LaneRuntime, open_lane_runtime
from appliance.inspection.station import SimulationHook
from appliance.logs import safe
from appliance.ports import GateState

log = logging.getLogger(__name__)


class LaneService:
    def __init__(
        self,
        config: Config,
        directory: Path,
        *,
        on_beat: Callable[[], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        on_failed: Callable[[ApplianceError], None] | None = None,
        station_options: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.directory = directory
        self.events = EventLog()
        self.metrics = LaneMetrics()
        self.metrics.attach_sync(config, directory)
        self.on_beat = on_beat
        self.on_ready = on_ready
        self.on_failed = on_failed
        self.station_options = station_options
        self.runtime: LaneRuntime | None = None
        self.error: ApplianceError | None = None
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.started_at = time.monotonic()
        self.ready_after_s: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.events.add_listener(self._on_event)
        self._seen = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="lane-loop", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 8.0) -> bool:
        """Stop the loop (current traveller finished or safely aborted); True when it ended."""
        self._stop.set()
        ended = self.finished.wait(timeout_s) if self._thread is not None else True
        if not ended and self.runtime is not None and self.runtime.gate is not None:
            try:  # the loop is stuck in a device call: the door closes regardless
                self.runtime.gate.close()
            except Exception:
                log.warning("gate: close at stop failed")
        return ended

    def _main(self) -> None:
        try:
            try:
                runtime = open_lane_runtime(
                    self.config,
                    self.directory,
                    station_options=self.station_options,
                    events=self.events,
                    on_beat=self.on_beat,
                    on_check=self.metrics.observe,
                )
            except ApplianceError as exc:
                self.error = exc
                log.error("lane not opened: %s", exc.reason.value)
                if self.on_failed is not None:
                    self.on_failed(exc)
                return
            except Exception as exc:  # a bug or a device fault at start
                log.exception("lane not opened")
                self.error = ApplianceError(Reason.INTERNAL_ERROR, type(exc).__name__)
                if self.on_failed is not None:
                    self.on_failed(self.error)
                return
            self.runtime = runtime
            for part, seconds in runtime.load_times_s.items():
                self.metrics.loaded(part, seconds)
            for note in runtime.notes:
                log.info("set-up: %s", safe(note))  # the station's own words, no traveller data
            with runtime.stack:
                self.ready_after_s = time.monotonic() - self.started_at
                self.ready.set()
                if self.on_ready is not None:
                    self.on_ready()
                runtime.loop.run(self._stop)
        finally:
            self.finished.set()

    def _on_event(self) -> None:
        for event in self.events.since(self._seen):
            self._seen = event.seq
            if event.type is EventType.STATE:
                self.metrics.set_state(LaneState(event.data["state"]))
            elif event.type is EventType.FAULT:
                self.metrics.fault(str(event.data["component"]), str(event.data["reason"]))

    # ------------------------------------------------------------------ what the API reads

    @property
    def loop(self) -> LaneLoop | None:
        return self.runtime.loop if self.runtime is not None and self.ready.is_set() else None

    @property
    def simulation(self) -> SimulationHook | None:
        if self.runtime is None:
            return None
        station = self.runtime.station
        return station if isinstance(station, SimulationHook) else None

    @property
    def history(self) -> Ledger | None:
        """The lane's ledger for the API's history queries (None before the lane opens, or
        for a history that is not a `Ledger`: the lane itself needs only the `History` port)."""
        history = self.runtime.lane.history if self.runtime is not None else None
        return history if isinstance(history, Ledger) else None

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 503 until the lane is ready, then 200 with its health."""
        uptime = round(time.monotonic() - self.started_at, 3)
        loop = self.loop
        if loop is None:
            body: dict[str, Any] = {"status": "starting", "uptime_s": uptime}
            if self.error is not None:
                body.update(status="failed", reason=self.error.reason.value)
            return 503, body
        status = loop.status()
        if status["state"] == LaneState.STOPPED.value:
            return 503, {"status": "stopping", "uptime_s": uptime}
        return 200, {
            "status": status["health"],
            "lane": status["state"],
            "mode": status["mode"],
            "fault": status["fault"],
            "degraded": status["degraded"],
            "simulated": self.simulation is not None,
            "uptime_s": uptime,
        }

    def selftest(self) -> dict[str, Any]:
        """`appliance selftest` from inside the service: the gate controller as the lane last
        saw it (the lane owns the serial line), every other part checked as the CLI does."""
        from appliance.selftest import SelftestPorts, run_selftest

        loop = self.loop
        gate = _LaneGateView(loop) if loop is not None and loop.gate is not None else None
        report = run_selftest(self.config, self.directory, ports=SelftestPorts(gate=gate))
        return report.to_json()

    def find_ref(self, ref: str) -> CheckRecord | None:
        loop = self.loop
        return loop.find_ref(ref) if loop is not None else None


class _LaneGateView:
    """The lane's gate controller for the self-test: its last answer, never a command."""

    def __init__(self, loop: LaneLoop) -> None:
        self._loop = loop

    def state(self) -> GateState:
        return self._loop.last_gate_state

    def open(self) -> None:
        raise ApplianceError(Reason.USAGE, "the lane drives the gate")

    def close(self) -> None:
        raise ApplianceError(Reason.USAGE, "the lane drives the gate")
