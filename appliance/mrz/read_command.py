"""`appliance mrz read IMAGE... [--json] [--burst]`: MRZ from images, one JSON object per image.

With `--burst` the images are camera frames of one document, fused (`fusion.py`) into one
result; every record says in `frames` how many frames its read took (1 for a single image).

The model is loaded once for the whole call. Exit codes (DESIGN.md): 0 every MRZ was read,
1 some image had no readable MRZ or a failing check digit, 2 an image file was refused (unreadable,
not a regular file, over the `[inputs]` size or pixel limits, too small) or the model is missing.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from appliance.errors import ApplianceError, Reason
from appliance.inputs import read_input_file

if TYPE_CHECKING:  # the config (pydantic) is loaded only by `mrz read`, not `mrz check`
    from appliance.config import InputsConfig
    from appliance.mrz.ocr.reader import MrzRead


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def parsed_fields(lines: list[str], layout: str | None = None) -> dict[str, Any]:
    """The fields as the MRZ parser (`appliance.mrz.parse_mrz`) reads them, or for a national
    layout (`appliance.mrz.national`, e.g. FRA-ID) as its own parser does."""
    try:
        from appliance.mrz import parse_mrz
        from appliance.mrz.national import NationalFormat, parse_national
    except ImportError:  # parser not in this build: raw positional fields only
        return {}
    if layout in {f.value for f in NationalFormat}:
        return dict(parse_national(lines, NationalFormat(layout)).fields)
    parsed = parse_mrz(lines)
    fields = getattr(parsed, "fields", None)
    return _jsonable(fields) if fields is not None else {}


def _record(
    image: str, started: float, reason: Reason, load_ms: float, detail: str = ""
) -> dict[str, Any]:
    return {
        "image": image,
        "lines": None,
        "status": "fail",
        "reason": reason.value,
        **({"detail": detail} if detail else {}),
        "format": None,
        "fields": {},
        "confidence": {},
        "flags": [],
        "corrections": [],
        "frames": 0,
        "timings_ms": {"load": load_ms, "total": round((time.perf_counter() - started) * 1000, 2)},
    }


def load_image(image: str, limits: InputsConfig) -> Any:
    """The BGR pixels of one image file, within the configured limits.

    The file is read bounded (`read_input_file`) and its declared size checked before any
    pixel is decoded (`check_declared_size`); raises `ApplianceError` with the reason.
    """
    import cv2
    import numpy as np

    from appliance.imaging import check_declared_size, check_size

    data = read_input_file(image, limits.max_image_bytes)
    check_declared_size(data, limits.max_image_pixels)
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        pixels = None
    if pixels is None or pixels.size == 0:
        raise ApplianceError(Reason.IMAGE_UNREADABLE, "image could not be decoded")
    check_size(int(pixels.shape[1]), int(pixels.shape[0]), limits.max_image_pixels)
    return pixels


def read_one(
    reader: Any, image: str, limits: InputsConfig | None = None
) -> tuple[dict[str, Any], int]:
    """(JSON record, exit code contribution) for one image path."""
    from appliance.config import InputsConfig

    started = time.perf_counter()
    try:
        pixels = load_image(image, limits or InputsConfig())
    except ApplianceError as exc:  # the file or image refused: a fault of the input
        load_ms = round((time.perf_counter() - started) * 1000, 2)
        return _record(image, started, exc.reason, load_ms, exc.detail), 2
    load_ms = round((time.perf_counter() - started) * 1000, 2)
    result: MrzRead = reader.read(pixels)
    return _result_record(image, result, started, load_ms)


def read_burst(
    reader: Any, images: tuple[str, ...], limits: InputsConfig | None = None
) -> tuple[dict[str, Any], int]:
    """(JSON record, exit code contribution) for the images as camera frames of one document:
    read in order through frame fusion until confident (`fusion.read_until_confident`);
    `frames` says how many it needed. An image refused as a file refuses the burst (exit 2)."""
    from appliance.config import InputsConfig
    from appliance.mrz.ocr.fusion import read_until_confident

    started = time.perf_counter()
    name = images[0] if len(images) == 1 else f"{images[0]} (+{len(images) - 1} frames)"
    try:
        frames = [load_image(image, limits or InputsConfig()) for image in images]
    except ApplianceError as exc:
        load_ms = round((time.perf_counter() - started) * 1000, 2)
        return _record(name, started, exc.reason, load_ms, exc.detail), 2
    load_ms = round((time.perf_counter() - started) * 1000, 2)
    result = read_until_confident(frames, reader, max_frames=len(frames))
    return _result_record(name, result, started, load_ms)


def _result_record(
    image: str, result: MrzRead, started: float, load_ms: float
) -> tuple[dict[str, Any], int]:
    record: dict[str, Any] = {
        "image": image,
        "lines": result.lines,
        "status": result.status,
        "reason": result.reason.value,
        "format": result.layout,
        "fields": parsed_fields(result.lines, result.layout) if result.lines else {},
        "confidence": result.field_confidence,
        "flags": result.flags,
        "corrections": result.corrections,
        "frames": result.frames,
        "timings_ms": {"load": load_ms, **result.timings_ms},
    }
    record["timings_ms"]["total"] = round((time.perf_counter() - started) * 1000, 2)
    return record, 0 if result.status in ("pass", "warn") else 1


def _human(record: dict[str, Any]) -> str:
    head = f"{record['image']}: {record['status']} {record['reason']}"
    if record.get("detail"):
        head += f": {record['detail']}"
    if record["flags"]:
        head += f" ({', '.join(record['flags'])})"
    if record["lines"]:
        head += "\n" + "\n".join(f"  {line}" for line in record["lines"])
    frames = f", {record['frames']} frames" if record.get("frames", 1) > 1 else ""
    return head + f"\n  {record['timings_ms'].get('total', 0):.1f} ms{frames}"


@click.command("read")
@click.argument("images", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per image.")
@click.option(
    "--model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ONNX glyph model (default: models/mrz/mrz_glyphs.onnx).",
)
@click.option(
    "--burst",
    is_flag=True,
    help="The images are camera frames of one document: fuse them, one result with `frames`.",
)
def read(images: tuple[str, ...], as_json: bool, model: Path | None, burst: bool) -> None:
    """Read the MRZ from photos or scans of data pages and ID cards."""
    from appliance.config import load_config
    from appliance.mrz.ocr.reader import MrzImageReader

    limits = load_config().inputs
    try:
        reader = MrzImageReader(model)
    except ApplianceError as exc:
        click.echo(
            json.dumps({"status": "fail", "reason": exc.reason.value})
            if as_json
            else f"appliance mrz read: {exc}",
            err=not as_json,
        )
        sys.exit(2)
    worst = 0
    for image in (images[0],) if burst else images:
        try:
            record, code = (
                read_burst(reader, images, limits) if burst else read_one(reader, image, limits)
            )
        except Exception:  # fail closed on anything unexpected, without a traceback or PII
            record, code = _record(image, time.perf_counter(), Reason.INTERNAL_ERROR, 0.0), 2
        worst = max(worst, code)
        click.echo(json.dumps(record) if as_json else _human(record))
    sys.exit(worst)
