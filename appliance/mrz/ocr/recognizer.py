"""The ONNX glyph classifier: a batch of normalised glyph cells in, class probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from appliance.errors import ApplianceError, Reason
from appliance.models import (
    load_session,
    manifest_entry,
    models_dir,
    session_options,
)
from appliance.mrz.ocr.layout import CLASSES
from appliance.mrz.ocr.segment import GLYPH_H, GLYPH_W

#: Classes the model emits: the 37 MRZ characters, then "junk" (no glyph, or a misplaced cell).
MODEL_CLASSES = len(CLASSES) + 1
#: The model's name in models/manifest.json (file mrz/mrz_glyphs.onnx).
MODEL_NAME = "mrz_glyphs"


def default_model_file() -> Path:
    return models_dir() / "mrz" / "mrz_glyphs.onnx"


class GlyphRecognizer:
    """Loads the model once; `probabilities` is then cheap enough to call per frame.

    By default the manifest's model is loaded, after its sha256 is checked (a swapped or
    corrupted file fails closed with `MODEL_UNAVAILABLE`); an explicit `model_path` (a freshly
    trained candidate, for evaluation) is loaded as given.
    """

    def __init__(
        self, model_path: Path | None = None, threads: int = 1, temperature: float = 1.0
    ) -> None:
        import onnxruntime as ort

        self.temperature = temperature
        if model_path is None:
            self._session = load_session(MODEL_NAME, intra_op_threads=threads)
            calibration = manifest_entry(MODEL_NAME).get("calibration", {})
            self.temperature = float(calibration.get("temperature", 1.0))
        else:
            try:
                self._session = ort.InferenceSession(
                    str(model_path),
                    sess_options=session_options(threads),
                    providers=["CPUExecutionProvider"],
                )
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise ApplianceError(
                    Reason.MODEL_UNAVAILABLE, "MRZ glyph model cannot be loaded"
                ) from exc
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if (
            len(inputs) != 1
            or list(inputs[0].shape[1:]) != [1, GLYPH_H, GLYPH_W]
            or outputs[0].shape[-1] != MODEL_CLASSES
        ):
            raise ApplianceError(Reason.MODEL_UNAVAILABLE, "MRZ glyph model has the wrong shape")
        self._input = inputs[0].name

    def probabilities(self, glyphs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(N, H, W) glyphs in [0, 1] -> (N, MODEL_CLASSES) softmax probabilities."""
        if len(glyphs) == 0:
            return np.zeros((0, MODEL_CLASSES), np.float32)
        batch = np.ascontiguousarray(glyphs[:, None, :, :], dtype=np.float32)
        (logits,) = self._session.run(None, {self._input: batch})
        logits = np.asarray(logits, dtype=np.float32)
        logits /= self.temperature  # calibration, fitted on held-out renders (manifest)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs: npt.NDArray[np.float32] = exp / exp.sum(axis=1, keepdims=True)
        return probs
