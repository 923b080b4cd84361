"""benchmarks/face.py at calibration scale: every pair scored as matrix products, rates from
sorted arrays (equal to the pair-by-pair definitions), bounds on the rates, per-group rates
from a groups.json beside the photos."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks import face as bench
from benchmarks import face_photos
from benchmarks import face_scores as fs
from tests.support.data_support import FACES


def _side(rng: np.random.Generator, people: int, per_person: int, offset: int = 0) -> fs.Side:
    """Synthetic normalised embeddings: a centre per person plus noise."""
    centres = rng.normal(size=(people, 16))
    rows = np.repeat(np.arange(people), per_person)
    emb = centres[rows] + rng.normal(scale=0.9, size=(len(rows), 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    photo = np.arange(len(rows)) + offset
    return fs.Side(emb.astype(np.float32), rows.astype(np.int64), photo.astype(np.int64))


def _brute_force(refs: fs.Side, probes: fs.Side) -> tuple[list[float], list[float]]:
    genuine, impostor = [], []
    for i in range(len(refs.person)):
        for j in range(len(probes.person)):
            if refs.photo[i] == probes.photo[j]:
                continue
            score = float(refs.embeddings[i] @ probes.embeddings[j])
            (genuine if refs.person[i] == probes.person[j] else impostor).append(score)
    return genuine, impostor


def test_chunked_scores_are_every_pair_once() -> None:
    rng = np.random.default_rng(1)
    side = _side(rng, 12, 3)
    genuine, impostor = _brute_force(side, side)
    scores = fs.pair_scores(side, side, chunk=5)
    assert len(scores.genuine) == 12 * 3 * 2  # own photo left out
    np.testing.assert_allclose(np.sort(scores.genuine), np.sort(genuine), atol=1e-6)
    np.testing.assert_allclose(np.sort(scores.impostor), np.sort(impostor), atol=1e-6)


def _reference_eer(genuine: np.ndarray, impostors: np.ndarray) -> tuple[float, float]:
    """The definition the benchmark used to loop over: every observed score as threshold."""
    best: tuple[float, float] | None = None
    eer_t = 0.0
    for t in np.unique(np.concatenate([genuine, impostors])):
        fnmr, fmr = float(np.mean(genuine < t)), float(np.mean(impostors >= t))
        if best is None or abs(fnmr - fmr) < abs(best[0] - best[1]):
            best, eer_t = (fnmr, fmr), float(t)
    assert best is not None
    return (best[0] + best[1]) / 2, eer_t


def test_rates_from_sorted_arrays_equal_the_pairwise_definitions() -> None:
    rng = np.random.default_rng(2)
    genuine = rng.normal(0.9, 0.04, 300).astype(np.float32)
    impostor = rng.normal(0.75, 0.05, 5000).astype(np.float32)
    report = bench.error_rates(genuine, impostor)
    eer, eer_t = _reference_eer(genuine.astype(np.float64), impostor.astype(np.float64))
    assert report["eer"] == round(eer, 4)
    assert report["eer_threshold"] == round(eer_t, 4)
    for target in bench.TARGETS:
        t, allowed = fs.threshold_at(np.sort(impostor), target)
        assert allowed == math.floor(target * len(impostor))
        assert np.sum(impostor >= t) <= allowed
        ranked = np.sort(impostor)[::-1]
        assert np.sum(impostor >= ranked[allowed]) > allowed  # the lowest such threshold
        # the report's threshold has 4 decimals, rounded up: never more impostors through
        shown = report[f"threshold_at_fmr_{target}"]
        assert isinstance(shown, float) and t <= shown < t + 1e-4
        above = int(np.sum(impostor.astype(np.float64) >= shown))
        assert above <= allowed
        assert report[f"fnmr_at_fmr_{target}"] == round(float(np.mean(genuine < shown)), 4)
        assert report[f"impostor_pairs_above_threshold_at_fmr_{target}"] == above


def test_rates_over_millions_of_impostor_pairs_take_seconds() -> None:
    """The loop over every distinct score was quadratic: 2 million pairs never finished."""
    rng = np.random.default_rng(3)
    genuine = rng.normal(0.9, 0.04, 20_000).astype(np.float32)
    impostor = rng.normal(0.75, 0.05, 2_000_000).astype(np.float32)
    start = time.process_time()
    report = bench.error_rates(genuine, impostor)
    assert time.process_time() - start < 30
    assert report["impostor_pairs"] == 2_000_000
    assert 0 < float(report["eer"]) < 0.2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("errors", "trials", "expected"),
    # exact binomial intervals, as R's binom.test / scipy's binomtest give them
    [(0, 10, (0.0, 0.3085)), (5, 100, (0.0164, 0.1128)), (10, 10, (0.6915, 1.0))],
)
def test_clopper_pearson_interval(errors: int, trials: int, expected: tuple[float, float]) -> None:
    low, high = fs.clopper_pearson(errors, trials)
    assert round(low, 4) == expected[0]
    assert round(high, 4) == expected[1]


def test_bootstrap_over_identities_is_wider_when_errors_cluster() -> None:
    """One person with every miss: resampling identities sees that, binomial counting not."""
    trials = np.full(50, 10, np.int64)
    clustered = np.zeros(50, np.int64)
    clustered[0] = 10
    spread = np.zeros(50, np.int64)
    spread[:10] = 1
    c_low, c_high = fs.bootstrap_ci(clustered, trials)
    s_low, s_high = fs.bootstrap_ci(spread, trials)
    assert c_low <= 0.02 <= c_high and s_low <= 0.02 <= s_high
    assert c_high - c_low > s_high - s_low
    assert c_low == 0.0  # samples without that person have no miss at all


def test_group_rates_count_same_group_impostors_at_the_threshold() -> None:
    # four people, two photos each; embeddings chosen so the scores are known exactly
    e = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.8, 0.6, 0.0],  # person a: genuine score 0.8
            [0.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],  # person b: genuine 1.0; b vs a: 0.6 and 0.0
            [0.0, 0.0, 1.0],
            [0.0, 0.6, 0.8],  # person c: genuine 0.8
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0],  # person d: genuine 1.0; c vs d: 1.0 and 0.8
        ],
        np.float32,
    )
    side = fs.Side(e, np.repeat(np.arange(4), 2).astype(np.int64), np.arange(8, dtype=np.int64))
    groups = {"a": {"sex": "F"}, "b": {"sex": "F"}, "c": {"sex": "M"}, "d": {"sex": "M"}}
    report = fs.per_group([side], side, ["a", "b", "c", "d"], groups, threshold=0.9)
    sex = report["sex"]
    assert isinstance(sex, dict)
    female, male = sex["groups"]["F"], sex["groups"]["M"]
    # genuine: a's two pairs score 0.8 (misses), b's two 1.0
    assert female["genuine_pairs"] == 4 and female["fnmr"] == 0.5
    assert male["genuine_pairs"] == 4 and male["fnmr"] == 0.5
    # same-group impostors: a<->b 8 pairs, none >= 0.9; c<->d 8 pairs, 1.0 four times
    assert female["impostor_pairs"] == 8 and female["fmr"] == 0.0
    assert male["impostor_pairs"] == 8 and male["fmr"] == 0.5
    assert sex["fmr_ratio_worst_best"] == "inf"
    assert sex["fnmr_ratio_worst_best"] == 1.0


@pytest.fixture(scope="module")
def labelled_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data/faces with a synthetic groups.json (one person left unlabelled)."""
    root = tmp_path_factory.mktemp("faces")
    shutil.copytree(FACES, root / "faces")
    labels = {
        "obama": {"sex": "M", "age_band": "40-49"},
        "biden": {"sex": "M", "age_band": "60+"},
        "person01": {"sex": "F", "age_band": "20-29"},
        "person02": {"sex": "F", "age_band": "20-29"},
        "person04": {"sex": "M", "age_band": "20-29"},
    }
    (root / "faces" / "groups.json").write_text(json.dumps(labels))
    return root / "faces"


