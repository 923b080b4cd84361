"""A morphing-attack data set made from a folder of photos per person (the training recipe of
`models/morph/` and the attacks of `benchmarks/morph.py`).

Identities are split by a hash of the folder name, so the split is stable and disjoint whatever
else is in the folder: 30% `test`, 10% `calibration` (thresholds), 60% `train`. Within a split:

* bona fide references: a person's first photo as a chip stores it (ICAO token, JPEG or
  JPEG 2000 at 12-20 KB, a quarter of them through a print-and-scan simulation);
* morphs: each person with their most similar other person of the same split (our embedder),
  morphed at a random alpha in 0.3-0.7 as `full` and as `splice`, then through the same
  post-processing as the bona fide references (so format and size tell nothing);
* live probes: up to two *other* photos of the holder (bona fide) or of each contributor (morph).

The set is written once as a pairs file (`pairs.jsonl`, one reference per line, images beside it)
that `benchmarks/morph.py --pairs` also reads from other generators. People appear as the first
12 hex digits of the SHA-256 of their folder name; only the probes' paths point into DIR.
"""

from __future__ import annotations

import hashlib
import json
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.icao_token import TokenFormat
from appliance.errors import ApplianceError
from hardware_mocks.morphing import (
    ALPHA_RANGE,
    MorphGenerator,
    Variant,
    chip_encode,
    pair_by_similarity,
    print_and_scan,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".jp2"}
PRINT_SCAN_SHARE = 0.25
MAX_PROBES = 2
RECIPE_VERSION = 1
SPLIT_RULE = "sha256(folder name)[0] < 77: test (30%), < 102: calibration (10%), else train (60%)"


def identity_split(name: str) -> str:
    first = hashlib.sha256(name.encode()).digest()[0]
    return "test" if first < 77 else "calibration" if first < 102 else "train"


def person_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


@dataclass
class Probe:
    path: str
    person: str  # person_id


@dataclass
class Entry:
    """One reference of the pairs file: the chip image and the live photos to check it with."""

    reference: str  # relative to the pairs file
    label: str  # "bona_fide" or "morph"
    variant: str  # "bona_fide", "full", "splice" (or whatever another generator calls it)
    split: str
    people: list[str]
    probes: list[Probe] = field(default_factory=list)
    alpha: float | None = None
    format: str | None = None
    print_scan: bool = False

    @classmethod
    def from_json(cls, line: str) -> Entry:
        raw = json.loads(line)
        raw["probes"] = [Probe(**p) for p in raw.get("probes", [])]
        raw.setdefault("split", "test")
        raw.setdefault("people", [])
        raw.setdefault("variant", raw.get("label", "unknown"))
        return cls(**raw)


def people_photos(data: Path) -> dict[str, list[Path]]:
    """Folders with at least two photos (one for the chip, one live), photos sorted by name."""
    found = {}
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(photos) >= 2:
            found[folder.name] = photos
    return found


def read_pairs(path: Path) -> list[Entry]:
    return [Entry.from_json(line) for line in path.read_text().splitlines() if line.strip()]


# -- workers (one generator per process) ----------------------------------------------------------

_GEN: MorphGenerator | None = None


def _generator() -> MorphGenerator:
    global _GEN
    if _GEN is None:
        _GEN = MorphGenerator.load()
    return _GEN


def _finish(portrait: np.ndarray, rng: random.Random) -> tuple[bytes, TokenFormat, bool]:
    scanned = rng.random() < PRINT_SCAN_SHARE
    if scanned:
        portrait = print_and_scan(portrait, rng)
    data, fmt = chip_encode(portrait, rng)
    return data, fmt, scanned


def _write(out: Path, key: str, data: bytes, fmt: TokenFormat) -> str:
    name = f"refs/{key}.{'jpg' if fmt is TokenFormat.JPEG else 'jp2'}"
    (out / name).write_bytes(data)
    return name


def bona_fide_job(args: tuple[Path, str, list[str], int]) -> list[dict[str, object]]:
    out, name, photos, seed = args
    rng = random.Random(f"{seed}:{name}")
    try:
        contributor = _generator().contributor(decode_image(Path(photos[0]).read_bytes()))
    except ApplianceError:
        return []
    data, fmt, scanned = _finish(contributor.token, rng)
    pid = person_id(name)
    entry = Entry(
        reference=_write(out, f"bf-{pid}", data, fmt),
        label="bona_fide",
        variant="bona_fide",
        split=identity_split(name),
        people=[pid],
        probes=[Probe(p, pid) for p in photos[1 : 1 + MAX_PROBES]],
        format=fmt.value,
        print_scan=scanned,
    )
    return [asdict(entry)]


