"""A simulated near-infrared iris camera behind `appliance.ports.Camera`.

The lane's iris step opens the iris camera for each traveller and reads frames until one
passes the quality gate (`appliance.biometrics.iris.verifier`). This camera shows one eye:
fresh synthetic captures of identity `identity` (`hardware_mocks.iris_synth`), never the
enrolment capture 0 the chip's DG4 holds, so a genuine holder is matched across captures
(rotation, dilation, lids, defocus all differ) and an impostor shows another identity's eye.
`blinks` makes the first frames closed eyes (the verifier must skip them); like the real
driver (OpenCV on V4L2) it delivers BGR frames with equal channels unless `gray`. Rendering a
synthetic eye takes a few hundred milliseconds, which a real camera does not spend:
`prepare()` renders the first frames ahead (the simulator does so when it makes the
traveller) so the lane's iris step times the recognition, not the simulation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from appliance.ports import CameraError, Frame
from hardware_mocks.iris_synth import IrisSynth

#: the capture numbers a live camera draws from (capture 0 is the chip's enrolment image)
FIRST_LIVE_CAPTURE = 1


class VirtualIrisCamera:
    """Frames of one eye: the synthetic `captures` of `identity`, then the stream ends;
    `variation` fixes what `IrisSynth.capture` would draw (upper_lid=0.2: a closed eye)."""

    def __init__(
        self,
        identity: int,
        *,
        captures: tuple[int, ...] = (1, 2, 3),
        blinks: int = 0,
        gray: bool = False,
        fps: float = 30.0,
        **variation: float,
    ) -> None:
        if 0 in captures:
            raise ValueError("capture 0 is the enrolment image on the chip, not a live one")
        self.identity = identity
        self.captures = captures
        self.blinks = blinks
        self.gray = gray
        self.fps = fps
        self.variation = variation
        self._closed = False
        self._rendered: dict[int, NDArray[np.uint8]] = {}

    @classmethod
    def for_session(cls, identity: int, session: int, frames: int = 3) -> VirtualIrisCamera:
        """The camera of one passage: captures no other passage of this eye sees."""
        first = FIRST_LIVE_CAPTURE + session * frames
        return cls(identity, captures=tuple(range(first, first + frames)))

    def _render(self, index: int) -> NDArray[np.uint8]:
        if index not in self._rendered:
            variation = dict(self.variation)
            if index < self.blinks:
                variation.update(upper_lid=0.12, lower_lid=0.15)
            image, _ = IrisSynth(self.identity).capture(self.captures[index], **variation)  # type: ignore[arg-type]
            self._rendered[index] = image if self.gray else np.repeat(image[:, :, None], 3, 2)
        return self._rendered[index]

    def prepare(self, frames: int = 1) -> VirtualIrisCamera:
        """Render the first `frames` frames now."""
        for index in range(min(frames, len(self.captures))):
            self._render(index)
        return self

    def frames(self) -> Iterator[Frame]:
        if self._closed:
            raise CameraError("virtual iris camera closed")
        for index in range(len(self.captures)):
            if self._closed:
                return
            yield Frame(image=self._render(index).copy(), timestamp_s=index / self.fps)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True


def open_virtual_iris_camera(identity: int = 0) -> VirtualIrisCamera:
    """Factory for `[iris] camera` (no arguments in the config): the specimen traveller's eye."""
    return VirtualIrisCamera(identity)


__all__ = ["FIRST_LIVE_CAPTURE", "VirtualIrisCamera", "open_virtual_iris_camera"]
