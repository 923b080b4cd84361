"""Train the two morphing attack detectors on morphs of training identities only.

    .venv/bin/python -m models.morph.train_mad --data DIR [--jobs 2] [--extra-partners 12] \
        [--hires DIR2] [--models morph_dmad] [--onnx-python /work/venvs/convert/bin/python]

Data recipe (`hardware_mocks/morph_set.py`): DIR holds a folder of photos per person (we used
LFW, 901 people, from the project's shared data folder, passed on the command line, never a
default).
Identities are split by a hash of their folder name: `train` (60%) fits the models,
`calibration` (10%) chooses the model size and sets the thresholds, `test` (30%) is left to
`benchmarks/morph.py`. Morphs are full and spliced, alpha 0.3-0.7, of look-alike pairs, JPEG or
JPEG 2000 at 12-20 KB, a quarter print-and-scanned; bona fide references get the same
post-processing. The set and its features are cached under var/cache/morph/.

`--extra-partners K` (default 12; 0: none) adds `hardware_mocks/morph_extra.py`'s set to both
models' training: of the train identities only, every further photo as a chip photo of its own
and morphs with each person's 2nd to K-th look-alikes. Both detectors were starved of data; the
extra set took their held-out D-EER from 20.7 to 17.3 % (S-MAD) and 14.4 to 12.4 % (D-MAD).

`--hires DIR2` adds a small set of sharper photos (we used the project's 19-person face folder)
to the D-MAD training only: every photo a bona fide reference, every pair of people morphed
(`morph_set.build_dense`), repeated to make `--hires-share` (default a quarter) of D-MAD's
training pairs (or `--hires-repeat N` times). The people of `--hires-exclude` (default
tests/data/faces: the ones the demo and the tests show) are left out, so the demo's morphs are
of people the model never saw. LFW's 250-pixel web photos alone taught the model nothing about
morphs made from sharp photos: with the extra set, 4 repeats (6% of the pairs) gave a model
that took 6 of the demo's sharp-photo genuine holders for morphs; at a quarter, none. S-MAD did
not gain from the set and is trained on LFW alone.

Models: a logistic regression or a one-hidden-layer MLP (numpy, Adam, class-balanced, L2),
picked by calibration D-EER; written as ONNX by `export_onnx.py` (run in the conversion venv,
which has `onnx`), checked against the numpy scores, and entered in models/manifest.json with
their sha256 and training figures. Last, `fit_fusion.py` fits how each one's score is fused with
the portrait network's logit (`train_portrait.py`, trained before) and sets the thresholds of
the fused score at BPCER 10% / 1% on the calibration identities.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance.biometrics.morph.detector import DMAD_MODEL, SMAD_MODEL, dmad_input, smad_input
from hardware_mocks.morph_extra import build_extra
from hardware_mocks.morph_set import (
    SPLIT_RULE,
    Features,
    build,
    build_dense,
    compute_features,
    people_photos_any,
)

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "cache" / "morph"
CONFIGS = {
    SMAD_MODEL: (
        {"hidden": 0, "l2": 1e-3},
        {"hidden": 0, "l2": 1e-2},
        {"hidden": 32, "l2": 1e-3},
        {"hidden": 64, "l2": 1e-2},
    ),
    DMAD_MODEL: (
        {"hidden": 0, "l2": 1e-2},
        {"hidden": 0, "l2": 1e-1},
        {"hidden": 32, "l2": 1e-2},
        {"hidden": 64, "l2": 1e-2},
    ),
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def forward(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    h = (x - weights["mean"]) / weights["scale"]
    layer = 0
    while f"w{layer}" in weights:
        h = h @ weights[f"w{layer}"] + weights[f"b{layer}"]
        layer += 1
        if f"w{layer}" in weights:
            h = np.maximum(h, 0)
    return _sigmoid(h)[:, 0]


def fit(
    x: np.ndarray, y: np.ndarray, hidden: int, l2: float, epochs: int = 60, seed: int = 18
) -> dict[str, np.ndarray]:
    """Class-balanced logistic loss, Adam, mini-batches of 128."""
    rng = np.random.default_rng(seed)
    mean, scale = x.mean(0), x.std(0) + 1e-4
    z = (x - mean) / scale
    sizes = [x.shape[1], *([hidden] if hidden else []), 1]
    params = {}
    for i in range(len(sizes) - 1):
        params[f"w{i}"] = rng.normal(0, np.sqrt(2 / sizes[i]), (sizes[i], sizes[i + 1]))
        params[f"b{i}"] = np.zeros(sizes[i + 1])
    weight = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    step, lr = 0, 3e-3
    n_layers = len(sizes) - 1
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), 128):
            idx = order[start : start + 128]
            acts = [z[idx]]
            for i in range(n_layers):
                out = acts[-1] @ params[f"w{i}"] + params[f"b{i}"]
                acts.append(np.maximum(out, 0) if i < n_layers - 1 else out)
            grad = (_sigmoid(acts[-1][:, 0]) - y[idx]) * weight[idx] / len(idx)
            delta = grad[:, None]
            grads = {}
            for i in reversed(range(n_layers)):
                grads[f"w{i}"] = acts[i].T @ delta + l2 * params[f"w{i}"]
                grads[f"b{i}"] = delta.sum(0)
                if i:
                    delta = (delta @ params[f"w{i}"].T) * (acts[i] > 0)
            step += 1
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                mh, vh = m[k] / (1 - 0.9**step), v[k] / (1 - 0.999**step)
                params[k] -= lr * mh / (np.sqrt(vh) + 1e-8)
    return {"mean": mean, "scale": scale, **params}


def eer(bona: np.ndarray, attack: np.ndarray) -> float:
    """Detection equal error rate (higher score = attack)."""
    thresholds = np.unique(np.concatenate([bona, attack]))
    best = 1.0
    for t in thresholds:
        bpcer, apcer = float((bona >= t).mean()), float((attack < t).mean())
        best = min(best, max(bpcer, apcer))
    return best


def threshold_at_bpcer(bona: np.ndarray, target: float) -> float:
    """The lowest threshold with at most `target` of bona fide scores at or above it."""
    ordered = np.sort(bona)[::-1]
    allowed = int(np.floor(target * len(ordered)))
    return float(np.nextafter(ordered[allowed], np.inf)) if allowed < len(ordered) else 0.0


def operating_points(bona: np.ndarray, attack: np.ndarray) -> dict[str, dict[str, float]]:
    """Thresholds at BPCER 10 % and 1 % on calibration scores, with the rates they give."""
    points = {}
    for label, target in (("bpcer_0.1", 0.1), ("bpcer_0.01", 0.01)):
        t = threshold_at_bpcer(bona, target)
        points[label] = {
            "threshold": round(t, 6),
            "calibration_bpcer": round(float((bona >= t).mean()), 4),
            "calibration_apcer": round(float((attack < t).mean()), 4),
        }
    return points


def datasets(features: Features, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rows = features.rows(split) & features.single_ok
    labels = np.array([e.label == "morph" for e in features.entries], float)
    single = (smad_input(features.single[rows]), labels[rows])
    pair_rows = rows[features.pair_entry]
    entry = features.pair_entry[pair_rows]
    pair_x = dmad_input(features.pair_x[pair_rows], features.single[entry])
    return {SMAD_MODEL: single, DMAD_MODEL: (pair_x, labels[entry])}


def hires_repeats(rest: int, hires: int, share: float) -> int:
    """How often the sharp set is repeated to make `share` of D-MAD's training pairs."""
    return max(1, round(share * rest / ((1 - share) * max(hires, 1))))