def morph_job(
    args: tuple[Path, tuple[str, list[str]], tuple[str, list[str]], int],
) -> list[dict[str, object]]:
    out, (name_a, photos_a), (name_b, photos_b), seed = args
    rng = random.Random(f"{seed}:{name_a}:{name_b}")
    gen = _generator()
    try:
        a = gen.contributor(decode_image(Path(photos_a[0]).read_bytes()))
        b = gen.contributor(decode_image(Path(photos_b[0]).read_bytes()))
    except ApplianceError:
        return []
    pa, pb = person_id(name_a), person_id(name_b)
    probes = [Probe(p, pa) for p in photos_a[1 : 1 + MAX_PROBES]]
    probes += [Probe(p, pb) for p in photos_b[1 : 1 + MAX_PROBES]]
    entries = []
    for variant in Variant:
        alpha = round(rng.uniform(*ALPHA_RANGE), 3)
        portrait = gen.morph(a, b, alpha, variant)
        data, fmt, scanned = _finish(portrait, rng)
        entry = Entry(
            reference=_write(out, f"m-{variant.value}-{pa}-{pb}", data, fmt),
            label="morph",
            variant=variant.value,
            split=identity_split(name_a),
            people=[pa, pb],
            probes=probes,
            alpha=alpha,
            format=fmt.value,
            print_scan=scanned,
        )
        entries.append(asdict(entry))
    return entries


def enrolment_embeddings(
    people: dict[str, list[Path]],
) -> dict[str, np.ndarray]:
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.biometrics.morph.features import analyse

    verifier = FaceVerifier.load()
    found = {}
    for name, photos in people.items():
        try:
            image = decode_image(photos[0].read_bytes())
            found[name] = analyse(image, verifier.detector, verifier.embedder).embedding
        except ApplianceError:
            continue
    return found


def made_for(out: Path, recipe: dict[str, object]) -> bool:
    """Whether `out` already holds a set made by this recipe (its pairs file and stamp)."""
    stamp = out / "recipe.json"
    return (
        (out / "pairs.jsonl").is_file()
        and stamp.is_file()
        and json.loads(stamp.read_text()) == recipe
    )


def write_set(out: Path, lines: list[dict[str, object]], recipe: dict[str, object]) -> Path:
    """Write the set's pairs file, then the recipe stamp that marks it complete."""
    pairs_file = out / "pairs.jsonl"
    pairs_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (out / "recipe.json").write_text(json.dumps(recipe))
    return pairs_file


def build(
    data: Path,
    out: Path,
    seed: int = 18,
    max_people: int | None = None,
    jobs: int = 1,
    log: bool = True,
) -> Path:
    """Write `out/pairs.jsonl` and its images (skipped when already there for this recipe)."""
    pairs_file = out / "pairs.jsonl"
    recipe = {
        "version": RECIPE_VERSION,
        "data": str(data.resolve()),
        "seed": seed,
        "max_people": max_people,
    }
    if made_for(out, recipe):
        return pairs_file
    (out / "refs").mkdir(parents=True, exist_ok=True)
    people = people_photos(data)
    if max_people is not None:
        chosen = sorted(people, key=lambda n: person_id("select:" + n))[:max_people]
        people = {n: people[n] for n in sorted(chosen)}
    embeddings = enrolment_embeddings(people)
    pairs: list[tuple[str, str]] = []
    for split in ("train", "calibration", "test"):
        members = {n: e for n, e in embeddings.items() if identity_split(n) == split}
        pairs += pair_by_similarity(members, per_person=1)
    as_str = {n: [str(p) for p in photos] for n, photos in people.items()}
    bona_jobs = [(out, n, as_str[n], seed) for n in embeddings]
    morph_jobs = [(out, (a, as_str[a]), (b, as_str[b]), seed) for a, b in pairs]
    if log:
        print(f"morph set: {len(bona_jobs)} people, {len(morph_jobs)} pairs -> {out}", flush=True)
    lines = run_jobs(out, bona_jobs, morph_jobs, jobs)
    return write_set(out, lines, recipe)


def every_photo_jobs(
    out: Path, people: dict[str, list[str]], seed: int, first: int = 0
) -> list[tuple[Path, str, list[str], int]]:
    """A bona fide job per photo (from the `first`-th on) of every person, the person's other
    photos its live ones; photo k's chip photo goes to folder `photo{k}`, so that the file
    names, which only name the person, stay apart."""
    jobs = []
    for name, photos in people.items():
        for k in range(first, len(photos)):
            (out / f"photo{k}" / "refs").mkdir(parents=True, exist_ok=True)
            jobs.append((out / f"photo{k}", name, [photos[k], *photos[:k], *photos[k + 1 :]], seed))
    return jobs


