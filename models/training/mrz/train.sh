#!/usr/bin/env bash
# Reproduce models/mrz/mrz_glyphs.onnx and its manifest entry from scratch, CPU only
# (about 15 minutes on 2 cores): render -> cut glyphs -> train -> export -> manifest.
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
# Two shards of rendered pages, one per core.
pids=()
for shard in 1 2; do
    nice -n 10 "$VENV/bin/python" models/training/mrz/make_dataset.py \
        --blocks 2500 --seed "2024040$shard" --out "$WORK/glyphs$shard.npz" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
nice -n 10 "$VENV/bin/python" models/training/mrz/train.py \
    --data "$WORK/glyphs1.npz" "$WORK/glyphs2.npz" --out models/mrz/mrz_glyphs.onnx \
    --metrics models/training/mrz/metrics.json --epochs 6 --seed 7
# The softmax temperature is fitted by models/training/mrz/calibrate.py (product venv, after
# training); copy its result into TEMPERATURE in update_manifest.py when it changes.
"$VENV/bin/python" models/training/mrz/update_manifest.py "$@"
