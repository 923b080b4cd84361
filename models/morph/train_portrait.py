"""Train the portrait network (`appliance/biometrics/morph/portrait_net.py`) on the chip photos
of training identities only, and write it as ONNX.

    /work/venvs/train/bin/python models/morph/train_portrait.py \
        --sets var/cache/morph/faces-lfw var/cache/morph/faces-lfw-extra12 [--epochs 24]

Runs in the training venv (`models/training/requirements.txt`: torch, onnx), which needs
neither the appliance nor a face model: each set folder holds `pairs.jsonl` (labels, identity
splits) and `portraits-v1.npz`, the references already brought to the token geometry by
`python -m hardware_mocks.morph_portraits DIR...` (run that first, in the project's venv). The
sets are `train_mad`'s: the identity-split LFW morph set and its extra set (`--extra-partners`).
Only `train` rows are learnt from; `calibration` rows of the first set are reported after every
few epochs. The held-out `test` rows are left to `benchmarks/morph.py`.

`--hires DIR` adds `train_mad`'s set of sharper photos (`morph_set.build_dense`, the demo's and
the tests' people left out), repeated to `--hires-share` of the training portraits. Trained on
LFW alone, the network took morphs of sharp photos for bona fide with confidence: its traces
are mostly those of warping and blending a small, upscaled web photo, and a morph of two sharp
photos, downscaled to the chip size, shows few of them; fused, it outvoted a D-MAD that had
caught the demo's morph.

The network: five 3x3 convolutions (16-32-64-96-128 channels, batch norm, ReLU; the first with
stride 2, max pooling after the 2nd-4th), global average pooling, dropout 0.3, one logit.
190k weights, about 35 M multiply-adds per portrait. Input the centre 192x144 of the 160x214
portrait, RGB in -1..1; training shifts the crop by up to 6 px and mirrors half the portraits.
Class-balanced logistic loss, AdamW with a one-cycle schedule, batches of 64. The ONNX graph
(input `portrait` (N, 3, 192, 144), output `logit` (N)) is checked against PyTorch's outputs.
"""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser, Namespace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CROP_H, CROP_W, TOP, LEFT = 192, 144, 11, 8
SHIFT = 6


