"""Morphing attack detection on the device: a score and a decision for a chip photo, alone
(S-MAD, at document time) or with a trusted live capture (D-MAD, after the face capture).

    detector = MorphDetector.load()                      # models loaded once per process
    result = detector.check(dg2_image_bytes, live_frame)  # live_frame None: single-image mode

The result carries `status` (`pass` = bona fide, `fail`), `reason` (`OK`, `MORPH_SUSPECTED`, or
the image/face reason that stopped the check), `score` (0..1, higher = more likely a morph), the
threshold, `mode` (`differential` or `single`) and `timings_ms`. Both models are small networks
over `features.py`'s vectors, trained by `models/morph/train_mad.py` on morphs of training
identities only; each one's score is fused with the portrait network's (`portrait_net.py`, a
CNN on the chip photo's pixels) by the weights in its manifest entry. The thresholds (at a bona
fide refusal rate measured on calibration identities) apply to the fused score and are in
`models/manifest.json`; the inspection may override them from the signed policy. Nothing
personal (no pixels, no embedding) is in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from appliance.biometrics.face.decode import MAX_PIXELS, decode_image
from appliance.biometrics.face.detect import BlazeFaceDetector
from appliance.biometrics.face.embed import FaceEmbedder
from appliance.biometrics.morph.features import (
    DMAD_DIM,
    SMAD_DIM,
    FaceAnalysis,
    analyse,
    differential_features,
    portrait,
    single_features,
)
from appliance.biometrics.morph.portrait_net import (
    CROP_H,
    CROP_W,
    PORTRAIT_MODEL,
    Fusion,
    portrait_logits,
)
from appliance.errors import ApplianceError, Reason
from appliance.models import load_session, manifest_entry

SMAD_MODEL = "morph_smad"
DMAD_MODEL = "morph_dmad"
DEFAULT_OPERATING_POINT = "bpcer_0.1"


def smad_input(single: NDArray[np.float32]) -> NDArray[np.float32]:
    """S-MAD model input from `features.single_features` rows."""
    return np.asarray(single, np.float32).reshape(-1, single.shape[-1])


def dmad_input(
    differential: NDArray[np.float32], single: NDArray[np.float32]
) -> NDArray[np.float32]:
    """D-MAD model input: the pair's embedding difference, the cosines, the geometry
    difference and its magnitude, and the chip photo's own S-MAD features (the differences'
    squares were dropped: on held-out identities they overfit more than they told)."""
    diff = np.asarray(differential, np.float32).reshape(-1, differential.shape[-1])
    one = np.asarray(single, np.float32).reshape(-1, single.shape[-1])
    rest = diff[:, 128:]
    geometry = rest[:, 5:]
    return np.concatenate([diff[:, :128], rest, np.abs(geometry), one], axis=1)


#: the D-MAD model's input width
DMAD_WIDTH = dmad_input(
    np.zeros((1, DMAD_DIM), np.float32), np.zeros((1, SMAD_DIM), np.float32)
).shape[1]


@dataclass
class MorphResult:
    status: str
    reason: Reason
    mode: str
    score: float | None = None
    threshold: float | None = None
    #: "reference" or "live": whose image the reason is about
    subject: str | None = None
    detail: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def suspected(self) -> bool:
        return self.reason is Reason.MORPH_SUSPECTED

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "reason": self.reason.value,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": None if self.threshold is None else round(self.threshold, 4),
            "mode": self.mode,
            "subject": self.subject,
            "detail": self.detail,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def _threshold(name: str, operating_point: str, directory: Path | None) -> float:
    points = manifest_entry(name, directory).get("operating_points", {})
    try:
        return float(points[operating_point]["threshold"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ApplianceError(
            Reason.MODEL_UNAVAILABLE, f"{name}: no operating point {operating_point}"
        ) from exc


def _session(name: str, width: int, directory: Path | None) -> ort.InferenceSession:
    """The model, refused (`MODEL_UNAVAILABLE`) when it was trained on features of another
    width (an older model beside newer code): it would fail on every check."""
    session = load_session(name, directory)
    shape = session.get_inputs()[0].shape
    if not shape or shape[-1] != width:
        raise ApplianceError(
            Reason.MODEL_UNAVAILABLE, f"{name}: input width {shape[-1:]} but {width} features"
        )
    return session


def _portrait_session(directory: Path | None) -> ort.InferenceSession:
    session = load_session(PORTRAIT_MODEL, directory)
    shape = session.get_inputs()[0].shape
    if list(shape[1:]) != [3, CROP_H, CROP_W]:
        raise ApplianceError(
            Reason.MODEL_UNAVAILABLE, f"{PORTRAIT_MODEL}: input {shape[1:]}, not 3x192x144"
        )
    return session


class MorphDetector:
    def __init__(
        self,
        detector: BlazeFaceDetector,
        embedder: FaceEmbedder,
        single: ort.InferenceSession,
        differential: ort.InferenceSession,
        portrait_net: ort.InferenceSession,
        fusion: dict[str, Fusion],
        thresholds: dict[str, float],
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self._single = single
        self._differential = differential
        self._portrait = portrait_net
        #: per mode: how the model's score and the portrait network's logit are combined
        self.fusion = fusion
        #: per mode ("single", "differential"): the manifest's threshold at the operating point
        self.thresholds = thresholds

    @classmethod
    def load(
        cls, operating_point: str = DEFAULT_OPERATING_POINT, models_dir: Path | None = None
    ) -> MorphDetector:
        return cls(
            BlazeFaceDetector.from_models_dir(models_dir),
            FaceEmbedder.from_models_dir(models_dir),
            _session(SMAD_MODEL, SMAD_DIM, models_dir),
            _session(DMAD_MODEL, DMAD_WIDTH, models_dir),
            _portrait_session(models_dir),
            {
                "single": Fusion.from_entry(manifest_entry(SMAD_MODEL, models_dir)),
                "differential": Fusion.from_entry(manifest_entry(DMAD_MODEL, models_dir)),
            },
            {
                "single": _threshold(SMAD_MODEL, operating_point, models_dir),
                "differential": _threshold(DMAD_MODEL, operating_point, models_dir),
            },
        )

    def analyse(self, image_bgr: NDArray[np.uint8]) -> FaceAnalysis:
        return analyse(image_bgr, self.detector, self.embedder)

    def _run(self, session: ort.InferenceSession, x: NDArray[np.float32]) -> float:
        out = session.run(["score"], {"features": x.astype(np.float32)})[0]
        return float(np.asarray(out).reshape(-1)[0])

    def portrait_logit(self, colour: NDArray[np.uint8]) -> float:
        """The portrait network's logit for a chip photo's `features.portrait`."""
        return float(portrait_logits(self._portrait, colour[None])[0])

    def model_scores(self, mode: str, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """The feature model's own scores of many prepared inputs, before the fusion (what
        `models/morph/fit_fusion.py` fits the fusion on)."""
        session = self._single if mode == "single" else self._differential
        out = session.run(["score"], {"features": x.astype(np.float32)})[0]
        return np.asarray(out, np.float64).reshape(-1)

    def batch_scores(
        self, mode: str, x: NDArray[np.float32], portrait: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Fused scores of many prepared model inputs and their chip photos' portrait logits
        at once (benchmarks)."""
        raw = self.model_scores(mode, x)
        return self.fusion[mode].scores(raw, np.asarray(portrait, np.float64).reshape(-1))

    def score(self, reference: FaceAnalysis, live: FaceAnalysis | None = None) -> float:
        """The morph score of an analysed chip photo, with a live face when there is one."""
        colour = portrait(reference)  # warped once, for the features and the network
        single = single_features(reference, colour)
        logit = np.array([self.portrait_logit(colour)])
        if live is None:
            raw = self._run(self._single, smad_input(single))
            return float(self.fusion["single"].scores(np.array([raw]), logit)[0])
        diff = differential_features(reference, live)
        raw = self._run(self._differential, dmad_input(diff, single))
        return float(self.fusion["differential"].scores(np.array([raw]), logit)[0])

    def check(
        self,
        reference: bytes,
        live: NDArray[np.uint8] | None = None,
        threshold: float | None = None,
        max_pixels: int = MAX_PIXELS,
    ) -> MorphResult:
        """Decode and analyse the chip photo (and the live frame), score, decide. Image and
        face problems come back as the result's reason, never as an exception."""
        mode = "single" if live is None else "differential"
        limit = self.thresholds[mode] if threshold is None else threshold
        timings: dict[str, float] = {}
        start = t = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal t
            now = time.perf_counter()
            timings[stage] = timings.get(stage, 0.0) + (now - t) * 1000.0
            t = now

        subject = "reference"
        try:
            ref_image = decode_image(reference, max_pixels)
            lap("decode")
            ref = self.analyse(ref_image)
            lap("analyse")
            live_face = None
            if live is not None:
                subject = "live"
                live_face = self.analyse(live)
                lap("analyse")
            score = self.score(ref, live_face)
            lap("score")
        except ApplianceError as exc:
            return MorphResult("fail", exc.reason, mode, None, limit, subject, exc.detail, timings)
        timings["total"] = (time.perf_counter() - start) * 1000.0
        suspected = score >= limit
        return MorphResult(
            "fail" if suspected else "pass",
            Reason.MORPH_SUSPECTED if suspected else Reason.OK,
            mode,
            score,
            limit,
            None,
            None,
            timings,
        )


def from_config(
    config: object,
) -> Callable[[bytes, NDArray[np.uint8] | None, float | None], MorphResult]:
    """The product's morph step detector (`inspection.morph_detector`): models load once."""
    detector = MorphDetector.load()

    def check(
        reference: bytes, live: NDArray[np.uint8] | None, threshold: float | None
    ) -> MorphResult:
        return detector.check(reference, live, threshold)

    return check
