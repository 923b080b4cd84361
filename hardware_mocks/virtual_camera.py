"""A virtual camera behind `appliance.ports.Camera`: plays image sequences or video files.

Timestamps are synthetic (start + i / fps) so that time limits (liveness challenges) behave the
same on a loaded test machine; `disconnect_after` makes the device vanish mid-stream as a
pulled USB cable would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.ports import CameraError, Frame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def load_sequence(path: Path) -> list[NDArray[np.uint8]]:
    """Frames of a video file, or the images of a folder in name order."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in files]
        return [np.asarray(f, np.uint8) for f in images if f is not None]
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(np.asarray(image, np.uint8))
    finally:
        capture.release()
    if not frames:
        raise CameraError(f"no frames in {path.name}")
    return frames


class VirtualCamera:
    def __init__(
        self,
        source: Sequence[NDArray[np.uint8]] | Path,
        fps: float = 15.0,
        loop: bool = False,
        start_s: float = 0.0,
        disconnect_after: int | None = None,
    ) -> None:
        self._frames = load_sequence(source) if isinstance(source, Path) else list(source)
        self.fps = fps
        self.loop = loop
        self.start_s = start_s
        self.disconnect_after = disconnect_after
        self._closed = False

    def frames(self) -> Iterator[Frame]:
        if self._closed:
            raise CameraError("virtual camera closed")
        if not self._frames:
            raise CameraError("virtual camera has no frames")
        index = 0
        while not self._closed:
            if self.disconnect_after is not None and index >= self.disconnect_after:
                raise CameraError("virtual camera disconnected")
            if index >= len(self._frames) and not self.loop:
                return
            image = self._frames[index % len(self._frames)]
            yield Frame(image=image.copy(), timestamp_s=self.start_s + index / self.fps)
            index += 1

    def close(self) -> None:
        self._closed = True
