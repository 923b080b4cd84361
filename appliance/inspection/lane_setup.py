"""Assembling a running lane from the configuration: devices, station, policy, history, loop.

The one composition of the lane loop shared by `appliance serve` and `appliance demo`: the gate
controller (`hardware.gate` on `inspection.gate_port`, or the configured simulator's pty when
the port is "simulated"), the document station (`hardware.station`), the face step, then
`open_lane` (which refuses an unsigned or tampered policy) and the `CheckSession`. A station
that can provision its own authority (the simulated one) does so first; the product's cannot:
its policy and anchors come from the real authority.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from appliance.config import Config
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.errors import ApplianceError, Reason
from appliance.inspection.gate_events import GateSimulator
from appliance.inspection.iris_step import IrisCheck
from appliance.inspection.lane import MaterialWatch, face_check, morph_check, open_lane
from appliance.inspection.lane_events import EventLog
from appliance.inspection.lane_loop import LaneGate, LaneLoop
from appliance.inspection.lane_records import CheckRecord
from appliance.inspection.station import DocumentStation, load_station
from appliance.inspection.steps import FaceCheck, Lane
from appliance.inspection.workflow import CheckSession, DeviceInfo
from appliance.models import use_overlay
from appliance.wiring import load_factory

#: `inspection.gate_port` value that starts the configured gate simulator
SIMULATED_GATE = "simulated"


@runtime_checkable
class Provisioner(Protocol):
    """A station that sets up its own (simulated) authority in the data directory."""

    def provision(
        self, directory: Path, *, require_biometrics: bool, now: datetime
    ) -> list[str]: ...


@runtime_checkable
class FaceProvider(Protocol):
    """A station that brings its own face step (the simulated one, with real faces)."""

    def face_check(self) -> FaceCheck | None: ...


@runtime_checkable
class IrisProvider(Protocol):
    """A station that brings its own iris step and EAC terminal (the simulated one, with iris
    data on its travellers' chips)."""

    def iris_check(self) -> IrisCheck | None: ...

    def terminal_credentials(self) -> TerminalCredentials | None: ...


class _ShutdownGate(LaneGate, Protocol):
    def shutdown(self) -> None: ...


@dataclass
class LaneRuntime:
    loop: LaneLoop
    lane: Lane
    station: DocumentStation
    gate: LaneGate | None
    stack: ExitStack
    #: what provisioning did, for the user
    notes: list[str] = field(default_factory=list)
    #: seconds to build each part (the face models, the lane's policy/trust/history)
    load_times_s: dict[str, float] = field(default_factory=dict)

    def close(self) -> None:
        self.stack.close()


def open_gate(config: Config, stack: ExitStack) -> tuple[LaneGate, GateSimulator | None]:
    """The exit-door controller (and its simulator when `gate_port` is "simulated")."""
    simulator: GateSimulator | None = None
    port = config.inspection.gate_port
    if port == SIMULATED_GATE:
        if not config.hardware.gate_simulator:
            raise ApplianceError(
                Reason.USAGE, 'gate_port "simulated" needs hardware.gate_simulator'
            )
        simulator = load_factory(config.hardware.gate_simulator)()
        stack.callback(cast(Any, simulator).close)
        port = cast(Any, simulator).port
    try:
        gate = cast(_ShutdownGate, load_factory(config.hardware.gate)(port))
    except ApplianceError:
        raise
    except Exception as exc:  # the serial port is missing
        raise ApplianceError(Reason.GATE_FAULT, f"gate controller on {port}: {exc}") from exc
    stack.callback(gate.shutdown)
    return gate, simulator


def open_lane_runtime(
    config: Config,
    directory: Path,
    *,
    station_options: dict[str, Any] | None = None,
    face_for: Callable[[DocumentStation], FaceCheck | None] | None = None,
    events: EventLog | None = None,
    on_beat: Callable[[], None] | None = None,
    on_check: Callable[[CheckRecord], None] | None = None,
    now: datetime | None = None,
) -> LaneRuntime:
    """Open every device and the lane; raises `ApplianceError` (the caller exits 2)."""
    use_overlay(directory)  # models sync installed come before the shipped ones
    stack = ExitStack()
    try:
        gate: LaneGate | None = None
        simulator: GateSimulator | None = None
        if config.device.mode == "egate":
            gate, simulator = open_gate(config, stack)
        times: dict[str, float] = {}
        t = time.perf_counter()
        station = load_station(config, simulator, **(station_options or {}))
        stack.callback(station.close)
        times["station"] = time.perf_counter() - t
        t = time.perf_counter()
        if face_for is not None:
            face = face_for(station)
        elif not config.inspection.face_verifier and isinstance(station, FaceProvider):
            face = station.face_check()
        else:
            face = face_check(config)
        # morph detection compares the chip photo with the face step's live frame
        morph = morph_check(config) if face is not None else None
        if morph is None and face is not None:
            morph = getattr(station, "morph", None)
        times["face"] = time.perf_counter() - t
        notes: list[str] = []
        if isinstance(station, Provisioner):
            moment = now or datetime.now().astimezone()
            notes = station.provision(directory, require_biometrics=face is not None, now=moment)
        t = time.perf_counter()
        iris = None
        if not config.iris.camera and isinstance(station, IrisProvider):
            iris = station.iris_check()
        lane = open_lane(config, directory, gate_events=gate, face=face, morph=morph, iris=iris)
        stack.callback(lane.history.close)
        if isinstance(station, IrisProvider) and lane.reader_options.terminal is None:
            terminal = station.terminal_credentials()  # DG4 opens to the station's terminal
            lane.reader_options = replace(lane.reader_options, terminal=terminal)
        times["lane"] = time.perf_counter() - t
        device = DeviceInfo(config.device.device_id, config.device.location, config.device.mode)
        loop = LaneLoop(
            CheckSession(lane, device, before_check=MaterialWatch(config, directory).refresh),
            station,
            gate,
            mode=config.device.mode,
            traveller_timeout_s=config.inspection.traveller_timeout_s,
            events=events,
            on_beat=on_beat,
            on_check=on_check,
        )
    except BaseException:
        stack.close()
        raise
    return LaneRuntime(loop, lane, station, gate, stack, notes, times)
