"""Model files and onnxruntime sessions: located once, checked against the manifest, cached.

Models are never fetched at run time: they sit in `models/` (or `APPLIANCE_MODELS_DIR`; on a
device installed by scripts/install.sh, /opt/appliance/models beside the venv) and
every file's sha256 must match `models/manifest.json` before a session is created, so a
corrupted or swapped model fails closed with `MODEL_UNAVAILABLE`.

Models the border authority sent through sync sit in the data directory's overlay
(`appliance.model_overlay`); once a command or the service has named its data directory
(`use_overlay`), a model looked up without an explicit directory comes from the overlay when
the overlay holds it (verified against its signed entry), else from the shipped `models/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any

import onnxruntime as ort

from appliance import model_overlay
from appliance.errors import ApplianceError, Reason

_LOCK = threading.Lock()
#: the data directory whose model overlay is consulted first (None: shipped models only)
_overlay: list[Path | None] = [None]


def use_overlay(data_dir: Path | None) -> None:
    """Consult `data_dir`'s model overlay before the shipped models (process-wide; the lane,
    `appliance check` and the self-test set it from the config's data directory)."""
    _overlay[0] = data_dir


def _resolve(name: str, directory: Path | None) -> tuple[Path, dict[str, Any]]:
    """(base directory, manifest entry) of a model: the overlay's when it holds `name` and no
    directory was named, else the shipped manifest's."""
    data_dir = _overlay[0]
    if directory is None and data_dir is not None:
        found = model_overlay.overlay_entry(data_dir, name)
        if found is not None:
            return found
    base = directory or models_dir()
    entries = _manifest(base)
    if name not in entries:
        raise ApplianceError(Reason.MODEL_UNAVAILABLE, f"model {name} not in manifest")
    return base, entries[name]


def models_dir() -> Path:
    """`APPLIANCE_MODELS_DIR`, else the repository's `models/` next to the package (a checkout),
    else `models/` beside the venv the appliance runs from: scripts/install.sh puts the venv in
    /opt/appliance/venv and the models in /opt/appliance/models, so a device needs no override."""
    env = os.environ.get("APPLIANCE_MODELS_DIR")
    if env:
        return Path(env)
    repository = Path(__file__).resolve().parents[1] / "models"
    if (repository / "manifest.json").is_file():
        return repository
    return Path(sys.prefix).parent / "models"


@cache
def _manifest(directory: Path) -> dict[str, dict[str, Any]]:
    path = directory / "manifest.json"
    try:
        entries = json.loads(path.read_text())["models"]
    except (OSError, ValueError, KeyError) as exc:
        raise ApplianceError(Reason.MODEL_UNAVAILABLE, "model manifest unreadable") from exc
    return {entry["name"]: entry for entry in entries}


def manifest_entry(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The manifest record of one model (file, sha256, input spec, operating points...): the
    overlay's signed entry when it holds the model (see `use_overlay`)."""
    return _resolve(name, directory)[1]


def model_location(name: str) -> tuple[Path, dict[str, Any]]:
    """(directory, entry) of the model in force: the overlay's (sent through sync) or the
    shipped one; `MODEL_UNAVAILABLE` when an overlay model does not verify."""
    return _resolve(name, None)


def model_names(directory: Path | None = None) -> list[str]:
    """The names of every model in the manifest (`MODEL_UNAVAILABLE` when it is unreadable)."""
    return list(_manifest(directory or models_dir()))


def file_sha256(path: Path) -> str:
    """The file's SHA-256, hex, read now (never cached: `appliance selftest` re-reads it)."""
    return _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def session_options(intra_op_threads: int = 1) -> ort.SessionOptions:
    """Deliberate CPU settings: one intra-op thread per session by default (the appliance
    budgets one core per verification and runs other work beside it), sequential execution,
    all graph optimisations (constant folding turns the embedder's uint8 weights into floats
    once, at load), no spinning threads burning the shared core while idle."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


@cache
def _load_session(path: Path, sha256: str, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        raise ApplianceError(Reason.MODEL_UNAVAILABLE, f"model file missing: {path.name}")
    if _sha256(path) != sha256:
        raise ApplianceError(Reason.MODEL_UNAVAILABLE, f"model file hash mismatch: {path.name}")
    try:
        return ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ApplianceError(Reason.MODEL_UNAVAILABLE, f"model not loadable: {path.name}") from exc


def load_session(
    name: str, directory: Path | None = None, intra_op_threads: int = 1
) -> ort.InferenceSession:
    """The process-wide session of a manifest model (created, and hash-checked, once)."""
    base, entry = _resolve(name, directory)
    with _LOCK:
        return _load_session(base / entry["file"], entry["sha256"], intra_op_threads)


def load_file_session(path: Path, sha256: str) -> ort.InferenceSession:
    """The process-wide session of one model file, hash-checked against `sha256` first."""
    with _LOCK:
        return _load_session(path, sha256, 1)


def selftest(directory: Path | None = None) -> list[dict[str, str]]:
    """Each model of the manifest: present, hash-checked, loadable (for `appliance selftest`)."""
    base = directory or models_dir()
    report = []
    try:
        names = list(_manifest(base))
    except ApplianceError as exc:
        return [{"model": "manifest", "status": "fail", "reason": exc.reason.value}]
    for name in names:
        try:
            load_session(name, base)
            report.append({"model": name, "status": "pass", "reason": Reason.OK.value})
        except ApplianceError as exc:
            report.append({"model": name, "status": "fail", "reason": exc.reason.value})
    return report
