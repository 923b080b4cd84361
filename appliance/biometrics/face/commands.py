"""`appliance face ...`: 1:1 comparison from the command line.

Exit codes (DESIGN.md): 0 match, 1 no match / quality / no face, 2 unreadable input or model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from appliance.config import load_config
from appliance.errors import ApplianceError, Reason

_FAULTS = {
    Reason.IMAGE_UNREADABLE,
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
    if score is not None:
        line += f"  score {score} (threshold {report['threshold']}, {report['operating_point']})"
    if report.get("instruction"):
        line += f"  [{report['subject']}: {report['instruction']}]"
    click.echo(line)
    timings = report.get("timings_ms")
    if isinstance(timings, dict) and timings:
        click.echo("timings ms: " + ", ".join(f"{k} {v}" for k, v in timings.items()))


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

    try:
        point = OperatingPoint(operating_point or load_config().face.operating_point)
        try:
            ref_bytes = reference.read_bytes()
            probe_bytes = probe.read_bytes()
        except OSError as exc:
            raise ApplianceError(Reason.FILE_UNREADABLE, "input file unreadable") from exc
        try:
            probe_image = decode_image(probe_bytes)
        except ApplianceError as exc:
            raise ApplianceError(exc.reason, "probe image unreadable") from exc
        portrait = reference_image(ref_bytes)
        result = FaceVerifier.load(point).verify(portrait, [probe_image])
    except ApplianceError as exc:
        _emit({"status": "fail", "reason": exc.reason.value, "detail": exc.detail}, as_json)
        sys.exit(1 if exc.reason is Reason.FACE_NOT_FOUND else 2)
    _emit(result.as_dict(), as_json)
    if result.reason in _FAULTS:
        sys.exit(2)
    sys.exit(0 if result.status == "pass" else 1)
