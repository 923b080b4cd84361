"""A small convolutional network that looks at the chip photo's pixels, and how its score is
fused with each detector's own.

Why a network on pixels: the feature-based detectors (`features.py`) see the face through the
128-d embedder and a few hand-made texture statistics, and more examples no longer helped them.
A CNN trained from scratch on the token-geometry portrait (`features.portrait`, centre crop
192x144) learns the traces the morph generator leaves in the pixels (two interpolating warps and
a blend, Poisson seams) that those statistics summarise coarsely. Alone it is no better than the
S-MAD model (held-out D-EER about the same); the two see different things, so their fused score
beats both, in single and in differential mode (figures in `models/morph/README.md`).

The fusion is a weighted sum of logits, fitted on the calibration identities by
`models/morph/fit_fusion.py` and kept per mode in the detector's manifest entry (`fusion`), so a
signed model overlay replaces models, weights and thresholds together. Its logit is the mean of
the portrait's and its mirror image's, so a mirrored chip photo scores the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from appliance.errors import ApplianceError, Reason

PORTRAIT_MODEL = "morph_portrait"
#: the network's input: the centre of `features.portrait`'s 160x214 (width x height)
CROP_H, CROP_W = 192, 144
_TOP, _LEFT = 11, 8


def network_input(portraits_bgr: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(N, 214, 160, 3) BGR portraits -> (2N, 3, 192, 144) RGB in -1..1: each centre crop,
    then each mirrored."""
    crop = portraits_bgr[:, _TOP : _TOP + CROP_H, _LEFT : _LEFT + CROP_W, ::-1]
    both = np.concatenate([crop, crop[:, :, ::-1]])
    x = both.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    return np.ascontiguousarray(x)


def portrait_logits(
    session: ort.InferenceSession, portraits_bgr: NDArray[np.uint8], batch: int = 64
) -> NDArray[np.float64]:
    """The network's logit per portrait, the mean over the portrait and its mirror image."""
    out: list[NDArray[np.float64]] = []
    for start in range(0, len(portraits_bgr), batch):
        part = portraits_bgr[start : start + batch]
        raw = session.run(["logit"], {"portrait": network_input(part)})[0]
        both = np.asarray(raw, np.float64).reshape(2, len(part))
        out.append(both.mean(axis=0))
    return np.concatenate(out) if out else np.zeros(0)


def logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(p / (1 - p)), p kept off 0 and 1."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    result: NDArray[np.float64] = np.log(q / (1 - q))
    return result


@dataclass(frozen=True)
class Fusion:
    """score = sigmoid(model_weight * logit(model score) + portrait_weight * portrait logit
    + bias): higher = more likely a morph, 0..1."""

    model_weight: float
    portrait_weight: float
    bias: float

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Fusion:
        try:
            f = entry["fusion"]
            return cls(float(f["model_weight"]), float(f["portrait_weight"]), float(f["bias"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ApplianceError(
                Reason.MODEL_UNAVAILABLE, f"{entry.get('name')}: no fusion weights"
            ) from exc

    def scores(
        self, model: NDArray[np.float64], portrait: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        z = self.model_weight * logit(model) + self.portrait_weight * portrait + self.bias
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        return result

    def as_dict(self) -> dict[str, float]:
        return {
            "model_weight": round(self.model_weight, 6),
            "portrait_weight": round(self.portrait_weight, 6),
            "bias": round(self.bias, 6),
        }
