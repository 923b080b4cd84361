"""`appliance demo`: a thin driver of the product's lane loop with simulated travellers.

The simulated station (`hardware.station` of `config/simulated.toml`) provisions its simulated
authority on first use (signed policy, watchlist, trust store: `hardware_mocks/sim_authority.py`);
the demo then places each simulated traveller at that station and lets the product's
`LaneLoop` do the rest exactly as the service does: the lane refuses to start on an unsigned or
tampered policy, each traveller goes through `CheckSession`, the event is made durable before
the gate opens, and the gate is a serial controller driven by `drivers/gate.py`. This module
prints one line per traveller and the figures.

Every device comes through `appliance.wiring` factories named in the config; nothing here
imports `drivers` or `hardware_mocks`.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from appliance.config import Config
from appliance.errors import ApplianceError, Reason
from appliance.inspection.lane import face_check
from appliance.inspection.lane_events import LaneState
from appliance.inspection.lane_loop import LaneLoop
from appliance.inspection.lane_records import CheckRecord
from appliance.inspection.lane_setup import open_lane_runtime
from appliance.inspection.policy import Verdict
from appliance.inspection.report import StepName
from appliance.inspection.station import DocumentStation, SimulationHook
from appliance.inspection.steps import FaceCheck
from appliance.inspection.workflow import CheckResult
from appliance.ports import Camera, GateState
from appliance.signed import artefacts as sc
from appliance.wiring import load_factory

DEMO_DIR = "demo"
RUNS_FILE = "runs"

#: short step labels for the one-line-per-traveller output
STEP_LABELS = {
    StepName.DOCUMENT_PRESENCE: "pres",
    StepName.MRZ: "mrz",
    StepName.CHIP_ACCESS: "chip",
    StepName.DATA_GROUPS: "dg",
    StepName.AUTHENTICITY: "auth",
    StepName.DOCUMENT_VALIDITY: "valid",
    StepName.WATCHLIST: "watch",
    StepName.REPEATED_USE: "reuse",
    StepName.BIOMETRICS: "face",
    StepName.GATE_SENSORS: "gate",
    StepName.SEAL: "seal",
    StepName.MORPH: "morph",
    StepName.IRIS: "iris",
}


class DemoStation(SimulationHook, Protocol):
    """What the demo needs from the simulated station (`hardware_mocks.sim_lane`)."""

    def place(self, traveller: Any) -> str: ...

    def start_pcsc(self) -> None: ...

    def camera(self) -> Camera: ...


@dataclass
class Passage:
    """One traveller's outcome as the demo prints it (no personal data)."""

    sequence: int
    kind: str
    expected: Reason
    result: CheckResult
    gate: GateState
    transaction_ms: float
    gate_events: list[str] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        decision = self.result.decision
        if self.expected is Reason.OK:
            return decision.verdict is Verdict.OPEN and self.gate is GateState.OPEN
        return decision.verdict is not Verdict.OPEN and self.expected in decision.reasons

    def to_json(self) -> dict[str, Any]:
        receipt = self.result.receipt
        return {
            "traveller": self.sequence,
            "simulated": self.kind,
            "expected": self.expected.value,
            "as_expected": self.as_expected,
            "decision": self.result.decision.to_json(),
            "gate": self.gate.value,
            "gate_events": self.gate_events,
            "transaction_ms": round(self.transaction_ms, 3),
            "history_index": receipt.index if receipt else None,
            "report": self.result.report.to_json(),
        }

    def line(self) -> str:
        decision = self.result.decision
        reasons = ",".join(r.value for r in decision.reasons if r is not Reason.OK) or "-"
        steps = " ".join(
            f"{STEP_LABELS[s.name]} {s.duration_ms:.1f}"
            if s.status.value != "skipped"
            else f"{STEP_LABELS[s.name]} -"
            for s in self.result.report.steps
        )
        mark = "" if self.as_expected else "  UNEXPECTED"
        return (
            f"#{self.sequence:04d} {decision.verdict.value:<6} {reasons:<34} "
            f"{self.transaction_ms:7.1f} ms  [{steps}]  ({self.kind}){mark}"
        )


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a value that was actually measured)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(passages: list[Passage], wall_s: float) -> dict[str, Any]:
    times = [p.transaction_ms for p in passages]
    reasons: Counter[str] = Counter()
    for p in passages:
        for r in p.result.decision.reasons:
            if r is not Reason.OK:
                reasons[r.value] += 1
    verdicts = Counter(p.result.decision.verdict.value for p in passages)
    mean = statistics.fmean(times) if times else 0.0
    return {
        "travellers": len(passages),
        "decisions": dict(sorted(verdicts.items())),
        "reasons": dict(reasons.most_common()),
        "as_expected": sum(p.as_expected for p in passages),
        "unexpected": [p.sequence for p in passages if not p.as_expected],
        "transaction_ms": {
            "p50": round(_percentile(times, 50), 1) if times else None,
            "p95": round(_percentile(times, 95), 1) if times else None,
            "max": round(max(times), 1) if times else None,
            "mean": round(mean, 1),
        },
        # what the software alone would allow on one lane (the walk through the gate excluded)
        "software_transactions_per_hour": round(3600_000 / mean) if mean else None,
        "wall_s": round(wall_s, 2),
    }


