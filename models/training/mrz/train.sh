#!/usr/bin/env bash
# Reproduce models/mrz/mrz_glyphs.onnx and its manifest entry, CPU only (on a shared 2-core
# machine: rendering about 11 minutes, training 3-4 minutes an epoch): render -> cut glyphs ->
# train (or fine-tune, INIT below) -> export -> manifest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VENV=${TRAIN_VENV:-/work/venvs/train}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -r "$ROOT/models/training/requirements.txt"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
# Three shards of rendered pages, rendered side by side.
pids=()
for shard in 1 2 3; do
    nice -n 10 "$VENV/bin/python" models/training/mrz/make_dataset.py \
        --blocks 1500 --seed "2024040$shard" --out "$WORK/glyphs$shard.npz" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
# One thread: on a shared 2-core machine two intra-op threads mostly waited for each other
# (an epoch took over 15 minutes instead of about 3).
# INIT=FILE.onnx fine-tunes a released model instead of training from scratch: version 1.2.0
# is 1.1.0 (`git show 5b6000f:models/mrz/mrz_glyphs.onnx`) fine-tuned for 2 epochs on
# these renders (low-resolution pages, print and scan artefacts; strips flattened with the
# wider black-hat of appliance/mrz/ocr/strip.py).
if [ -n "${INIT:-}" ]; then
    schedule=(--init "$INIT" --epochs 2 --lr 1e-3)
else
    schedule=(--epochs 6)
fi
nice -n 10 "$VENV/bin/python" models/training/mrz/train.py \
    --data "$WORK"/glyphs[123].npz --out models/mrz/mrz_glyphs.onnx \
    --metrics models/training/mrz/metrics.json --seed 7 --threads 1 "${schedule[@]}"
# The softmax temperature is fitted by models/training/mrz/calibrate.py (product venv, after
# training); copy its result into TEMPERATURE in update_manifest.py when it changes.
"$VENV/bin/python" models/training/mrz/update_manifest.py "$@"
