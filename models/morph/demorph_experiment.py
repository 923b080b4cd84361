"""Experiment (issue #18): do de-morphing, face-mesh geometry or texture residuals add to D-MAD?

    .venv/bin/python -m models.morph.demorph_experiment features var/cache/morph/faces-lfw
    .venv/bin/python -m models.morph.demorph_experiment features var/cache/morph/dense-faces
    .venv/bin/python -m models.morph.demorph_experiment evaluate

`features SET` reads a set made by `hardware_mocks/morph_set.py` (its `features.npz`, made by
`train_mad` or `benchmarks/morph`, fixes the pair rows) and writes `demorph-extra.npy` beside
it: per (chip photo, live photo) pair, 18 candidate features.

* d5 (4): de-morphing (Ferrara, Franco, Maltoni 2018) on the shared 5-point alignment: the
  live chip, colour-matched to the chip photo's (per channel mean and spread over the face),
  taken out, D = (R - aL) / (1 - a) for a = 0.3 and 0.5, D embedded; cos(D, live), cos(D, R).
* dd (4): the same after a dense warp of the live chip onto the chip photo's geometry (156 of
  the 468 face-mesh points mapped into chip coordinates, displacements interpolated by a
  Gaussian RBF, cv2.remap).
* g (5): Procrustes residual of the live mesh on the chip photo's mesh over the eye distance,
  all points and per region (eyes, nose, mouth, oval): a morph has averaged geometry.
* rw, r5 (3 + 2): blurred grey residual |R - L| over the face (log mean, log spread) after the
  dense warp and after the 5-point alignment, and the log ratio of Laplacian energies.

`evaluate` trains D-MAD as `train_mad` does (train identities of the LFW set, the sharp dense
set x4; logistic or MLP picked by calibration D-EER) with each feature group added and prints
calibration D-EER and, for the record only, the held-out test figures. Results, 2026-12-04, in
models/morph/README.md: no group moved the held-out D-EER beyond noise, so none was shipped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from appliance.biometrics.face.align import align_face, alignment_matrix, similarity_transform
from appliance.biometrics.face.decode import decode_image
from appliance.errors import ApplianceError

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "cache" / "morph"
OUT = "demorph-extra.npy"
ALPHAS = (0.3, 0.5)
NAMES = ["d5_03_L", "d5_03_R", "d5_05_L", "d5_05_R", "dd_03_L", "dd_03_R", "dd_05_L", "dd_05_R",
         "g_all", "g_eye", "g_nose", "g_mouth", "g_oval", "rw_mean", "rw_sd", "rw_lap",
         "r5_mean", "r5_sd"]  # fmt: skip
REGIONS = [list(range(468)), [33, 133, 159, 145, 263, 362, 386, 374], [1, 4, 5, 195, 98, 327],
           [61, 291, 0, 17, 13, 14], [10, 152, 234, 454, 172, 397]]  # fmt: skip
CENTRE = (slice(30, 130), slice(30, 120))
SUBSET = np.arange(0, 468, 3)
_Y, _X = np.mgrid[0:150, 0:150]
GRID = np.stack([_X.ravel(), _Y.ravel()], 1).astype(np.float64)


class Extractor:
    def __init__(self) -> None:
        from appliance.biometrics.face.verifier import FaceVerifier
        from hardware_mocks.morphing import FaceMesh

        verifier = FaceVerifier.load()
        self.detector, self.embedder = verifier.detector, verifier.embedder
        self.mesh = FaceMesh.load()

    def record(self, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Aligned chip, mean (plain + mirrored) embedding, mesh in chip coordinates."""
        from appliance.biometrics.morph.features import SECOND_FACE_RATIO

        try:
            image = decode_image(path.read_bytes())
        except (ApplianceError, OSError):
            return None
        faces = sorted(self.detector.detect(image), key=lambda f: -f.width)
        if not faces or (len(faces) > 1 and faces[1].width >= SECOND_FACE_RATIO * faces[0].width):
            return None
        chip = align_face(image, faces[0])
        both = self.embedder.embed(np.stack([chip, np.ascontiguousarray(chip[:, ::-1])]))
        mean = both[0] + both[1]
        m = alignment_matrix(faces[0])
        points = self.mesh.landmarks(image, faces[0]) @ m[:, :2].T + m[:, 2]
        return chip, mean / np.linalg.norm(mean), points

    def demorph(self, ref: np.ndarray, live: np.ndarray, er: Any, el: Any) -> list[float]:
        chips = [np.clip((ref.astype(np.float32) - a * live) / (1 - a), 0, 255) for a in ALPHAS]
        found = self.embedder.embed(np.stack(chips).astype(np.uint8))
        return [float(c) for e in found for c in (e @ el, e @ er)]


