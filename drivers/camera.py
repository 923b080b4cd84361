"""Camera driver: OpenCV on V4L2, behind `appliance.ports.Camera`.

Opens the configured device (an index or a /dev/video* path), yields timestamped BGR frames,
and raises `CameraError` (never hangs, never returns garbage) when the device is missing or
disappears mid-stream. `burst()` takes a short run of frames; `best_frame()` picks the one a
caller-supplied quality score likes best (the score lives in appliance/biometrics, which the
driver does not import).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import cv2
import numpy as np

from appliance.ports import CameraError, Frame


class _Capture(Protocol):
    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, Any]: ...

    def set(self, prop: int, value: float) -> bool: ...

    def release(self) -> None: ...


def _v4l2_capture(device: int | str) -> _Capture:
    return cv2.VideoCapture(device, cv2.CAP_V4L2)


def parse_device(device: str) -> int | str:
    """ "0" -> 0 (index), "/dev/video0" -> the path."""
    return int(device) if device.isdigit() else device


def open_camera(device: str = "0") -> OpenCVCamera:
    """The configured camera (`[face] camera`: an index or a /dev/video* path), opened."""
    camera = OpenCVCamera(parse_device(device))
    camera.open()
    return camera


class OpenCVCamera:
    """A V4L2 camera. `max_failed_reads` consecutive failed reads mean it is gone."""

    def __init__(
        self,
        device: int | str = 0,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        max_failed_reads: int = 5,
        capture_factory: Callable[[int | str], _Capture] = _v4l2_capture,
    ) -> None:
        self.device = device
        self._settings = {
            cv2.CAP_PROP_FRAME_WIDTH: float(width),
            cv2.CAP_PROP_FRAME_HEIGHT: float(height),
            cv2.CAP_PROP_FPS: float(fps),
            cv2.CAP_PROP_BUFFERSIZE: 1.0,  # newest frame, not a stale queue
        }
        self._max_failed = max_failed_reads
        self._factory = capture_factory
        self._cap: _Capture | None = None

    def open(self) -> None:
        if self._cap is not None:
            return
        try:
            cap = self._factory(self.device)
        except cv2.error as exc:
            raise CameraError(f"camera {self.device!s} could not be opened") from exc
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"camera {self.device!s} not found or busy")
        for prop, value in self._settings.items():
            cap.set(prop, value)
        self._cap = cap

    def frames(self) -> Iterator[Frame]:
        self.open()
        failed = 0
        while self._cap is not None:
            ok, image = self._cap.read()
            if not ok or image is None or getattr(image, "size", 0) == 0:
                failed += 1
                if failed >= self._max_failed:
                    self.close()
                    raise CameraError(f"camera {self.device!s} disconnected (no frames)")
                continue
            failed = 0
            yield Frame(image=np.ascontiguousarray(image), timestamp_s=time.monotonic())

    def burst(self, count: int) -> list[Frame]:
        """The next `count` frames."""
        out: list[Frame] = []
        for frame in self.frames():
            out.append(frame)
            if len(out) >= count:
                break
        return out

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def best_frame(frames: Iterable[Frame], score: Callable[[Frame], float | None]) -> Frame | None:
    """The frame with the highest score; frames scored None (no usable face) never win."""
    best: tuple[float, Frame] | None = None
    for frame in frames:
        value = score(frame)
        if value is not None and (best is None or value > best[0]):
            best = (value, frame)
    return best[1] if best else None
