#!/usr/bin/env bash
# Reproduce models/mrz/mrz_glyphs.onnx and its manifest entry from scratch, CPU only
# (about 20 minutes on 2 shared cores): render -> cut glyphs -> train -> export -> manifest.
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
nice -n 10 "$VENV/bin/python" models/training/mrz/make_dataset.py \
    --blocks 3000 --seed 20240401 --out "$WORK/glyphs.npz"
nice -n 10 "$VENV/bin/python" models/training/mrz/train.py \
    --data "$WORK/glyphs.npz" --out models/mrz/mrz_glyphs.onnx \
    --metrics models/training/mrz/metrics.json --epochs 5 --seed 7
# The softmax temperature is fitted by models/training/mrz/calibrate.py (product venv, after
# training); copy its result into TEMPERATURE in update_manifest.py when it changes.
"$VENV/bin/python" models/training/mrz/update_manifest.py "$@"
