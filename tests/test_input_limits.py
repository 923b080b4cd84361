"""Every command that reads a user-named file or decodes an image refuses bad input with its
reason and exit 2, at once: devices, FIFOs, huge files, decompression bombs, empty files and
images too small or too narrow (`mrz read`, `face compare`, `trust import`, `chip verify DIR`,
and the chip's DG2 image)."""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.emrtd.lds import dg2
from appliance.emrtd.lds.images import decode_image as decode_chip_image
from appliance.errors import LdsError, Reason
from appliance.inputs import MAX_CHIP_FILE_BYTES


def png_bomb(width: int = 32000, height: int = 33000) -> bytes:
    """A real, valid PNG of width × height black grey pixels: about 1 MB for 32000 × 33000.

    Deflate output after a full flush depends only on the input that follows, so the bytes of
    one compressed 256-row block are repeated rather than 1 GB compressed (the zlib checksum
    is computed over the real rows)."""
    rows = bytes((width + 1) * 256)  # 256 rows: a filter byte and black pixels each
    whole, rest = divmod(height, 256)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(rows) + raw.flush(zlib.Z_FULL_FLUSH)
    tail = raw.compress(rows[: rest * (width + 1)]) + raw.flush(zlib.Z_FINISH)
    checksum = 1
    for _ in range(whole):
        checksum = zlib.adler32(rows, checksum)
    checksum = zlib.adler32(rows[: rest * (width + 1)], checksum)
    idat = b"\x78\xda" + block * whole + tail + struct.pack(">I", checksum)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_header_only(width: int, height: int) -> bytes:
    """A tiny file: PNG signature and IHDR chunk claiming width × height, no pixel data."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + crc


def image(width: int, height: int, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, np.full((height, width, 3), 200, np.uint8))
    assert ok
    return bytes(buf.tobytes())


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "page.png"
    path.write_bytes(png_bomb())
    return path


@pytest.fixture
def inputs(tmp_path: Path, bomb: Path) -> dict[str, Path]:
    """One file per kind of bad input, and a good image."""
    files = {
        "empty": tmp_path / "empty.png",
        "header-bomb": tmp_path / "claims-32000x33000.png",
        "thin": tmp_path / "thin.png",
        "tall": tmp_path / "tall.jpg",
        "tiny": tmp_path / "tiny.png",
        "fifo": tmp_path / "pipe.png",
        "good": tmp_path / "good.jpg",
    }
    files["empty"].write_bytes(b"")
    files["header-bomb"].write_bytes(png_header_only(32000, 33000))
    files["thin"].write_bytes(image(20000, 1))
    files["tall"].write_bytes(image(1, 20000, ".jpg"))
    files["tiny"].write_bytes(image(8, 8))
    files["good"].write_bytes(image(320, 240, ".jpg"))
    os.mkfifo(files["fifo"])
    return files | {"bomb": bomb, "zero": Path("/dev/zero"), "missing": tmp_path / "no.png"}


EXPECTED = {
    "empty": "IMAGE_UNREADABLE",
    "header-bomb": "IMAGE_TOO_LARGE",
    "bomb": "IMAGE_TOO_LARGE",
    "thin": "IMAGE_TOO_SMALL",
    "tall": "IMAGE_TOO_SMALL",
    "tiny": "IMAGE_TOO_SMALL",
    "fifo": "FILE_NOT_REGULAR",
    "zero": "FILE_NOT_REGULAR",
    "missing": "FILE_UNREADABLE",
}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


def test_the_bomb_is_a_real_small_png_of_a_gigapixel(bomb: Path) -> None:
    data = png_bomb(320, 1000)  # the same builder, at a size that may be decoded
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (1000, 320) and not decoded.any()
    assert bomb.stat().st_size < 1_200_000


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_mrz_read_refuses_with_the_reason(
    inputs: dict[str, Path], data_dir: Path, kind: str
) -> None:
    started = time.perf_counter()
    code, out = run("mrz", "read", "--json", str(inputs[kind]))
    record = json.loads(out)
    assert (code, record["reason"]) == (2, EXPECTED[kind])
    assert record["status"] == "fail" and record["detail"]
    assert record["timings_ms"]["load"] < 1000  # refused from the header, nothing decoded
    assert time.perf_counter() - started < 20


def test_mrz_read_keeps_going_after_a_refused_image(
    inputs: dict[str, Path], data_dir: Path
) -> None:
    code, out = run("mrz", "read", "--json", str(inputs["zero"]), str(inputs["good"]))
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["reason"] for r in records] == ["FILE_NOT_REGULAR", "MRZ_UNREADABLE"]
    assert code == 2


def test_mrz_read_applies_the_configured_limits(
    inputs: dict[str, Path], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text("[inputs]\nmax_image_pixels = 50000\nmax_image_bytes = 100000\n")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    big = tmp_path / "big.png"
    big.write_bytes(image(300, 200))  # 60000 pixels
    large = tmp_path / "large.bmp"
    large.write_bytes(image(200, 200, ".bmp"))  # 120 kB
    code, out = run("mrz", "read", "--json", str(big), str(large), str(inputs["good"]))
    reasons = [json.loads(line)["reason"] for line in out.splitlines()]
    assert (code, reasons) == (2, ["IMAGE_TOO_LARGE", "FILE_TOO_LARGE", "IMAGE_TOO_LARGE"])


@pytest.mark.timeout(30)
@pytest.mark.parametrize("role", ["reference", "probe"])
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_face_compare_refuses_with_the_reason(
    inputs: dict[str, Path], data_dir: Path, role: str, kind: str
) -> None:
    bad, good = str(inputs[kind]), str(inputs["good"])
    args = (bad, good) if role == "reference" else (good, bad)
    code, out = run("face", "compare", "--json", *args)
    report = json.loads(out)
    assert (code, report["reason"]) == (2, EXPECTED[kind])
    assert report["detail"].startswith(role)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "zero", "missing"])
def test_trust_import_refuses_devices_fifos_and_missing_files(
    inputs: dict[str, Path], data_dir: Path, kind: str
) -> None:
    code, out = run("trust", "import", "--json", str(inputs[kind]))
    assert (code, json.loads(out)["reason"]) == (2, EXPECTED[kind])


def test_trust_import_refuses_a_file_over_the_limit(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.ml"
    with huge.open("wb") as fh:  # sparse: 20 MiB + 1 byte, never written
        fh.truncate(20 * 1024 * 1024 + 1)
    code, out = run("trust", "import", "--json", str(huge))
    assert (code, json.loads(out)["reason"]) == (2, "FILE_TOO_LARGE")
    config = tmp_path / "appliance.toml"
    config.write_text("[inputs]\nmax_trust_file_bytes = 10\n")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    (tmp_path / "small.ml").write_bytes(b"x" * 11)
    code, out = run("trust", "import", "--json", str(tmp_path / "small.ml"))
    assert (code, json.loads(out)["reason"]) == (2, "FILE_TOO_LARGE")


def test_chip_verify_refuses_a_dump_file_over_the_limit(data_dir: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "DG1.bin").write_bytes(b"\x61\x00")
    with (dump / "DG2.bin").open("wb") as fh:
        fh.truncate(MAX_CHIP_FILE_BYTES + 1)
    code, out = run("chip", "verify", "--json", str(dump))
    assert (code, json.loads(out)["reason"]) == (2, "FILE_TOO_LARGE")


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = image(40, 50, ".jpg")
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def test_a_dg2_image_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    started = time.perf_counter()
    with pytest.raises(LdsError) as err:
        decode_chip_image(_jpeg_claiming(60000, 60000))
    assert err.value.reason is Reason.IMAGE_TOO_LARGE
    assert time.perf_counter() - started < 0.5
    small = decode_chip_image(image(40, 50, ".jpg"))
    assert small.shape[:2] == (50, 40)


def test_a_dg2_holding_a_bomb_fails_its_face_image_not_the_process() -> None:
    data = dg2.encode(dg2.for_image(image(240, 320, ".jpg")))
    sof = data.index(b"\xff\xc0")  # the frame header of the JPEG inside the record
    bomb = data[: sof + 5] + struct.pack(">HH", 60000, 60000) + data[sof + 9 :]
    face = dg2.parse(bomb).face
    with pytest.raises(LdsError) as err:
        face.decode()
    assert err.value.reason is Reason.IMAGE_TOO_LARGE
