"""Enter the portrait network in the manifest and fit, per mode, how its logit is fused with the
feature model's score; set the fused score's thresholds. On calibration identities only.

    .venv/bin/python -m models.morph.fit_fusion --set-dir DIR [--portrait-summary FILE]

DIR is `train_mad`'s LFW morph set (its `pairs.jsonl`); `models/morph/morph_portrait.onnx` is
the network `train_portrait.py` wrote (its `.json` summary beside it). `train_mad` calls this
at its end, since new feature models need new fusion weights.

The fusion is a logistic regression on two inputs, the feature model's logit and the portrait
network's logit, class-balanced, fitted on the calibration identities (the networks never saw
them; 3 weights on a few hundred samples). Its output is the detector's score; the thresholds at
BPCER 10 % and 1 % are set on the same calibration scores, as `train_mad` sets them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from appliance.biometrics.morph.detector import DMAD_MODEL, SMAD_MODEL, dmad_input, smad_input
from appliance.biometrics.morph.portrait_net import (
    CROP_H,
    CROP_W,
    PORTRAIT_MODEL,
    Fusion,
    logit,
)
from appliance.models import load_session
from hardware_mocks.morph_portraits import portrait_logits
from hardware_mocks.morph_set import SPLIT_RULE, compute_features
from models.morph.train_mad import HIRES_DATA, eer, operating_points, write_manifest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "models" / "manifest.json"
PORTRAIT_FILE = ROOT / "models" / "morph" / "morph_portrait.onnx"
VERSION = "1.2.0"


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression by Newton's method: (weights, bias)."""
    a = np.column_stack([x, np.ones(len(x))])
    sample = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    w = np.zeros(a.shape[1])
    penalty = l2 * np.diag([1.0] * x.shape[1] + [0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -40, 40)))
        grad = a.T @ (sample * (p - y)) / len(y) + penalty @ w
        hess = (a * (sample * p * (1 - p))[:, None]).T @ a / len(y) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:-1], float(w[-1])


def portrait_entry(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": PORTRAIT_MODEL,
        "task": "morphing attack detection, a CNN on the chip photo's pixels (token-geometry "
        "portrait); its logit is fused with morph_smad's and morph_dmad's scores (their "
        "`fusion`), never used alone",
        "version": VERSION,
        "file": f"morph/{PORTRAIT_FILE.name}",
        "sha256": hashlib.sha256(PORTRAIT_FILE.read_bytes()).hexdigest(),
        "input": {
            "name": "portrait",
            "shape": ["N", 3, CROP_H, CROP_W],
            "dtype": "float32",
            "features": "appliance/biometrics/morph/portrait_net.py network_input (RGB, -1..1)",
        },
        "output": {"name": "logit", "shape": ["N"], "range": "logit, higher = morph"},
        "source": "trained in this repository: models/morph/train_portrait.py on the portraits "
        "of hardware_mocks/morph_portraits.py (train identities of train_mad's sets); ONNX "
        "written by torch.onnx.export in the same script",
        "training_command": "/work/venvs/train/bin/python models/morph/train_portrait.py --sets "
        "DIR DIR-extra12 --hires DENSE --hires-share 0.2 (train_mad's LFW set, its extra set "
        "and its set of sharper photos, after "
        "`python -m hardware_mocks.morph_portraits DIR DIR-extra12 DENSE`)",
        "licence": {
            "weights": "Apache-2.0 (trained here)",
            "training_data": "LFW (Labeled Faces in the Wild, University of Massachusetts "
            "Amherst; published for research, no licence stated; photos of public figures "
            "collected from news sites without their consent) and morphs made of them: an "
            "authority should retrain on licensed, consented data and morphs from several "
            "generators before operational use" + HIRES_DATA,
        },
        "split": SPLIT_RULE,
        "training_metrics": summary,
    }


def fit_and_write(pairs_file: Path, summary: dict[str, Any] | None = None) -> None:
    manifest = json.loads(MANIFEST.read_text())
    models = {m["name"]: m for m in manifest["models"]}
    if summary is None:
        summary = models.get(PORTRAIT_MODEL, {}).get("training_metrics", {})
    entry = portrait_entry(summary)
    before = models.get(PORTRAIT_MODEL, {})
    if before.get("sha256") == entry["sha256"] and "accuracy" in before:
        entry["accuracy"] = before["accuracy"]  # measured on this very file
    write_manifest([entry])
    features = compute_features(pairs_file)
    portrait = portrait_logits(pairs_file)
    rows = features.rows("calibration") & features.single_ok & ~np.isnan(portrait)
    labels = np.array([e.label == "morph" for e in features.entries], float)
    pair_rows = rows[features.pair_entry]
    chip = features.pair_entry[pair_rows]
    inputs = {
        SMAD_MODEL: (smad_input(features.single[rows]), portrait[rows], labels[rows]),
        DMAD_MODEL: (
            dmad_input(features.pair_x[pair_rows], features.single[chip]),
            portrait[chip],
            labels[chip],
        ),
    }
    for name, (x, plogit, y) in inputs.items():
        raw = load_session(name).run(["score"], {"features": x.astype(np.float32)})[0]
        model_logit = logit(np.asarray(raw, np.float64).reshape(-1))
        w, b = fit_logistic(np.column_stack([model_logit, plogit]), y)
        # rounded as the manifest keeps them, so the thresholds are those of the shipped score
        fusion = Fusion(round(float(w[0]), 6), round(float(w[1]), 6), round(b, 6))
        fused = fusion.scores(np.asarray(raw, np.float64).reshape(-1), plogit)
        bona, attack = fused[y == 0], fused[y == 1]
        calib = {
            "fused": round(eer(bona, attack), 4),
            "model_alone": round(eer(model_logit[y == 0], model_logit[y == 1]), 4),
            "portrait_alone": round(eer(plogit[y == 0], plogit[y == 1]), 4),
        }
        print(f"{name}: fusion {fusion.as_dict()}, calibration D-EER {calib}", flush=True)
        target = models[name]
        target["version"] = VERSION
        target["fusion"] = {
            **fusion.as_dict(),
            "rule": "score = sigmoid(model_weight * logit(model score) + portrait_weight * "
            "morph_portrait logit + bias); thresholds apply to this score",
            "fitted_on": f"calibration identities: {len(y)} samples, {int(y.sum())} morphs",
            "calibration_d_eer": calib,
        }
        target["operating_points"] = operating_points(bona, attack)
        target["output"] = {
            "name": "score",
            "shape": ["N", 1],
            "range": "0..1, higher = morph; fused with morph_portrait (see fusion)",
        }
    write_manifest([models[SMAD_MODEL], models[DMAD_MODEL]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set-dir", type=Path, required=True, help="train_mad's LFW set")
    parser.add_argument("--portrait-summary", type=Path, default=PORTRAIT_FILE.with_suffix(".json"))
    args = parser.parse_args(argv)
    summary = None
    if args.portrait_summary.is_file():
        summary = json.loads(args.portrait_summary.read_text())
    fit_and_write(args.set_dir / "pairs.jsonl", summary)


if __name__ == "__main__":
    main()