@pytest.fixture(scope="module")
def labelled_report(labelled_faces: Path) -> dict[str, object]:
    return bench.run(labelled_faces, latency_runs=1, pad_samples=0, jobs=1)


def test_benchmark_keeps_its_keys_and_adds_per_group(labelled_report: dict[str, object]) -> None:
    report = labelled_report
    for key in (
        "eer",
        "fnmr_at_fmr_0.001",
        "fnmr_at_fmr_0.0005",
        "threshold_at_fmr_0.001",
        "genuine_pairs",
        "impostor_pairs",
        "fta",
        "latency_ms",
        "without_quality_gate",
    ):
        assert key in report
    groups = report["per_group"]
    assert isinstance(groups, dict)
    sex = groups["by"]["sex"]["groups"]
    assert set(sex) == {"F", "M"}
    assert sex["F"]["people"] == 2 and sex["M"]["people"] == 3
    age = groups["by"]["age_band"]["groups"]
    assert set(age) == {"20-29", "40-49", "60+"}
    # every genuine pair of a labelled person is in exactly one sex group
    labelled = sex["F"]["genuine_pairs"] + sex["M"]["genuine_pairs"]
    assert 0 < labelled <= report["genuine_pairs"]
    shipped = report["operating_points"]["fmr_0.001"]["shipped"]  # type: ignore[index]
    assert groups["threshold"] == shipped["threshold"]
    assert shipped["fnmr_trials"] == report["genuine_pairs"]
    assert shipped["fmr_trials"] == report["impostor_pairs"]
    for bounds in (shipped["fnmr_ci95"], shipped["fnmr_ci95_bootstrap"], shipped["fmr_ci95"]):
        assert 0.0 <= bounds[0] <= bounds[1] <= 1.0


