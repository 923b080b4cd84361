"""The simulated e-gate lane behind `appliance demo`: provisioning, the traveller loop, figures.

The demo plays two parts. As the *central system* it keeps an Ed25519 authority key in
`<data dir>/demo/` and, on first use, signs the decision policy and publishes a watchlist of the
simulator's stolen-document pool (and republishes it when half its allowed age has passed, as
the real system does on a schedule); it installs the authority's public key as the trust anchor
for signed artefacts and imports the simulated issuing state's CSCA and CRLs into the trust
store. As the *appliance* it then runs the product path unchanged: the lane refuses to start
on an unsigned or tampered policy, each traveller goes through `CheckSession`, the event is made
durable before the gate opens, and the gate is a serial controller driven by `drivers/gate.py`.

Every device comes through `appliance.wiring` factories named in the config; nothing here
imports `drivers` or `hardware_mocks`.
"""

from __future__ import annotations

import hashlib
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config import Config
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.history import DocumentRef
from appliance.inspection.gate_events import GateEventSource, GateSimulator, parse_events
from appliance.inspection.lane import face_check, load_installed_watchlist, open_lane
from appliance.inspection.policy import POLICY_FILE, Verdict, default_policy_toml, load_policy
from appliance.inspection.report import StepName
from appliance.inspection.steps import FaceCheck, Transaction
from appliance.inspection.workflow import CheckResult, CheckSession, DeviceInfo, act_on
from appliance.ports import Camera, CardTransport, GateController, GateState, MrzScanner
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import WATCHLIST_FILE, build_watchlist, import_watchlist
from appliance.wiring import load_factory, open_card_transport

DEMO_DIR = "demo"
AUTHORITY_KEY = "authority-ed25519.pem"
TRUST_MARKER = "trust-imported"
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
}


class SimulatedTraveller(Protocol):
    """What the simulator hands the lane for one traveller (`hardware_mocks.traveller_sim`)."""

    sequence: int
    kind: Any
    gate_events: tuple[str, ...]

    @property
    def expected_reason(self) -> Reason: ...

    def scanner(self) -> MrzScanner: ...

    def transport(self) -> CardTransport: ...

    def on_pcsc_reader(self) -> AbstractContextManager[str]: ...

    def camera(self) -> Camera:
        """The lane camera with this traveller in front of it (only with real faces)."""
        ...


class TravellerSource(Protocol):
    def travellers(self, count: int) -> Iterator[SimulatedTraveller]: ...

    def stolen_documents(self) -> list[tuple[str, str, str, str]]: ...

    def trust_material(self) -> list[bytes]: ...

    def start_pcsc(self) -> None: ...


class DemoGate(GateController, GateEventSource, Protocol):
    def wait_event(self, name: str, timeout_s: float) -> list[str]: ...

    def shutdown(self) -> None: ...


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


# ---------------------------------------------------------------------------- provisioning


def _authority_key(demo_dir: Path) -> Ed25519PrivateKey:
    path = demo_dir / AUTHORITY_KEY
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ApplianceError(Reason.USAGE, "demo authority key is not Ed25519")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sc.write_private(path, pem)
    return key


