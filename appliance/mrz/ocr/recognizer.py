"""The ONNX glyph classifier: a batch of normalised glyph cells in, class probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from appliance.errors import ApplianceError, Reason
from appliance.mrz.ocr.layout import CLASSES
from appliance.mrz.ocr.segment import GLYPH_H, GLYPH_W

#: Classes the model emits: the 37 MRZ characters, then "junk" (no glyph, or a misplaced cell).
MODEL_CLASSES = len(CLASSES) + 1
DEFAULT_MODEL = Path(__file__).resolve().parents[3] / "models" / "mrz" / "mrz_glyphs.onnx"


class GlyphRecognizer:
    """Loads the model once; `probabilities` is then cheap enough to call per frame."""

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        path = model_path or DEFAULT_MODEL
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
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
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs: npt.NDArray[np.float32] = exp / exp.sum(axis=1, keepdims=True)
        return probs