def random_photo_jobs(
    out: Path,
    people: dict[str, list[str]],
    pairs: list[tuple[str, str]],
    seed: int,
    rng: random.Random,
) -> list[tuple[Any, ...]]:
    """A morph job per pair of people, each morphed from a random photo of theirs (the photo
    lists shuffled by `rng`, in the pairs' order), their other photos the live ones."""
    jobs: list[tuple[Any, ...]] = []
    for a, b in pairs:
        pa, pb = list(people[a]), list(people[b])
        rng.shuffle(pa)
        rng.shuffle(pb)
        jobs.append((out, (a, pa), (b, pb), seed))
    return jobs


def run_jobs(
    out: Path,
    bona_jobs: list[tuple[Path, str, list[str], int]],
    morph_jobs: list[tuple[Any, ...]],
    jobs: int,
) -> list[dict[str, object]]:
    """The entries the jobs make, references relative to `out` (the pairs file's folder)."""
    lines: list[dict[str, object]] = []
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        run = map if pool is None else pool.map
        for job, made in zip(bona_jobs, run(bona_fide_job, bona_jobs), strict=True):
            folder = job[0].relative_to(out)  # "." or "photo{k}"
            lines += [{**e, "reference": str(folder / str(e["reference"]))} for e in made]
        lines += [e for made in run(morph_job, morph_jobs) for e in made]
    finally:
        if pool is not None:
            pool.shutdown()
    return lines


def _dense_jobs(
    out: Path, people: dict[str, list[str]], seed: int, rng: random.Random
) -> tuple[list[tuple[Path, str, list[str], int]], list[tuple[Any, ...]]]:
    """Every photo a bona fide reference; every pair of people morphed (a random photo each)."""
    names = sorted(people)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    return every_photo_jobs(out, people, seed), random_photo_jobs(out, people, pairs, seed, rng)


def build_dense(
    data: Path, out: Path, exclude: set[str], seed: int = 18, jobs: int = 1, log: bool = True
) -> Path:
    """A small set of sharper photos (a folder per person), all for training: every photo is
    a bona fide reference and every pair of people is morphed, so a few people give hundreds of
    attacks. `exclude`: folder names left out (the people the demo and the tests show)."""
    pairs_file = out / "pairs.jsonl"
    recipe = {"version": RECIPE_VERSION, "dense": True, "data": str(data.resolve()),
              "seed": seed, "exclude": sorted(exclude)}  # fmt: skip
    if made_for(out, recipe):
        return pairs_file
    (out / "refs").mkdir(parents=True, exist_ok=True)
    people = {n: [str(p) for p in ph] for n, ph in people_photos_any(data).items()}
    people = {n: ph for n, ph in people.items() if n not in exclude}
    bona_jobs, morph_jobs = _dense_jobs(out, people, seed, random.Random(seed))
    if log:
        print(f"dense morph set: {len(people)} people, {len(morph_jobs)} pairs -> {out}")
    lines = run_jobs(out, bona_jobs, morph_jobs, jobs)
    for line in lines:
        line["split"] = "train"
    return write_set(out, lines, recipe)


def people_photos_any(data: Path) -> dict[str, list[Path]]:
    """Folders with at least one photo (a person with one photo can still be a contributor)."""
    found = {}
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if photos:
            found[folder.name] = photos
    return found


def load_reference(pairs_file: Path, entry: Entry) -> bytes:
    return (pairs_file.parent / entry.reference).read_bytes()


def load_probe(probe: Probe) -> np.ndarray:
    return decode_image(Path(probe.path).read_bytes())


__all__ = [
    "SPLIT_RULE",
    "Entry",
    "Probe",
    "build",
    "build_dense",
    "identity_split",
    "load_probe",
    "load_reference",
    "people_photos",
    "people_photos_any",
    "person_id",
    "read_pairs",
]


# -- features of a pairs file (cached beside it) ---------------------------------------------------


@dataclass
class Features:
    """Every reference's S-MAD features and every (reference, probe) pair's D-MAD features."""

    entries: list[Entry]
    single: np.ndarray  # (n, SMAD_DIM), NaN where the reference had no usable face
    single_ok: np.ndarray  # (n,) bool
    pair_entry: np.ndarray  # (m,) index into entries
    pair_person: list[str]  # (m,) whose live photo
    pair_x: np.ndarray  # (m, DMAD_DIM)

    def rows(self, split: str | None) -> np.ndarray:
        return np.array([split is None or e.split == split for e in self.entries])


