"""An experiment, not shipped: the pair network, a CNN that sees the chip photo and the live
photo side by side (six channels, both in token geometry), trained on pairs of training
identities only, written as ONNX.

    /work/venvs/train/bin/python models/morph/train_pair.py \
        --sets var/cache/morph/faces-lfw var/cache/morph/faces-lfw-extra12 \
        --hires var/cache/morph/dense-faces [--epochs 12] --out /tmp/morph_pair.onnx

The idea: the portrait network (`train_portrait.py`) looks at the chip photo alone, and the
D-MAD feature model compares the two faces only through the embedder. A morph's face has part of
another person's shape (eyes, nose, mouth, jaw moved towards the accomplice's), which shows where
the chip photo and the live photo, both brought to the same eye positions, disagree; a network
that sees both might learn where and how they disagree for a morph and not for two photos of one
person. Measured (models/morph/README.md, 2026-12-05): trained from scratch on LFW's training
pairs it does not learn that, and adds nothing to the fusion of the D-MAD model and the portrait
network. Kept so that the finding can be reproduced and the idea retried on more (and sharper)
data.

Runs in the training venv, as `train_portrait.py`, whose network it reuses with six input
channels. Each set folder holds `pairs.jsonl`, `portraits-v1.npz` and `live-portraits-v1.npz`
(`python -m hardware_mocks.morph_portraits DIR...`, in the project's venv, after
`compute_features`). Every epoch draws `--per-epoch` of the training pairs; the chip and the live
crop are shifted independently (alignment differs between two photos) and mirrored together.
The logit is the mean over the pair and its mirror image. Calibration pairs of the first set
are reported after every few epochs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from train_portrait import (
    CROP_H,
    CROP_W,
    LEFT,
    SHIFT,
    TOP,
    PortraitNet,
    eer,
    export_checked,
    learn,
    training_arguments,
    write_summary,
)

PairSet = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]


def load_pairs(folder: Path) -> PairSet:
    """(chip portraits, live portraits, each pair's chip row, live row, label, split)."""
    entries = [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]
    chips = np.load(folder / "portraits-v1.npz")
    live = np.load(folder / "live-portraits-v1.npz")
    row = {int(e): k for k, e in enumerate(chips["index"])}
    pair_entry = live["pair_entry"]
    keep = np.array([int(e) in row for e in pair_entry])
    pair_entry = pair_entry[keep]
    chip_row = np.array([row[int(e)] for e in pair_entry], np.int64)
    labels = np.array([int(entries[e]["label"] != "bona_fide") for e in pair_entry], np.float32)
    splits = [entries[e]["split"] for e in pair_entry]
    return chips["x"], live["x"], chip_row, live["pair_live"][keep], labels, splits


def _crop(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return image[TOP + dy : TOP + dy + CROP_H, LEFT + dx : LEFT + dx + CROP_W]


def to_tensor(chip: np.ndarray, live: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) BGR chip and live crops -> (N, 6, H, W) RGB in -1..1, chip first."""
    both = np.concatenate([chip[..., ::-1], live[..., ::-1]], axis=3)
    return torch.from_numpy(np.ascontiguousarray(both)).float().permute(0, 3, 1, 2) / 127.5 - 1


def augment(
    chips: np.ndarray, lives: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    out_c = np.empty((len(chips), CROP_H, CROP_W, 3), np.uint8)
    out_l = np.empty_like(out_c)
    for i in range(len(chips)):
        c = _crop(chips[i], *rng.integers(-SHIFT, SHIFT + 1, 2))
        v = _crop(lives[i], *rng.integers(-SHIFT, SHIFT + 1, 2))
        if rng.random() < 0.5:
            c, v = c[:, ::-1], v[:, ::-1]
        out_c[i], out_l[i] = c, v
    return out_c, out_l


def logits(net: PortraitNet, chips: np.ndarray, lives: np.ndarray) -> np.ndarray:
    """Mean logit of each centred pair and its mirror image (as the product computes it)."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(chips), 128):
            c = chips[start : start + 128, TOP : TOP + CROP_H, LEFT : LEFT + CROP_W]
            v = lives[start : start + 128, TOP : TOP + CROP_H, LEFT : LEFT + CROP_W]
            both = net(to_tensor(c, v)) + net(to_tensor(c[:, :, ::-1], v[:, :, ::-1]))
            out.append(both.numpy() / 2)
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def export(net: PortraitNet, path: Path, chips: np.ndarray, lives: np.ndarray) -> float:
    c = chips[:, TOP : TOP + CROP_H, LEFT : LEFT + CROP_W]
    v = lives[:, TOP : TOP + CROP_H, LEFT : LEFT + CROP_W]
    return export_checked(net, path, to_tensor(c, v), "pair")


def main() -> None:
    parser = training_arguments(__doc__.splitlines()[0], hires_share=0.25, epochs=12)
    parser.add_argument("--per-epoch", type=int, default=16384)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    # one array of chip portraits and one of live portraits over all sets; pairs index them
    chips, lives, chip_rows, live_rows, labels, weights = [], [], [], [], [], []
    n_chip = n_live = 0
    calib = None
    for k, folder in enumerate([*args.sets, *([args.hires] if args.hires else [])]):
        c, v, cr, lr, y, splits = load_pairs(folder)
        hires = args.hires is not None and folder == args.hires
        if k == 0:
            rows = np.array([s == "calibration" for s in splits])
            calib = (c[cr[rows]], v[lr[rows]], y[rows])
        train = np.ones(len(y), bool) if hires else np.array([s == "train" for s in splits])
        chips.append(c)
        lives.append(v)
        chip_rows.append(cr[train] + n_chip)
        live_rows.append(lr[train] + n_live)
        labels.append(y[train])
        weights.append(np.full(int(train.sum()), np.nan if hires else 1.0))
        n_chip, n_live = n_chip + len(c), n_live + len(v)
    all_c, all_v = np.concatenate(chips), np.concatenate(lives)
    cr, lr, y = np.concatenate(chip_rows), np.concatenate(live_rows), np.concatenate(labels)
    w = np.concatenate(weights)
    hires_rows = np.isnan(w)
    if hires_rows.any():  # the sharp pairs drawn as `--hires-share` of every epoch
        w[hires_rows] = args.hires_share / hires_rows.sum()
        w[~hires_rows] = (1 - args.hires_share) / (~hires_rows).sum()
    else:
        w[:] = 1 / len(w)
    assert calib is not None
    cc, cv, cy = calib
    print(f"train {len(y)} pairs ({int(y.sum())} morphs, {int(hires_rows.sum())} sharp), "
          f"calibration {len(cy)}", flush=True)  # fmt: skip
    net = PortraitNet(args.width, in_channels=6)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    steps = args.per_epoch // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * steps)
    started = time.time()
    for epoch in range(args.epochs):
        net.train()
        drawn = rng.choice(len(y), size=steps * 64, p=w)
        morph_share = float(y[drawn].mean())
        pos_weight = torch.tensor((1 - morph_share) / morph_share)
        total = 0.0
        for step in range(steps):
            batch = drawn[step * 64 : (step + 1) * 64]
            xc, xv = augment(all_c[cr[batch]], all_v[lr[batch]], rng)
            loss = F.binary_cross_entropy_with_logits(
                net(to_tensor(xc, xv)), torch.from_numpy(y[batch]), pos_weight=pos_weight
            )
            total += learn(opt, sched, loss) * len(batch)
        line = f"epoch {epoch}: loss {total / (steps * 64):.4f}"
        if epoch % 3 == 2 or epoch == args.epochs - 1:
            line += f", calibration D-EER {eer(logits(net, cc, cv), cy):.4f}"
        print(f"{line} ({time.time() - started:.0f} s)", flush=True)
    export(net, args.out, cc[:16], cv[:16])
    counts = {"train_pairs": len(y), "train_attacks": int(y.sum()), "pairs_per_epoch": steps * 64}
    write_summary(args, counts, eer(logits(net, cc, cv), cy))


if __name__ == "__main__":
    main()
