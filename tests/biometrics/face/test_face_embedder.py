"""The converted embedder reproduces its source, and models are loaded only when intact."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from appliance.biometrics.face.embed import FaceEmbedder
from appliance.errors import ApplianceError, Reason
from appliance.models import load_session, models_dir, session_options

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "face" / "embedder_golden.npz"


def test_onnx_embedder_reproduces_face_api_javascript_outputs() -> None:
    golden = np.load(GOLDEN)
    session = load_session("face_embedder")
    ours = session.run(None, {"image": golden["inputs"].astype(np.float32)})[0]
    assert ours.shape == golden["descriptors"].shape == (len(golden["inputs"]), 128)
    np.testing.assert_allclose(ours, golden["descriptors"], atol=1e-4, rtol=0)


def test_embeddings_are_unit_length_and_distinguish_inputs() -> None:
    golden = np.load(GOLDEN)
    embeddings = FaceEmbedder.from_models_dir().embed(golden["inputs"])
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert np.all(similarity[~np.eye(len(similarity), dtype=bool)] < 0.99)


def test_session_options_are_deliberate() -> None:
    options = session_options()
    assert options.intra_op_num_threads == 1
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert load_session("face_embedder") is load_session("face_embedder")  # once per process


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy, ignore=shutil.ignore_patterns("*.py", "*.cjs"))
    target = copy / "face" / "face_api_resnet34_128.onnx"
    data = bytearray(target.read_bytes())
    data[-100] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ApplianceError) as err:
        load_session("face_embedder", copy)
    assert err.value.reason is Reason.MODEL_UNAVAILABLE


def test_missing_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "models"
    copy.mkdir()
    shutil.copy(models_dir() / "manifest.json", copy / "manifest.json")
    with pytest.raises(ApplianceError) as err:
        load_session("blazeface_back_256", copy)
    assert err.value.reason is Reason.MODEL_UNAVAILABLE


def test_selftest_reports_each_model(tmp_path: Path) -> None:
    from appliance.models import selftest

    report = {r["model"]: r for r in selftest()}
    for name in ("blazeface_back_256", "blazeface_front_128", "face_embedder"):
        assert report[name]["status"] == "pass"
    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy, ignore=shutil.ignore_patterns("*.py", "*.cjs"))
    (copy / "face" / "blazeface_front_128.onnx").write_bytes(b"not a model")
    broken = {r["model"]: r for r in selftest(copy)}
    assert broken["blazeface_front_128"] == {
        "model": "blazeface_front_128",
        "status": "fail",
        "reason": "MODEL_UNAVAILABLE",
    }
    assert broken["face_embedder"]["status"] == "pass"


def test_flip_averaged_match_embedding_is_the_same_for_a_chip_and_its_mirror() -> None:
    """Test-time flip: the compared embedding is the mean of the chip's and its mirror's, so a
    traveller's face is compared the same whichever way the model's left/right noise falls."""
    golden = np.load(GOLDEN)
    chips = golden["inputs"].astype(np.uint8)
    flipping = FaceEmbedder(load_session("face_embedder"), test_time_flip=True)
    plain = FaceEmbedder(load_session("face_embedder"), test_time_flip=False)
    ours = flipping.embed_for_match(chips)
    np.testing.assert_allclose(ours, flipping.embed_for_match(chips[:, :, ::-1]), atol=1e-5)
    expected = plain.embed(chips) + plain.embed(np.ascontiguousarray(chips[:, :, ::-1]))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(plain.embed_for_match(chips), plain.embed(chips), atol=0)
    # the morph detectors were trained on the plain embedding: embed() never flips
    np.testing.assert_allclose(flipping.embed(chips), plain.embed(chips), atol=0)


def test_the_manifest_says_whether_verification_flips(tmp_path: Path) -> None:
    import json

    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy, ignore=shutil.ignore_patterns("*.py", "*.cjs"))
    manifest = json.loads((copy / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["name"] == "face_embedder")
    shipped = bool(entry.get("test_time_flip", False))
    assert FaceEmbedder.from_models_dir().test_time_flip is shipped
    entry["test_time_flip"] = not shipped
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert FaceEmbedder.from_models_dir(copy).test_time_flip is (not shipped)
