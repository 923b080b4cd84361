"""Each photo of a benchmark set through the product's face pipeline once, in parallel.

Every photo is decoded and its face detected once; it then becomes (a) a live probe (the photo
as a camera frame: aligned chip, live quality gate) and (b) one chip-like reference per DG2
format (ISO 19794-5 token crop, encoded to ~15 KB, decoded, detected and aligned again as the
product does with a chip's DG2). All chips of a photo go through the embedder in one batch and
only the embeddings (128 floats each) and a few facts come back, so a calibration set of
thousands of photos is prepared by a pool of worker processes and scored afterwards as matrix
products (benchmarks/face_scores.py).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size, token_image
from appliance.biometrics.face.quality import Subject
from appliance.biometrics.face.verifier import FaceVerifier, _Prepared, _Timer
from appliance.errors import ApplianceError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".jp2"}


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


def prepare_photo(verifier: FaceVerifier, person: str, path: Path) -> Photo:
    """One photo as probe and as a reference of each format (see the module docstring)."""
    photo = Photo(person, path.name)
    try:
        image = decode_image(path.read_bytes())
    except ApplianceError as exc:
        photo.skipped = exc.reason.value
        return photo
    timer = _Timer()
    chips: list[NDArray[np.uint8]] = []
    owners: list[str] = []
    probe = verifier._prepare(image, Subject.LIVE, timer)
    if probe is not None:
        chips.append(probe.chip)
        owners.append("probe")
        photo.probe_passed = probe.passed
        photo.probe_failed = next((f.measure for f in probe.findings if not f.ok), None)
        largest = probe.faces[0]  # _prepare puts the largest face first
        for fmt in TokenFormat:
            encoded = encode_to_size(token_image(image, largest), fmt)
            photo.reference_bytes[fmt.value] = len(encoded)
            reference: _Prepared | None = verifier._prepare(
                decode_image(encoded), Subject.REFERENCE, timer
            )
            if reference is not None:
                chips.append(reference.chip)
                owners.append(fmt.value)
    photo.references = {fmt.value: None for fmt in TokenFormat}
    if chips:
        embeddings = verifier.embedder.embed(np.stack(chips))
        for owner, embedding in zip(owners, embeddings, strict=True):
            if owner == "probe":
                photo.probe = embedding
            else:
                photo.references[owner] = embedding
    return photo


_worker: FaceVerifier | None = None


def _start_worker() -> None:
    global _worker
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


def prepare_all(paths: Sequence[tuple[str, Path]], jobs: int) -> list[Photo]:
    """Every photo prepared, in the order given; `jobs` worker processes (1: this one).

    Workers are spawned (not forked) so that each builds its own onnxruntime sessions."""
    if jobs <= 1:
        verifier = detection_verifier()
        return [prepare_photo(verifier, person, path) for person, path in paths]
    context = multiprocessing.get_context("spawn")
    tasks = [(person, str(path)) for person, path in paths]
    with context.Pool(jobs, initializer=_start_worker) as pool:
        results: Iterator[Photo] = pool.imap(_work, tasks, chunksize=8)
        return list(results)
