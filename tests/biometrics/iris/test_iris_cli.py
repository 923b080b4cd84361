"""`appliance iris compare|enrol|identify|erase`: JSON keys, reasons and exit codes
(0 match, 1 no match / refused capture / not enrolled, 2 usage and unreadable input)."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from hardware_mocks.iris_synth import IrisSynth, png
from tests.biometrics.iris.conftest import capture


@pytest.fixture(scope="module")
def eyes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("eyes")
    files: dict[str, Path] = {}
    for identity in range(3):
        for c in range(2):
            path = folder / f"e{identity}c{c}.png"
            path.write_bytes(png(capture(identity, c)[0]))
            files[f"e{identity}c{c}"] = path
    blurred, _ = IrisSynth(30).capture(0, defocus=5.0)
    files["blurred"] = folder / "blurred.png"
    files["blurred"].write_bytes(png(blurred))
    closed, _ = IrisSynth(3).capture(0, upper_lid=-0.1, lower_lid=0.0, lashes=0, reflections=0)
    files["closed"] = folder / "closed.png"
    files["closed"].write_bytes(png(closed))
    grey = capture(0, 1)[0]
    files["grey_rgb"] = folder / "grey-rgb.png"
    files["grey_rgb"].write_bytes(
        bytes(cv2.imencode(".png", cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))[1])
    )
    colour = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    colour[:, :, 2] = np.clip(colour[:, :, 2].astype(int) + 60, 0, 255).astype(np.uint8)
    files["colour"] = folder / "colour.png"
    files["colour"].write_bytes(bytes(cv2.imencode(".png", colour)[1]))
    files["tiny"] = folder / "tiny.png"
    files["tiny"].write_bytes(png(cv2.resize(grey, (40, 30))))
    files["truncated"] = folder / "truncated.png"
    files["truncated"].write_bytes(png(grey)[:2000])
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)
    body = b"IHDR" + ihdr
    files["huge"] = folder / "huge.png"
    files["huge"].write_bytes(
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))
    )
    files["not_image"] = folder / "notes.png"
    files["not_image"].write_bytes(b"hello, not an image")
    files["noise"] = folder / "noise.png"
    files["noise"].write_bytes(png(np.full((480, 640), 128, np.uint8)))
    return files


def run(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["iris", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def test_compare_same_eye_exits_0(eyes: dict[str, Path], data_dir: Path) -> None:
    code, report = run("compare", str(eyes["e0c0"]), str(eyes["e0c1"]))
    assert code == 0
    assert report["status"] == "pass" and report["reason"] == "OK"
    assert report["decision"] == "match"
    assert isinstance(report["score"], float) and report["score"] <= report["threshold"] == 0.32
    assert {"hd_raw", "bits_compared", "rotation_deg", "quality", "timings_ms"} <= set(report)
    quality = report["quality"]
    assert isinstance(quality, dict) and quality["a"]["ok"] and quality["b"]["ok"]
    timings = report["timings_ms"]
    assert isinstance(timings, dict)
    assert {"encode_a", "encode_b", "match", "total"} <= set(timings)


def test_compare_other_eye_exits_1(eyes: dict[str, Path], data_dir: Path) -> None:
    code, report = run("compare", str(eyes["e0c0"]), str(eyes["e1c1"]))
    assert code == 1
    assert report["reason"] == "IRIS_NO_MATCH" and report["decision"] == "no_match"


def test_threshold_comes_from_the_config(
    eyes: dict[str, Path], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text("[iris]\nthreshold = 0.01\n")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    code, report = run("compare", str(eyes["e0c0"]), str(eyes["e0c1"]))
    assert report["threshold"] == 0.01
    assert code == (0 if float(report["score"]) <= 0.01 else 1)  # type: ignore[arg-type]
    config.write_text("[iris]\nthreshold = 0.7\n")
    result = CliRunner().invoke(cli, ["iris", "compare", str(eyes["e0c0"]), str(eyes["e0c1"])])
    assert result.exit_code == 2 and "CONFIG_INVALID" in result.output


@pytest.mark.parametrize(
    ("name", "reason", "exit_code"),
    [
        ("blurred", "IRIS_QUALITY", 1),
        ("closed", "IRIS_NOT_FOUND", 1),
        ("noise", "IRIS_NOT_FOUND", 1),
        ("colour", "IRIS_NOT_NIR", 2),
        ("tiny", "IMAGE_TOO_SMALL", 2),
        ("truncated", "IMAGE_UNREADABLE", 2),
        ("huge", "IMAGE_TOO_LARGE", 2),
        ("not_image", "IMAGE_UNREADABLE", 2),
    ],
)
def test_bad_input_has_a_reason(
    eyes: dict[str, Path], data_dir: Path, name: str, reason: str, exit_code: int
) -> None:
    code, report = run("compare", str(eyes["e0c0"]), str(eyes[name]))
    assert (code, report["reason"]) == (exit_code, reason)
    assert report["status"] == "fail"
    assert str(report["detail"]).startswith("b: ")  # which image, never its file name
    assert eyes[name].name not in str(report["detail"])


def test_quality_refusal_says_what_to_do(eyes: dict[str, Path], data_dir: Path) -> None:
    code, report = run("compare", str(eyes["blurred"]), str(eyes["e0c0"]))
    assert code == 1 and report["reason"] == "IRIS_QUALITY"
    assert report["instruction"] == "hold still, slightly closer"


def test_grey_stored_as_rgb_is_accepted(eyes: dict[str, Path], data_dir: Path) -> None:
    code, report = run("compare", str(eyes["e0c0"]), str(eyes["grey_rgb"]))
    assert code == 0 and report["reason"] == "OK"


def test_files_that_are_not_files_exit_2(
    eyes: dict[str, Path], data_dir: Path, tmp_path: Path
) -> None:
    code, report = run("compare", "/dev/zero", str(eyes["e0c0"]))
    assert (code, report["reason"]) == (2, "FILE_NOT_REGULAR")
    code, report = run("compare", str(tmp_path / "absent.png"), str(eyes["e0c0"]))
    assert (code, report["reason"]) == (2, "FILE_UNREADABLE")


def test_usage_errors_exit_2(eyes: dict[str, Path], data_dir: Path) -> None:
    assert CliRunner().invoke(cli, ["iris", "compare", str(eyes["e0c0"])]).exit_code == 2
    assert CliRunner().invoke(cli, ["iris", "enrol", "alice"]).exit_code == 2
    assert CliRunner().invoke(cli, ["iris", "identify"]).exit_code == 2


def test_enrol_identify_erase(eyes: dict[str, Path], data_dir: Path) -> None:
    code, report = run("identify", str(eyes["e0c1"]))
    assert (code, report["reason"]) == (1, "IRIS_NOT_ENROLLED")

    code, report = run("enrol", "Alice Example", str(eyes["e0c0"]))
    assert code == 0 and report["templates"] == 1
    code, _ = run("enrol", "Bob Example", str(eyes["e1c0"]))
    assert code == 0

    code, report = run("identify", str(eyes["e0c1"]))
    assert code == 0 and report["identity"] == "Alice Example"
    assert report["decision"] == "match" and report["enrolments"] == 2
    code, report = run("identify", str(eyes["e1c1"]))
    assert code == 0 and report["identity"] == "Bob Example"
    code, report = run("identify", str(eyes["e2c1"]))
    assert code == 1 and report["reason"] == "IRIS_NO_MATCH" and report["identity"] is None

    code, report = run("erase", "Alice Example")
    assert code == 0 and report["erased"] == 1
    code, report = run("identify", str(eyes["e0c1"]))
    assert code == 1 and report["reason"] == "IRIS_NO_MATCH"
    code, report = run("erase", "Alice Example")
    assert (code, report["reason"]) == (1, "IRIS_NOT_ENROLLED")


def test_enrolment_refuses_a_poor_capture(eyes: dict[str, Path], data_dir: Path) -> None:
    code, report = run("enrol", "Carol", str(eyes["e0c0"]), str(eyes["blurred"]))
    assert (code, report["reason"]) == (1, "IRIS_QUALITY")
    assert not (data_dir / "iris" / "gallery.json").exists()


def test_gallery_holds_no_clear_template_or_name(eyes: dict[str, Path], data_dir: Path) -> None:
    from appliance.biometrics.iris.image import decode_eye
    from appliance.biometrics.iris.pipeline import encode_eye

    run("enrol", "Dora Example", str(eyes["e2c0"]))
    stored = (data_dir / "iris" / "gallery.json").read_bytes()
    template = encode_eye(decode_eye(eyes["e2c0"].read_bytes())).template
    for piece in (template.to_bytes()[:16], template.code.tobytes()[8:24]):
        assert piece not in stored
        assert base64.b64encode(piece)[:16] not in stored
    assert b"Dora" not in stored
    assert ((data_dir / "iris" / "gallery.key").stat().st_mode & 0o777) == 0o600
    assert ((data_dir / "iris" / "gallery.json").stat().st_mode & 0o777) == 0o600


def test_a_tampered_gallery_is_refused(eyes: dict[str, Path], data_dir: Path) -> None:
    run("enrol", "Eve Example", str(eyes["e1c0"]))
    path = data_dir / "iris" / "gallery.json"
    gallery = json.loads(path.read_text())
    record = gallery["records"][0]
    data = bytearray(base64.b64decode(record["data"]))
    data[5] ^= 1
    record["data"] = base64.b64encode(bytes(data)).decode()
    path.write_text(json.dumps(gallery))
    code, report = run("identify", str(eyes["e1c1"]))
    assert (code, report["reason"]) == (2, "IRIS_GALLERY_DAMAGED")
    path.write_text("{not json")
    code, report = run("identify", str(eyes["e1c1"]))
    assert (code, report["reason"]) == (2, "IRIS_GALLERY_DAMAGED")
