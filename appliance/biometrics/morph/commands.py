"""`appliance morph check`: is a chip photo a morph of two faces?

    appliance morph check REFERENCE [--live PROBE] [--json]

REFERENCE is the chip photo (a JPEG / JPEG 2000 / PNG file, or a chip dump's DG2.bin); with
`--live PROBE` (a trusted live capture of the holder) the check is differential (D-MAD), without
it single-image (S-MAD). One JSON object (`--json`) or one line: `status` (`pass` = bona fide,
`fail`), `reason` (`OK`, `MORPH_SUSPECTED`, or the image/face reason), `score` (higher = more
likely a morph), `mode`, `timings_ms`. Exit codes: 0 bona fide, 1 morph suspected or no usable
face (`FACE_NOT_FOUND`, `FACE_QUALITY`), 2 unreadable input, a file refused by the `[inputs]`
limits, or no model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from appliance.errors import ApplianceError, Reason

#: reasons about the person or the face in the image (exit 1); every other failure is exit 2
_FACE_REASONS = {Reason.MORPH_SUSPECTED, Reason.FACE_NOT_FOUND, Reason.FACE_QUALITY}


@click.group()
def morph() -> None:
    """Morphing attack detection on chip photos (ONNX models, CPU)."""


def _emit(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    line = f"{report['status']}: {report['reason']} ({report['mode']})"
    if report.get("detail"):
        line += f" - {report['subject'] or 'input'}: {report['detail']}"
    if report.get("score") is not None:
        line += f"  score {report['score']} (threshold {report['threshold']})"
    click.echo(line)
    timings = report.get("timings_ms")
    if isinstance(timings, dict) and timings:
        click.echo("timings ms: " + ", ".join(f"{k} {v}" for k, v in timings.items()))


@morph.command()
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--live",
    "live",
    type=click.Path(dir_okay=False, path_type=Path),
    help="a trusted live capture of the holder: differential detection",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def check(reference: Path, live: Path | None, as_json: bool) -> None:
    """Score REFERENCE (the chip photo) as a possible morph, against --live when given."""
    from appliance.biometrics.face.decode import decode_image
    from appliance.biometrics.face.reference import reference_image
    from appliance.biometrics.morph.detector import MorphDetector
    from appliance.config import load_config
    from appliance.inputs import read_input_file

    mode = "single" if live is None else "differential"
    subject = "reference"
    try:
        limits = load_config().inputs
        portrait = reference_image(read_input_file(reference, limits.max_image_bytes))
        frame = None
        if live is not None:
            subject = "live"
            frame = decode_image(
                read_input_file(live, limits.max_image_bytes), limits.max_image_pixels
            )
        subject = "reference"
        result = MorphDetector.load().check(portrait, frame, max_pixels=limits.max_image_pixels)
        report = result.as_dict()
        reason = result.reason
    except ApplianceError as exc:
        reason = exc.reason
        report = {
            "status": "fail",
            "reason": reason.value,
            "score": None,
            "threshold": None,
            "mode": mode,
            "subject": subject,
            "detail": exc.detail,
            "timings_ms": {},
        }
    _emit(report, as_json)
    if reason is Reason.OK:
        sys.exit(0)
    sys.exit(1 if reason in _FACE_REASONS else 2)