#: bump when `appliance.biometrics.morph.features` changes: the per-image cache is keyed by it
FEATURES_VERSION = 4


def image_record(
    path: Path, verifier: Any, store: Path, with_single: bool
) -> tuple[Any, np.ndarray] | None:
    """The face analysis of one image (and its S-MAD features), cached per image in `store`:
    None when it has no usable face."""
    from appliance.biometrics.face.detect import DetectedFace
    from appliance.biometrics.morph.features import FaceAnalysis, analyse, single_features

    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    cached = store / f"{key}{'-s' if with_single else ''}.npz"
    if cached.is_file():
        saved = np.load(cached)
        if not bool(saved["ok"]):
            return None
        face = DetectedFace(
            tuple(float(v) for v in saved["box"]), saved["keypoints"], float(saved["score"])
        )  # type: ignore[arg-type]
        analysis = FaceAnalysis(
            face, np.zeros((1, 1, 3), np.uint8), saved["embedding"], saved["flipped"]
        )
        return analysis, saved["single"]
    store.mkdir(parents=True, exist_ok=True)
    try:
        analysis = analyse(decode_image(path.read_bytes()), verifier.detector, verifier.embedder)
    except (ApplianceError, OSError):
        np.savez(cached, ok=False)
        return None
    single = single_features(analysis) if with_single else np.zeros(0, np.float32)
    np.savez(
        cached,
        ok=True,
        box=np.array(analysis.face.box),
        keypoints=analysis.face.keypoints,
        score=analysis.face.score,
        embedding=analysis.embedding,
        flipped=analysis.flipped,
        single=single,
    )
    return analysis, single


def prefill(out: Path, data: Path) -> None:
    """Analyse the references already written and every possible probe photo (while the set
    is still being made), so that `compute_features` later finds them cached."""
    from appliance.biometrics.face.verifier import FaceVerifier

    verifier = FaceVerifier.load()
    store = out / f"analysis-v{FEATURES_VERSION}"
    for name, photos in people_photos(data).items():
        for photo in photos[1 : 1 + MAX_PROBES]:
            image_record(photo, verifier, store, False)
        del name
    for ref in sorted((out / "refs").iterdir()):
        image_record(ref, verifier, store, True)


def compute_features(pairs_file: Path, log: bool = True, cache: Path | None = None) -> Features:
    """Features of every entry, cached in `cache` (default: `features.npz` beside the pairs
    file), recomputed when the pairs file or `FEATURES_VERSION` changes."""
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.biometrics.morph.features import DMAD_DIM, SMAD_DIM, differential_features

    entries = read_pairs(pairs_file)
    cache = cache or pairs_file.parent / "features.npz"
    # the features' version is part of the key: a cache of older features is never reused
    digest = f"v{FEATURES_VERSION}:" + hashlib.sha256(pairs_file.read_bytes()).hexdigest()
    if cache.is_file():
        saved = np.load(cache, allow_pickle=False)
        if str(saved["digest"]) == digest:
            return Features(
                entries,
                saved["single"],
                saved["single_ok"],
                saved["pair_entry"],
                [str(p) for p in saved["pair_person"]],
                saved["pair_x"],
            )
    verifier = FaceVerifier.load()
    store = pairs_file.parent / f"analysis-v{FEATURES_VERSION}"
    single = np.full((len(entries), SMAD_DIM), np.nan, np.float32)
    ok = np.zeros(len(entries), bool)
    pair_entry, pair_person, pair_x = [], [], []
    for i, entry in enumerate(entries):
        if log and i % 200 == 0:
            print(f"features: {i}/{len(entries)}", flush=True)
        record = image_record(pairs_file.parent / entry.reference, verifier, store, True)
        if record is None:
            continue
        ref, single[i] = record
        ok[i] = True
        for probe in entry.probes:
            live = image_record(Path(probe.path), verifier, store, False)
            if live is None:
                continue
            pair_entry.append(i)
            pair_person.append(probe.person)
            pair_x.append(differential_features(ref, live[0]))
    features = Features(
        entries,
        single,
        ok,
        np.array(pair_entry, np.int64),
        pair_person,
        np.array(pair_x, np.float32).reshape(-1, DMAD_DIM),
    )
    np.savez_compressed(
        cache,
        digest=digest,
        single=features.single,
        single_ok=features.single_ok,
        pair_entry=features.pair_entry,
        pair_person=np.array(features.pair_person, dtype=str),
        pair_x=features.pair_x,
    )
    return features
