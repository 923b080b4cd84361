"""The MRZ reader end to end with the shipped ONNX model, on rendered pages (the benchmark's
generator, not the training one), and `appliance mrz read`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from appliance.errors import ApplianceError, Reason
from appliance.mrz.ocr import recognizer
from appliance.mrz.ocr.reader import MrzImageReader
from appliance.mrz.read_command import read as read_command
from hardware_mocks.mrz_frames import camera, render_page, scan

pytestmark = pytest.mark.skipif(
    not recognizer.default_model_file().exists(), reason="models/mrz/mrz_glyphs.onnx not built"
)


@pytest.fixture(scope="module")
def reader() -> MrzImageReader:
    return MrzImageReader()


def page(
    fmt: str, seed: int, dpi: float = 300, with_mrz: bool = True
) -> tuple[np.ndarray, list[str] | None]:
    return render_page(random.Random(seed), fmt, dpi, with_mrz)


@pytest.mark.parametrize(("fmt", "seed"), [("TD3", 1), ("TD1", 2), ("TD2", 3), ("MRV-A", 4)])
def test_a_scanned_data_page_reads_exactly(reader: MrzImageReader, fmt: str, seed: int) -> None:
    flat, truth = page(fmt, seed)
    image = scan(flat, random.Random(seed), np.random.default_rng(seed), 90)
    result = reader.read(image)
    assert result.lines == truth
    assert result.status in ("pass", "warn") and result.reason is Reason.OK
    assert result.layout == fmt
    assert set(result.field_confidence) >= {"document_number", "date_of_birth", "name"}


@pytest.mark.parametrize("upside_down", [False, True])
def test_a_tilted_camera_shot_reads_either_way_up(
    reader: MrzImageReader, upside_down: bool
) -> None:
    flat, truth = page("TD3", 11, dpi=300)
    image = camera(flat, random.Random(5), np.random.default_rng(5), upside_down=upside_down)
    assert reader.read(image).lines == truth


@pytest.mark.parametrize(
    ("fmt", "turn"),
    [
        ("TD3", cv2.ROTATE_90_CLOCKWISE),
        ("TD1", cv2.ROTATE_90_COUNTERCLOCKWISE),
        ("TD2", cv2.ROTATE_90_CLOCKWISE),
    ],
)
def test_a_camera_shot_turned_sideways_reads(reader: MrzImageReader, fmt: str, turn: int) -> None:
    """A phone held in portrait over a landscape page (issue #17): the text runs up or down."""
    flat, truth = page(fmt, 12, dpi=300)
    image = camera(flat, random.Random(6), np.random.default_rng(6), upside_down=True)
    result = reader.read(cv2.rotate(image, turn))
    assert result.lines == truth
    assert result.status in ("pass", "warn")


def test_a_page_without_mrz_reports_none(reader: MrzImageReader) -> None:
    flat, _ = page("TD3", 12, with_mrz=False)
    result = reader.read(scan(flat, random.Random(1), np.random.default_rng(1), 90))
    assert result.lines is None
    assert (result.status, result.reason) == ("fail", Reason.MRZ_UNREADABLE)


def test_blank_and_tiny_images_fail_closed(reader: MrzImageReader) -> None:
    for image in (
        np.zeros((1, 1, 3), np.uint8),
        np.full((480, 640), 255, np.uint8),
        np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8),
    ):
        result = reader.read(image)
        assert result.lines is None and result.reason is Reason.MRZ_UNREADABLE


def test_cli_prints_one_json_line_per_image_and_loads_the_model_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flat, truth = page("TD3", 21)
    good = tmp_path / "page.png"
    cv2.imwrite(str(good), flat)
    empty, _ = page("TD1", 22, with_mrz=False)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), empty)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    loads = []
    original = recognizer.GlyphRecognizer.__init__

    def counting(self: recognizer.GlyphRecognizer, *args: object, **kwargs: object) -> None:
        loads.append(1)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(recognizer.GlyphRecognizer, "__init__", counting)
    result = CliRunner().invoke(
        read_command, [str(good), str(blank), str(broken), str(tmp_path / "missing.png"), "--json"]
    )
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(loads) == 1
    assert [r["image"] for r in records] == [
        str(good),
        str(blank),
        str(broken),
        str(tmp_path / "missing.png"),
    ]
    first = records[0]
    assert first["lines"] == truth and first["status"] in ("pass", "warn")
    assert first["format"] == "TD3" and first["fields"]["document_number"]
    assert {"document_number", "date_of_birth"} <= set(first["confidence"])
    assert first["timings_ms"]["total"] > 0
    assert (records[1]["lines"], records[1]["reason"]) == (None, "MRZ_UNREADABLE")
    assert records[2]["reason"] == "IMAGE_UNREADABLE"
    assert records[3]["reason"] == "FILE_UNREADABLE"
    assert result.exit_code == 2  # an unreadable file is a fault


def test_cli_exit_code_is_0_when_every_image_is_read(tmp_path: Path) -> None:
    flat, truth = page("TD1", 31)
    path = tmp_path / "card.png"
    cv2.imwrite(str(path), flat)
    result = CliRunner().invoke(read_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert truth[0] in result.output


def test_a_model_file_that_does_not_match_the_manifest_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mrz").mkdir()
    model = recognizer.default_model_file().read_bytes()
    (tmp_path / "mrz" / "mrz_glyphs.onnx").write_bytes(model[:-1] + bytes([model[-1] ^ 1]))
    manifest = json.loads(
        (recognizer.default_model_file().parents[1] / "manifest.json").read_text()
    )
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("APPLIANCE_MODELS_DIR", str(tmp_path))
    with pytest.raises(ApplianceError) as caught:
        MrzImageReader()
    assert caught.value.reason is Reason.MODEL_UNAVAILABLE
    result = CliRunner().invoke(read_command, [str(tmp_path / "any.png"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["reason"] == "MODEL_UNAVAILABLE"
