"""The product's lane loop (appliance/inspection/lane_loop.py) on simulated hardware: the
traveller's way through the e-gate as ordered events, faults as states (reader pulled, gate
controller silent, camera gone), traveller time-outs, and handheld checks."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from appliance.biometrics.face.verifier import FaceResult
from appliance.config import SIMULATED_CONFIG, Config
from appliance.errors import ApplianceError, Reason
from appliance.inspection.lane_events import EventType, LaneEvent
from appliance.inspection.report import StepName
from appliance.ports import GateState
from hardware_mocks.gate import VirtualGateController
from tests.integration import test_demo_faces
from tests.support.lane_support import running_lane, sim_config

REPO = Path(__file__).resolve().parents[1]
album = test_demo_faces.album  # the fixture: two people, and an empty booth


def personal_strings(traveller: object) -> list[str]:
    profile = traveller.profile  # type: ignore[attr-defined]
    return [
        profile.document_number,
        profile.surname,
        profile.given_names,
        profile.date_of_birth,
        *profile.mrz_lines,
    ]


def test_egate_traveller_goes_through_in_ordered_events(data_dir: Path, tmp_path: Path) -> None:
    with running_lane(sim_config(tmp_path), data_dir) as lane:
        lane.wait_state("ready")
        genuine, record = lane.traveller("genuine")
        assert record.result.decision.verdict.value == "OPEN" and record.gate is GateState.OPEN
        assert record.result.receipt is not None  # durable before the gate opened
        forged, refused = lane.traveller("forged_dg")
        assert refused.result.decision.verdict.value == "REFER"
        assert Reason.PA_DG_HASH_MISMATCH in refused.result.decision.reasons
        assert refused.gate is GateState.CLOSED
        lane.wait_state("ready")
        events = lane.events.since(0)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    flow = [_label(e) for e in events]
    first = flow[flow.index("state:checking") : flow.index("decision:OPEN") + 1]
    # the kiosk follows the steps; once the chip is read, the document can go (no language
    # hint here: the lane has no mapping of nationalities unless the service gives it one)
    assert [f for f in first if not f.startswith(("step:", "step_result:"))] == [
        "state:checking", "instruction:keep_document", "instruction:remove_document",
        "decision:OPEN",
    ]  # fmt: skip
    steps = [f.removeprefix("step:") for f in first if f.startswith("step:")]
    assert steps[:5] == ["document_presence", "mrz", "chip_access", "data_groups", "authenticity"]
    assert first.index("instruction:remove_document") == first.index("step:authenticity") + 1
    # every event of a traveller, from the document to the lane ready again, names the check
    start = flow.index("state:checking")
    ready = flow.index("state:ready", start)
    decision = events[flow.index("decision:OPEN")]
    assert {e.data.get("check_id") for e in events[start:ready]} == {decision.data["check_id"]}
    assert decision.data["check_id"] == str(record.result.receipt.event_id)
    assert "check_id" not in events[ready].data
    after = flow[flow.index("decision:OPEN") :]
    assert after[:6] == [
        "decision:OPEN",
        "state:remove_document",
        "instruction:remove_document",
        "state:passage",
        "instruction:walk_through",
        "gate:passed",
    ]
    assert "instruction:see_officer" in flow[flow.index("decision:REFER") :]
    # each step's outcome follows its start, before the next step: the officer's report fills
    # row by row (status and reason code only)
    second = flow[flow.index("decision:OPEN") + 1 : flow.index("decision:REFER")]
    started = [f.removeprefix("step:") for f in second if f.startswith("step:")]
    ended = [f for f in second if f.startswith("step_result:")]
    assert [f.split("=")[0].removeprefix("step_result:") for f in ended] == started
    for name in started:
        assert second.index(f"step:{name}") < next(
            i for i, f in enumerate(second) if f.startswith(f"step_result:{name}=")
        )
    assert "step_result:authenticity=fail/PA_DG_HASH_MISMATCH" in ended
    assert all(
        set(e.data) == {"step", "status", "reason", "duration_ms", "check_id"}
        for e in events
        if e.type is EventType.STEP_RESULT
    )
    text = repr([e.to_json() for e in events])
    for traveller in (genuine, forged):
        for value in personal_strings(traveller):
            assert value not in text


def _label(event: LaneEvent) -> str:
    data = event.data
    value = {
        EventType.STATE: data.get("state"),
        EventType.INSTRUCTION: data.get("instruction"),
        EventType.DECISION: data.get("decision"),
        EventType.GATE: ",".join(data.get("events", [])),
        EventType.FAULT: data.get("reason"),
        EventType.STEP: data.get("step"),
        EventType.STEP_RESULT: f"{data.get('step')}={data.get('status')}/{data.get('reason')}",
        EventType.LANGUAGE: data.get("language"),
    }[event.type]
    return f"{event.type.value}:{value}"


def test_reader_pulled_is_out_of_service_and_back_by_itself(data_dir: Path, tmp_path: Path) -> None:
    with running_lane(sim_config(tmp_path), data_dir) as lane:
        lane.wait_state("ready")
        gate = lane.runtime.gate
        assert gate is not None
        lane.station.unplug_reader()
        lane.wait_state("out_of_service")
        status = lane.runtime.loop.status()
        assert status["health"] == "out_of_service"
        assert status["fault"]["component"] == "reader"
        assert status["fault"]["reason"] == "READER_NOT_FOUND"
        assert gate.state() is GateState.CLOSED
        lane.station.plug_reader()
        lane.wait_state("ready")
        assert lane.runtime.loop.status()["fault"] is None
        _, record = lane.traveller("genuine")
        assert record.result.decision.verdict.value == "OPEN"


def test_silent_gate_controller_is_out_of_service_and_back(data_dir: Path, tmp_path: Path) -> None:
    with running_lane(sim_config(tmp_path), data_dir) as lane:
        lane.wait_state("ready")
        lane.runtime.loop.gate_check_s = 0.1
        simulator = lane.station.gate_simulator
        assert isinstance(simulator, VirtualGateController)
        simulator.mute()
        lane.wait_state("out_of_service")
        assert lane.runtime.loop.status()["fault"]["reason"] == "GATE_FAULT"
        simulator.mute(False)
        lane.wait_state("ready")


def test_nobody_through_the_open_gate_times_out_and_closes_it(
    data_dir: Path, tmp_path: Path
) -> None:
    config = sim_config(tmp_path, inspection={"traveller_timeout_s": 0.5})
    with running_lane(config, data_dir) as lane:
        simulator = lane.station.gate_simulator
        assert isinstance(simulator, VirtualGateController)
        simulator.pass_delay_s = 60  # the traveller does not walk through
        _, record = lane.traveller("genuine")
        assert record.gate is GateState.OPEN
        fault = lane.wait_for(lambda e: e.type is EventType.FAULT)
        assert fault.data["reason"] == "TRAVELLER_TIMEOUT"
        lane.wait_state("ready")
        assert simulator.state == "CLOSED"


def no_camera(reference: bytes) -> FaceResult:
    """The face step of a lane whose camera was unplugged (`CameraFaceCheck` says so)."""
    return FaceResult("fail", Reason.CAMERA_UNAVAILABLE, None, 0.5, "fmr_0.001", subject="live")


def test_camera_gone_refers_and_reports_the_lane_degraded(data_dir: Path, tmp_path: Path) -> None:
    with running_lane(sim_config(tmp_path), data_dir, face_for=lambda station: no_camera) as lane:
        _, record = lane.traveller("genuine")
        decision = record.result.decision
        assert decision.verdict.value == "REFER" and record.gate is GateState.CLOSED
        assert Reason.CAMERA_UNAVAILABLE in decision.reasons
        status = lane.runtime.loop.status()
        assert status["health"] == "degraded" and status["degraded"] == {
            "camera": "CAMERA_UNAVAILABLE"
        }
        kinds = [(e.type, e.data.get("instruction")) for e in lane.events.since(0)]
        assert (EventType.INSTRUCTION, "look_at_camera") in kinds


def test_handheld_check_is_started_by_the_officer(data_dir: Path, tmp_path: Path) -> None:
    config = sim_config(tmp_path, device={"mode": "handheld"})
    with running_lane(config, data_dir) as lane:
        assert lane.runtime.gate is None
        lane.wait_state("ready")
        lane.runtime.loop.start_check()
        with pytest.raises(ApplianceError) as busy:
            lane.runtime.loop.start_check()
        assert busy.value.reason is Reason.LANE_BUSY
        lane.wait_state("waiting_document")
        _, record = lane.traveller("genuine")
        assert record.result.decision.verdict.value in ("ADVISE", "REFER", "OPEN")
        assert record.mode == "handheld" and record.gate is GateState.UNKNOWN
        lane.wait_state("ready")
        lane.runtime.loop.start_check()
        lane.wait_state("waiting_document")
        assert lane.runtime.loop.cancel_check()
        lane.wait_for(lambda e: e.data.get("reason") == "CHECK_CANCELLED")
        lane.wait_state("ready")


def test_egate_refuses_an_officer_started_check(data_dir: Path, tmp_path: Path) -> None:
    with running_lane(sim_config(tmp_path), data_dir) as lane:
        lane.wait_state("ready")
        with pytest.raises(ApplianceError) as refused:
            lane.runtime.loop.start_check()
        assert refused.value.reason is Reason.USAGE


def test_product_defaults_name_real_drivers_and_no_mock() -> None:
    hardware = Config().hardware.model_dump()
    for name, spec in hardware.items():
        assert "hardware_mocks" not in spec, name
        assert spec == "" or spec.split(".")[0] in ("drivers", "appliance"), name
    assert Config().inspection.gate_port != "simulated"
    assert "hardware_mocks" in SIMULATED_CONFIG.read_text()


def test_no_product_module_names_a_mock_module() -> None:
    """Beyond imports (tests/test_import_rules.py): no string in appliance/ code names one."""
    for path in sorted((REPO / "appliance").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                assert "hardware_mocks" not in node.value, f"{path}: {node.value[:60]!r}"


@pytest.mark.pcsc
def test_chips_through_pcscd_when_the_reader_is_named(
    data_dir: Path, tmp_path: Path, pcsc_stack: str
) -> None:
    from hardware_mocks.traveller_sim import PCSC_READER

    config = sim_config(tmp_path, chip={"reader": PCSC_READER})
    with running_lane(config, data_dir) as lane:
        assert lane.station.pcsc
        for kind, verdict in (("genuine", "OPEN"), ("cloned", "REFER"), ("genuine", "OPEN")):
            _, record = lane.traveller(kind)
            assert record.result.decision.verdict.value == verdict
            chip = record.result.report.step(StepName.CHIP_ACCESS)
            assert chip is not None and chip.facts["apdus"] > 5


def test_simulated_service_with_real_faces_runs_the_face_step(
    data_dir: Path, tmp_path: Path, album: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_SIM_FACES", str(album))
    with running_lane(sim_config(tmp_path), data_dir) as lane:
        assert lane.runtime.lane.face is not None
        assert StepName.BIOMETRICS in lane.runtime.lane.policy.egate.required_steps
        seen: set[Reason] = set()
        for n in range(24):  # until both a holder went through and an impostor was caught
            if {Reason.OK, Reason.FACE_NO_MATCH} <= seen:
                break
            traveller, record = lane.traveller("genuine" if n % 2 else "impostor")
            decision, expected = record.result.decision, traveller.expected_reason
            face = record.result.report.step(StepName.BIOMETRICS)
            assert face is not None and face.status.value != "skipped"
            if expected is Reason.OK:
                assert decision.verdict.value == "OPEN"
            else:
                assert decision.verdict.value == "REFER" and expected in decision.reasons
            seen.add(expected)
        events = repr([e.to_json() for e in lane.events.since(0)])
    assert {Reason.OK, Reason.FACE_NO_MATCH} <= seen
    assert "look_at_camera" in events
    for name in ("obama", "biden", "nobody"):  # the album's folder names are people's names
        assert name not in events


def test_document_left_on_the_reader_holds_the_lane_until_taken(
    data_dir: Path, tmp_path: Path
) -> None:
    config = sim_config(tmp_path, inspection={"traveller_timeout_s": 0.5})
    with running_lane(config, data_dir) as lane:
        lane.station.takes_document_back = False
        lane.traveller("forged_dg")
        fault = lane.wait_for(lambda e: e.type is EventType.FAULT)
        assert fault.data == {**fault.data, "reason": "TRAVELLER_TIMEOUT",
                              "detail": "document left on the reader"}  # fmt: skip
        lane.wait_state("remove_document")
        time.sleep(0.5)
        assert lane.runtime.loop.state.value == "remove_document"  # not ready for the next
        lane.station.takes_document_back = True
        lane.station.take_document()
        lane.wait_state("ready")
        _, record = lane.traveller("genuine")
        assert record.result.decision.verdict.value == "OPEN"


def test_handheld_check_without_a_document_times_out(data_dir: Path, tmp_path: Path) -> None:
    config = sim_config(
        tmp_path, device={"mode": "handheld"}, inspection={"traveller_timeout_s": 0.5}
    )
    with running_lane(config, data_dir) as lane:
        lane.wait_state("ready")
        lane.runtime.loop.start_check()
        fault = lane.wait_for(lambda e: e.type is EventType.FAULT)
        assert fault.data["reason"] == "TRAVELLER_TIMEOUT"
        lane.wait_state("ready")
        assert lane.runtime.loop.recent(5) == []  # no document, no check recorded


def test_idle_handheld_sees_its_reader_pulled(data_dir: Path, tmp_path: Path) -> None:
    with running_lane(sim_config(tmp_path, device={"mode": "handheld"}), data_dir) as lane:
        lane.wait_state("ready")
        lane.station.unplug_reader()
        lane.wait_state("out_of_service")
        with pytest.raises(ApplianceError) as refused:
            lane.runtime.loop.start_check()
        assert refused.value.reason is Reason.LANE_OUT_OF_SERVICE
        lane.station.plug_reader()
        lane.wait_state("ready")


def test_a_check_beats_the_watchdog_at_each_step(data_dir: Path, tmp_path: Path) -> None:
    """The systemd watchdog hears from the lane during a check too (one beat per step), so a
    slow but progressing check (a reader at its retry limit, a long liveness challenge) is
    not restarted as a hung loop; a step that hangs is bounded by its own time limit."""
    with running_lane(sim_config(tmp_path), data_dir) as lane:
        lane.wait_state("ready")
        loop = lane.runtime.loop
        during_check: list[str] = []
        loop.on_beat = lambda: during_check.append(loop.state.value)
        _, record = lane.traveller("genuine")
    assert record.result.decision.verdict.value == "OPEN"
    steps = len(record.result.report.steps)
    assert during_check.count("checking") >= steps - 1, during_check
