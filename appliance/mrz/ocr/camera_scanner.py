"""The MRZ read from a camera (gate or handheld): frames fused until the read is confident.

One camera frame often has glare or motion blur over a few characters, so the camera path
never trusts a single frame by default: it reads frames through `fusion.read_until_confident`
(per-character voting, or two frames agreeing exactly) and keeps how many it needed, which
the MRZ step reports (`frames`). A camera that fails, or a time limit reached before any
confident read, gives no lines: the step then refuses (MRZ_UNREADABLE), failing closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import cast

import numpy as np
import numpy.typing as npt

from appliance.mrz.ocr.fusion import read_until_confident
from appliance.mrz.ocr.reader import MrzImageReader, MrzRead, unreadable
from appliance.ports import Camera, CameraError

log = logging.getLogger("appliance.mrz")

#: frames that must agree (or fuse to a passing read) before the camera's MRZ is trusted
MIN_FRAMES = 2
#: frames read at most per document before giving up (the traveller re-places the page)
MAX_FRAMES = 8


class CameraMrzScanner:
    """An `MrzScanner` (appliance.ports) over a camera: `lines` reads one document's MRZ.

    `fuse=False` trusts the first frame that passes on its own (one frame: the old, riskier
    behaviour, kept for comparison); the default fuses. `last` is the latest read, with
    `frames` the number of frames it took; `frames_used` the same, for the MRZ step's report.
    """

    def __init__(
        self,
        camera: Camera,
        reader: MrzImageReader,
        *,
        fuse: bool = True,
        min_frames: int = MIN_FRAMES,
        max_frames: int = MAX_FRAMES,
    ) -> None:
        self.camera = camera
        self.reader = reader
        self.fuse = fuse
        self.min_frames = min_frames if fuse else 1
        self.max_frames = max_frames
        self.last: MrzRead | None = None

    @property
    def frames_used(self) -> int | None:
        """Frames the latest read took (None before any read)."""
        return self.last.frames if self.last is not None else None

    def read(self, timeout_s: float) -> MrzRead:
        """One document's MRZ from the camera, within `timeout_s` (at least one frame is read)."""
        deadline = time.monotonic() + timeout_s
        seen = 0

        def images() -> Iterator[npt.NDArray[np.uint8]]:
            nonlocal seen
            for frame in self.camera.frames():
                seen += 1
                yield cast(npt.NDArray[np.uint8], np.asarray(frame.image, np.uint8))
                if time.monotonic() >= deadline:
                    return

        try:
            result = read_until_confident(
                images(), self.reader, min_frames=self.min_frames, max_frames=self.max_frames
            )
        except CameraError as exc:  # the device went away mid-read: no lines, fail closed
            log.warning("MRZ camera failed", extra={"error": type(exc).__name__})
            result = replace(unreadable(["camera_error"]), frames=seen)
        self.last = result
        return result

    def lines(self, timeout_s: float) -> list[str] | None:
        """The MRZ lines when the camera read them with confidence (or read exactly lines whose
        printed check digit is wrong: the step's parser then refuses them); else None."""
        return self.read(timeout_s).lines

    def close(self) -> None:
        self.camera.close()
