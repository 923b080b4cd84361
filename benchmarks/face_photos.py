"""Each photo of a benchmark set through the product's face pipeline once, in parallel.

Every photo is decoded and its face detected once; it then becomes (a) a live probe (the photo
as a camera frame: aligned chip, live quality gate) and (b) one chip-like reference per DG2
format (ISO 19794-5 token crop, encoded to ~15 KB, decoded, detected and aligned again as the
product does with a chip's DG2). All chips of a photo go through the embedder in one batch and
only the embeddings (128 floats each) and a few facts come back, so a calibration set of
thousands of photos is prepared by a pool of worker processes and scored afterwards as matrix
products (benchmarks/face_scores.py).

With a cache folder, each photo's result is kept under the SHA-256 of its bytes, in a
sub-folder named by a fingerprint of the models and of the code that prepares it (the face
package and this file), so a rerun on the same set (another threshold, groups, or the gate
question) takes seconds, and any change to the pipeline starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.align import align_face
from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size, token_image
from appliance.biometrics.face.quality import Subject
from appliance.biometrics.face.verifier import FaceVerifier, _Timer
from appliance.errors import ApplianceError
from appliance.models import manifest_entry

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".jp2"}
#: the format whose decoded reference is searched for the face first (see prepare_photo)
REFERENCE_ORDER = (TokenFormat.JPEG2000, TokenFormat.JPEG)


@dataclass
class Photo:
    """What the benchmark keeps of one photo: no pixels, only embeddings and facts."""

    person: str
    name: str
    #: why the file was not used (a format a chip or camera never gives), else None
    skipped: str | None = None
    probe: NDArray[np.float32] | None = None
    probe_passed: bool = False
    #: the first live quality measure the probe failed, if any
    probe_failed: str | None = None
    references: dict[str, NDArray[np.float32] | None] = field(default_factory=dict)
    reference_bytes: dict[str, int] = field(default_factory=dict)


def photo_paths(data: Path) -> list[tuple[str, Path]]:
    """(person, path) of every photo, one folder per person, in a stable order."""
    return [
        (person_dir.name, path)
        for person_dir in sorted(p for p in data.iterdir() if p.is_dir())
        for path in sorted(person_dir.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]


#: JPEG 2000 references are taken from the first encoding that fits within 5 % of the target
#: (one encoding instead of two: the cold run's largest single cost)
REFERENCE_SLACK = 0.05


def prepare_photo(verifier: FaceVerifier, person: str, path: Path) -> Photo:
    """One photo as probe and as a reference of each format (see the module docstring).

    The references of the formats are the same token crop, so the face is detected once, on
    the first format's decoded image (JPEG 2000, what most chips hold), and that detection
    aligns every format's decoded image: each reference still goes through its own
    compression, alignment and embedding, without a detector run per format. (A reference's
    quality findings change no score, so they are not computed here.)"""
    photo = Photo(person, path.name)
    try:
        image = decode_image(path.read_bytes())
    except ApplianceError as exc:
        photo.skipped = exc.reason.value
        return photo
    timer = _Timer()
    chips: list[NDArray[np.uint8]] = []
    owners: list[str] = []
    photo.references = {fmt.value: None for fmt in TokenFormat}
    probe = verifier._prepare(image, Subject.LIVE, timer)
    if probe is not None:
        chips.append(probe.chip)
        owners.append("probe")
        photo.probe_passed = probe.passed
        photo.probe_failed = next((f.measure for f in probe.findings if not f.ok), None)
        token = token_image(image, probe.faces[0])  # _prepare puts the largest face first
        faces: list[DetectedFace] | None = None
        for fmt in REFERENCE_ORDER:
            encoded = encode_to_size(token, fmt, slack=REFERENCE_SLACK)
            photo.reference_bytes[fmt.value] = len(encoded)
            decoded = decode_image(encoded)
            if faces is None:
                faces = sorted(verifier.detector.detect(decoded), key=lambda f: -f.width)
            if faces:
                chips.append(align_face(decoded, faces[0]))
                owners.append(fmt.value)
    if chips:
        embeddings = verifier.embedder.embed_for_match(np.stack(chips))
        for owner, embedding in zip(owners, embeddings, strict=True):
            if owner == "probe":
                photo.probe = embedding
            else:
                photo.references[owner] = embedding
    return photo


_worker: FaceVerifier | None = None


def _start_worker() -> None:
    global _worker
    import cv2

    cv2.setNumThreads(1)  # one process per core already: no thread pools competing for it
    _worker = detection_verifier()


def _work(task: tuple[str, str]) -> Photo:
    assert _worker is not None
    return prepare_photo(_worker, task[0], Path(task[1]))


def detection_verifier() -> FaceVerifier:
    """The detector and embedder, without needing a calibrated threshold."""
    from appliance.biometrics.face.detect import BlazeFaceDetector
    from appliance.biometrics.face.embed import FaceEmbedder

    return FaceVerifier(
        BlazeFaceDetector.from_models_dir(), FaceEmbedder.from_models_dir(), 1.0, "uncalibrated"
    )


def default_jobs() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def prepare_all(
    paths: Sequence[tuple[str, Path]], jobs: int, cache: Path | None = None
) -> list[Photo]:
    """Every photo prepared, in the order given; `jobs` worker processes (1: this one);
    photos found in `cache` are not prepared again, new ones are added to it.

    Workers are spawned (not forked) so that each builds its own onnxruntime sessions."""
    store = cache / pipeline_fingerprint() if cache is not None else None
    keys = [hashlib.sha256(path.read_bytes()).hexdigest() for _, path in paths]
    found: dict[int, Photo] = {}
    if store is not None:
        for i, ((person, path), key) in enumerate(zip(paths, keys, strict=True)):
            cached = _load(store / f"{key}.npz", person, path.name)
            if cached is not None:
                found[i] = cached
    todo = [i for i in range(len(paths)) if i not in found]
    for i, photo in zip(todo, _prepare_many([paths[i] for i in todo], jobs), strict=True):
        found[i] = photo
        if store is not None:
            _save(store / f"{keys[i]}.npz", photo)
    return [found[i] for i in range(len(paths))]


def _prepare_many(paths: Sequence[tuple[str, Path]], jobs: int) -> list[Photo]:
    if not paths:
        return []
    if jobs <= 1:
        verifier = detection_verifier()
        return [prepare_photo(verifier, person, path) for person, path in paths]
    context = multiprocessing.get_context("spawn")
    tasks = [(person, str(path)) for person, path in paths]
    with context.Pool(jobs, initializer=_start_worker) as pool:
        results: Iterator[Photo] = pool.imap(_work, tasks, chunksize=8)
        return list(results)


def pipeline_fingerprint() -> str:
    """Changes with any model file, the embedder's test-time flip, or any line of the code
    that prepares a photo."""
    digest = hashlib.sha256()
    for model in ("blazeface_back_256", "blazeface_front_128", "face_embedder"):
        digest.update(str(manifest_entry(model)["sha256"]).encode())
    digest.update(str(manifest_entry("face_embedder").get("test_time_flip", False)).encode())
    face_package = Path(decode_image.__code__.co_filename).parent
    for source in [*sorted(face_package.glob("*.py")), Path(__file__)]:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


_NO_EMBEDDING = np.zeros(0, np.float32)


def _save(path: Path, photo: Photo) -> None:
    facts = {
        "skipped": photo.skipped,
        "probe_passed": photo.probe_passed,
        "probe_failed": photo.probe_failed,
        "reference_bytes": photo.reference_bytes,
    }
    arrays = {
        f"ref_{fmt}": _NO_EMBEDDING if emb is None else emb for fmt, emb in photo.references.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.npz")
    np.savez(
        partial,
        facts=np.array(json.dumps(facts)),
        probe=_NO_EMBEDDING if photo.probe is None else photo.probe,
        **arrays,
    )
    partial.replace(path)


def _load(path: Path, person: str, name: str) -> Photo | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            facts = json.loads(str(stored["facts"]))
            probe = stored["probe"]
            refs = {fmt.value: stored[f"ref_{fmt.value}"] for fmt in TokenFormat}
    except (OSError, ValueError, KeyError):
        return None  # damaged: prepared again and rewritten
    return Photo(
        person,
        name,
        skipped=facts["skipped"],
        probe=probe if probe.size else None,
        probe_passed=bool(facts["probe_passed"]),
        probe_failed=facts["probe_failed"],
        references={k: (v if v.size else None) for k, v in refs.items()},
        reference_bytes={str(k): int(v) for k, v in facts["reference_bytes"].items()},
    )
