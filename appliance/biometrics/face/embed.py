"""Face embeddings through onnxruntime (model loaded once per process)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from appliance.models import load_session

EMBEDDER_MODEL = "face_embedder"


class FaceEmbedder:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name

    @classmethod
    def from_models_dir(cls, directory: Path | None = None) -> FaceEmbedder:
        return cls(load_session(EMBEDDER_MODEL, directory))

    def embed(self, chips_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        """L2-normalised embeddings of (N,150,150,3) RGB chips."""
        batch = chips_rgb.astype(np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        raw = np.asarray(self._session.run(None, {self._input: batch})[0], dtype=np.float32)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        result: NDArray[np.float32] = raw / np.maximum(norms, 1e-12)
        return result