def colour_matched(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    s, r = source.astype(np.float32), reference.astype(np.float32)
    sf, rf = s[CENTRE].reshape(-1, 3), r[CENTRE].reshape(-1, 3)
    return (s - sf.mean(0)) / (sf.std(0) + 1e-3) * (rf.std(0) + 1e-3) + rf.mean(0)


def rbf_warp(image: np.ndarray, p_ref: np.ndarray, p_live: np.ndarray) -> np.ndarray:
    """The live chip sampled so that its landmarks land on the chip photo's."""
    a, b, sigma = p_ref[SUBSET], p_live[SUBSET], 25.0
    k = np.exp(-((a[:, None] - a[None]) ** 2).sum(-1) / (2 * sigma**2)) + 1e-2 * np.eye(len(a))
    w = np.linalg.solve(k, b - a)
    disp = np.exp(-((GRID[:, None] - a[None]) ** 2).sum(-1) / (2 * sigma**2)) @ w
    mx = (GRID[:, 0] + disp[:, 0]).reshape(150, 150).astype(np.float32)
    my = (GRID[:, 1] + disp[:, 1]).reshape(150, 150).astype(np.float32)
    return np.asarray(cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


def geometry(p_ref: np.ndarray, p_live: np.ndarray) -> list[float]:
    m = similarity_transform(p_live, p_ref, np.ones(len(p_ref)))
    q = p_live @ m[:, :2].T + m[:, 2]
    r = np.linalg.norm(q - p_ref, axis=1) / (np.linalg.norm(p_ref[33] - p_ref[263]) + 1e-6)
    return [float(r[g].mean()) for g in REGIONS]


def residual(ref: np.ndarray, live: np.ndarray) -> list[float]:
    rg = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lg = cv2.cvtColor(np.clip(live, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    lg = lg.astype(np.float32)
    d = np.abs(cv2.GaussianBlur(rg, (5, 5), 1.5) - cv2.GaussianBlur(lg, (5, 5), 1.5))[CENTRE]
    lap_r = np.abs(cv2.Laplacian(rg, cv2.CV_32F))[CENTRE].mean() + 1e-3
    lap_l = np.abs(cv2.Laplacian(lg, cv2.CV_32F))[CENTRE].mean() + 1e-3
    return [float(np.log(d.mean() + 1e-3)), float(np.log(d.std() + 1e-3)),
            float(np.log(lap_r / lap_l))]  # fmt: skip


def features(folder: Path) -> None:
    from hardware_mocks.morph_set import read_pairs

    pairs_file = folder / "pairs.jsonl"
    entries = read_pairs(pairs_file)
    pair_entry = np.load(folder / "features.npz")["pair_entry"]
    ex = Extractor()
    probes: dict[str, Any] = {}
    rows = []
    for i, entry in enumerate(entries):
        expected = int((pair_entry == i).sum())
        if not expected:
            continue
        ref = ex.record(pairs_file.parent / entry.reference)
        assert ref is not None, "the reference lost its face since features.npz was made"
        rc, er, pr = ref
        for probe in entry.probes:
            if probe.path not in probes:
                probes[probe.path] = ex.record(Path(probe.path))
            if probes[probe.path] is None:
                continue
            lc, el, pl = probes[probe.path]
            five = colour_matched(lc, rc)
            warped = colour_matched(rbf_warp(lc, pr, pl), rc)
            rows.append(ex.demorph(rc, five, er, el) + ex.demorph(rc, warped, er, el)
                        + geometry(pr, pl) + residual(rc, warped)
                        + residual(rc, five)[:2])  # fmt: skip
    assert len(rows) == len(pair_entry), "pair rows differ from features.npz"
    np.save(folder / OUT, np.array(rows))


def _load(name: str) -> tuple[np.ndarray, ...]:
    from appliance.biometrics.morph.detector import dmad_input
    from hardware_mocks.morph_set import compute_features

    f = compute_features(CACHE / name / "pairs.jsonl", log=False)
    extra = np.load(CACHE / name / OUT)
    keep = f.single_ok[f.pair_entry]
    base = dmad_input(f.pair_x, f.single[f.pair_entry])
    label = np.array([e.label == "morph" for e in f.entries], float)[f.pair_entry]
    split = np.array([e.split for e in f.entries])[f.pair_entry]
    variant = np.array([e.variant for e in f.entries])[f.pair_entry]
    return base[keep], extra[keep], label[keep], split[keep], variant[keep]


def _columns(groups: list[str], base: np.ndarray, extra: np.ndarray) -> np.ndarray:
    idx = [k for k, n in enumerate(NAMES) if any(n.startswith(g) for g in groups)]
    return np.concatenate([base, extra[:, idx]], 1)


def evaluate() -> None:
    from models.morph.train_mad import CONFIGS, eer, fit, forward, threshold_at_bpcer

    def apcer_at_bpcer(bona: np.ndarray, attack: np.ndarray, target: float) -> float:
        return float((attack < threshold_at_bpcer(bona, target)).mean())

    base, extra, y, split, variant = _load("faces-lfw")
    dbase, dextra, dy, _, _ = _load("dense-faces")
    for groups in ([], ["d5"], ["d5_03"], ["d5_05"], ["dd"], ["d5", "dd"], ["g_"],
                   ["rw", "r5"], ["d5", "dd", "g_", "rw", "r5"]):  # fmt: skip
        x = _columns(groups, base, extra)
        tr, ca, te = split == "train", split == "calibration", split == "test"
        xt = np.concatenate([x[tr], *[_columns(groups, dbase, dextra)] * 4])
        yt = np.concatenate([y[tr], *[dy] * 4])
        best: tuple[float, Any, Any] | None = None
        for cfg in CONFIGS["morph_dmad"]:
            w = fit(xt, yt, int(cfg["hidden"]), cfg["l2"])
            c = forward(w, x[ca])
            ce = eer(c[y[ca] == 0], c[y[ca] == 1])
            if best is None or ce < best[0]:
                best = (ce, cfg, w)
        assert best is not None
        s = forward(best[2], x[te])
        bona, attack, v = s[y[te] == 0], s[y[te] == 1], variant[te][y[te] == 1]
        print(f"base+{'+'.join(groups) or '-':24s} {best[1]} calibration D-EER {best[0]:.3f} | "
              f"test D-EER full {eer(bona, attack[v == 'full']):.3f} "
              f"splice {eer(bona, attack[v == 'splice']):.3f} all {eer(bona, attack):.3f} "
              f"APCER@BPCER10% {apcer_at_bpcer(bona, attack, 0.1):.3f} "
              f"@1% {apcer_at_bpcer(bona, attack, 0.01):.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["features"]:
        features(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["evaluate"]:
        evaluate()
    else:
        sys.exit(__doc__)
