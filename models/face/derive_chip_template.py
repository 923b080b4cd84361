"""Derive where BlazeFace's keypoints fall on the embedder's canonical 150x150 face chip.

The embedder (dlib's ResNet, via face-api) was trained on chips cut by dlib's 5-point aligner
(`dlib.get_face_chip(size=150, padding=0.25)`). The appliance aligns with BlazeFace keypoints
instead (no dlib at run time), so it needs those keypoints' positions on dlib's chip: this script
cuts dlib chips from a folder of face photos, runs BlazeFace on each chip, and prints the median
position of each keypoint. It also reports how close the ONNX embedder is to dlib's original
float32 network on the same chips (a cross-check of the port, not the golden test).

Usage (convert venv):
  python models/face/derive_chip_template.py FACES_DIR FACE_RECOGNITION_MODELS_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import dlib
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from appliance.biometrics.face.detect import BlazeFaceDetector  # noqa: E402


def main(faces_dir: Path, dlib_models: Path) -> None:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_models / "shape_predictor_5_face_landmarks.dat"))
    dlib_net = dlib.face_recognition_model_v1(
        str(dlib_models / "dlib_face_recognition_resnet_model_v1.dat")
    )
    blaze = BlazeFaceDetector.from_models_dir(HERE.parent)
    embedder = ort.InferenceSession(str(HERE / "face_api_resnet34_128.onnx"))
    points: list[np.ndarray] = []
    cosines: list[float] = []
    for path in sorted(faces_dir.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        dets = detector(rgb, 1)
        if len(dets) != 1:
            continue
        chip = dlib.get_face_chip(rgb, predictor(rgb, dets[0]), size=150, padding=0.25)
        faces = blaze.detect(cv2.cvtColor(chip, cv2.COLOR_RGB2BGR))
        if len(faces) != 1:
            continue
        points.append(faces[0].keypoints)
        ref = np.array(dlib_net.compute_face_descriptor(chip))
        ours = embedder.run(None, {"image": chip[None].astype(np.float32)})[0][0]
        cosines.append(float(ref @ ours / np.linalg.norm(ref) / np.linalg.norm(ours)))
    stack = np.stack(points)
    template = np.median(stack, axis=0)
    print(
        json.dumps(
            {
                "chips": len(points),
                "template_150": template.round(2).tolist(),
                "spread_px": stack.std(axis=0).round(2).tolist(),
                "cosine_onnx_vs_dlib_float": {
                    "min": round(min(cosines), 4),
                    "median": round(float(np.median(cosines)), 4),
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
