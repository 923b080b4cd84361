"""`appliance face compare`: JSON report and exit codes (0 match, 1 refused, 2 fault)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.biometrics.face.verifier import FaceVerifier
from appliance.cli import cli
from tests.support.face_support import FACES, chip_reference, verifier

__all__ = ["verifier"]


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory: pytest.TempPathFactory, verifier: FaceVerifier) -> Path:
    path = tmp_path_factory.mktemp("dg2") / "reference.jp2"
    path.write_bytes(chip_reference(verifier, "obama/obama.jpg"))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["face", "compare", *args])
    return result.exit_code, result.output


def test_match_exits_0_with_a_json_report(reference_file: Path, data_dir: Path) -> None:
    code, out = run(str(reference_file), str(FACES / "obama/obama-480p.jpg"), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["status"] == "pass" and report["reason"] == "OK"
    assert report["operating_point"] == "fmr_0.001"
    assert report["score"] >= report["threshold"]
    assert report["timings_ms"]["total"] > 0


def test_no_match_exits_1(reference_file: Path, data_dir: Path) -> None:
    code, out = run(str(reference_file), str(FACES / "biden/biden.jpg"), "--json")
    assert code == 1
    assert json.loads(out)["reason"] == "FACE_NO_MATCH"


def test_operating_point_from_the_command_line(reference_file: Path, data_dir: Path) -> None:
    code, out = run(
        str(reference_file),
        str(FACES / "obama/obama-480p.jpg"),
        "--json",
        "--operating-point",
        "fmr_0.0005",
    )
    assert json.loads(out)["operating_point"] == "fmr_0.0005"
    assert code in (0, 1)


def test_unreadable_and_missing_files_exit_2(tmp_path: Path, data_dir: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    code, out = run(str(junk), str(FACES / "obama/obama.jpg"), "--json")
    assert code == 2 and json.loads(out)["reason"] == "IMAGE_UNREADABLE"
    code, out = run(str(tmp_path / "absent.jp2"), str(FACES / "obama/obama.jpg"), "--json")
    assert code == 2 and json.loads(out)["reason"] == "FILE_UNREADABLE"


def test_human_output(reference_file: Path, data_dir: Path) -> None:
    code, out = run(str(reference_file), str(FACES / "obama/obama-480p.jpg"))
    assert code == 0
    assert out.startswith("pass: OK  score")


def test_a_chip_dump_dg2_is_a_reference(
    reference_file: Path, tmp_path: Path, data_dir: Path
) -> None:
    from appliance.emrtd.lds import dg2

    dump = tmp_path / "DG2.bin"
    dump.write_bytes(dg2.encode(dg2.for_image(reference_file.read_bytes())))
    code, out = run(str(dump), str(FACES / "obama/obama-480p.jpg"), "--json")
    assert code == 0 and json.loads(out)["reason"] == "OK"

    broken = tmp_path / "DG2-broken.bin"
    broken.write_bytes(dump.read_bytes()[:40])
    code, out = run(str(broken), str(FACES / "obama/obama-480p.jpg"), "--json")
    assert code == 2 and json.loads(out)["reason"] == "LDS_MALFORMED"