def test_without_groups_json_there_is_no_per_group(tmp_path: Path) -> None:
    for person in ("obama", "biden"):
        shutil.copytree(FACES / person, tmp_path / person)
    report = bench.run(tmp_path, latency_runs=1, pad_samples=0, jobs=1)
    assert report["per_group"] is None


def test_a_malformed_groups_json_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(FACES / "obama", tmp_path / "obama")
    (tmp_path / "groups.json").write_text('["not", "a", "mapping"]')
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--data", str(tmp_path), "--pad-samples", "0"])
    assert exit_info.value.code == 2
    assert "groups.json" in capsys.readouterr().err


def test_prepared_photos_are_cached_by_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun on the same set reads the embeddings back instead of preparing every photo."""
    paths = face_photos.photo_paths(FACES)[:3]
    first = face_photos.prepare_all(paths, jobs=1, cache=tmp_path)

    def refuse(*_: object) -> face_photos.Photo:
        raise AssertionError("prepared again despite the cache")

    monkeypatch.setattr(face_photos, "prepare_photo", refuse)
    again = face_photos.prepare_all(paths, jobs=1, cache=tmp_path)
    for a, b in zip(first, again, strict=True):
        assert (a.person, a.name, a.probe_passed, a.probe_failed) == (
            b.person,
            b.name,
            b.probe_passed,
            b.probe_failed,
        )
        assert a.probe is not None and b.probe is not None
        np.testing.assert_array_equal(a.probe, b.probe)
        assert a.reference_bytes == b.reference_bytes
        for fmt, emb in a.references.items():
            other = b.references[fmt]
            assert emb is not None and other is not None
            np.testing.assert_array_equal(emb, other)
    stored = list(tmp_path.glob("*/*.npz"))
    assert len(stored) == 3 and stored[0].parent.name == face_photos.pipeline_fingerprint()


def test_thresholds_come_from_every_probe_when_none_passes_the_gate() -> None:
    """A calibration set whose probes all fail the live gate (LFW's web crops) still gives
    thresholds, taken from every probe and labelled so; a set with gated pairs uses those."""
    ungated = {
        "threshold_at_fmr_0.001": 0.93,
        "threshold_at_fmr_0.0005": 0.94,
        "eer": 0.02,
    }
    report: dict[str, object] = {
        "threshold_at_fmr_0.001": None,
        "threshold_at_fmr_0.0005": None,
        "fta": 1.0,
        "without_quality_gate": ungated,
    }
    source, probes = bench.calibration_source(report)
    assert source is ungated and "without the live quality gate" in probes
    gated = {**report, "threshold_at_fmr_0.001": 0.95, "threshold_at_fmr_0.0005": 0.96}
    source, probes = bench.calibration_source(gated)
    assert source is gated and probes == "probes that pass the live quality gate"
    empty = {**report, "without_quality_gate": {"threshold_at_fmr_0.001": None}}
    with pytest.raises(SystemExit):
        bench.calibration_source(empty)


def test_cached_embeddings_are_not_reused_across_the_test_time_flip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Turning the embedder's flip on or off changes every embedding: the cache must miss."""
    real = face_photos.manifest_entry
    first = face_photos.pipeline_fingerprint()

    def toggled(name: str) -> dict[str, object]:
        entry = dict(real(name))
        if name == "face_embedder":
            entry["test_time_flip"] = not entry.get("test_time_flip", False)
        return entry

    monkeypatch.setattr(face_photos, "manifest_entry", toggled)
    assert face_photos.pipeline_fingerprint() != first


def test_the_photo_cache_stays_where_asked_when_liveness_is_measured_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The liveness stage's clip folder once replaced the photo cache, so a run with PAD
    cached the embeddings in the wrong folder and the next run without PAD started cold."""
    seen: dict[str, object] = {}

    def fake_liveness(*args: object) -> dict[str, object]:
        seen["clips"] = args[-1]
        return {}

    def fake_prepare(paths: object, jobs: int, cache: Path | None = None) -> list[object]:
        seen["cache"] = cache
        raise SystemExit("stop after preparing")

    monkeypatch.setattr(bench, "liveness_evaluation", fake_liveness)
    monkeypatch.setattr(bench, "prepare_all", fake_prepare)
    with pytest.raises(SystemExit):
        bench.run(
            FACES, 0, pad_samples=1, bona_fide_cache=tmp_path / "clips", cache=tmp_path / "photos"
        )
    assert seen == {"clips": tmp_path / "clips", "cache": tmp_path / "photos"}
