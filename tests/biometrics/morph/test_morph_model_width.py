"""The morph detectors' models must fit the features the code computes: a D-MAD model of
another input width (an older model beside newer features, a wrong file in a sync overlay)
is refused when the detector loads, instead of failing every check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.biometrics.morph.detector import DMAD_MODEL, SMAD_MODEL, MorphDetector
from appliance.errors import ApplianceError, Reason
from appliance.models import models_dir


def test_a_model_trained_on_other_features_is_refused(tmp_path: Path) -> None:
    # the S-MAD model (other width) entered as the D-MAD model, with its true sha256
    real = models_dir()
    manifest = json.loads((real / "manifest.json").read_text())
    entries = {e["name"]: e for e in manifest["models"]}
    entries[DMAD_MODEL]["file"] = entries[SMAD_MODEL]["file"]
    entries[DMAD_MODEL]["sha256"] = entries[SMAD_MODEL]["sha256"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for folder in {Path(e["file"]).parts[0] for e in manifest["models"]}:
        (tmp_path / folder).symlink_to(real / folder)
    with pytest.raises(ApplianceError) as err:
        MorphDetector.load(models_dir=tmp_path)
    assert err.value.reason is Reason.MODEL_UNAVAILABLE


def test_the_shipped_models_fit_the_features() -> None:
    detector = MorphDetector.load()
    assert set(detector.thresholds) == {"single", "differential"}
