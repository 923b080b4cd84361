"""Face embeddings through onnxruntime (model loaded once per process).

`embed` is the model's own embedding (the morph detectors were trained on it). `embed_for_match`
is what 1:1 verification compares: with the manifest's `test_time_flip` set, each chip and its
mirror image are embedded in one batch and the two unit vectors averaged. The model is not
mirror-symmetric, so the average removes part of its left/right noise (measured on LFW by
benchmarks/face_candidates.py); the thresholds in the manifest are calibrated for that
comparison, so the flag travels with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from appliance.models import load_session, manifest_entry

EMBEDDER_MODEL = "face_embedder"


def _unit(raw: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(raw, axis=-1, keepdims=True)
    result: NDArray[np.float32] = (raw / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


class FaceEmbedder:
    def __init__(self, session: ort.InferenceSession, test_time_flip: bool = False) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.test_time_flip = test_time_flip

    @classmethod
    def from_models_dir(cls, directory: Path | None = None) -> FaceEmbedder:
        flip = bool(manifest_entry(EMBEDDER_MODEL, directory).get("test_time_flip", False))
        return cls(load_session(EMBEDDER_MODEL, directory), flip)

    def _raw(self, chips_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        batch = chips_rgb.astype(np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        return np.asarray(self._session.run(None, {self._input: batch})[0], dtype=np.float32)

    def embed(self, chips_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        """L2-normalised embeddings of (N,150,150,3) RGB chips."""
        return _unit(self._raw(chips_rgb))

    def embed_for_match(self, chips_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The embeddings 1:1 verification compares (see the module docstring)."""
        if not self.test_time_flip:
            return self.embed(chips_rgb)
        chips = chips_rgb[None] if chips_rgb.ndim == 3 else chips_rgb
        both = _unit(self._raw(np.concatenate([chips, chips[:, :, ::-1]])))
        return _unit(both[: len(chips)] + both[len(chips) :])
