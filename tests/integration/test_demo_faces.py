"""`appliance demo --faces DIR`: real portraits on the chips, real photos at the camera, the
policy requiring biometrics: holders go through, impostors are referred (FACE_NO_MATCH), and
photos the quality gate turns away are referred for the reason the verifier gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.inspection.policy import load_policy
from appliance.inspection.report import SCHEMA_FILE, StepName
from hardware_mocks.traveller_sim import Kind, TravellerSimulator, open_simulator
from tests.support.face_support import FACES

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / SCHEMA_FILE).read_text())
#: folder names are people's names: none may appear in what the demo prints
PEOPLE = {"obama": ("obama.jpg", "obama-480p.jpg"), "biden": ("biden.jpg", "biden2.jpg")}


def holders_and_impostors(seed: int = 0, run: int = 0, **faces: object) -> TravellerSimulator:
    """Only travellers whose outcome is the face step's: holders, impostors, a returning one."""
    simulator = open_simulator(seed, run, **faces)  # type: ignore[arg-type]
    simulator.mix = {Kind.GENUINE: 3, Kind.IMPOSTOR: 2, Kind.REUSED: 1}
    return simulator


@pytest.fixture
def crowd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "appliance.toml"
    simulator = "tests.integration.test_demo_faces:holders_and_impostors"
    config.write_text(f'[hardware]\ntraveller_simulator = "{simulator}"\n')
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """Two people with two good photos each, and one whose second photo shows no face."""
    root = tmp_path / "faces"
    for person, photos in PEOPLE.items():
        (root / person).mkdir(parents=True)
        for name in photos:
            source = FACES / person / name
            if not source.is_file():
                pytest.fail(f"test photo missing: {source} (see tests/data/SOURCES.md)")
            shutil.copy(source, root / person / name)
    (root / "nobody").mkdir()
    shutil.copy(FACES / "obama" / "obama1.jpg", root / "nobody" / "a.jpg")
    wall = np.full((480, 640, 3), 128, np.uint8)  # the camera sees an empty booth
    cv2.imwrite(str(root / "nobody" / "b.png"), wall)
    return root


def demo(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["demo", "--headless", "--json", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stdout + result.stderr


def test_holders_open_impostors_are_referred(data_dir: Path, crowd: None, album: Path) -> None:
    code, lines, output = demo("--travellers", "14", "--seed", "3", "--faces", str(album))
    assert code == 0, output
    *passages, last = lines
    summary = last["summary"]
    assert isinstance(summary, dict) and summary["as_expected"] == 14
    assert summary["biometrics"] == "real faces, liveness challenge off"
    outcomes: dict[str, set[str]] = {}
    for passage in passages:
        report = passage["report"]
        jsonschema.validate(report, SCHEMA)
        decision = passage["decision"]
        assert isinstance(decision, dict) and isinstance(report, dict)
        face = next(s for s in report["steps"] if s["name"] == StepName.BIOMETRICS.value)
        assert face["status"] != "skipped"  # every traveller faced the camera
        kind, expected = str(passage["simulated"]), str(passage["expected"])
        outcomes.setdefault(kind, set()).add(expected)
        if expected == "OK":
            assert kind == "genuine"
            assert decision["verdict"] == "OPEN" and passage["gate"] == "open"
            assert face["status"] == "pass"
        else:
            assert decision["verdict"] == "REFER" and passage["gate"] == "closed"
            assert expected in decision["reasons"]
        if kind == "impostor":
            assert expected in {"FACE_NO_MATCH", "FACE_NOT_FOUND", "FACE_QUALITY"}
    # both sides were exercised: holders through, impostors caught by the face, the empty
    # booth referred for the reason the verifier gives
    assert "OK" in outcomes["genuine"] and "FACE_NO_MATCH" in outcomes["impostor"]
    assert "FACE_NOT_FOUND" in outcomes["genuine"] | outcomes["impostor"]
    assert "reused" in outcomes
    for name in [*PEOPLE, "nobody", *(p for photos in PEOPLE.values() for p in photos)]:
        assert name not in output


def test_faces_switch_the_signed_policy_to_biometrics_and_back(
    data_dir: Path, crowd: None, album: Path
) -> None:
    code, _, output = demo("--travellers", "2", "--seed", "1")
    assert code == 0, output
    assert StepName.BIOMETRICS not in load_policy(data_dir).egate.required_steps
    code, _, output = demo("--travellers", "2", "--seed", "1", "--faces", str(album))
    assert code == 0, output
    policy = load_policy(data_dir)
    assert StepName.BIOMETRICS in policy.egate.required_steps and policy.version == 2
    assert "policy v2 (policy.toml, biometrics required)" in output


def test_a_folder_without_people_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty" / "someone").mkdir(parents=True)
    code, lines, _ = demo("--travellers", "2", "--faces", str(tmp_path / "empty"))
    assert code == 2 and lines[-1]["reason"] == "USAGE"
