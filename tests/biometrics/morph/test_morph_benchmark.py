"""benchmarks/morph.py: ISO/IEC 20059 figures from a pairs file (here a tiny set made from
tests/data/faces by the project's own generator), and the metric arithmetic itself."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from appliance.biometrics.morph.features import DMAD_DIM, SMAD_DIM
from benchmarks import morph as bench
from hardware_mocks.morph_portraits import live_portraits
from hardware_mocks.morph_set import (
    build,
    build_dense,
    compute_features,
    identity_split,
    person_id,
    read_pairs,
)
from tests.support.face_support import FACES


def test_metrics_on_known_scores() -> None:
    bona = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    attack = np.array([0.55, 0.85, 0.9, 0.99])
    # best threshold 0.85: 0.9 and 0.95 refused (BPCER 20%), 0.55 missed (APCER 25%)
    assert bench.eer(bona, attack) == pytest.approx(0.25)
    # BPCER 10%: only 0.95 may be refused -> threshold just above 0.9; 0.55, 0.85, 0.9 missed
    assert bench.apcer_at_bpcer(bona, attack, 0.10) == pytest.approx(0.75)
    figures = bench.figures(bona, attack, threshold=0.86)
    assert figures["operating_point"] == {"threshold": 0.86, "bpcer": 0.2, "apcer": 0.5}


def test_split_is_stable_and_identity_disjoint() -> None:
    names = [f"person{i}" for i in range(200)]
    splits = [identity_split(n) for n in names]
    assert splits == [identity_split(n) for n in names]
    assert {"train", "calibration", "test"} == set(splits)
    assert 0.2 < splits.count("test") / len(splits) < 0.4


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces")
    for person in ("obama", "biden", "person02", "person04"):
        shutil.copytree(FACES / person, root / person)
    return build(root, tmp_path_factory.mktemp("set"), seed=3, log=False)


def test_set_has_both_variants_and_live_probes_of_other_photos(pairs_file: Path) -> None:
    entries = read_pairs(pairs_file)
    variants = {e.variant for e in entries}
    assert {"bona_fide", "full", "splice"} <= variants
    for entry in entries:
        data = (pairs_file.parent / entry.reference).read_bytes()
        assert 8_000 < len(data) <= 20_000
        assert entry.probes and all(p.person in entry.people for p in entry.probes)
        if entry.label == "morph":
            assert len(set(entry.people)) == 2 and 0.3 <= (entry.alpha or 0) <= 0.7
    # people are hashes; only the probe paths point into the photo folder
    assert all("obama" not in " ".join(e.people) + e.reference for e in entries)


def test_benchmark_reports_every_figure(
    pairs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench.main(["--pairs", str(pairs_file), "--json", "--latency-checks", "2"])
    report = json.loads(capsys.readouterr().out)
    assert report["split_rule"] == "every entry of the pairs file"
    for mode in ("single", "differential"):
        for variant in ("full", "splice", "all"):
            figures = report["detection"][mode][variant]
            assert 0.0 <= figures["d_eer"] <= 1.0
            assert {"apcer_at_bpcer_10pct", "apcer_at_bpcer_1pct", "operating_point"} <= set(
                figures
            )
    # D-MAD per band of the live person's share in the morph: every morph pair in one band
    bands = report["detection"]["differential_by_live_weight"]
    assert set(bands) <= {"below 0.45", "0.45-0.55", "0.55 and above"} and bands
    in_bands = sum(b["attacks"] for b in bands.values())
    assert in_bands == report["detection"]["differential"]["all"]["attacks"]
    # the portrait network alone, per chip photo (as many as S-MAD scored), without a threshold
    alone = report["detection"]["portrait_network_alone"]["all"]
    assert 0.0 <= alone["d_eer"] <= 1.0 and "operating_point" not in alone
    assert alone["attacks"] == report["detection"]["single"]["all"]["attacks"]
    matcher = report["face_matcher"]["per_variant"]["all"]
    assert matcher["morphs"] > 0
    assert matcher["residual_with_dmad"] <= matcher["mmpmr"]
    assert matcher["residual_with_smad"] <= matcher["mmpmr"]
    latency = report["latency_ms"]["on_top_of_face_verification"]
    assert latency["single"]["median"] > 0 and latency["differential"]["median"] > 0


def test_live_portraits_are_those_of_the_pairs_the_features_score(
    pairs_file: Path, tmp_path: Path
) -> None:
    features = compute_features(pairs_file, log=False, cache=tmp_path / "features.npz")
    lives, pair_entry, pair_live = live_portraits(pairs_file, False, tmp_path / "live.npz")
    # one row per D-MAD pair, in the features' order
    np.testing.assert_array_equal(pair_entry, features.pair_entry)
    # each live photo brought to the portrait once, however many pairs it is in
    assert lives.shape[1:] == (214, 160, 3) and set(pair_live) == set(range(len(lives)))
    assert len(lives) < len(pair_live)
    # the eyes sit where the token geometry puts them: darker than the skin between them
    mean = lives.mean(axis=(0, 3))
    assert mean[96, 60] < mean[96, 80] and mean[96, 100] < mean[96, 80]


def test_dense_set_uses_every_photo_and_pair_and_leaves_out_the_excluded(
    tmp_path: Path,
) -> None:
    root = tmp_path / "faces"
    for person in ("obama", "biden", "person02", "person05"):
        shutil.copytree(FACES / person, root / person)
    pairs_file = build_dense(root, tmp_path / "set", exclude={"obama"}, log=False)
    entries = read_pairs(pairs_file)
    assert {e.split for e in entries} == {"train"}  # a training-only set
    bona = [e for e in entries if e.label == "bona_fide"]
    # every photo of the people kept is a chip photo of its own (5 photos; person05 has one)
    assert len(bona) == 5 and len({e.reference for e in bona}) == 5
    assert all((pairs_file.parent / e.reference).is_file() for e in entries)
    people = {p for e in bona for p in e.people}
    morphed = {frozenset(e.people) for e in entries if e.label == "morph"}
    assert len(people) == 3 and len(morphed) == 3  # every pair of the three
    assert person_id("obama") not in {p for e in entries for p in e.people}
    assert all("obama" not in p.path for e in entries for p in e.probes)


def test_features_cached_by_an_older_version_are_recomputed(
    pairs_file: Path, tmp_path: Path
) -> None:
    # a features file written before the features changed, for the very same pairs file
    cache = tmp_path / "features.npz"
    stale = np.zeros((1, 3), np.float32)
    np.savez(cache, digest=hashlib.sha256(pairs_file.read_bytes()).hexdigest(), single=stale,
             single_ok=np.ones(1, bool), pair_entry=np.zeros(1, np.int64),
             pair_person=np.array(["x"]), pair_x=stale)  # fmt: skip
    features = compute_features(pairs_file, log=False, cache=cache)
    assert features.single.shape == (len(read_pairs(pairs_file)), SMAD_DIM)
    assert features.pair_x.shape[1] == DMAD_DIM and len(features.pair_x) > 1
