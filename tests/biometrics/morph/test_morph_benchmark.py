"""benchmarks/morph.py: ISO/IEC 20059 figures from a pairs file (here a tiny set made from
tests/data/faces by the project's own generator), and the metric arithmetic itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import morph as bench
from hardware_mocks.morph_set import build, identity_split, read_pairs
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
    matcher = report["face_matcher"]["per_variant"]["all"]
    assert matcher["morphs"] > 0
    assert matcher["residual_with_dmad"] <= matcher["mmpmr"]
    assert matcher["residual_with_smad"] <= matcher["mmpmr"]
    latency = report["latency_ms"]["on_top_of_face_verification"]
    assert latency["single"]["median"] > 0 and latency["differential"]["median"] > 0
