"""Face verification benchmark: chip-like references vs live-like probes, error rates, latency.

    python -m benchmarks.face --data DIR [--json] [--write-manifest]
    python -m benchmarks.face --data DIR --pad-only --pad-samples 40 --turn-deg 18 15 12 10

DIR (required) holds one folder of photos per person. The figures in models/manifest.json were
measured on a 79-photo set of 19 people kept outside the repository; the repository's own
tests/data/faces holds only the few photos the tests use, too few for error rates.
Every photo becomes (a) a chip-like reference: ISO 19794-5 token crop 480x640, encoded as
JPEG 2000 and as JPEG at ~15 KB like DG2, decoded back; and (b) a live probe (the photo as a
camera frame). Genuine pairs: a reference against the *other* photos of the same person;
impostor pairs: against every photo of every other person. Probes that fail detection or the
live quality gate count as failures to acquire (FTA) and are left out of the error rates, as
ISO/IEC 19795-1 prescribes; references with no face are counted too.

Each photo is decoded, detected, aligned and embedded once per role and format, by `--jobs`
worker processes (benchmarks/face_photos.py); every pair is then scored as chunked matrix
products and the rates read off sorted score arrays (benchmarks/face_scores.py), so a
calibration set of ~900 people and ~5 million impostor pairs runs in minutes. Rates carry
95 % bounds (exact Clopper-Pearson, and a bootstrap over identities), and `operating_points`
measures the thresholds shipped in models/manifest.json on this set. A `groups.json` beside
the person folders ({"person folder": {"sex": "F", "age_band": "30-39", ...}}) adds
`per_group`: FNMR and FMR per group at the configured operating threshold, and the ratio of
the worst to the best group. Prepared photos are cached (`--cache`, default var/cache/
face-benchmark; `--no-cache`) so that reruns on the same set take seconds.

Thresholds for an FMR target are set so that at most floor(target x impostor pairs) impostor
pairs score at or above them; the figure is only as strong as that count (printed with it).
`--write-manifest` stores the thresholds and figures in models/manifest.json (face_embedder).

Liveness (head-turn challenge) is measured on both sides at each `--turn-deg`: APCER on
simulated print and screen-replay attacks, BPCER on the real recordings of
benchmarks/face_bona_fide.py (one person: not an operational figure), skipped with the reason
when those clips are neither cached nor fetchable. `--pad-only` prints just these.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.embed import EMBEDDER_MODEL
from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size, token_image
from appliance.biometrics.face.liveness import (
    DEFAULT_FRONTAL_DEG,
    DEFAULT_SETTLE_FRAMES,
    DEFAULT_STEP_TIMEOUT_S,
    DEFAULT_TURN_DEG,
    Challenge,
    ChallengeSession,
    LivenessResult,
)
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.config import load_config
from appliance.errors import ApplianceError
from appliance.models import manifest_entry, models_dir
from benchmarks import face_scores as fs
from benchmarks.face_photos import (
    IMAGE_SUFFIXES,
    Photo,
    default_jobs,
    detection_verifier,
    photo_paths,
    prepare_all,
)

ROOT = Path(__file__).resolve().parents[1]
TARGETS = (0.001, 0.0005)
BONA = ROOT / "var" / "cache" / "bona_fide"  # benchmarks.face_bona_fide_fetch.DEFAULT_CACHE


def load_groups(data: Path) -> dict[str, dict[str, str]]:
    """`groups.json` beside the photos: {person folder: {attribute: value}}, or {} if absent.

    Raises ValueError when the file is there but not of that form."""
    path = data / "groups.json"
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not JSON ({type(exc).__name__})") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ValueError(f"{path}: must map each person's folder to {{attribute: value}}")
    groups: dict[str, dict[str, str]] = {}
    for person, labels in raw.items():
        groups[str(person)] = {
            str(k): str(v) for k, v in labels.items() if isinstance(v, str | int) and v != ""
        }
    return groups


@dataclass(frozen=True)
class Sets:
    """The prepared photos as the scoring sides: references per format, probes gated or not."""

    persons: list[str]
    references: dict[str, fs.Side]
    probes: fs.Side
    probes_passed: fs.Side


def build_sets(photos: Sequence[Photo]) -> Sets:
    persons = sorted({p.person for p in photos})
    code = {name: i for i, name in enumerate(persons)}

    def side(rows: list[tuple[int, Photo, NDArray[np.float32]]]) -> fs.Side:
        if not rows:
            return fs.Side(
                np.zeros((0, 128), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
            )
        return fs.Side(
            np.stack([e for _, _, e in rows]).astype(np.float32),
            np.array([code[p.person] for _, p, _ in rows], np.int64),
            np.array([i for i, _, _ in rows], np.int64),
        )

    refs = {
        fmt.value: side(
            [
                (i, p, e)
                for i, p in enumerate(photos)
                if (e := p.references.get(fmt.value)) is not None
            ]
        )
        for fmt in TokenFormat
    }
    probes = [(i, p, p.probe) for i, p in enumerate(photos) if p.probe is not None]
    passed = [(i, p, e) for i, p, e in probes if p.probe_passed]
    return Sets(persons, refs, side(probes), side(passed))


def describe(scores: NDArray[np.float32]) -> dict[str, float]:
    """Summary of an ascending score array."""
    if len(scores) == 0:
        return {"n": 0}
    p05, p50, p95 = np.percentile(scores, [5, 50, 95])
    return {
        "n": len(scores),
        "mean": round(float(scores.mean(dtype=np.float64)), 4),
        "std": round(float(scores.std(dtype=np.float64)), 4),
        "min": round(float(scores[0]), 4),
        "p05": round(float(p05), 4),
        "p50": round(float(p50), 4),
        "p95": round(float(p95), 4),
        "max": round(float(scores[-1]), 4),
    }


def error_rates(genuine: NDArray[np.float32], impostors: NDArray[np.float32]) -> dict[str, object]:
    """EER, and the threshold and FNMR at each FMR target, from sorted score arrays."""
    genuine, impostors = np.sort(genuine), np.sort(impostors)
    if len(genuine) == 0 or len(impostors) == 0:  # e.g. every probe failed the quality gate
        empty: dict[str, object] = {
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostors),
            "eer": None,
        }
        for target in TARGETS:
            empty[f"threshold_at_fmr_{target}"] = None
            empty[f"fnmr_at_fmr_{target}"] = None
        return empty
    eer, eer_t = fs.equal_error_rate(genuine, impostors)
    out: dict[str, object] = {
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostors),
        "eer": round(eer, 4),
        "eer_threshold": round(eer_t, 4),
        "genuine": describe(genuine),
        "impostor": describe(impostors),
    }
    for target in TARGETS:
        exact, allowed = fs.threshold_at(impostors, target)
        # reported (and shipped) with 4 decimals: rounded up, so it lets no more impostors
        # through than the exact one; the rates are those of the rounded threshold
        t = math.ceil(exact * 10_000) / 10_000
        misses, fnmr = fs.fnmr_at(genuine, t)
        above, _ = fs.fmr_at(impostors, t)
        out[f"threshold_at_fmr_{target}"] = round(t, 4)
        out[f"fnmr_at_fmr_{target}"] = round(fnmr, 4)
        out[f"fnmr_ci95_at_fmr_{target}"] = [
            round(x, 4) for x in fs.clopper_pearson(misses, len(genuine))
        ]
        out[f"impostor_pairs_above_threshold_at_fmr_{target}"] = above
        out[f"impostor_pairs_allowed_at_fmr_{target}"] = allowed
        # one-sided 95 % upper bound = upper end of the two-sided 90 % interval
        upper = fs.clopper_pearson(above, len(impostors), confidence=0.90)[1]
        out[f"fmr_95_upper_at_fmr_{target}"] = round(upper, 5)
    return out


def pooled_scores(sets: Sets, probes: fs.Side) -> tuple[dict[str, fs.Scores], fs.Scores]:
    per_format = {fmt: fs.pair_scores(refs, probes) for fmt, refs in sets.references.items()}
    pooled = fs.Scores(
        np.concatenate([s.genuine for s in per_format.values()]),
        np.concatenate([s.impostor for s in per_format.values()]),
    )
    return per_format, pooled


def configured_points(
    sets: Sets, probes: fs.Side, measured: dict[str, object]
) -> dict[str, object]:
    """Each operating point the manifest ships, measured on this set (with both kinds of
    bounds), and the set's own calibration at that FMR for comparison."""
    shipped = manifest_entry(EMBEDDER_MODEL).get("operating_points", {})
    refs = list(sets.references.values())
    out: dict[str, object] = {}
    for target in TARGETS:
        key = f"fmr_{target}"
        calibrated = measured.get(f"threshold_at_fmr_{target}")
        entry: dict[str, object] = {"target_fmr": target}
        if isinstance(calibrated, float):
            entry["calibrated_here"] = fs.at_threshold(refs, probes, len(sets.persons), calibrated)
        if key in shipped:
            threshold = float(shipped[key]["threshold"])
            entry["shipped"] = fs.at_threshold(refs, probes, len(sets.persons), threshold)
        out[key] = entry
    return out


