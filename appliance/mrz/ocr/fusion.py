"""Fuse the reads of several camera frames of the same document by per-character voting.

A single frame may catch glare or motion blur over a few characters. Per position, each
frame's probabilities vote with a weight that grows steeply with that frame's confidence
there, so one clear view of a character outvotes several damaged ones (a plain average would
let a glare-hit frame dilute every clear one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from appliance.mrz.ocr.decode import decode
from appliance.mrz.ocr.layout import Layout
from appliance.mrz.ocr.reader import MrzImageReader, MrzRead, result_of, unreadable
from appliance.mrz.ocr.verdict import verdict

_SHARPNESS = 4.0  # vote weight = (frame's top probability at the position) ** _SHARPNESS


def fuse(frames: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """(lines, length, classes) outputs of several frames -> one fused output."""
    stack = np.stack(frames).astype(np.float64)
    weights = stack.max(axis=-1, keepdims=True) ** _SHARPNESS
    fused: npt.NDArray[np.float32] = (
        (stack * weights).sum(axis=0) / np.maximum(weights.sum(axis=0), 1e-12)
    ).astype(np.float32)
    return fused


class FrameFuser:
    """Feed frames with `add`; `confident` turns true once the fused read can be trusted."""

    def __init__(self, reader: MrzImageReader, min_frames: int = 2, max_frames: int = 8) -> None:
        self.reader = reader
        self.min_frames = min_frames
        self.max_frames = max_frames
        self._frames: defaultdict[str, list[npt.NDArray[np.float32]]] = defaultdict(list)
        self._layouts: dict[str, Layout] = {}
        self._passes: Counter[tuple[str, ...]] = Counter()
        self._agreed = False
        self.result: MrzRead = unreadable(["no_frames"])

    @property
    def frames_used(self) -> int:
        return max((len(f) for f in self._frames.values()), default=0)

    @property
    def confident(self) -> bool:
        """A fused read that passes every check with no doubt, seen in enough frames, or as
        many frames that passed on their own with the very same lines."""
        if self._agreed:
            return True
        return self.result.status == "pass" and self.frames_used >= self.min_frames

    def add(self, image: npt.NDArray[np.uint8]) -> MrzRead:
        """Read one more frame and return the fused result so far.

        Frames that each pass on their own and agree exactly settle it too: one frame ruined by
        glare or a misplaced grid can otherwise drag the fused vote into doubt."""
        single = self.reader.read(image)
        if single.status == "pass" and single.lines is not None:
            self._passes[tuple(single.lines)] += 1
            if self._passes[tuple(single.lines)] >= self.min_frames:
                self.result = single
                self._agreed = True
                return single
        if single.decoded is not None:
            name = single.decoded.layout.name
            frames = self._frames[name]
            frames.append(single.decoded.raw)
            del frames[: -self.max_frames]  # the document may have moved: keep recent frames
            self._layouts[name] = single.decoded.layout
        if not self._frames:
            self.result = single
            return single
        name = max(self._frames, key=lambda k: len(self._frames[k]))
        decoded = decode(fuse(self._frames[name]), self._layouts[name])
        self.result = result_of(decoded, verdict(decoded))
        self.result.timings_ms.update(single.timings_ms)
        return self.result


def read_until_confident(
    frames: Iterable[npt.NDArray[np.uint8]],
    reader: MrzImageReader,
    min_frames: int = 2,
    max_frames: int = 8,
) -> MrzRead:
    """Consume camera frames until the fused read is confident or `max_frames` were seen.

    Returns the fused result with `frames`, how many frames it read; if never confident,
    whatever it says (typically `MRZ_UNREADABLE`, so the kiosk asks for the document to be
    placed again).
    """
    fuser = FrameFuser(reader, min_frames=min_frames, max_frames=max_frames)
    count = 0
    for count, frame in enumerate(frames, start=1):
        fuser.add(frame)
        if fuser.confident or count >= max_frames:
            break
    return replace(fuser.result, frames=count)
