"""Camera driver (OpenCV/V4L2) and the virtual camera behind the same port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from appliance.ports import CameraError, Frame
from drivers.camera import OpenCVCamera, best_frame, parse_device
from hardware_mocks.virtual_camera import VirtualCamera


class FakeCapture:
    """Stands in for cv2.VideoCapture: delivers `good` frames, then fails every read."""

    def __init__(self, good: int, opened: bool = True) -> None:
        self.good = good
        self.opened = opened
        self.released = False
        self.props: dict[int, float] = {}

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, Any]:
        if self.good <= 0:
            return False, None
        self.good -= 1
        return True, np.full((48, 64, 3), self.good, np.uint8)

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def release(self) -> None:
        self.released = True


def test_burst_returns_frames_with_settings_applied() -> None:
    fake = FakeCapture(good=10)
    camera = OpenCVCamera("/dev/video0", width=640, height=480, capture_factory=lambda d: fake)
    frames = camera.burst(4)
    assert len(frames) == 4
    assert all(f.image.shape == (48, 64, 3) for f in frames)  # type: ignore[attr-defined]
    assert fake.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
    camera.close()
    assert fake.released


def test_unplugged_camera_raises_instead_of_hanging() -> None:
    fake = FakeCapture(good=2)
    camera = OpenCVCamera(0, max_failed_reads=3, capture_factory=lambda d: fake)
    with pytest.raises(CameraError, match="disconnected"):
        list(camera.frames())
    assert fake.released


def test_missing_camera_is_reported() -> None:
    with pytest.raises(CameraError, match="not found"):
        OpenCVCamera(0, capture_factory=lambda d: FakeCapture(0, opened=False)).open()
    with pytest.raises(CameraError):
        OpenCVCamera("/dev/video-none-here").open()  # the real V4L2 backend, no such device


def test_device_parsing() -> None:
    assert parse_device("2") == 2
    assert parse_device("/dev/video0") == "/dev/video0"


def test_best_frame_uses_the_score_and_skips_unusable_frames() -> None:
    frames = [Frame(image=np.zeros((2, 2, 3), np.uint8), timestamp_s=float(i)) for i in range(5)]
    scores = {0.0: None, 1.0: 0.2, 2.0: 0.9, 3.0: None, 4.0: 0.5}
    best = best_frame(frames, lambda f: scores[f.timestamp_s])
    assert best is not None and best.timestamp_s == 2.0
    assert best_frame(frames, lambda f: None) is None


def test_virtual_camera_plays_images_with_steady_timestamps() -> None:
    images = [np.full((20, 30, 3), i, np.uint8) for i in range(3)]
    frames = list(VirtualCamera(images, fps=10.0).frames())
    assert [f.timestamp_s for f in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2]  # type: ignore[index]


def test_virtual_camera_disconnects_mid_stream() -> None:
    camera = VirtualCamera([np.zeros((8, 8, 3), np.uint8)], loop=True, disconnect_after=5)
    got = []
    with pytest.raises(CameraError):
        for frame in camera.frames():
            got.append(frame)
    assert len(got) == 5


def test_virtual_camera_plays_a_video_file_and_a_folder(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (64, 48))
    assert writer.isOpened()
    for i in range(6):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    assert len(list(VirtualCamera(video).frames())) == 6

    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((10, 10, 3), i, np.uint8))
    assert len(list(VirtualCamera(folder).frames())) == 3


def test_burst_best_frame_by_the_face_quality_score() -> None:
    from appliance.biometrics.face.verifier import FaceVerifier
    from tests.support.face_support import photo

    verifier = FaceVerifier.load()
    sharp = photo("person01/img1.jpg")
    blurred = cv2.GaussianBlur(sharp, (0, 0), 9)
    blank = np.full_like(sharp, 100)
    frames = VirtualCamera([blank, blurred, sharp, blurred]).frames()
    best = best_frame(frames, lambda f: verifier.frame_quality(f.image))  # type: ignore[arg-type]
    assert best is not None and best.timestamp_s == pytest.approx(2 / 15)


def test_missing_camera_via_the_configured_device() -> None:
    from drivers.camera import open_camera

    with pytest.raises(CameraError):
        open_camera("/dev/video-none-here")
