"""Morphing attack detection benchmark (ISO/IEC 20059 metrics) on held-out identities.

    python -m benchmarks.morph --data DIR [--json] [--jobs 2] [--write-manifest]
    python -m benchmarks.morph --pairs FILE [--json]      # a set made by another generator

`--data DIR` (a folder of photos per person, as `benchmarks/face.py`) makes the attacks itself
with `hardware_mocks/morph_set.py` and scores the `test` identities only (identity-disjoint from
the training and calibration identities; the rule is printed). `--pairs FILE` scores every entry
of a ready pairs file (JSON lines: `reference` path relative to the file, `label` bona_fide or
morph, `variant`, `probes` [{path, person}], optional `split`) without retraining.

Per mode (single = S-MAD, differential = D-MAD) and per variant: D-EER; APCER (MACER: morphs
taken for bona fide) at BPCER (BSCER) 10% and 1%; BPCER and APCER at the configured operating
point (the manifest's threshold). D-MAD also per band of the live photo's person's weight in
the morph (`differential_by_live_weight`; the literature mostly reports 0.5 morphs). MMPMR of
our face matcher at its operating threshold (a morph counts when every contributor's best live
photo matches it) and the residual with MAD in front (the same, counting only matches the
detector let through). Latency per check on one core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance.biometrics.face.align import align_face
from appliance.biometrics.face.compare import OperatingPoint, threshold_for
from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.morph.detector import (
    DEFAULT_OPERATING_POINT,
    DMAD_MODEL,
    SMAD_MODEL,
    MorphDetector,
    dmad_input,
    smad_input,
)
from appliance.biometrics.morph.features import MATCH_COSINE
from appliance.biometrics.morph.portrait_net import PORTRAIT_MODEL
from appliance.errors import ApplianceError
from benchmarks.face import pin_to_one_core, unpin
from hardware_mocks.morph_portraits import portrait_logits
from hardware_mocks.morph_set import (
    SPLIT_RULE,
    Features,
    build,
    compute_features,
    load_reference,
    read_pairs,
)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "cache" / "morph"
COSINE = MATCH_COSINE  # index of the embedding cosine in the differential features
CAVEAT = (
    "Attacks come from one generator (this repository's landmark morphs); detectors trained on "
    "it are known to lose much of their accuracy on morphs from unseen generators (GAN/diffusion "
    "morphs, other landmark tools, real print-and-scan): expect the S-MAD figures in particular "
    "to be optimistic; the portrait network, which learns from the pixels, learns this "
    "generator's traces most of all. LFW photos are small web images, not ICAO portraits."
)


def eer(bona: np.ndarray, attack: np.ndarray) -> float:
    best = 1.0
    for t in np.unique(np.concatenate([bona, attack])):
        best = min(best, max(float((bona >= t).mean()), float((attack < t).mean())))
    return best


def apcer_at_bpcer(bona: np.ndarray, attack: np.ndarray, target: float) -> float:
    ordered = np.sort(bona)[::-1]
    allowed = int(np.floor(target * len(ordered)))
    t = float(np.nextafter(ordered[allowed], np.inf)) if allowed < len(ordered) else 0.0
    return float((attack < t).mean())


def figures(bona: np.ndarray, attack: np.ndarray, threshold: float) -> dict[str, Any]:
    if len(bona) == 0 or len(attack) == 0:
        return {"bona_fide": len(bona), "attacks": len(attack)}
    return {
        "bona_fide": len(bona),
        "attacks": len(attack),
        "d_eer": round(eer(bona, attack), 4),
        "apcer_at_bpcer_10pct": round(apcer_at_bpcer(bona, attack, 0.10), 4),
        "apcer_at_bpcer_1pct": round(apcer_at_bpcer(bona, attack, 0.01), 4),
        "operating_point": {
            "threshold": round(threshold, 4),
            "bpcer": round(float((bona >= threshold).mean()), 4),
            "apcer": round(float((attack < threshold).mean()), 4),
        },
    }


#: edges of the bands of the live photo's person's share in the morph (alpha or 1 - alpha): the
#: literature's usual attack is the 0.5 morph; at 0.7 the morph mostly is the traveller
WEIGHT_EDGES = (0.45, 0.55)
WEIGHT_BANDS = ("below 0.45", "0.45-0.55", "0.55 and above")


def probe_weights(features: Features) -> np.ndarray:
    """Per pair, the live photo's person's weight in the morph (NaN: bona fide or unknown)."""
    weights = np.full(len(features.pair_entry), np.nan)
    for k, i in enumerate(features.pair_entry):
        entry = features.entries[int(i)]
        if entry.alpha is None or len(entry.people) != 2:
            continue
        first = features.pair_person[k] == entry.people[0]
        weights[k] = 1 - entry.alpha if first else entry.alpha
    return weights


def by_weight(
    bona: np.ndarray, attack: np.ndarray, weights: np.ndarray, threshold: float
) -> dict[str, Any]:
    """D-MAD figures per band of the live person's weight in the morph (pairs of morphs
    without a known weight, as from another generator, are in no band)."""
    band = np.where(np.isnan(weights), -1, np.digitize(weights, WEIGHT_EDGES))
    return {
        name: figures(bona, attack[band == k], threshold)
        for k, name in enumerate(WEIGHT_BANDS)
        if (band == k).any()
    }


def _scores(
    detector: MorphDetector, features: Features, portrait: np.ndarray, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fused S-MAD score per usable entry (NaN otherwise) and D-MAD score per pair."""
    single = np.full(len(features.entries), np.nan)
    if ok.any():
        single[ok] = detector.batch_scores("single", smad_input(features.single[ok]), portrait[ok])
    pair = np.zeros(len(features.pair_entry))
    if len(pair):
        x = dmad_input(features.pair_x, features.single[features.pair_entry])
        pair = detector.batch_scores("differential", x, portrait[features.pair_entry])
    return single, pair


