"""`appliance iris ...`: 1:1 comparison, enrolment, 1:N identification, erasure.

Exit codes (DESIGN.md): 0 match (or enrolled, erased), 1 no match, a capture refused for its
quality, no iris found, no such enrolment; 2 usage errors and faults (a file that is not a
regular file or over the `[inputs]` limits, an image too large, too small or unreadable, a
colour image, a damaged gallery). Names and file names never appear in a detail.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import NoReturn

import click
import numpy as np

from appliance.biometrics.iris.gallery import IrisGallery
from appliance.biometrics.iris.image import decode_eye
from appliance.biometrics.iris.match import Gallery
from appliance.biometrics.iris.match import compare as match
from appliance.biometrics.iris.pipeline import EncodedEye, encode_eye
from appliance.config import Config, data_dir, load_config
from appliance.errors import ApplianceError, Reason
from appliance.inputs import read_input_file

_FAULTS = {
    Reason.IMAGE_UNREADABLE,
    Reason.IMAGE_TOO_LARGE,
    Reason.IMAGE_TOO_SMALL,
    Reason.FILE_UNREADABLE,
    Reason.FILE_NOT_REGULAR,
    Reason.FILE_TOO_LARGE,
    Reason.IRIS_NOT_NIR,
    Reason.IRIS_GALLERY_DAMAGED,
    Reason.USAGE,
    Reason.CONFIG_INVALID,
    Reason.DATA_DIR_UNAVAILABLE,
    Reason.INTERNAL_ERROR,
}

_image_arg = click.Path(dir_okay=False, path_type=Path)
_json_opt = click.option("--json", "as_json", is_flag=True, help="print one JSON object")


@click.group()
def iris() -> None:
    """On-device iris recognition from near-infrared eye images (Daugman-style iris codes)."""


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _emit(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    line = f"{report['status']}: {report['reason']}"
    if report.get("detail"):
        line += f" ({report['detail']})"
    if report.get("score") is not None:
        line += f"  score {report['score']} (threshold {report.get('threshold')})"
    if report.get("instruction"):
        line += f"  [{report['instruction']}]"
    click.echo(line)
    timings = report.get("timings_ms")
    if isinstance(timings, dict) and timings:
        click.echo("timings ms: " + ", ".join(f"{k} {v}" for k, v in timings.items()))


def _finish(report: dict[str, object], as_json: bool) -> NoReturn:
    _emit(report, as_json)
    reason = Reason(str(report["reason"]))
    if reason in _FAULTS:
        sys.exit(2)
    sys.exit(0 if report["status"] == "pass" else 1)


def _refused(exc: ApplianceError, as_json: bool, **extra: object) -> NoReturn:
    _finish({"status": "fail", "reason": exc.reason.value, "detail": exc.detail, **extra}, as_json)


def _encode(role: str, path: Path, config: Config, timings: dict[str, float]) -> EncodedEye:
    """The `EncodedEye` of one image file; refusals name the role, never the file."""
    start = time.perf_counter()
    try:
        data = read_input_file(path, config.inputs.max_image_bytes)
        gray = decode_eye(data, config.inputs.max_image_pixels)
        timings[f"decode_{role}".replace(" ", "_")] = _ms(start)
        start = time.perf_counter()
        eye = encode_eye(gray)
    except ApplianceError as exc:
        raise ApplianceError(exc.reason, f"{role}: {exc.detail}") from exc
    except Exception as exc:  # never a traceback for an odd image: a fault, by type only
        raise ApplianceError(
            Reason.INTERNAL_ERROR, f"{role}: {type(exc).__name__} while encoding"
        ) from exc
    timings[f"encode_{role}".replace(" ", "_")] = _ms(start)
    return eye


def _checked(role: str, eye: EncodedEye) -> None:
    if not eye.quality.ok:
        raise ApplianceError(
            Reason.IRIS_QUALITY, f"{role}: {', '.join(eye.quality.failed)} out of limits"
        )


@iris.command()
@click.argument("image_a", type=_image_arg)
@click.argument("image_b", type=_image_arg)
@_json_opt
def compare(image_a: Path, image_b: Path, as_json: bool) -> None:
    """Compare two eye images (1:1) at the configured threshold."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    quality: dict[str, object] = {}
    try:
        config = load_config()
        eyes: list[EncodedEye] = []
        for role, path in (("a", image_a), ("b", image_b)):
            eye = _encode(role, path, config, timings)
            quality[role] = eye.quality.as_dict()
            eyes.append(eye)
        for role, eye in zip(("a", "b"), eyes, strict=True):
            try:
                _checked(role, eye)
            except ApplianceError as exc:
                _refused(
                    exc,
                    as_json,
                    instruction=eye.quality.instruction,
                    quality=quality,
                    timings_ms=timings,
                )
        t0 = time.perf_counter()
        score = match(eyes[1].template, eyes[0].template, config.iris.max_shift)
        timings["match"] = _ms(t0)
    except ApplianceError as exc:
        _refused(exc, as_json, quality=quality, timings_ms=timings)
    timings["total"] = _ms(start)
    threshold = config.iris.threshold
    matched = score.hd_norm <= threshold
    _finish(
        {
            "status": "pass" if matched else "fail",
            "reason": Reason.OK.value if matched else Reason.IRIS_NO_MATCH.value,
            "decision": "match" if matched else "no_match",
            "score": round(score.hd_norm, 4),
            "threshold": threshold,
            **{k: v for k, v in score.as_dict().items() if k != "hd_norm"},
            "quality": quality,
            "timings_ms": timings,
        },
        as_json,
    )


