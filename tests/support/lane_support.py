"""Helpers for the lane loop and service tests: a simulated lane running in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.config import Config, load_config
from appliance.inspection.lane_events import EventLog, LaneEvent
from appliance.inspection.lane_setup import LaneRuntime, open_lane_runtime
from appliance.inspection.steps import FaceCheck
from hardware_mocks.sim_lane import SimulatedStation
from hardware_mocks.traveller_sim import SimulatedTraveller
from tests.support.config_support import simulated_config


def sim_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    return load_config(simulated_config(tmp_path / "appliance.toml", **sections))


@dataclass
class RunningLane:
    runtime: LaneRuntime
    stop: threading.Event
    thread: threading.Thread

    @property
    def station(self) -> SimulatedStation:
        assert isinstance(self.runtime.station, SimulatedStation)
        return self.runtime.station

    @property
    def events(self) -> EventLog:
        return self.runtime.loop.events

    def wait_for(self, predicate: Callable[[LaneEvent], bool], timeout_s: float = 20) -> LaneEvent:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events.wait(seen, 0.2):
                seen = event.seq
                if predicate(event):
                    return event
        raise AssertionError(f"no such lane event within {timeout_s} s")

    def wait_state(self, state: str, timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while self.runtime.loop.state.value != state:
            if time.monotonic() > deadline:
                raise AssertionError(f"lane is {self.runtime.loop.state.value}, not {state}")
            time.sleep(0.02)

    def traveller(self, kind: str, timeout_s: float = 30) -> tuple[SimulatedTraveller, Any]:
        """Place a traveller of `kind` and wait for its check record."""
        ref = self.station.place_traveller(kind)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            record = self.runtime.loop.find_ref(ref)
            if record is not None:
                traveller = self.station.traveller(ref)
                assert traveller is not None
                return traveller, record
            time.sleep(0.01)
        raise AssertionError(f"no decision for {kind} within {timeout_s} s")


@contextmanager
def running_lane(
    config: Config, directory: Path, face_for: Callable[[Any], FaceCheck | None] | None = None
) -> Iterator[RunningLane]:
    runtime = open_lane_runtime(config, directory, face_for=face_for)
    stop = threading.Event()
    thread = threading.Thread(target=runtime.loop.run, args=(stop,), daemon=True)
    with runtime.stack:
        thread.start()
        try:
            yield RunningLane(runtime, stop, thread)
        finally:
            stop.set()
            thread.join(15)
    assert not thread.is_alive(), "the lane loop did not stop"


def wait_ready(client: Any, service: Any, timeout_s: float = 30) -> None:
    """Start a `LaneService` and wait until its API answers healthy (a start error fails the
    test at once, with the error)."""
    service.start()
    deadline = time.monotonic() + timeout_s
    while client.get("/api/v1/health").status_code != 200:
        assert service.error is None, service.error
        assert time.monotonic() < deadline, "service not ready"
        time.sleep(0.05)
