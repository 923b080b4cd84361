"""The MRZ read on a camera (issue #17 item 5): frame fusion by default, and how many frames
the read took, in the scanner, the lane's MRZ step, the station's camera port, the handheld
check (`appliance check --mrz-camera`) and `mrz read`."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.config import Config
from appliance.errors import Reason
from appliance.inspection import steps
from appliance.inspection.station import PcscStation
from appliance.mrz.ocr import recognizer
from appliance.mrz.ocr.camera_scanner import CameraMrzScanner
from appliance.mrz.ocr.reader import MrzImageReader
from appliance.mrz.read_command import read as read_command
from appliance.ports import Camera, FramedMrzScanner
from hardware_mocks.mrz_frames import burst, camera, render_page
from hardware_mocks.virtual_camera import VirtualCamera
from tests.support.check_support import MRZ, provisioned, restore_logging, write_config

pytestmark = pytest.mark.skipif(
    not recognizer.default_model_file().exists(), reason="models/mrz/mrz_glyphs.onnx not built"
)


@pytest.fixture(scope="module")
def reader() -> MrzImageReader:
    return MrzImageReader(threads=1)


def _shots(seed: int, count: int) -> tuple[list[np.ndarray], list[str]]:
    """`count` good camera shots of one TD3 page (each reads on its own)."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    page, lines = render_page(rng, "TD3", 300)
    assert lines is not None
    shots = [camera(page, rng, nrng) for _ in range(count)]
    return [cv2.cvtColor(s, cv2.COLOR_GRAY2BGR) for s in shots], lines


def test_the_camera_path_fuses_frames_by_default_and_says_how_many(
    reader: MrzImageReader,
) -> None:
    frames, truth = _shots(3, 5)
    scanner = CameraMrzScanner(VirtualCamera(frames), reader)
    assert isinstance(scanner, FramedMrzScanner)
    assert scanner.lines(10.0) == truth
    # one good frame is not enough: a second one must agree before the read is trusted
    assert scanner.frames_used == 2
    assert scanner.last is not None and scanner.last.status == "pass"


def test_a_single_frame_is_trusted_only_when_fusion_is_turned_off(
    reader: MrzImageReader,
) -> None:
    frames, truth = _shots(3, 5)
    scanner = CameraMrzScanner(VirtualCamera(frames), reader, fuse=False)
    assert scanner.lines(10.0) == truth and scanner.frames_used == 1


def test_a_harsh_burst_reads_exactly_or_not_at_all(reader: MrzImageReader) -> None:
    for seed in range(3):
        shots, truth = burst(random.Random(seed), np.random.default_rng(seed), 6)
        scanner = CameraMrzScanner(VirtualCamera(shots), reader, max_frames=6)
        lines = scanner.lines(30.0)
        assert lines in (None, truth)  # never a wrong MRZ
        assert scanner.frames_used is not None and 1 <= scanner.frames_used <= 6


def test_a_camera_that_goes_away_gives_no_lines(reader: MrzImageReader) -> None:
    empty, _ = render_page(random.Random(4), "TD1", 300, False)
    cam = VirtualCamera([cv2.cvtColor(empty, cv2.COLOR_GRAY2BGR)], loop=True, disconnect_after=3)
    scanner = CameraMrzScanner(cam, reader)
    assert scanner.lines(10.0) is None
    assert scanner.last is not None and scanner.last.reason is Reason.MRZ_UNREADABLE
    assert "camera_error" in scanner.last.flags and scanner.frames_used == 3


def test_a_time_limit_stops_the_read_after_one_frame(reader: MrzImageReader) -> None:
    empty, _ = render_page(random.Random(4), "TD1", 300, False)
    cam = VirtualCamera([cv2.cvtColor(empty, cv2.COLOR_GRAY2BGR)], loop=True)
    scanner = CameraMrzScanner(cam, reader)
    assert scanner.lines(0.0) is None and scanner.frames_used == 1


class _Framed:
    """A camera scanner as the MRZ step sees it (no model needed)."""

    def __init__(self, lines: list[str] | None, frames: int) -> None:
        self._lines, self.frames = lines, frames

    def lines(self, timeout_s: float) -> list[str] | None:
        return self._lines

    @property
    def frames_used(self) -> int | None:
        return self.frames


TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]


@pytest.mark.parametrize(("lines", "status"), [(TD3, "pass"), (None, "fail")])
def test_the_mrz_step_reports_the_frames_the_camera_needed(
    lines: list[str] | None, status: str
) -> None:
    lane = SimpleNamespace(mrz_timeout_s=1.0)
    tx = steps.Transaction(None, _Framed(lines, 3))  # type: ignore[arg-type]
    outcome = steps.mrz(lane, tx)  # type: ignore[arg-type]
    assert outcome.status.value == status
    assert outcome.facts["frames"] == 3