def _gallery(config: Config) -> IrisGallery:
    return IrisGallery(data_dir(config) / "iris")


@iris.command()
@click.argument("name")
@click.argument("images", type=_image_arg, nargs=-1, required=True)
@_json_opt
def enrol(name: str, images: tuple[Path, ...], as_json: bool) -> None:
    """Enrol a registered traveller NAME from one or more eye IMAGES (kept encrypted)."""
    timings: dict[str, float] = {}
    quality: dict[str, object] = {}
    try:
        config = load_config()
        if not name.strip():
            raise ApplianceError(Reason.USAGE, "the name is empty")
        eyes: list[EncodedEye] = []
        for i, path in enumerate(images, start=1):
            role = f"image {i}"
            eye = _encode(role, path, config, timings)
            quality[role] = eye.quality.as_dict()
            try:
                _checked(role, eye)
            except ApplianceError as exc:
                _refused(exc, as_json, instruction=eye.quality.instruction, quality=quality)
            eyes.append(eye)
        _gallery(config).enrol(name, [eye.template for eye in eyes])
    except ApplianceError as exc:
        _refused(exc, as_json, quality=quality)
    _finish(
        {
            "status": "pass",
            "reason": Reason.OK.value,
            "templates": len(eyes),
            "quality": quality,
            "timings_ms": timings,
        },
        as_json,
    )


@iris.command()
@click.argument("probe", type=_image_arg)
@_json_opt
def identify(probe: Path, as_json: bool) -> None:
    """Search the enrolled gallery (1:N) for the eye in PROBE."""
    timings: dict[str, float] = {}
    quality: dict[str, object] = {}
    try:
        config = load_config()
        eye = _encode("probe", probe, config, timings)
        quality["probe"] = eye.quality.as_dict()
        try:
            _checked("probe", eye)
        except ApplianceError as exc:
            _refused(exc, as_json, instruction=eye.quality.instruction, quality=quality)
        t0 = time.perf_counter()
        enrolments = _gallery(config).enrolments()
        timings["gallery_open"] = _ms(t0)
        if not enrolments:
            raise ApplianceError(Reason.IRIS_NOT_ENROLLED, "the gallery is empty")
        owners = np.array([i for i, e in enumerate(enrolments) for _ in e.templates])
        packed = Gallery([t for e in enrolments for t in e.templates])
        t0 = time.perf_counter()
        scores = packed.search(eye.template, config.iris.max_shift)
        timings["search"] = _ms(t0)
    except ApplianceError as exc:
        _refused(exc, as_json, quality=quality, timings_ms=timings)
    best = int(np.argmin(scores))
    score = float(scores[best])
    threshold = config.iris.threshold
    matched = score <= threshold
    _finish(
        {
            "status": "pass" if matched else "fail",
            "reason": Reason.OK.value if matched else Reason.IRIS_NO_MATCH.value,
            "decision": "match" if matched else "no_match",
            "identity": enrolments[int(owners[best])].name if matched else None,
            "score": round(score, 4),
            "threshold": threshold,
            "enrolments": len(enrolments),
            "templates_searched": len(packed),
            "quality": quality,
            "timings_ms": timings,
        },
        as_json,
    )


@iris.command()
@click.argument("name")
@_json_opt
def erase(name: str, as_json: bool) -> None:
    """Erase a registered traveller's enrolment."""
    try:
        removed = _gallery(load_config()).erase(name)
    except ApplianceError as exc:
        _refused(exc, as_json)
    _finish({"status": "pass", "reason": Reason.OK.value, "erased": removed}, as_json)