def export(weights: dict[str, np.ndarray], name: str, onnx_python: Path) -> Path:
    npz = CACHE / f"{name}.npz"
    npz.parent.mkdir(parents=True, exist_ok=True)
    np.savez(npz, **{k: v.astype(np.float32) for k, v in weights.items()})
    out = ROOT / "models" / "morph" / f"{name}.onnx"
    subprocess.run(
        [str(onnx_python), str(ROOT / "models" / "morph" / "export_onnx.py"), str(npz), str(out)],
        check=True,
    )
    return out


def check_onnx(path: Path, weights: dict[str, np.ndarray], x: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["score"], {"features": x.astype(np.float32)})[0][:, 0]
    f32 = {k: v.astype(np.float32) for k, v in weights.items()}
    return float(np.abs(got - forward(f32, x.astype(np.float32))).max())


HIRES_DATA = (
    "; also photos of 13 public figures (the project's shared face folder, from the "
    "example and test folders of the MIT-licensed face_recognition and deepface projects, see "
    "tests/data/SOURCES.md; the 6 people of tests/data/faces left out) and morphs made of them"
)


def manifest_entry(
    name: str,
    path: Path,
    dim: int,
    chosen: dict[str, float],
    figures: dict[str, object],
    hires: bool = False,
) -> dict[str, object]:
    mode = "differential" if name == DMAD_MODEL else "single"
    return {
        "name": name,
        "task": (
            "morphing attack detection, "
            + (
                "differential (D-MAD): chip photo + trusted live capture"
                if mode == "differential"
                else "single image (S-MAD): the chip photo alone"
            )
            + "; score = probability of a morph"
        ),
        "version": "1.2.0",
        "file": f"morph/{path.name}",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input": {
            "name": "features",
            "shape": ["N", dim],
            "dtype": "float32",
            "features": "appliance/biometrics/morph/detector.py "
            + ("dmad_input" if mode == "differential" else "smad_input"),
        },
        "output": {"name": "score", "shape": ["N", 1], "range": "0..1, higher = morph"},
        "source": "trained in this repository: models/morph/train_mad.py (data recipe in its "
        "docstring and hardware_mocks/morph_set.py); ONNX written by models/morph/export_onnx.py",
        "training_command": ".venv/bin/python -m models.morph.train_mad --data DIR "
        "(DIR: LFW, a folder per person) --extra-partners 12 "
        "--onnx-python /work/venvs/convert/bin/python"
        + (" --hires DIR2 (DIR2: the shared face folder, a folder per person)" if hires else ""),
        "licence": {
            "weights": "Apache-2.0 (trained here)",
            "training_data": "LFW (Labeled Faces in the Wild, University of Massachusetts "
            "Amherst; published for research, no licence stated; photos of public figures "
            "collected from news sites without their consent) and morphs made of them: the "
            "weights are small and carry no images, but an authority should retrain on "
            "licensed, consented data (and morphs from several generators) before operational "
            "use" + (HIRES_DATA if hires else ""),
        },
        "model": {"hidden": int(chosen["hidden"]), "l2": chosen["l2"]},
        "split": SPLIT_RULE,
        "operating_points": figures.pop("operating_points"),
        "default_operating_point": "bpcer_0.1",
        "training_metrics": figures,
    }