def mmpmr(
    features: Features,
    rows: np.ndarray,
    pair_scores: np.ndarray,
    single_scores: np.ndarray,
    face_threshold: float,
    thresholds: dict[str, float],
) -> dict[str, Any]:
    """Share of morphs every contributor matches; and with each detector in front."""
    by_entry: dict[int, list[int]] = {}
    for k, i in enumerate(features.pair_entry):
        by_entry.setdefault(int(i), []).append(k)
    total = matched = res_d = res_s = 0
    for i in np.flatnonzero(rows):
        entry = features.entries[i]
        pairs = by_entry.get(int(i), [])
        if not entry.people or not pairs:
            continue
        total += 1
        ok_all = ok_d = True
        for person in entry.people:
            mine = [k for k in pairs if features.pair_person[k] == person]
            hits = [k for k in mine if features.pair_x[k, COSINE] >= face_threshold]
            ok_all &= bool(hits)
            ok_d &= any(pair_scores[k] < thresholds["differential"] for k in hits)
        matched += ok_all
        res_d += ok_all and ok_d
        res_s += ok_all and bool(single_scores[i] < thresholds["single"])
    if not total:
        return {"morphs": 0}
    return {
        "morphs": total,
        "mmpmr": round(matched / total, 4),
        "residual_with_dmad": round(res_d / total, 4),
        "residual_with_smad": round(res_s / total, 4),
    }