def render_summary(summary: dict[str, Any]) -> str:
    t = summary["transaction_ms"]
    lines = [
        f"{summary['travellers']} travellers: "
        + ", ".join(f"{k} {v}" for k, v in summary["decisions"].items()),
        "referred for: "
        + (", ".join(f"{k} {v}" for k, v in summary["reasons"].items()) or "nothing"),
        f"as the simulation expected: {summary['as_expected']}/{summary['travellers']}"
        + (f" (unexpected: {summary['unexpected']})" if summary["unexpected"] else ""),
        f"transaction time p50 {t['p50']} ms, p95 {t['p95']} ms, max {t['max']} ms; "
        f"software throughput {summary['software_transactions_per_hour']} per lane-hour; "
        f"wall time {summary['wall_s']} s",
    ]
    if "biometrics" in summary:
        lines.append(f"biometrics: {summary['biometrics']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the driver


def next_run(directory: Path) -> int:
    (directory / DEMO_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / DEMO_DIR / RUNS_FILE
    try:
        run = int(path.read_text().strip()) + 1
    except (FileNotFoundError, ValueError):
        run = 1
    sc.write_private(path, f"{run}\n".encode())
    return run


@dataclass
class DemoOptions:
    count: int
    seed: int = 0
    pcsc: bool = False
    #: one folder of photos per person: travellers get real faces and biometrics is required
    faces: Path | None = None
    #: share of travellers whose chips carry iris data (DG4); above 0 the policy requires the
    #: iris step and `iris_impostor` travellers join the crowd
    iris_share: float = 0.0


def _traveller_source(config: Config, options: DemoOptions, run: int) -> tuple[Any, Any]:
    """The traveller simulator (`hardware.traveller_simulator`) and, with `--faces`, the face
    verifier it shares with the lane (it makes each chip's ICAO portrait with its detector)."""
    spec = config.hardware.traveller_simulator
    if not spec:
        raise ApplianceError(
            Reason.USAGE,
            "appliance demo needs simulated hardware: no hardware.traveller_simulator in the "
            "config (use config/simulated.toml)",
        )
    factory = load_factory(spec)
    iris: dict[str, float] = {"iris_share": options.iris_share} if options.iris_share else {}
    if options.faces is None:
        return factory(seed=options.seed, run=run, **iris), None
    from appliance.biometrics.face.compare import OperatingPoint
    from appliance.biometrics.face.verifier import FaceVerifier

    verifier = FaceVerifier.load(OperatingPoint(config.face.operating_point))
    burst = min(config.face.burst_frames, 3)  # a still photo: more identical frames add nothing
    source = factory(seed=options.seed, run=run, faces=options.faces, verifier=verifier,
                     burst_frames=burst, **iris)  # fmt: skip
    return source, verifier


def run_demo(
    config: Config,
    directory: Path,
    options: DemoOptions,
    emit: Callable[[Passage], None],
    notes: Callable[[str], None],
) -> dict[str, Any]:
    """Run `options.count` simulated travellers through the product's lane loop; returns the
    summary. The demo only places travellers at the simulated station and prints outcomes."""
    run = next_run(directory)
    source, verifier = _traveller_source(config, options, run)
    burst = min(config.face.burst_frames, 3)

    def face_for(station: DocumentStation) -> FaceCheck | None:
        if verifier is None:
            return face_check(config)
        from appliance.inspection.face_step import CameraFaceCheck

        return CameraFaceCheck(verifier, cast(DemoStation, station).camera, burst_frames=burst)

    runtime = open_lane_runtime(
        config,
        directory,
        station_options={"source": source, "pcsc": options.pcsc},
        face_for=face_for,
    )
    passages: list[Passage] = []
    with runtime.stack:
        for line in runtime.notes:
            notes(line)
        station = runtime.station
        if not isinstance(station, SimulationHook) or not callable(getattr(station, "place", None)):
            raise ApplianceError(
                Reason.USAGE, "appliance demo needs the simulated station (config/simulated.toml)"
            )
        demo_station = cast(DemoStation, station)
        if options.pcsc:
            demo_station.start_pcsc()
        lane = runtime.lane
        if verifier is not None and lane.morph is None:  # real faces: morphs can be detected
            from appliance.biometrics.morph.detector import from_config as morph_detector

            lane.morph = morph_detector(config)
        if lane.face is None:
            notes("biometrics: no face verifier configured, the step is skipped "
                  f"(policy '{lane.policy.name}' v{lane.policy.version})")  # fmt: skip
        elif verifier is not None:
            notes("biometrics: real photos, live capture without the liveness challenge "
                  f"(policy '{lane.policy.name}' v{lane.policy.version})")  # fmt: skip
        if options.iris_share and lane.iris is not None:
            notes(f"iris: {options.iris_share:.0%} of the chips carry DG4 behind Terminal "
                  "Authentication, a virtual NIR camera shows each traveller's eye, the policy "
                  "requires the iris step")  # fmt: skip
        stop = threading.Event()
        started = time.perf_counter()
        for traveller in source.travellers(options.count):
            demo_station.place(traveller)
            record = _serve(runtime.loop, stop)
            passages.append(
                Passage(
                    traveller.sequence,
                    str(getattr(traveller.kind, "value", traveller.kind)),
                    traveller.expected_reason,
                    record.result,
                    record.gate,
                    record.transaction_ms,
                    record.gate_events,
                )
            )
            emit(passages[-1])
        wall = time.perf_counter() - started
    summary = summarise(passages, wall)
    summary.update({"data_dir": str(directory), "run": run, "pcsc": options.pcsc,
                    "seed": options.seed})  # fmt: skip
    summary["biometrics"] = (
        "real faces, liveness challenge off" if verifier is not None
        else "configured verifier" if runtime.lane.face is not None else "off"
    )  # fmt: skip
    if options.iris_share:
        summary["iris_share"] = options.iris_share
    return summary


def _serve(loop: LaneLoop, stop: threading.Event, timeout_s: float = 120.0) -> CheckRecord:
    """Run the lane until it has checked the placed traveller."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = loop.serve_one(stop, 1.0)
        if record is not None:
            return record
        if loop.state is LaneState.OUT_OF_SERVICE:
            fault = loop.status()["fault"] or {}
            raise ApplianceError(
                Reason(fault.get("reason", Reason.LANE_OUT_OF_SERVICE.value)),
                str(fault.get("detail", "lane out of service")),
            )
    raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the lane took no document")


def describe_data_dir(directory: Path) -> str:
    origin = "APPLIANCE_DATA_DIR" if os.environ.get("APPLIANCE_DATA_DIR") else "config data_dir"
    return f"state in {directory.resolve()} ({origin})"


__all__ = [
    "DemoOptions",
    "Passage",
    "describe_data_dir",
    "render_summary",
    "run_demo",
    "summarise",
]
