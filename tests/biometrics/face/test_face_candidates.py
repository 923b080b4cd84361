"""The candidate comparison (benchmarks/face_candidates.py) scores every candidate on the
same pairs, and its score normalisations do what they claim."""

from __future__ import annotations

import numpy as np

from benchmarks import face_candidates as fc


def _samples(people: int = 40, photos: int = 3, seed: int = 3) -> list[fc.Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for p in range(people):
        centre = rng.normal(size=128)
        for k in range(photos):
            sample = fc.Sample(f"person{p:03d}", f"img{k}.jpg", probe_passed=k != 0)
            for role in fc.ROLES:
                sample.raw[role] = {
                    v: (centre + rng.normal(scale=0.8, size=128)).astype(np.float32)
                    for v in ("base", "mirror", "align_eyes_mouth", "align_eyes")
                }
                sample.inter_eye[role] = float(rng.uniform(30, 90))
            sample.pose = {"yaw": float(rng.uniform(-30, 30)), "roll": 0.0, "pitch": 0.5}
            out.append(sample)
    return out


def test_every_candidate_is_scored_on_the_same_test_pairs() -> None:
    results = fc.evaluate(_samples(), gated=False)
    test = {k: v for k, v in results.items() if k.endswith("/test")}
    assert set(test) == {
        f"{c}/test"
        for c in (
            "base",
            "flip",
            "align_eyes_mouth",
            "align_eyes",
            "snorm",
            "quality",
            "flip_snorm",
            "flip_quality",
        )
    }
    pairs = {(r["genuine_pairs"], r["impostor_pairs"]) for r in test.values()}
    assert len(pairs) == 1  # same pairs for every candidate
    assert all(r["eer"] is not None for r in test.values())


def test_flip_variant_is_the_mean_of_the_chip_and_its_mirror() -> None:
    per = {"base": np.array([3.0, 0.0], np.float32), "mirror": np.array([0.0, 1.0], np.float32)}
    flip = fc.variant_embedding(per, "flip")
    assert flip is not None
    np.testing.assert_allclose(flip, np.array([1.0, 1.0]) / np.sqrt(2.0), atol=1e-6)


def test_as_norm_centres_each_side_on_its_cohort() -> None:
    rng = np.random.default_rng(0)
    cohort = fc.unit(rng.normal(size=(500, 16)).astype(np.float32))
    side = fc.unit(rng.normal(size=(4, 16)).astype(np.float32))
    mean, std = fc.cohort_stats(side, cohort, top=50)
    top = np.sort(side @ cohort.T, axis=1)[:, -50:]
    np.testing.assert_allclose(mean, top.mean(1), atol=1e-5)
    np.testing.assert_allclose(std, top.std(1), atol=1e-5)


def test_logistic_fit_separates_what_is_separable() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(1, 0.3, 200), rng.normal(-1, 0.3, 2000)])[:, None]
    y = np.concatenate([np.ones(200), np.zeros(2000)])
    w = fc.fit_logistic(x.astype(np.float32), y)
    assert w[0] > 0 and abs(w[1]) < 1.0  # score up, odds up; balanced classes, bias near 0