def test_a_swipe_reader_step_has_no_frames() -> None:
    class Swipe:
        def lines(self, timeout_s: float) -> list[str] | None:
            return TD3

    outcome = steps.mrz(SimpleNamespace(mrz_timeout_s=1.0), steps.Transaction(None, Swipe()))  # type: ignore[arg-type]
    assert outcome.status.value == "pass" and "frames" not in outcome.facts


_PLAYED: list[np.ndarray] = []


def virtual_mrz_camera(device: str) -> Camera:
    """`hardware.camera` for the station test: plays `_PLAYED`."""
    assert device == "/dev/video7"
    return VirtualCamera(list(_PLAYED))


def test_the_station_reads_the_mrz_on_a_camera_port_with_fusion() -> None:
    frames, truth = _shots(5, 4)
    _PLAYED[:] = frames
    config = Config.model_validate(
        {
            "inspection": {"mrz_port": "camera:/dev/video7"},
            "hardware": {"camera": f"{__name__}:virtual_mrz_camera"},
        }
    )
    scanner = PcscStation(config)._scanner_port()
    assert isinstance(scanner, FramedMrzScanner)
    assert scanner.lines(10.0) == truth and scanner.frames_used == 2


def test_cli_reads_a_burst_as_one_document_and_reports_frames(tmp_path: Path) -> None:
    frames, truth = _shots(7, 4)
    paths = []
    for i, frame in enumerate(frames):
        paths.append(tmp_path / f"frame{i}.jpg")
        cv2.imwrite(str(paths[-1]), frame)
    result = CliRunner().invoke(read_command, [*map(str, paths), "--burst", "--json"])
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 1, result.output
    assert records[0]["lines"] == truth and records[0]["frames"] == 2
    assert result.exit_code == 0
    single = CliRunner().invoke(read_command, [str(paths[0]), "--json"])
    assert json.loads(single.output)["frames"] == 1


def holder_camera(device: str) -> Camera:
    """`hardware.camera` of the handheld test: camera shots of the specimen holder's page."""
    rng, nrng = random.Random(8), np.random.default_rng(8)
    page, _ = render_page(rng, "TD3", 300, lines=list(MRZ))
    return VirtualCamera(
        [cv2.cvtColor(camera(page, rng, nrng), cv2.COLOR_GRAY2BGR) for _ in "abcd"]
    )


def blank_camera(device: str) -> Camera:
    """A camera that sees a page without an MRZ."""
    page, _ = render_page(random.Random(9), "TD3", 300, False)
    return VirtualCamera([cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)] * 4)


@pytest.fixture
def _logging_restored() -> Iterator[None]:
    yield
    restore_logging()


def _check_on(camera_factory: str, data_dir: Path, tmp_path: Path) -> tuple[int, dict[str, object]]:
    provisioned(data_dir)
    config = write_config(
        tmp_path / "camera.toml",
        f'[face]\ncamera = "0"\n[hardware]\ncamera = "{__name__}:{camera_factory}"\n'
        'virtual_card = "hardware_mocks.virtual_chip.transport:open_virtual"\n',
    )
    result = CliRunner(env={"APPLIANCE_CONFIG": str(config)}).invoke(
        cli, ["check", "--reader", "virtual", "--mrz-camera", "--json"]
    )
    out: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, out


def _mrz_step(out: dict[str, object]) -> dict[str, object]:
    report = out["report"]
    assert isinstance(report, dict)
    step: dict[str, object] = next(s for s in report["steps"] if s["name"] == "mrz")
    return step


@pytest.mark.usefixtures("_logging_restored")
def test_a_handheld_check_reads_the_mrz_on_the_camera_with_fusion(
    data_dir: Path, tmp_path: Path
) -> None:
    code, out = _check_on("holder_camera", data_dir, tmp_path)
    assert code == 0, out
    assert out["decision"] == "ADVISE"
    step = _mrz_step(out)
    assert step["status"] == "pass" and step["facts"] == {"format": "TD3", "frames": 2}


@pytest.mark.usefixtures("_logging_restored")
def test_a_handheld_camera_that_reads_no_mrz_refers(data_dir: Path, tmp_path: Path) -> None:
    code, out = _check_on("blank_camera", data_dir, tmp_path)
    assert code == 1, out
    step = _mrz_step(out)
    assert step["status"] == "fail" and step["reason"] == "MRZ_UNREADABLE"
    assert step["facts"] == {"frames": 4}
    assert out["decision"] == "REFER"


@pytest.mark.usefixtures("_logging_restored")
def test_mrz_camera_on_a_virtual_config_is_refused(data_dir: Path) -> None:
    provisioned(data_dir)
    result = CliRunner().invoke(cli, ["check", "--reader", "virtual", "--mrz-camera", "--json"])
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["reason"] == "CAMERA_UNAVAILABLE"