def operating_threshold(measured: dict[str, object]) -> tuple[str, float | None, str]:
    """(operating point, threshold, where from): the configured point's shipped threshold, or
    this set's calibration at that FMR when the manifest has none."""
    try:
        point = load_config().face.operating_point
    except ApplianceError:
        point = "fmr_0.001"
    shipped = manifest_entry(EMBEDDER_MODEL).get("operating_points", {})
    if point in shipped:
        return point, float(shipped[point]["threshold"]), "models/manifest.json (shipped)"
    calibrated = measured.get(f"threshold_at_{point}")
    if not isinstance(calibrated, float):
        return point, None, "no threshold: neither shipped nor calibrated on this set"
    return point, calibrated, "calibrated on this set"


def measure_latency(
    people: Sequence[str], data: Path, verifier: FaceVerifier, n: int
) -> dict[str, float]:
    """Per-stage medians of full verifications (JPEG 2000 reference bytes vs one live frame),
    on one CPU (the target is per core). Only frames that pass the live quality gate reach
    the embedder, so a set whose probes all fail it (LFW) needs `--latency-data`."""
    pairs = []
    for person_dir in (data / p for p in people):
        found = sorted(q for q in person_dir.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        if len(found) >= 2:
            pairs.append((found[0], found[1]))
    stages: dict[str, list[float]] = {}
    done = 0
    while done < n and pairs:
        ref_path, probe_path = pairs[done % len(pairs)]
        try:
            image = decode_image(ref_path.read_bytes())
            live = decode_image(probe_path.read_bytes())
        except ApplianceError:
            done += 1
            continue
        faces = verifier.detector.detect(image)
        if not faces:
            done += 1
            continue
        reference = encode_to_size(token_image(image, faces[0]), TokenFormat.JPEG2000)
        cpu = time.process_time()
        result = verifier.verify(reference, [live])
        cpu_ms = (time.process_time() - cpu) * 1000.0
        for stage, ms in result.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
        if "embed" in result.timings_ms:  # a verification that got as far as comparing
            # CPU time is what the per-core target means; wall time grows with other load
            stages.setdefault("total_cpu", []).append(cpu_ms)
        done += 1
    return {stage: round(statistics.median(v), 2) for stage, v in stages.items()}


@dataclass(frozen=True)
class Recorded:
    """One presentation as the kiosk saw it: the challenges asked and each frame's detections,
    so that every rule variant is judged on the very same frames."""

    challenges: tuple[Challenge, ...]
    frames: list[tuple[float, list[DetectedFace]]]


def record_attacks(data: Path, verifier: FaceVerifier, samples: int) -> dict[str, list[Recorded]]:
    """Simulated print and screen-replay presentations of up to `samples` photos per type.

    The attacker reads each challenge and turns the artefact up to 40 degrees that way (see
    hardware_mocks/presentation_attacks.py); the challenges are drawn at random per photo.
    """
    import random

    from hardware_mocks.presentation_attacks import AttackType, attack_sequence
    from hardware_mocks.virtual_camera import VirtualCamera

    photos = sorted(p for p in data.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    rng = np.random.default_rng(30107)
    picker = random.Random(30107)
    recorded: dict[str, list[Recorded]] = {}
    for attack in AttackType:
        runs = recorded.setdefault(attack.value, [])
        for path in photos:
            if len(runs) >= samples:
                break
            try:
                image = decode_image(path.read_bytes())
            except ApplianceError:
                continue
            faces = verifier.detector.detect(image)
            if len(faces) != 1:
                continue
            challenges = ChallengeSession(steps=2, rng=picker).challenges
            frames = attack_sequence(token_image(image, faces[0]), attack, challenges, rng)
            seen = [
                (frame.timestamp_s, verifier.detector.detect(np.asarray(frame.image, np.uint8)))
                for frame in VirtualCamera(frames, fps=15.0).frames()
            ]
            runs.append(Recorded(challenges, seen))
    return recorded


def replay(recorded: Recorded, **rule: Any) -> LivenessResult:
    """A fresh kiosk session (product defaults unless `rule` overrides them) over the frames."""
    session = ChallengeSession(steps=len(recorded.challenges), **rule)
    session.challenges = recorded.challenges
    last = 0.0
    for timestamp, faces in recorded.frames:
        session.observe(timestamp, faces)
        last = timestamp
    session.expire(last + 60.0)  # the attacker's frames ran out: the step times out
    return session.result()


def highest_accepting_turn_deg(recorded: Recorded, **rule: Any) -> float | None:
    """The largest turn_deg on a 0.5 degree grid at which this presentation is accepted as
    live (None: not even at 0.5): how far the rule's threshold is from flipping it."""
    for tenth in range(400, 0, -5):
        if replay(recorded, turn_deg=tenth / 10, **rule).live:
            return tenth / 10
    return None


def pad_evaluation(
    recorded: dict[str, list[Recorded]],
    turn_degs: Sequence[float],
    settle_frames: int = DEFAULT_SETTLE_FRAMES,
) -> dict[str, object]:
    """APCER per attack type at each turn threshold, with counts and an exact 95% upper bound
    (the same two-sided Clopper-Pearson end as the bona fide BPCER, so the two compare)."""
    from benchmarks.face_bona_fide import clopper_pearson_upper

    per_threshold: dict[str, dict[str, object]] = {}
    for deg in turn_degs:
        attacks: dict[str, object] = {}
        for attack, runs in recorded.items():
            results = [replay(r, turn_deg=deg, settle_frames=settle_frames) for r in runs]
            naive = [replay(r, turn_deg=deg, depth_cues=False).live for r in runs]
            outcomes: dict[str, int] = {}
            for result in results:
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            accepted = sum(r.live for r in results)
            attacks[attack] = {
                "presentations": len(runs),
                "accepted_as_live": accepted,
                "apcer": round(accepted / max(len(runs), 1), 4),
                "apcer_95_upper": clopper_pearson_upper(accepted, len(runs)),
                "outcomes": outcomes,
                "apcer_without_depth_cues": round(sum(naive) / max(len(runs), 1), 4),
            }
        per_threshold[f"{deg:g}"] = attacks
    margins = {
        attack: [highest_accepting_turn_deg(r, settle_frames=settle_frames) for r in runs]
        for attack, runs in recorded.items()
    }
    return {
        "method": (
            f"randomised 2-step head-turn challenge, frontal {DEFAULT_FRONTAL_DEG:g} deg, "
            f"reference settled over {settle_frames} frame(s), {DEFAULT_STEP_TIMEOUT_S:g} s per "
            "step; attacker turns a print / screen up to 40 deg the asked way"
        ),
        "apcer_by_turn_deg": per_threshold,
        "attack_accepted_up_to_turn_deg": {
            attack: max((m for m in found if m is not None), default=None)
            for attack, found in margins.items()
        },
        "attack_accepted_note": (
            "largest turn_deg (0.5 deg grid) at which any simulated attack is accepted; "
            "None: none is accepted even at 0.5 deg"
        ),
    }


def bona_fide_evaluation(
    cache: Path, turn_degs: Sequence[float], settle_frames: int = DEFAULT_SETTLE_FRAMES
) -> dict[str, object]:
    """BPCER on the real head-turn recordings (benchmarks/face_bona_fide.py) at the same
    thresholds, or why it could not be measured."""
    from benchmarks import face_bona_fide
    from benchmarks.face_bona_fide_fetch import PinMismatch

    try:
        clip_frames = face_bona_fide.load_clip_frames(cache)
    except (OSError, SystemExit, PinMismatch) as exc:
        return {"measured": False, "why_not": f"bona fide clips unavailable: {exc}"}
    return {"measured": True, **face_bona_fide.sweep(clip_frames, turn_degs, settle_frames)}


def liveness_evaluation(
    data: Path,
    verifier: FaceVerifier,
    samples: int,
    turn_degs: Sequence[float],
    bona_fide_cache: Path,
    settle_frames: int = DEFAULT_SETTLE_FRAMES,
) -> dict[str, object]:
    """Both sides of the liveness threshold on the same rule: APCER on simulated attacks and
    BPCER on the real recordings, at every turn threshold asked for."""
    pad = pad_evaluation(record_attacks(data, verifier, samples), turn_degs, settle_frames)
    return {**pad, "bona_fide": bona_fide_evaluation(bona_fide_cache, turn_degs, settle_frames)}


def run(
    data: Path,
    latency_runs: int,
    pad_samples: int = 0,
    turn_degs: Sequence[float] = (DEFAULT_TURN_DEG,),
    bona_fide_cache: Path | None = None,
    pad_only: bool = False,
    jobs: int = 1,
    cache: Path | None = None,
    latency_data: Path | None = None,
) -> dict[str, object]:
    groups = load_groups(data)
    verifier = FaceVerifier.load() if _has_thresholds() else detection_verifier()
    start = time.perf_counter()
    stage_s: dict[str, float] = {}
    pad = None
    if pad_samples > 0:
        clips = bona_fide_cache or BONA
        pad = liveness_evaluation(data, verifier, pad_samples, turn_degs, clips)
        stage_s["pad"] = round(time.perf_counter() - start, 1)
    if pad_only:
        return {"pad": pad, "wall_s": round(time.perf_counter() - start, 1)}
    t = time.perf_counter()
    prepared = prepare_all(photo_paths(data), jobs, cache)
    stage_s["prepare"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    skipped = [f"{p.person}/{p.name}: {p.skipped}" for p in prepared if p.skipped]
    photos = [p for p in prepared if not p.skipped]
    sets = build_sets(photos)
    probes_fta = sum(1 for p in photos if p.probe is None or not p.probe_passed)
    no_face = sum(1 for p in photos if p.probe is None)
    failing: dict[str, int] = {}
    for p in photos:
        if p.probe is not None and p.probe_failed:
            failing[p.probe_failed] = failing.get(p.probe_failed, 0) + 1
    per_format_scores, pooled_scores_gated = pooled_scores(sets, sets.probes_passed)
    per_format = {fmt: error_rates(s.genuine, s.impostor) for fmt, s in per_format_scores.items()}
    pooled = error_rates(pooled_scores_gated.genuine, pooled_scores_gated.impostor)
    del per_format_scores, pooled_scores_gated
    _, ungated_scores = pooled_scores(sets, sets.probes)
    without_gate = error_rates(ungated_scores.genuine, ungated_scores.impostor)
    del ungated_scores
    point, threshold, source = operating_threshold(pooled)
    refs = list(sets.references.values())
    group_report = group_report_ungated = None
    if groups and threshold is not None:
        head = {
            "operating_point": point,
            "threshold": round(threshold, 4),
            "threshold_from": source,
            "fmr_counts": "impostor pairs whose reference and probe are both in the group",
        }
        group_report = {
            **head,
            "by": fs.per_group(refs, sets.probes_passed, sets.persons, groups, threshold),
        }
        group_report_ungated = {
            **head,
            "by": fs.per_group(refs, sets.probes, sets.persons, groups, threshold),
        }
    bounds = configured_points(sets, sets.probes_passed, pooled)
    bounds_ungated = configured_points(sets, sets.probes, without_gate)
    stage_s["score"] = round(time.perf_counter() - t, 1)
    sizes = [b for p in photos for b in p.reference_bytes.values()]
    reference_fta = {
        fmt.value: sum(1 for p in photos if p.references.get(fmt.value) is None)
        for fmt in TokenFormat
    }
    people = sets.persons
    t = time.perf_counter()
    cpu = pin_to_one_core()
    try:
        if latency_data is None:
            latency = measure_latency(
                sorted({p.person for p in photos}), data, verifier, n=latency_runs
            )
        else:
            folders = sorted(d.name for d in latency_data.iterdir() if d.is_dir())
            latency = measure_latency(folders, latency_data, verifier, latency_runs)
    finally:
        unpin(cpu)
    stage_s["latency"] = round(time.perf_counter() - t, 1)
    return {
        "data": str(data),
        "people": len(people),
        "photos": len(photos),
        "skipped_files": skipped,
        "fta": round(probes_fta / max(len(photos), 1), 4),
        "fta_detail": {
            "probes_without_face": no_face,
            "probes_failing_quality": probes_fta - no_face,
            "first_failed_measure": failing,
            "references_without_face": reference_fta,
        },
        "reference_bytes": {"min": min(sizes), "max": max(sizes)} if sizes else {},
        **pooled,
        "pairs_note": (
            "pooled over the two reference formats, which share their photos: "
            f"{per_format['jpeg2000']['impostor_pairs']} distinct impostor and "
            f"{per_format['jpeg2000']['genuine_pairs']} distinct genuine photo pairs, from "
            f"{len(people) * (len(people) - 1) // 2} distinct pairs of people"
        ),
        "bounds_note": (
            "*_ci95: exact Clopper-Pearson 95% interval, pairs taken as independent; "
            "*_ci95_bootstrap: 95% percentile interval over 1000 resamples of the reference "
            "identities (pairs sharing a person stay together); fmr_95_upper_*: one-sided "
            "Clopper-Pearson"
        ),
        "operating_points": bounds,
        "per_format": per_format,
        "without_quality_gate": {
            **{
                k: v
                for k, v in without_gate.items()
                if k in ("eer", "genuine_pairs", "impostor_pairs")
                or k.startswith(
                    (
                        "fnmr_at",
                        "threshold_at",
                        "fnmr_ci95",
                        "impostor_pairs_above_threshold_at",
                        "fmr_95_upper_at",
                    )
                )
            },
            "operating_points": bounds_ungated,
            "per_group": group_report_ungated,
        },
        "per_group": group_report,
        "latency_ms": latency,
        "latency_note": "median per stage of full verifications (wall ms; total_cpu: the "
        "process's CPU ms per verification), onnxruntime 1 intra-op thread"
        + (f", on {latency_data.name}" if latency_data is not None else ""),
        "pad": pad,
        "jobs": jobs,
        "stage_s": stage_s,
        "wall_s": round(time.perf_counter() - start, 1),
    }


def _has_thresholds() -> bool:
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["name"] == "face_embedder")
    return bool(entry.get("operating_points"))


def calibration_source(report: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The figures the thresholds are calibrated from, and which they are: the gated ones,
    or, when no probe of the set passes the live quality gate (LFW's 250 px web crops fail
    its 40 px inter-eye minimum), every probe's, said so in the manifest."""
    if all(isinstance(report.get(f"threshold_at_fmr_{t}"), float) for t in TARGETS):
        return report, "probes that pass the live quality gate"
    ungated = report["without_quality_gate"]
    if not all(isinstance(ungated.get(f"threshold_at_fmr_{t}"), float) for t in TARGETS):
        raise SystemExit("no threshold to write: the set gave no genuine or impostor pairs")
    return ungated, (
        "every probe, without the live quality gate: no probe of this set passes it "
        f"(FTA {report['fta']}), and a gated threshold could only be as strict or stricter"
    )


def write_manifest(report: dict[str, Any]) -> None:
    path = models_dir() / "manifest.json"
    manifest = json.loads(path.read_text())
    entry = next(m for m in manifest["models"] if m["name"] == "face_embedder")
    source, probes = calibration_source(report)
    entry["operating_points"] = {
        f"fmr_{t}": {
            "threshold": source[f"threshold_at_fmr_{t}"],
            "fnmr": source[f"fnmr_at_fmr_{t}"],
            "fnmr_ci95": source[f"fnmr_ci95_at_fmr_{t}"],
            "impostor_pairs": source["impostor_pairs"],
            "impostor_pairs_above_threshold": source[f"impostor_pairs_above_threshold_at_fmr_{t}"],
            "fmr_95_upper_bound": source[f"fmr_95_upper_at_fmr_{t}"],
            "calibrated_on": probes,
        }
        for t in TARGETS
    }
    people = int(report["people"])  # type: ignore[call-overload]
    entry["accuracy"] = {
        "dataset": f"{Path(str(report['data'])).name}: {report['photos']} photos of {people} "
        "people; references = ICAO token crops 480x640 as JPEG 2000 and JPEG at <= 15 KB; "
        "probes = the other photos",
        "measured_by": "python -m benchmarks.face --write-manifest",
        "eer": source["eer"],
        "genuine_pairs": source["genuine_pairs"],
        "impostor_pairs": source["impostor_pairs"],
        "probes": probes,
        "test_time_flip": bool(entry.get("test_time_flip", False)),
        "fta": report["fta"],
        "pairs_note": report["pairs_note"]
        if source is report
        else "pooled over the two reference formats (a JPEG 2000 and a JPEG reference of "
        "each photo), every probe",
        "latency_ms": report["latency_ms"],
        "latency_note": report["latency_note"],
        "caveat": f"{people} people give {people * (people - 1) // 2} distinct impostor "
        "identity pairs; each threshold rests on the impostor pairs above it (see "
        "operating_points). Recalibrate on an operational dataset before deployment.",
    }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def pin_to_one_core() -> set[int] | None:
    """Run on one CPU (the latency target is per core); returns the CPUs to give back to
    `unpin`, or None if pinning is not possible."""
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(before)})
    except (AttributeError, OSError):
        return None
    return before


def unpin(before: set[int] | None) -> None:
    if before is not None:
        os.sched_setaffinity(0, before)


def print_points(report: dict[str, Any]) -> None:
    """The shipped thresholds measured on this set, and the per-group rates, with and without
    the live quality gate."""
    ungated = report["without_quality_gate"]
    print(
        f"without the quality gate: {ungated['genuine_pairs']} genuine, "
        f"{ungated['impostor_pairs']} impostor pairs, EER {_pct(ungated['eer'])}, "
        f"FNMR at FMR 0.1% {_pct(ungated['fnmr_at_fmr_0.001'])}, "
        f"at FMR 0.05% {_pct(ungated['fnmr_at_fmr_0.0005'])}"
    )
    for label, part in (("gated", report), ("ungated", ungated)):
        for key, point in part["operating_points"].items():
            for which in ("shipped", "calibrated_here"):
                m = point.get(which)
                if m:
                    print(
                        f"{label} {key} {which}: threshold {m['threshold']}, "
                        f"FNMR {_pct(m['fnmr'])} {_ci(m['fnmr_ci95'])}, "
                        f"FMR {_pct(m['fmr'], 4)} {_ci(m['fmr_ci95'])} "
                        f"({m['fmr_errors']} of {m['fmr_trials']} impostor pairs)"
                    )
        groups = part.get("per_group")
        if groups:
            print(f"{label} per group at {groups['operating_point']} ({groups['threshold']}):")
            for attribute, table in groups["by"].items():
                rows = ", ".join(
                    f"{value}: FNMR {_pct(g['fnmr'])} FMR {_pct(g['fmr'], 4)} "
                    f"({g['people']} people)"
                    for value, g in table["groups"].items()
                )
                print(
                    f"  {attribute}: {rows}; worst/best FNMR {table['fnmr_ratio_worst_best']}, "
                    f"FMR {table['fmr_ratio_worst_best']}"
                )


def _pct(rate: object, digits: int = 2) -> str:
    return "-" if rate is None else f"{float(rate):.{digits}%}"  # type: ignore[arg-type]


def _ci(bounds: Sequence[float]) -> str:
    return f"[{bounds[0]:.4%}, {bounds[1]:.4%}]"


def print_liveness(pad: dict[str, Any]) -> None:
    """APCER per attack type and BPCER side by side for every turn threshold."""
    print(f"liveness: {pad['method']}")
    bona = pad["bona_fide"]
    if not bona["measured"]:
        print(f"  BPCER not measured: {bona['why_not']}")
    for deg, attacks in pad["apcer_by_turn_deg"].items():
        line = []
        for attack, a in attacks.items():
            line.append(
                f"APCER {attack} {a['accepted_as_live']}/{a['presentations']} "
                f"(95% upper {a['apcer_95_upper']:.0%}; without depth cues "
                f"{a['apcer_without_depth_cues']:.0%})"
            )
        if bona["measured"]:
            p, t = (
                bona["bpcer_by_turn_deg"][deg]["presentations"],
                bona["bpcer_by_turn_deg"][deg]["turns"],
            )
            line.append(
                f"BPCER {p['rejected']}/{p['presentations']} presentations "
                f"(95% upper {p['bpcer_95_upper']:.0%}), {t['rejected']}/{t['presentations']} "
                "single turns"
            )
        print(f"  turn {deg} deg: " + ", ".join(line))
    print(f"  simulated attacks accepted up to turn: {pad['attack_accepted_up_to_turn_deg']} deg")
    if bona["measured"]:
        print(f"  bona fide: all pass up to turn {bona['all_pass_up_to_turn_deg']:g} deg")
        print(f"  caveat: {bona['caveat']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="face verification benchmark")
    parser.add_argument("--data", type=Path, required=True, help="one folder of photos per person")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--latency-runs", type=int, default=40)
    parser.add_argument("--write-manifest", action="store_true")
    parser.add_argument(
        "--latency-data",
        type=Path,
        help="measure latency on this set instead (one folder per person; its probes must "
        "pass the live quality gate for the embedder to run)",
    )
    parser.add_argument(
        "--pad-samples", type=int, default=12, help="photos per attack type (0: skip PAD)"
    )
    parser.add_argument(
        "--turn-deg",
        type=float,
        nargs="+",
        default=[DEFAULT_TURN_DEG],
        help="liveness turn thresholds to measure APCER and BPCER at",
    )
    parser.add_argument("--pad-only", action="store_true", help="liveness figures only")
    parser.add_argument("--bona-fide-cache", type=Path, default=BONA)
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="worker processes preparing the photos (default: the CPUs this process may use)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "var" / "cache" / "face-benchmark",
        help="keep each photo's embeddings here, keyed by its bytes and the pipeline's code",
    )
    parser.add_argument("--no-cache", action="store_true", help="prepare every photo afresh")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"no such folder: {args.data}")
    if args.pad_only and (args.write_manifest or args.pad_samples <= 0):
        parser.error("--pad-only needs --pad-samples > 0 and no --write-manifest")
    try:
        load_groups(args.data)
    except ValueError as exc:
        parser.error(str(exc))
    report = run(
        args.data,
        args.latency_runs,
        args.pad_samples,
        args.turn_deg,
        args.bona_fide_cache,
        args.pad_only,
        args.jobs,
        None if args.no_cache else args.cache,
        args.latency_data,
    )
    if args.write_manifest:
        write_manifest(report)
    if args.json:
        print(json.dumps(report))
        return
    if not args.pad_only:
        print(f"data: {report['photos']} photos of {report['people']} people")
        print(f"pairs: {report['genuine_pairs']} genuine, {report['impostor_pairs']} impostor")
        print(f"EER {_pct(report['eer'])}  FTA {_pct(report['fta'])}")
        for t in TARGETS:
            print(
                f"FMR {t:.2%}: threshold {report[f'threshold_at_fmr_{t}']}, "
                f"FNMR {_pct(report[f'fnmr_at_fmr_{t}'])} "
                f"({report.get(f'impostor_pairs_above_threshold_at_fmr_{t}')} of "
                f"{report['impostor_pairs']} impostor pairs at or above it; "
                f"95% upper bound on FMR {_pct(report.get(f'fmr_95_upper_at_fmr_{t}'), 3)})"
            )
        print_points(report)
        print("latency ms (median):", report["latency_ms"])
        print(f"wall {report['wall_s']} s, stages {report['stage_s']}")
    pad = report.get("pad")
    if isinstance(pad, dict):
        print_liveness(pad)


if __name__ == "__main__":
    main()