class PortraitNet(nn.Module):
    def __init__(self, width: int = 8, in_channels: int = 3) -> None:
        super().__init__()
        ch = [in_channels, 2 * width, 4 * width, 8 * width, 12 * width, 16 * width]
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(ch[i], ch[i + 1], 3, stride=2 if i == 0 else 1, padding=1, bias=False),
                nn.BatchNorm2d(ch[i + 1]),
                nn.ReLU(),
            )
            for i in range(5)
        )
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(ch[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if 1 <= i <= 3:
                x = F.max_pool2d(x, 2)
        return self.fc(self.drop(x.mean((2, 3)))).squeeze(1)


def load_set(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(portraits, label 1 = morph, split) of every reference with a face."""
    entries = [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]
    saved = np.load(folder / "portraits-v1.npz")
    index = saved["index"]
    labels = np.array([int(entries[i]["label"] != "bona_fide") for i in index], np.float32)
    return saved["x"], labels, [entries[i]["split"] for i in index]


def to_tensor(bgr: np.ndarray) -> torch.Tensor:
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    return torch.from_numpy(rgb).float().permute(0, 3, 1, 2) / 127.5 - 1.0


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((len(x), CROP_H, CROP_W, 3), np.uint8)
    for i in range(len(x)):
        dy, dx = TOP + rng.integers(-SHIFT, SHIFT + 1), LEFT + rng.integers(-SHIFT, SHIFT + 1)
        crop = x[i, dy : dy + CROP_H, dx : dx + CROP_W]
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def logits(net: PortraitNet, x: np.ndarray) -> np.ndarray:
    """Mean logit of the centre crop and its mirror image (as the product computes it)."""
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), 128):
            crop = x[start : start + 128, TOP : TOP + CROP_H, LEFT : LEFT + CROP_W]
            both = net(to_tensor(crop)) + net(to_tensor(crop[:, :, ::-1]))
            out.append(both.numpy() / 2)
    return np.concatenate(out)


def eer(scores: np.ndarray, labels: np.ndarray) -> float:
    bona, attack = scores[labels == 0], scores[labels == 1]
    return float(min(max((bona >= t).mean(), (attack < t).mean()) for t in np.unique(scores)))


def export_checked(net: PortraitNet, path: Path, x: torch.Tensor, input_name: str) -> float:
    """Write the ONNX graph (input `input_name`, output `logit`, any batch size); the largest
    difference of its logits on `x` to PyTorch's (stops the script when it is over 1e-3)."""
    import onnxruntime as ort

    net.eval()
    torch.onnx.export(
        net, (x[:2],), str(path), input_names=[input_name], output_names=["logit"],
        dynamic_axes={input_name: {0: "N"}, "logit": {0: "N"}}, opset_version=17, dynamo=False,
    )  # fmt: skip
    with torch.no_grad():
        expected = net(x).numpy()
    got = ort.InferenceSession(str(path)).run(["logit"], {input_name: x.numpy()})[0]
    diff = float(np.abs(got - expected).max())
    print(f"wrote {path}; max |onnx - torch| = {diff:.2e}", flush=True)
    if diff > 1e-3:
        raise SystemExit("the ONNX graph does not reproduce the trained network")
    return diff


def learn(
    opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler, loss: torch.Tensor
) -> float:
    """One optimiser and schedule step on a batch's loss; the loss."""
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return float(loss.detach())


def export(net: PortraitNet, path: Path, sample: np.ndarray) -> float:
    x = to_tensor(sample[:, TOP : TOP + CROP_H, LEFT : LEFT + CROP_W])
    return export_checked(net, path, x, "portrait")


def training_arguments(description: str, hires_share: float, epochs: int) -> ArgumentParser:
    """The options this script and `train_pair.py` share."""
    parser = ArgumentParser(description=description)
    parser.add_argument("--sets", type=Path, nargs="+", required=True)
    parser.add_argument("--hires", type=Path, default=None, help="a set of sharper photos")
    parser.add_argument("--hires-share", type=float, default=hires_share)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    return parser


def write_summary(args: Namespace, counts: dict[str, int], calibration_d_eer: float) -> None:
    """The run's figures and settings beside its ONNX file (`fit_fusion.py` reads the portrait
    network's)."""
    summary = {
        **counts,
        "calibration_d_eer": round(calibration_d_eer, 4),
        "epochs": args.epochs,
        "width": args.width,
        "seed": args.seed,
        "hires_share": args.hires_share if args.hires is not None else 0,
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")


def main() -> None:
    parser = training_arguments(__doc__.splitlines()[0], hires_share=0.2, epochs=24)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "morph_portrait.onnx")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    loaded = [load_set(folder) for folder in args.sets]
    keep = [np.array([s == "train" for s in splits]) for _, _, splits in loaded]
    x = np.concatenate([xs[k] for (xs, _, _), k in zip(loaded, keep, strict=True)])
    y = np.concatenate([ys[k] for (_, ys, _), k in zip(loaded, keep, strict=True)])
    if args.hires is not None:
        hx, hy, _ = load_set(args.hires)
        reps = max(1, round(args.hires_share * len(y) / ((1 - args.hires_share) * len(hy))))
        x, y = np.concatenate([x, *[hx] * reps]), np.concatenate([y, *[hy] * reps])
        print(f"+ {len(hy)} sharper portraits x {reps}", flush=True)
    calib = np.array([s == "calibration" for s in loaded[0][2]])
    cx, cy = loaded[0][0][calib], loaded[0][1][calib]
    print(f"train {len(y)} portraits ({int(y.sum())} morphs), calibration {len(cy)}", flush=True)
    net = PortraitNet(args.width)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    steps_per_epoch = len(y) // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-3, total_steps=args.epochs * steps_per_epoch
    )
    pos_weight = torch.tensor((1 - y.mean()) / y.mean())
    started = time.time()
    for epoch in range(args.epochs):
        net.train()
        order = rng.permutation(len(y))
        total = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * 64 : (step + 1) * 64]
            xb, yb = to_tensor(augment(x[batch], rng)), torch.from_numpy(y[batch])
            loss = F.binary_cross_entropy_with_logits(net(xb), yb, pos_weight=pos_weight)
            total += learn(opt, sched, loss) * len(batch)
        line = f"epoch {epoch}: loss {total / (steps_per_epoch * 64):.4f}"
        if epoch % 4 == 3 or epoch == args.epochs - 1:
            line += f", calibration D-EER {eer(logits(net, cx), cy):.4f}"
        print(f"{line} ({time.time() - started:.0f} s)", flush=True)
    export(net, args.out, cx[:16])
    counts = {"train_portraits": len(y), "train_attacks": int(y.sum())}
    write_summary(args, counts, eer(logits(net, cx), cy))


if __name__ == "__main__":
    main()
