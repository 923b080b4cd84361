"""The candidate comparison (benchmarks/face_candidates.py) scores every candidate on the
same pairs, and its score normalisations do what they claim."""

from __future__ import annotations

import numpy as np

from benchmarks import face_candidates as fc
from benchmarks.face_photos import photo_paths
from tests.support.data_support import FACES


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


def _with_extra(samples: list[fc.Sample], name: str, noise: float, seed: int = 5) -> None:
    """Give every sample an extra candidate's embeddings: the product's plus noise."""
    rng = np.random.default_rng(seed)
    for s in samples:
        for per in s.raw.values():
            for src, dst in (("base", name), ("mirror", f"{name}_mirror")):
                per[dst] = (per[src] + rng.normal(scale=noise, size=128)).astype(np.float32)


def test_extra_candidates_and_their_fusion_are_scored_on_the_same_test_pairs() -> None:
    samples = _samples()
    _with_extra(samples, "mobileface", noise=0.3)
    results = fc.evaluate(samples, gated=False)
    rows = ("flip/test", "mobileface/test", "mobileface_flip/test", "fuse_mobileface/test")
    assert all(r in results for r in rows)
    assert "mobileface/all" in results and "mobileface_flip/all" in results
    pairs = {(results[r]["genuine_pairs"], results[r]["impostor_pairs"]) for r in rows}
    assert len(pairs) == 1
    assert 0.0 <= float(results["fuse_mobileface/test"]["weight_product"]) <= 1.0  # type: ignore[arg-type]


def test_fusion_with_noise_keeps_the_product_alone() -> None:
    samples = _samples()
    rng = np.random.default_rng(7)
    for s in samples:  # an "embedder" that knows nothing about identity
        for per in s.raw.values():
            per["noise"] = rng.normal(size=128).astype(np.float32)
            per["noise_mirror"] = rng.normal(size=128).astype(np.float32)
    fused = fc.evaluate(samples, gated=False)["fuse_noise/test"]
    assert fused["weight_product"] >= 0.9


def test_fnmr_at_fmr_uses_the_threshold_that_keeps_fmr_at_the_target() -> None:
    impostor = np.arange(10_000, dtype=np.float32) / 10_000  # 0 .. 0.9999
    genuine = np.array([0.9990, 0.9996, 0.9999, 1.0], np.float32)
    # FMR 0.05 % = 5 impostors above the threshold: threshold 0.9994, two genuine at or below
    assert fc.fnmr_at_fmr(genuine, impostor, 0.0005) == 0.25


def test_an_extra_candidate_gets_its_own_crop_of_every_role() -> None:
    """The harness run with the product's own embedder as an 'extra' candidate (its 150 px
    dlib framing as the template) gives the product's embeddings back: crop, pixel scaling
    and mirror all line up."""
    from benchmarks.face_photos import detection_verifier

    same = {"same": fc.Extra("face_api_resnet34_128.onnx", 150, fc._template(fc.TEMPLATE_150))}
    extra = fc.ExtraEmbedders(fc.ROOT / "models" / "face", registry=same)
    assert set(extra.specs) == {"same"}
    person, path = photo_paths(FACES)[0]
    sample = fc.prepare_sample(detection_verifier(), person, path, extra)
    assert set(sample.raw) == set(fc.ROLES)
    for per in sample.raw.values():
        for ours, theirs in (("same", "base"), ("same_mirror", "mirror")):
            a, b = fc.unit(per[ours]), fc.unit(per[theirs])
            assert float(a @ b) > 0.99