def latency(
    detector: MorphDetector, pairs_file: Path, features: Features, n: int
) -> dict[str, Any]:
    """Per check on one core: the whole check (decode, detect, embed, features, model) and the
    part on top of face verification (the mirrored chips' embeddings, features and model, given
    the faces as the face step found and embedded them)."""
    before = pin_to_one_core()
    cpu = None if before is None else min(before)
    entries = [e for e in features.entries if e.probes][:n]
    whole: dict[str, list[float]] = {"single": [], "differential": []}
    extra: dict[str, list[float]] = {"single": [], "differential": []}
    for entry in entries:
        data = load_reference(pairs_file, entry)
        live = decode_image(Path(entry.probes[0].path).read_bytes())
        for mode, frame in (("single", None), ("differential", live)):
            t = time.perf_counter()
            detector.check(data, frame)
            whole[mode].append((time.perf_counter() - t) * 1000)
        try:
            ref = detector.analyse(decode_image(data))
            live_face = detector.analyse(live)
        except ApplianceError:  # a photo without a face: no latency sample
            continue
        for mode, other in (("single", None), ("differential", live_face)):
            t = time.perf_counter()
            for seen in (ref,) if other is None else (ref, other):
                chip = align_face(seen.image, seen.face)
                detector.embedder.embed(np.ascontiguousarray(chip[:, ::-1]))
            detector.score(ref, other)
            extra[mode].append((time.perf_counter() - t) * 1000)

    def stats(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        ordered = sorted(values)
        return {
            "median": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        }

    unpin(before)
    return {
        "cpu": cpu,
        "checks": len(entries),
        "whole_check": {m: stats(v) for m, v in whole.items()},
        "on_top_of_face_verification": {m: stats(v) for m, v in extra.items()},
    }


def run(
    pairs_file: Path,
    split: str | None,
    cache: Path | None = None,
    latency_checks: int = 30,
    log: bool = True,
) -> dict[str, Any]:
    features = compute_features(pairs_file, log=log, cache=cache)
    portrait_cache = None if cache is None else cache.with_name(f"{cache.stem}-portraits.npz")
    portrait = portrait_logits(pairs_file, log=log, cache=portrait_cache)
    usable = features.single_ok & ~np.isnan(portrait)
    detector = MorphDetector.load()
    single, pair = _scores(detector, features, portrait, usable)
    rows = features.rows(split) & usable
    labels = np.array([e.label for e in features.entries])
    variants = sorted({e.variant for e in features.entries if e.label == "morph"})
    pair_rows = rows[features.pair_entry]
    pair_labels = labels[features.pair_entry]
    pair_variants = np.array([features.entries[i].variant for i in features.pair_entry])
    entry_variants = np.array([e.variant for e in features.entries])
    results: dict[str, dict[str, Any]] = {"single": {}, "differential": {}}
    for variant in [*variants, "all"]:
        want = (entry_variants == variant) if variant != "all" else (labels == "morph")
        bona = single[rows & (labels == "bona_fide")]
        results["single"][variant] = figures(
            bona, single[rows & want], detector.thresholds["single"]
        )
        pwant = (pair_variants == variant) if variant != "all" else (pair_labels == "morph")
        results["differential"][variant] = figures(
            pair[pair_rows & (pair_labels == "bona_fide")],
            pair[pair_rows & pwant],
            detector.thresholds["differential"],
        )
    # the portrait network alone (its logit, no threshold of its own: the operating point is
    # the fused score's), to show what the fusion adds over each part
    alone: dict[str, Any] = {}
    for variant in [*variants, "all"]:
        want = (entry_variants == variant) if variant != "all" else (labels == "morph")
        bona = portrait[rows & (labels == "bona_fide")]
        got = figures(bona, portrait[rows & want], np.inf)
        alone[variant] = {k: v for k, v in got.items() if k != "operating_point"}
    results["portrait_network_alone"] = alone
    weights = probe_weights(features)
    morph_pairs = pair_rows & (pair_labels == "morph")
    results["differential_by_live_weight"] = by_weight(
        pair[pair_rows & (pair_labels == "bona_fide")],
        pair[morph_pairs],
        weights[morph_pairs],
        detector.thresholds["differential"],
    )
    face_threshold = threshold_for(OperatingPoint.FMR_0_1_PERCENT)
    attack = {
        variant: mmpmr(
            features,
            rows & ((entry_variants == variant) if variant != "all" else (labels == "morph")),
            pair,
            single,
            face_threshold,
            detector.thresholds,
        )
        for variant in [*variants, "all"]
    }
    used = [e for e, r in zip(features.entries, rows, strict=True) if r]
    splits: dict[str, set[str]] = {}
    for e in features.entries:
        splits.setdefault(e.split, set()).update(e.people)
    return {
        "pairs_file": str(pairs_file),
        "split_rule": SPLIT_RULE if split else "every entry of the pairs file",
        "scored_split": split or "all",
        "identities": {k: len(v) for k, v in sorted(splits.items())},
        "identities_scored": len({p for e in used for p in e.people}),
        "references_without_face": int((~usable & features.rows(split)).sum()),
        "operating_point": DEFAULT_OPERATING_POINT,
        "detection": results,
        "face_matcher": {
            "operating_point": OperatingPoint.FMR_0_1_PERCENT.value,
            "threshold": round(face_threshold, 4),
            "note": "embedding cosine of chip photo and live photo, without the quality gate",
            **{"per_variant": attack},
        },
        "latency_ms": latency(detector, pairs_file, features, latency_checks),
        "caveat": CAVEAT,
    }


def write_manifest(report: dict[str, Any]) -> None:
    path = ROOT / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["models"]:
        if entry["name"] == PORTRAIT_MODEL:
            entry["accuracy"] = {
                "measured_by": "python -m benchmarks.morph --data DIR --write-manifest (LFW)",
                "split": report["split_rule"],
                "scored": report["scored_split"],
                "identities_scored": report["identities_scored"],
                "note": "the network's logit alone, chip photos of held-out identities; the "
                "product uses it only fused (morph_smad, morph_dmad)",
                "per_variant": report["detection"]["portrait_network_alone"],
                "caveat": CAVEAT,
            }
        mode = {SMAD_MODEL: "single", DMAD_MODEL: "differential"}.get(entry["name"])
        if mode is None:
            continue
        entry["accuracy"] = {
            "measured_by": "python -m benchmarks.morph --data DIR --write-manifest (LFW)",
            "split": report["split_rule"],
            "scored": report["scored_split"],
            "identities_scored": report["identities_scored"],
            "per_variant": report["detection"][mode],
            **(
                {"per_live_weight": report["detection"]["differential_by_live_weight"]}
                if mode == "differential"
                else {}
            ),
            "mmpmr": report["face_matcher"]["per_variant"],
            "latency_ms_one_core": {
                "whole_check": report["latency_ms"]["whole_check"][mode],
                "on_top_of_face_verification": report["latency_ms"]["on_top_of_face_verification"][
                    mode
                ],
            },
            "caveat": CAVEAT,
        }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _print(report: dict[str, Any]) -> None:
    print(f"split: {report['split_rule']}; scored: {report['scored_split']}, "
          f"{report['identities_scored']} identities")  # fmt: skip
    for mode, per_variant in report["detection"].items():
        for variant, f in per_variant.items():
            if "d_eer" not in f:
                continue
            if "operating_point" not in f:
                print(f"{mode:12s} {variant:9s} D-EER {f['d_eer']:.3f}  APCER@BPCER10% "
                      f"{f['apcer_at_bpcer_10pct']:.3f}")  # fmt: skip
                continue
            op = f["operating_point"]
            print(
                f"{mode:12s} {variant:9s} D-EER {f['d_eer']:.3f}  APCER@BPCER10% "
                f"{f['apcer_at_bpcer_10pct']:.3f}  @1% {f['apcer_at_bpcer_1pct']:.3f}  "
                f"op(t={op['threshold']}): BPCER {op['bpcer']:.3f} APCER {op['apcer']:.3f}  "
                f"({f['bona_fide']} bona fide, {f['attacks']} morphs)"
            )
    for variant, m in report["face_matcher"]["per_variant"].items():
        if m.get("morphs"):
            print(f"MMPMR {variant:9s} {m['mmpmr']:.3f}  residual with D-MAD "
                  f"{m['residual_with_dmad']:.3f}, with S-MAD {m['residual_with_smad']:.3f}"
                  f"  ({m['morphs']} morphs)")  # fmt: skip
    print("latency ms (one core):", json.dumps(report["latency_ms"]))
    print("caveat:", report["caveat"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="a folder of photos per person")
    source.add_argument("--pairs", type=Path, help="a ready pairs file (JSON lines)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--jobs", type=int, default=1, help="processes making the morphs")
    parser.add_argument("--max-people", type=int, default=None)
    parser.add_argument("--latency-checks", type=int, default=30)
    parser.add_argument("--write-manifest", action="store_true")
    parser.add_argument("--set-dir", type=Path, default=None, help="where --data's set is cached")
    args = parser.parse_args(argv)
    if args.data is not None:
        out = args.set_dir or CACHE / args.data.resolve().name
        pairs_file = build(args.data, out, max_people=args.max_people, jobs=args.jobs,
                           log=not args.json)  # fmt: skip
        report = run(pairs_file, "test", latency_checks=args.latency_checks, log=not args.json)
    else:
        read_pairs(args.pairs)  # fails early on a malformed file
        key = hashlib.sha256(str(args.pairs.resolve()).encode()).hexdigest()[:16]
        cache = CACHE / "pairs" / f"{key}.npz"
        cache.parent.mkdir(parents=True, exist_ok=True)
        report = run(args.pairs, None, cache, args.latency_checks, log=not args.json)
    if args.write_manifest:
        write_manifest(report)
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)


if __name__ == "__main__":
    main()
