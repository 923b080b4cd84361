"""`appliance face ...`: 1:1 comparison from the command line.

Exit codes (DESIGN.md): 0 match, 1 no match / quality / no face, 2 unreadable input or model
(a file that is not a regular file or over the `[inputs]` limits, an image too large or small).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from appliance.config import load_config
from appliance.errors import ApplianceError, Reason
from appliance.inputs import read_input_file

_FAULTS = {
    Reason.IMAGE_UNREADABLE,
    Reason.IMAGE_TOO_LARGE,
    Reason.IMAGE_TOO_SMALL,
    Reason.FILE_UNREADABLE,
    Reason.MODEL_UNAVAILABLE,
    Reason.LDS_MALFORMED,
}


@click.group()
def face() -> None:
    """On-device face verification (ONNX models, CPU)."""


def _emit(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    score = report.get("score")
    line = f"{report['status']}: {report['reason']}"
    if report.get("detail"):
        line += f" ({report['detail']})"
    if score is not None:
        line += f"  score {score} (threshold {report['threshold']}, {report['operating_point']})"
    if report.get("instruction"):
        line += f"  [{report['subject']}: {report['instruction']}]"
    click.echo(line)
    timings = report.get("timings_ms")
    if isinstance(timings, dict) and timings:
        click.echo("timings ms: " + ", ".join(f"{k} {v}" for k, v in timings.items()))


def _read(role: str, path: Path, limit: int) -> bytes:
    try:
        return read_input_file(path, limit)
    except ApplianceError as exc:  # a device, FIFO, huge or missing file: refused, never read
        raise ApplianceError(exc.reason, f"{role} file: {exc.detail}") from exc


@face.command()
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("probe", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option(
    "--operating-point",
    type=click.Choice(["fmr_0.001", "fmr_0.0005"]),
    help="false match rate target (default: the config's)",
)
def compare(reference: Path, probe: Path, as_json: bool, operating_point: str | None) -> None:
    """Compare REFERENCE (a chip dump's DG2.bin, or its JPEG/JPEG 2000 portrait) with PROBE
    (a live capture)."""
    from appliance.biometrics.face.compare import OperatingPoint
    from appliance.biometrics.face.decode import decode_image
    from appliance.biometrics.face.reference import reference_image
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.imaging import check_declared_size

    try:
        config = load_config()
        point = OperatingPoint(operating_point or config.face.operating_point)
        limits = config.inputs
        ref_bytes = _read("reference", reference, limits.max_image_bytes)
        probe_bytes = _read("probe", probe, limits.max_image_bytes)
        try:
            probe_image = decode_image(probe_bytes, limits.max_image_pixels)
        except ApplianceError as exc:
            raise ApplianceError(exc.reason, f"probe image: {exc.detail}") from exc
        portrait = reference_image(ref_bytes)
        try:  # the verifier decodes it; its size is checked here against the configured limit
            check_declared_size(portrait, limits.max_image_pixels)
        except ApplianceError as exc:
            raise ApplianceError(exc.reason, f"reference image: {exc.detail}") from exc
        result = FaceVerifier.load(point).verify(portrait, [probe_image])
    except ApplianceError as exc:
        _emit({"status": "fail", "reason": exc.reason.value, "detail": exc.detail}, as_json)
        sys.exit(1 if exc.reason is Reason.FACE_NOT_FOUND else 2)
    _emit(result.as_dict(), as_json)
    if result.reason in _FAULTS:
        sys.exit(2)
    sys.exit(0 if result.status == "pass" else 1)
