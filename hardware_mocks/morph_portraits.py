"""The chip photos of a morph set as the portrait network sees them, cached beside the set.

    python -m hardware_mocks.morph_portraits DIR [DIR...]     # DIR: a set's folder (pairs.jsonl)

`portraits(pairs_file)` brings every reference to the token geometry (`features.portrait`,
160x214 BGR, the largest face) once and keeps them in `portraits-v1.npz` beside the pairs file:
the portrait network is trained on them (`models/morph/train_portrait.py`, in the training venv,
which reads the npz and the pairs file only) and the benchmark scores them. `portrait_logits`
runs the shipped network on them. `live_portraits` does the same for the live photos of every
(chip photo, live photo) pair, for the pair-network experiment (`models/morph/train_pair.py`).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from appliance.biometrics.face.decode import decode_image
from appliance.errors import ApplianceError
from hardware_mocks.morph_set import read_pairs

#: bump when `features.portrait` or the face choice changes
PORTRAITS_VERSION = 1


def _cached(cache: Path, digest: str) -> Any | None:
    """The saved arrays of `cache` when it was made from the same input (`digest`)."""
    if not cache.is_file():
        return None
    saved = np.load(cache, allow_pickle=False)
    return saved if str(saved["digest"]) == digest else None


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """The portraits as one (k, PORTRAIT_H, PORTRAIT_W, 3) uint8 array, k possibly 0."""
    from appliance.biometrics.morph.features import PORTRAIT_H, PORTRAIT_W

    return np.stack(images) if images else np.zeros((0, PORTRAIT_H, PORTRAIT_W, 3), np.uint8)


def portraits(
    pairs_file: Path, log: bool = True, cache: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(portraits (k, 214, 160, 3) uint8, entry index (k,)) of every reference with a face,
    cached in `cache` (default: beside the pairs file)."""
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.biometrics.morph.features import FaceAnalysis, portrait

    cache = cache or pairs_file.parent / f"portraits-v{PORTRAITS_VERSION}.npz"
    digest = hashlib.sha256(pairs_file.read_bytes()).hexdigest()
    saved = _cached(cache, digest)
    if saved is not None:
        return saved["x"], saved["index"]
    detector = FaceVerifier.load().detector
    blank = np.zeros(128, np.float32)
    images, index = [], []
    for i, entry in enumerate(read_pairs(pairs_file)):
        if log and i % 500 == 0:
            print(f"portraits: {i}", flush=True)
        try:
            image = decode_image((pairs_file.parent / entry.reference).read_bytes())
        except (ApplianceError, OSError):
            continue
        faces = sorted(detector.detect(image), key=lambda f: -f.width)
        if faces:
            images.append(portrait(FaceAnalysis(faces[0], image, blank, blank)))
            index.append(i)
    x = _stack(images)
    ix = np.array(index, np.int64)
    np.savez_compressed(cache, digest=digest, x=x, index=ix)
    return x, ix


def portrait_logits(pairs_file: Path, log: bool = True, cache: Path | None = None) -> np.ndarray:
    """The shipped portrait network's logit per entry of the pairs file (NaN: no face)."""
    from appliance.biometrics.morph.portrait_net import PORTRAIT_MODEL
    from appliance.biometrics.morph.portrait_net import portrait_logits as run
    from appliance.models import load_session

    x, index = portraits(pairs_file, log, cache)
    logits = np.full(len(read_pairs(pairs_file)), np.nan)
    logits[index] = run(load_session(PORTRAIT_MODEL), x)
    return logits


def live_portraits(
    pairs_file: Path, log: bool = True, cache: Path | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The live photos of every pair `compute_features` makes, in its order: (portraits
    (p, 214, 160, 3) uint8, each pair's entry (m,), each pair's live portrait (m,) into the
    first), cached in `cache` (default: `live-portraits-vN.npz` beside the pairs file).

    The faces are those `compute_features` found (its per-image analysis cache), so the rows
    are exactly its `pair_x` rows."""
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.biometrics.morph.features import portrait
    from hardware_mocks.morph_set import FEATURES_VERSION, image_record

    cache = cache or pairs_file.parent / f"live-portraits-v{PORTRAITS_VERSION}.npz"
    digest = f"v{FEATURES_VERSION}:" + hashlib.sha256(pairs_file.read_bytes()).hexdigest()
    saved = _cached(cache, digest)
    if saved is not None:
        return saved["x"], saved["pair_entry"], saved["pair_live"]
    verifier = FaceVerifier.load()
    store = pairs_file.parent / f"analysis-v{FEATURES_VERSION}"
    slots: dict[str, int] = {}
    images: list[np.ndarray] = []
    pair_entry: list[int] = []
    pair_live: list[int] = []
    for i, entry in enumerate(read_pairs(pairs_file)):
        if log and i % 500 == 0:
            print(f"live portraits: {i}", flush=True)
        if image_record(pairs_file.parent / entry.reference, verifier, store, True) is None:
            continue
        for probe in entry.probes:
            record = image_record(Path(probe.path), verifier, store, False)
            if record is None:
                continue
            if probe.path not in slots:
                image = decode_image(Path(probe.path).read_bytes())
                slots[probe.path] = len(images)
                images.append(portrait(replace(record[0], image=image)))
            pair_entry.append(i)
            pair_live.append(slots[probe.path])
    x = _stack(images)
    entries, live = np.array(pair_entry, np.int64), np.array(pair_live, np.int64)
    np.savez_compressed(cache, digest=digest, x=x, pair_entry=entries, pair_live=live)
    return x, entries, live


def main(argv: list[str] | None = None) -> None:
    for folder in argv if argv is not None else sys.argv[1:]:
        x, _ = portraits(Path(folder) / "pairs.jsonl")
        live, pairs, _ = live_portraits(Path(folder) / "pairs.jsonl")
        print(f"{folder}: {len(x)} portraits, {len(live)} live portraits, {len(pairs)} pairs")


if __name__ == "__main__":
    main()