def provision(
    directory: Path,
    source: TravellerSource,
    *,
    require_biometrics: bool,
    now: datetime,
    max_watchlist_age_h: float = 48.0,
) -> list[str]:
    """First-use set-up (and watchlist refresh); returns what it did, for the user."""
    done: list[str] = []
    demo_dir = directory / DEMO_DIR
    demo_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _authority_key(demo_dir)
    trusted = sc.TrustedKeys.load(directory / sc.KEYS_DIR)
    if sc.key_id(key.public_key()) not in trusted.keys:
        sc.install_trusted_key(directory, key.public_key(), "demo-authority")
        done.append("installed the demo authority's public key as signed-artefact anchor")
    if not (demo_dir / TRUST_MARKER).exists():
        material = source.trust_material()
        # The demo's issuing state is its own simulation, so it pins that state's CSCAs by
        # fingerprint: the decision an operator takes with `trust import --anchor SHA256`.
        pins = [hashlib.sha256(der).hexdigest() for der in material]
        with TrustStore(directory / TRUST_FILE) as store:
            for index, der in enumerate(material):
                report = import_file(der, store, f"simulated-issuer-{index}.der", anchors=pins)
                if not report.ok:
                    raise ApplianceError(report.reason, report.detail)
        sc.write_private(demo_dir / TRUST_MARKER, b"1\n")
        done.append("imported the simulated issuing state's CSCA and CRLs into the trust store")
    version = _policy_to_sign(directory, require_biometrics)
    if version is not None:
        content = default_policy_toml(version, require_biometrics=require_biometrics)
        sc.write_signed(directory / POLICY_FILE, sc.ArtefactKind.POLICY, content, key)
        needs = "biometrics required" if require_biometrics else "no biometrics"
        done.append(f"signed and installed the decision policy v{version} ({POLICY_FILE}, {needs})")
    watchlist, error = load_installed_watchlist(directory)
    stale = watchlist is not None and watchlist.age(now) > timedelta(hours=max_watchlist_age_h / 2)
    if error is None and (watchlist is None or stale):
        version = 1 if watchlist is None else watchlist.version + 1
        documents = [
            (DocumentRef(issuer, number, doc_type), category)
            for issuer, doc_type, number, category in source.stolen_documents()
        ]
        content = build_watchlist(documents, version, now)
        import_watchlist(directory, content, sc.sign(sc.ArtefactKind.WATCHLIST, content, key))
        done.append(
            f"published watchlist v{version} ({len(documents)} documents, {WATCHLIST_FILE})"
        )
    return done


def _policy_to_sign(directory: Path, require_biometrics: bool) -> int | None:
    """The version of a new policy when none is installed or the installed one disagrees
    with whether this run can verify faces; None to keep it. A policy that does not verify is
    left alone, for the lane to refuse (the demo does not paper over tampering)."""
    if not (directory / POLICY_FILE).exists():
        return 1
    try:
        installed = load_policy(directory)
    except ApplianceError:
        return None
    requires = StepName.BIOMETRICS in installed.egate.required_steps
    return None if requires == require_biometrics else installed.version + 1


