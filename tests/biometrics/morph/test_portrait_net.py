"""The portrait network of the morph detectors: its input is the centred portrait and its
mirror image, so a mirrored chip photo scores the same; the fusion with the feature models is
the manifest's, and a detector without it (or with a network of another input) does not load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from appliance.biometrics.morph.detector import DMAD_MODEL, SMAD_MODEL, MorphDetector
from appliance.biometrics.morph.portrait_net import (
    CROP_H,
    CROP_W,
    PORTRAIT_MODEL,
    Fusion,
    network_input,
    portrait_logits,
)
from appliance.errors import ApplianceError, Reason
from appliance.models import load_session, models_dir


def _portraits(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 214, 160, 3), dtype=np.uint8)


def test_network_input_is_the_centred_crop_and_its_mirror_in_rgb() -> None:
    p = _portraits(2)
    x = network_input(p)
    assert x.shape == (4, 3, CROP_H, CROP_W) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(x[2:], x[:2, :, :, ::-1])
    # channel 0 is red: the portrait is BGR
    assert x[0, 0, 0, 0] == pytest.approx(p[0, 11, 8, 2] / 127.5 - 1.0)


def test_a_mirrored_portrait_gets_the_same_logit() -> None:
    session = load_session(PORTRAIT_MODEL)
    p = _portraits(3, seed=1)
    plain = portrait_logits(session, p)
    mirrored = portrait_logits(session, np.ascontiguousarray(p[:, :, ::-1]))
    np.testing.assert_allclose(plain, mirrored, atol=1e-4)
    # batching does not change a portrait's logit
    np.testing.assert_allclose(portrait_logits(session, p, batch=1), plain, atol=1e-4)


def test_fusion_rises_with_either_part_and_needs_its_weights() -> None:
    fusion = Fusion(model_weight=1.2, portrait_weight=0.6, bias=-0.3)
    model = np.array([0.2, 0.5, 0.5, 0.9])
    portrait = np.array([0.0, 0.0, 2.0, 2.0])
    scores = fusion.scores(model, portrait)
    assert np.all((scores > 0) & (scores < 1))
    assert scores[0] < scores[1] < scores[2] < scores[3]
    with pytest.raises(ApplianceError) as err:
        Fusion.from_entry({"name": SMAD_MODEL})
    assert err.value.reason is Reason.MODEL_UNAVAILABLE


def _overlay(tmp_path: Path, edit: object) -> Path:
    real = models_dir()
    manifest = json.loads((real / "manifest.json").read_text())
    entries = {e["name"]: e for e in manifest["models"]}
    edit(entries)  # type: ignore[operator]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for folder in {Path(e["file"]).parts[0] for e in manifest["models"]}:
        (tmp_path / folder).symlink_to(real / folder)
    return tmp_path


def test_shipped_detectors_carry_fusion_weights_for_both_modes() -> None:
    detector = MorphDetector.load()
    assert set(detector.fusion) == {"single", "differential"}


def test_a_detector_without_fusion_weights_does_not_load(tmp_path: Path) -> None:
    def drop(entries: dict[str, dict[str, object]]) -> None:
        entries[DMAD_MODEL].pop("fusion")

    with pytest.raises(ApplianceError) as err:
        MorphDetector.load(models_dir=_overlay(tmp_path, drop))
    assert err.value.reason is Reason.MODEL_UNAVAILABLE


def test_a_portrait_network_of_another_input_is_refused(tmp_path: Path) -> None:
    def swap(entries: dict[str, dict[str, object]]) -> None:
        entries[PORTRAIT_MODEL]["file"] = entries[SMAD_MODEL]["file"]
        entries[PORTRAIT_MODEL]["sha256"] = entries[SMAD_MODEL]["sha256"]

    with pytest.raises(ApplianceError) as err:
        MorphDetector.load(models_dir=_overlay(tmp_path, swap))
    assert err.value.reason is Reason.MODEL_UNAVAILABLE
