"""1:1 verification of a live capture against the chip (DG2) photo: the API the inspection
workflow calls.

    verifier = FaceVerifier.load()              # models loaded once per process
    result = verifier.verify(dg2_image_bytes, frames, liveness=session.result())

The result carries a status (`pass`/`fail`), a stable reason (`OK`, `FACE_NO_MATCH`,
`FACE_QUALITY`, `FACE_NOT_LIVE`, `FACE_NOT_FOUND`, `IMAGE_UNREADABLE`), the score and threshold,
the quality findings of both images, the kiosk instruction for a retake and per-stage timings.
Nothing personal (no pixels, no embedding) is in the result or in any log.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.align import align_face
from appliance.biometrics.face.compare import (
    OperatingPoint,
    cosine_similarity,
    is_match,
    threshold_for,
)
from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.detect import BlazeFaceDetector, DetectedFace
from appliance.biometrics.face.embed import FaceEmbedder
from appliance.biometrics.face.liveness import LivenessResult
from appliance.biometrics.face.quality import Subject, assess
from appliance.biometrics.findings import Finding
from appliance.errors import ApplianceError, Reason


@dataclass
class FaceResult:
    status: str
    reason: Reason
    score: float | None
    threshold: float
    operating_point: str
    #: "reference" or "live": whose image the reason is about
    subject: str | None = None
    instruction: str | None = None
    quality: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    liveness: dict[str, object] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: the live frame compared (never reported or logged): the morph step's D-MAD needs it
    live_image: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "reason": self.reason.value,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": round(self.threshold, 4),
            "operating_point": self.operating_point,
            "subject": self.subject,
            "instruction": self.instruction,
            "quality": self.quality,
            "liveness": self.liveness,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass
class _Prepared:
    faces: list[DetectedFace]
    chip: NDArray[np.uint8]
    findings: list[Finding]
    image: NDArray[np.uint8] | None = None

    @property
    def passed(self) -> bool:
        return all(f.ok for f in self.findings)

    def rank(self) -> tuple[int, float]:
        """Best-frame order: passing frames first, then sharper and larger faces."""
        sharp = next((f.value for f in self.findings if f.measure == "sharpness"), 0.0)
        return (int(self.passed), sharp * self.faces[0].inter_eye_px)


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    def add(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.ms[stage] = self.ms.get(stage, 0.0) + (now - start) * 1000.0
        return now


class FaceVerifier:
    def __init__(
        self,
        detector: BlazeFaceDetector,
        embedder: FaceEmbedder,
        threshold: float,
        operating_point: str,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.threshold = threshold
        self.operating_point = operating_point

    @classmethod
    def load(
        cls,
        operating_point: OperatingPoint = OperatingPoint.FMR_0_1_PERCENT,
        models_dir: Path | None = None,
    ) -> FaceVerifier:
        return cls(
            BlazeFaceDetector.from_models_dir(models_dir),
            FaceEmbedder.from_models_dir(models_dir),
            threshold_for(operating_point, models_dir),
            operating_point.value,
        )

    def _prepare(
        self, image: NDArray[np.uint8], subject: Subject, timer: _Timer
    ) -> _Prepared | None:
        t = time.perf_counter()
        faces = self.detector.detect(image)
        t = timer.add("detect", t)
        if not faces:
            return None
        faces.sort(key=lambda f: -f.width)  # the largest face is the one at the camera
        chip = align_face(image, faces[0])
        t = timer.add("align", t)
        findings = assess(image, faces, chip, subject)
        timer.add("quality", t)
        return _Prepared(faces, chip, findings, image)

    def frame_quality(self, image: NDArray[np.uint8]) -> float | None:
        """A score for picking the best frame of a burst (`drivers.camera.best_frame`):
        None without a face; frames passing every quality check outrank the others, then
        sharper and larger faces win."""
        prepared = self._prepare(image, Subject.LIVE, _Timer())
        if prepared is None:
            return None
        passed, detail = prepared.rank()
        return passed * 1e12 + detail

    def _result(self, reason: Reason, timer: _Timer, **kw: object) -> FaceResult:
        result = FaceResult(
            status="pass" if reason is Reason.OK else "fail",
            reason=reason,
            score=None,
            threshold=self.threshold,
            operating_point=self.operating_point,
            timings_ms=timer.ms,
        )
        for key, value in kw.items():
            setattr(result, key, value)
        return result

    def verify(
        self,
        reference: bytes,
        live_frames: Sequence[NDArray[np.uint8]],
        liveness: LivenessResult | None = None,
    ) -> FaceResult:
        """Compare the best usable live frame with the reference image (encoded bytes)."""
        timer = _Timer()
        start = t = time.perf_counter()
        try:
            ref_image = decode_image(reference)
        except ApplianceError as exc:
            timer.add("decode", t)
            return self._result(exc.reason, timer, subject="reference")
        timer.add("decode", t)
        ref = self._prepare(ref_image, Subject.REFERENCE, timer)
        if ref is None:
            return self._result(Reason.FACE_NOT_FOUND, timer, subject="reference")
        quality: dict[str, list[dict[str, object]]] = {
            "reference": [f.as_dict() for f in ref.findings]
        }
        live_frames = [frame for frame in live_frames if frame is not None]
        candidates = [p for p in (self._prepare(f, Subject.LIVE, timer) for f in live_frames) if p]
        if not candidates:
            return self._result(
                Reason.FACE_NOT_FOUND,
                timer,
                subject="live",
                instruction="look at the camera",
                quality=quality,
            )
        best = max(candidates, key=_Prepared.rank)
        quality["live"] = [f.as_dict() for f in best.findings]
        if not best.passed:
            first = next(f for f in best.findings if not f.ok)
            return self._result(
                Reason.FACE_QUALITY,
                timer,
                subject="live",
                instruction=first.instruction,
                quality=quality,
            )
        live_summary = liveness.as_dict() if liveness is not None else None
        if liveness is not None and not liveness.live:
            return self._result(
                Reason.FACE_NOT_LIVE, timer, subject="live", quality=quality, liveness=live_summary
            )
        t = time.perf_counter()
        embeddings = self.embedder.embed_for_match(np.stack([ref.chip, best.chip]))
        t = timer.add("embed", t)
        score = cosine_similarity(embeddings[0], embeddings[1])
        matched = is_match(score, self.threshold)
        timer.add("compare", t)
        timer.ms["total"] = (time.perf_counter() - start) * 1000.0
        if matched:
            reason, subject = Reason.OK, None
        elif not ref.passed:  # a poor chip photo is the document's problem, not the traveller's
            reason, subject = Reason.FACE_QUALITY, "reference"
        else:
            reason, subject = Reason.FACE_NO_MATCH, None
        result = self._result(
            reason, timer, subject=subject, quality=quality, liveness=live_summary
        )
        result.score = score
        result.live_image = best.image
        return result