def next_run(directory: Path) -> int:
    (directory / DEMO_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / DEMO_DIR / RUNS_FILE
    try:
        run = int(path.read_text().strip()) + 1
    except (FileNotFoundError, ValueError):
        run = 1
    sc.write_private(path, f"{run}\n".encode())
    return run


# ---------------------------------------------------------------------------- the lane loop


@dataclass
class DemoOptions:
    count: int
    seed: int = 0
    pcsc: bool = False
    #: one folder of photos per person: travellers get real faces and biometrics is required
    faces: Path | None = None


class _CameraAtTheGate:
    """The lane's camera port: whoever the simulator has placed in front of it."""

    def __init__(self) -> None:
        self.traveller: SimulatedTraveller | None = None

    def __call__(self) -> Camera:
        if self.traveller is None:
            raise ApplianceError(Reason.CAMERA_UNAVAILABLE, "no traveller at the camera")
        return self.traveller.camera()


def _face_lane(
    config: Config, options: DemoOptions, run: int
) -> tuple[TravellerSource, FaceCheck | None, _CameraAtTheGate | None]:
    """The traveller source and face step: real faces with `--faces`, else the configured ones.

    With real faces the verifier loads once and serves both the lane and the simulator (which
    makes each chip's ICAO portrait with its detector); the liveness challenge stays off, as a
    still photo cannot turn its head.
    """
    factory = load_factory(config.hardware.traveller_simulator)
    if options.faces is None:
        return cast(TravellerSource, factory(seed=options.seed, run=run)), face_check(config), None
    from appliance.biometrics.face.compare import OperatingPoint
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.inspection.face_step import CameraFaceCheck

    verifier = FaceVerifier.load(OperatingPoint(config.face.operating_point))
    burst = min(config.face.burst_frames, 3)  # a still photo: more identical frames add nothing
    source = factory(seed=options.seed, run=run, faces=options.faces, verifier=verifier,
                     burst_frames=burst)  # fmt: skip
    camera = _CameraAtTheGate()
    return (
        cast(TravellerSource, source),
        CameraFaceCheck(verifier, camera, burst_frames=burst),
        camera,
    )


def _open_gate(config: Config, stack: ExitStack) -> tuple[DemoGate, GateSimulator | None]:
    simulator: GateSimulator | None = None
    port = config.inspection.gate_port
    if port == "simulated":
        simulator = load_factory(config.hardware.gate_simulator)()
        stack.callback(cast(Any, simulator).close)
        port = cast(Any, simulator).port
    gate = cast(DemoGate, load_factory(config.hardware.gate)(port))
    stack.callback(gate.shutdown)
    return gate, simulator


def _wait_removed(transport: CardTransport, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while transport.card_present() and time.monotonic() < deadline:
        time.sleep(0.02)


def run_demo(
    config: Config,
    directory: Path,
    options: DemoOptions,
    emit: Callable[[Passage], None],
    notes: Callable[[str], None],
) -> dict[str, Any]:
    """Run `options.count` simulated travellers through the lane; returns the summary."""
    run = next_run(directory)
    source, face, camera = _face_lane(config, options, run)
    now = datetime.now().astimezone()
    for line in provision(directory, source, require_biometrics=face is not None, now=now):
        notes(line)
    if options.pcsc:
        try:
            source.start_pcsc()
        except RuntimeError as exc:  # pcscd / vpcd not installed
            raise ApplianceError(Reason.READER_NOT_FOUND, str(exc)) from exc
    passages: list[Passage] = []
    with ExitStack() as stack:
        gate, gate_sim = _open_gate(config, stack)
        lane = open_lane(config, directory, gate_events=gate, face=face)
        stack.callback(lane.history.close)
        if face is None:
            notes("biometrics: no face verifier configured, the step is skipped "
                  f"(policy '{lane.policy.name}' v{lane.policy.version})")  # fmt: skip
        elif camera is not None:
            notes("biometrics: real photos, live capture without the liveness challenge "
                  f"(policy '{lane.policy.name}' v{lane.policy.version})")  # fmt: skip
        device = DeviceInfo(config.device.device_id, config.device.location, config.device.mode)
        session = CheckSession(lane, device)
        started = time.perf_counter()
        for traveller in source.travellers(options.count):
            # alarms between travellers are recorded as gate events, not held against the next
            session.record_gate_events(parse_events(gate.poll_events()))
            if camera is not None:
                camera.traveller = traveller
            passages.append(_one(config, session, gate, gate_sim, traveller, options.pcsc))
            emit(passages[-1])
        wall = time.perf_counter() - started
    summary = summarise(passages, wall)
    summary.update({"data_dir": str(directory), "run": run, "pcsc": options.pcsc,
                    "seed": options.seed})  # fmt: skip
    summary["biometrics"] = (
        "real faces, liveness challenge off" if camera is not None
        else "configured verifier" if face is not None else "off"
    )  # fmt: skip
    return summary


def _one(
    config: Config,
    session: CheckSession,
    gate: DemoGate,
    gate_sim: GateSimulator | None,
    traveller: SimulatedTraveller,
    pcsc: bool,
) -> Passage:
    with ExitStack() as stack:
        if pcsc:
            reader = stack.enter_context(traveller.on_pcsc_reader())
            transport = open_card_transport(config, reader)
        else:
            transport = traveller.transport()
        if gate_sim is not None:
            for event in traveller.gate_events:
                gate_sim.inject(event)
        start = time.perf_counter()
        result = session.run(Transaction(transport, traveller.scanner()))
        state = act_on(result, gate)
        transaction_ms = (time.perf_counter() - start) * 1000
        # what the door did, linked to the check (a decision to open is not a passage)
        session.record_gate_action(result, state)
    if pcsc:
        _wait_removed(transport)
        transport.disconnect()
    events: list[str] = []
    if state is GateState.OPEN:
        events = gate.wait_event("passed", 5.0)
        session.record_gate_events(parse_events(events))
    return Passage(
        traveller.sequence,
        str(getattr(traveller.kind, "value", traveller.kind)),
        traveller.expected_reason,
        result,
        state,
        transaction_ms,
        events,
    )


def describe_data_dir(directory: Path) -> str:
    origin = "APPLIANCE_DATA_DIR" if os.environ.get("APPLIANCE_DATA_DIR") else "config data_dir"
    return f"state in {directory.resolve()} ({origin})"


__all__ = [
    "DemoOptions",
    "Passage",
    "describe_data_dir",
    "provision",
    "render_summary",
    "run_demo",
    "summarise",
]
