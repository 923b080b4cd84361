"""Models the border authority sends through sync, installed beside (not over) the shipped ones.

A model package (what central publishes as kind `model`) is one blob:

    border-appliance/model-v1\\n<header: one line of JSON>\\n<the ONNX file's bytes>

the header being the model's manifest entry: `name` (a model of the shipped manifest),
`version` (integer, per name, never going back), `sha256` and `size` of the file, and the
entry's other fields (operating points, calibration) that replace the shipped ones. The
authority signs the whole package (kind `model`, `appliance.signed.artefacts`).

On the device the overlay is `<data dir>/models/`: `<name>-v<version>.onnx` (the file) and
`<name>.entry` (the package's signature line, then the header). Installing writes the new
file under its own name first, then replaces the entry in one rename: until that rename the
previous model (or the shipped one) is in force, after it the new one; the old file is removed
last. `appliance.models` consults the overlay before the shipped `models/` and uses an overlay
model only once the entry's signature verifies over the header and the file as read now (so
its sha256, name and version are the authority's) and its version is not below the highest
accepted; a model that fails is `MODEL_UNAVAILABLE` (fail closed, never the shipped one
instead: that would be a rollback). ONNX sessions are made once per process, so a running lane
takes a new model at its next start (systemd restart, or the service's restart after sync).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir, write_private
from appliance.signed import artefacts as sc

MAGIC = b"border-appliance/model-v1\n"
OVERLAY_DIR = "models"
_ACCEPTED = "accepted-versions"
_NAME = re.compile(r"[a-z0-9_]{1,64}")
_KIND = sc.ArtefactKind.MODEL
_cache: dict[tuple[Path, str, tuple[int, ...]], tuple[Path, dict[str, Any]]] = {}
_lock = threading.Lock()


def _refused(detail: str) -> ApplianceError:
    return ApplianceError(Reason.MODEL_UNAVAILABLE, detail)


def build_package(entry: dict[str, Any], model: bytes) -> bytes:
    """The package to publish: `entry` (name, version, other manifest fields) with the file's
    sha256 and size filled in, and the file."""
    header = {**entry, "sha256": hashlib.sha256(model).hexdigest(), "size": len(model)}
    header.pop("file", None)  # the device names the file itself
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + model


def parse_package(content: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """(header, header bytes, model bytes) once the header matches the file."""
    if not content.startswith(MAGIC):
        raise _refused("not a model package")
    header_bytes, sep, model = content[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(header_bytes)
        name, version = str(header["name"]), header["version"]
        sha256, size = str(header["sha256"]), int(header["size"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _refused("model package header malformed") from exc
    if not sep or not _NAME.fullmatch(name):
        raise _refused("model package header malformed")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _refused(f"model {name}: version must be a positive integer")
    if hashlib.sha256(model).hexdigest() != sha256 or len(model) != size:
        raise _refused(f"model {name}: file does not match its signed entry")
    return header, header_bytes, model


def _accepted_path(data_dir: Path, name: str) -> Path:
    return data_dir / _ACCEPTED / f"model.{name}"


def accepted_version(data_dir: Path, name: str) -> int:
    try:
        return int(_accepted_path(data_dir, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return 0


def _file_name(name: str, version: int) -> str:
    return f"{name}-v{version}.onnx"


def install_model(
    data_dir: Path, content: bytes, signature: bytes, known: set[str]
) -> dict[str, Any]:
    """Verify a package and make it the model in force (see the module doc); return its header.
    Refused (`MODEL_UNAVAILABLE`, nothing changed): a bad signature, a file that is not the
    entry's, a name the shipped manifest does not know, a version not above the accepted one,
    a file onnxruntime cannot load."""
    sc.TrustedKeys.load(data_dir / sc.KEYS_DIR).verify(_KIND, content, signature)
    header, header_bytes, model = parse_package(content)
    name, version = header["name"], header["version"]
    if name not in known:
        raise _refused(f"model {name}: not a model of this appliance")
    if version <= accepted_version(data_dir, name):
        raise _refused(
            f"model {name}: version {version} is not above {accepted_version(data_dir, name)}"
        )
    _loads(name, model)
    directory = data_dir / OVERLAY_DIR
    private_dir(directory)
    path = directory / _file_name(name, version)
    write_private(path, model)
    write_private(directory / f"{name}.entry", signature.strip() + b"\n" + header_bytes)
    private_dir(data_dir / _ACCEPTED)
    write_private(_accepted_path(data_dir, name), f"{version}\n".encode())
    for old in directory.glob(f"{name}-v*.onnx"):
        if old != path:
            old.unlink(missing_ok=True)
    return header


def _loads(name: str, model: bytes) -> None:
    import onnxruntime as ort

    try:
        ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise _refused(f"model {name}: not loadable") from exc


def installed_names(data_dir: Path) -> list[str]:
    """Names with an overlay entry (not verified: `overlay_entry` does that)."""
    directory = data_dir / OVERLAY_DIR
    if not directory.is_dir():
        return []
    return sorted(p.name[: -len(".entry")] for p in directory.glob("*.entry"))


def overlay_entry(data_dir: Path, name: str) -> tuple[Path, dict[str, Any]] | None:
    """(overlay directory, manifest entry with its `file`) of the overlay model `name`, verified
    now; None when the overlay has no such model; `MODEL_UNAVAILABLE` when it has one that
    does not verify (fail closed)."""
    directory = data_dir / OVERLAY_DIR
    entry_path = directory / f"{name}.entry"
    try:
        stamp = entry_path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refused(f"model {name}: overlay entry unreadable") from exc
    # the cache is keyed by the entry's and the model files' stamps: a file altered on disk
    # is verified again (and refused), not served from what was verified before
    stamps = [(stamp.st_mtime_ns, stamp.st_size, stamp.st_ino)]
    for path in sorted(directory.glob(f"{name}-v*.onnx")):
        with contextlib.suppress(FileNotFoundError):  # an old file removed by an install
            found_stat = path.stat()
            stamps.append((found_stat.st_mtime_ns, found_stat.st_size, found_stat.st_ino))
    key = (data_dir, name, tuple(n for s in stamps for n in s))
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        line, _, header_bytes = entry_path.read_bytes().partition(b"\n")
        header = json.loads(header_bytes)
        version = int(header["version"])
        model = (directory / _file_name(name, version)).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _refused(f"model {name}: overlay entry or file unreadable") from exc
    package = MAGIC + header_bytes + b"\n" + model
    sc.TrustedKeys.load(data_dir / sc.KEYS_DIR).verify(_KIND, package, line or None)
    parsed, _, _ = parse_package(package)
    if parsed["name"] != name or version < accepted_version(data_dir, name):
        raise _refused(f"model {name}: overlay entry is not the accepted version")
    found = (directory, {**parsed, "file": _file_name(name, version)})
    with _lock:
        _cache[key] = found
    return found


def installed_versions(data_dir: Path) -> dict[str, int]:
    """Each overlay model that verifies, with its version (what `sync status` reports)."""
    versions: dict[str, int] = {}
    for name in installed_names(data_dir):
        try:
            found = overlay_entry(data_dir, name)
        except ApplianceError:
            continue
        if found is not None:
            versions[name] = int(found[1]["version"])
    return versions