def write_manifest(entries: list[Any]) -> None:
    """Replace the manifest's entries of the same names where they stand; add new ones last."""
    path = ROOT / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    new = {str(e["name"]): e for e in entries}
    kept = [new.pop(m["name"], m) for m in manifest["models"]]
    manifest["models"] = kept + list(new.values())
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of photos per person")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-people", type=int, default=None)
    parser.add_argument("--onnx-python", type=Path, default=Path("/work/venvs/convert/bin/python"))
    parser.add_argument("--set-dir", type=Path, default=None, help="where the set is cached")
    parser.add_argument("--extra-partners", type=int, default=12, help="0: no extra set")
    parser.add_argument("--hires", type=Path, default=None, help="sharper photos, D-MAD only")
    parser.add_argument("--hires-exclude", type=Path, default=ROOT / "tests" / "data" / "faces")
    parser.add_argument("--hires-share", type=float, default=0.25)
    parser.add_argument("--hires-repeat", type=int, default=None, help="in place of the share")
    parser.add_argument("--models", nargs="+", default=[SMAD_MODEL, DMAD_MODEL])
    args = parser.parse_args(argv)
    started = time.time()
    out = args.set_dir or CACHE / args.data.resolve().name
    pairs = build(args.data, out, max_people=args.max_people, jobs=args.jobs)
    features = compute_features(pairs)
    train, calib = datasets(features, "train"), datasets(features, "calibration")
    if args.extra_partners:
        extra_dir = out.parent / f"{out.name}-extra{args.extra_partners}"
        extra_file = build_extra(args.data, extra_dir, args.extra_partners, jobs=args.jobs)
        extra = datasets(compute_features(extra_file), "train")
        for name, (ex, ey) in extra.items():
            x, y = train[name]
            train[name] = (np.concatenate([x, ex]), np.concatenate([y, ey]))
            print(f"{name}: + {len(ey)} from the extra set ({int(ey.sum())} morphs)", flush=True)
    if args.hires is not None:
        exclude = set(people_photos_any(args.hires_exclude)) if args.hires_exclude else set()
        dense = build_dense(args.hires, CACHE / f"dense-{args.hires.resolve().name}", exclude,
                            jobs=args.jobs)  # fmt: skip
        hx, hy = datasets(compute_features(dense), "train")[DMAD_MODEL]
        x, y = train[DMAD_MODEL]
        reps = args.hires_repeat or hires_repeats(len(y), len(hy), args.hires_share)
        train[DMAD_MODEL] = (np.concatenate([x, *[hx] * reps]), np.concatenate([y, *[hy] * reps]))
        print(f"{DMAD_MODEL}: + {len(hy)} pairs of sharper photos x {reps}", flush=True)
    entries = []
    for name in args.models:
        x, y = train[name]
        cx, cy = calib[name]
        results = []
        for config in CONFIGS[name]:
            weights = fit(x, y, int(config["hidden"]), config["l2"])
            scores = forward(weights, cx)
            results.append((eer(scores[cy == 0], scores[cy == 1]), config, weights, scores))
            print(f"{name} {config}: calibration D-EER {results[-1][0]:.4f}", flush=True)
        best_eer, chosen, weights, scores = min(results, key=lambda r: r[0])
        points = operating_points(scores[cy == 0], scores[cy == 1])
        path = export(weights, name, args.onnx_python)
        diff = check_onnx(path, weights, cx)
        print(f"{name}: chose {chosen}, max |onnx - numpy| = {diff:.2e}", flush=True)
        if diff > 1e-4:
            sys.exit("the ONNX graph does not reproduce the trained model")
        train_scores = forward(weights, x)
        figures: dict[str, object] = {
            "train_references" if name == SMAD_MODEL else "train_pairs": len(y),
            "train_attacks": int(y.sum()),
            "calibration_samples": len(cy),
            "calibration_attacks": int(cy.sum()),
            "train_d_eer": round(eer(train_scores[y == 0], train_scores[y == 1]), 4),
            "calibration_d_eer": round(best_eer, 4),
            "operating_points": points,
        }
        hires = args.hires is not None and name == DMAD_MODEL
        entries.append(manifest_entry(name, path, x.shape[1], chosen, figures, hires))
    write_manifest(entries)
    # new feature models need new fusion weights with the portrait network (and thresholds)
    from models.morph.fit_fusion import fit_and_write

    fit_and_write(pairs)
    print(f"done in {time.time() - started:.0f} s; held-out figures: python -m benchmarks.morph")


if __name__ == "__main__":
    main()
