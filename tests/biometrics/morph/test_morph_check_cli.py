"""`appliance morph check`: one JSON object, exit codes 0/1/2, a clear reason for bad input."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size, token_image
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.cli import cli
from tests.support.face_support import FACES, chip_reference, photo, verifier

__all__ = ["verifier"]

DECIDED = {"OK", "MORPH_SUSPECTED"}


def run(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["morph", "check", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, verifier: FaceVerifier) -> Path:
    path = tmp_path_factory.mktemp("morph") / "reference.jpg"
    path.write_bytes(chip_reference(verifier, "obama/obama.jpg", TokenFormat.JPEG))
    return path


def test_single_and_differential_reports(reference: Path, data_dir: Path) -> None:
    code, single = run(str(reference))
    assert single["mode"] == "single" and single["reason"] in DECIDED
    assert code == (0 if single["reason"] == "OK" else 1)
    assert single["status"] == ("pass" if code == 0 else "fail")
    assert 0.0 <= float(single["score"]) <= 1.0  # type: ignore[arg-type]
    assert set(single["timings_ms"]) >= {"decode", "analyse", "score", "total"}  # type: ignore[arg-type]
    code, diff = run(str(reference), "--live", str(FACES / "obama/obama-480p.jpg"))
    assert diff["mode"] == "differential" and diff["reason"] in DECIDED
    assert code == (0 if diff["reason"] == "OK" else 1)


def test_jpeg2000_reference_is_read(tmp_path: Path, verifier: FaceVerifier, data_dir: Path) -> None:
    jp2 = tmp_path / "reference.jp2"
    jp2.write_bytes(chip_reference(verifier, "biden/biden.jpg", TokenFormat.JPEG2000))
    code, report = run(str(jp2))
    assert report["reason"] in DECIDED and code in (0, 1)


def test_grayscale_and_cmyk_jpegs_are_checked(
    tmp_path: Path, verifier: FaceVerifier, data_dir: Path
) -> None:
    image = photo("obama/obama.jpg")
    token = token_image(image, verifier.detector.detect(image)[0])
    rgb = Image.fromarray(token[:, :, ::-1])
    grey, cmyk = tmp_path / "grey.jpg", tmp_path / "cmyk.jpg"
    rgb.convert("L").save(grey, quality=85)
    rgb.convert("CMYK").save(cmyk, quality=85)
    for path in (grey, cmyk):
        code, report = run(str(path))
        assert report["reason"] in DECIDED, (path.name, report)
        assert code in (0, 1)


def _png(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height (the pixels are never decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


@pytest.mark.parametrize(
    ("make", "reason", "code"),
    [
        (lambda p: cv2.imwrite(str(p), np.full((480, 360, 3), 128, np.uint8)), "FACE_NOT_FOUND", 1),
        (lambda p: cv2.imwrite(str(p), np.zeros((12, 12, 3), np.uint8)), "IMAGE_TOO_SMALL", 2),
        (lambda p: p.write_bytes(_png(60_000, 60_000)), "IMAGE_TOO_LARGE", 2),
        (lambda p: p.write_bytes(b"not an image at all"), "IMAGE_UNREADABLE", 2),
        (lambda p: p.write_bytes(b""), "IMAGE_UNREADABLE", 2),
    ],
)
def test_bad_references_have_a_reason_not_a_traceback(
    tmp_path: Path, make: object, reason: str, code: int, data_dir: Path
) -> None:
    path = tmp_path / "bad.png"
    make(path)  # type: ignore[operator]
    got, report = run(str(path))
    assert (got, report["reason"], report["status"]) == (code, reason, "fail")
    assert report["subject"] == "reference"


def test_two_faces_in_the_portrait_is_a_face_reason(
    tmp_path: Path, verifier: FaceVerifier, data_dir: Path
) -> None:
    tokens = []
    for name in ("obama/obama.jpg", "biden/biden.jpg"):
        image = photo(name)
        tokens.append(token_image(image, verifier.detector.detect(image)[0]))
    path = tmp_path / "two.jpg"
    path.write_bytes(encode_to_size(np.hstack(tokens), TokenFormat.JPEG, 40_000))
    code, report = run(str(path))
    assert (code, report["reason"]) == (1, "FACE_QUALITY")


def test_truncated_reference_never_crashes(reference: Path, tmp_path: Path, data_dir: Path) -> None:
    data = reference.read_bytes()
    for cut in (20, len(data) // 3, len(data) // 2):
        path = tmp_path / f"cut{cut}.jpg"
        path.write_bytes(data[:cut])
        code, report = run(str(path))
        assert code in (0, 1, 2)
        assert report["reason"] in DECIDED | {"IMAGE_UNREADABLE", "FACE_NOT_FOUND", "FACE_QUALITY"}


def test_bad_live_image_is_reported_for_the_live_side(
    reference: Path, tmp_path: Path, data_dir: Path
) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 90, np.uint8))
    code, report = run(str(reference), "--live", str(blank))
    assert (code, report["reason"], report["subject"]) == (1, "FACE_NOT_FOUND", "live")
    assert report["mode"] == "differential"


def test_missing_file_and_directory_exit_2(tmp_path: Path, data_dir: Path) -> None:
    code, report = run(str(tmp_path / "nothing.jpg"))
    assert (code, report["reason"]) == (2, "FILE_UNREADABLE")
    result = CliRunner().invoke(cli, ["morph", "check", str(tmp_path), "--json"])
    assert result.exit_code == 2 and "is a directory" in result.output  # usage error, no trace


def test_plain_output_is_one_line_and_timings(reference: Path, data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["morph", "check", str(reference)])
    first = result.output.splitlines()[0]
    assert first.startswith(("pass: OK (single)", "fail: MORPH_SUSPECTED (single)"))
