"""`appliance check`: one traveller's whole inspection from the command line (handheld mode).

Exit codes: 0 only when the answer is ADVISE with every required check passed and the check
recorded; 1 when it is REFER (a check failed, was skipped or could not be made); 2 for usage
errors and faults before any check (no policy, no reader, no document, camera refused).
The result (human lines, or one JSON object with `--json`) is on stdout; logs are JSON lines on
stderr (`appliance.logs`), so the two never mix.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import time
from typing import Any, NoReturn

import click

from appliance.cli_output import EXIT_FAILED as EXIT_REFER
from appliance.cli_output import EXIT_FAULT, EXIT_OK
from appliance.config import Config, data_dir, load_config
from appliance.emrtd.officer_input import access_key_from_options
from appliance.errors import ApplianceError, Reason
from appliance.inspection.handheld import HandheldOutcome, HandheldRequest, run_handheld_check
from appliance.logs import setup_logging
from appliance.mrz import parse_mrz
from appliance.ports import BarcodeScanner, DecodedSymbol, Frame

log = logging.getLogger("appliance.check")


def _fault(reason: Reason, detail: str, as_json: bool, started: float) -> NoReturn:
    log.warning("check not made", extra={"reason": reason, "exit_code": EXIT_FAULT})
    total = round((time.perf_counter() - started) * 1000, 3)
    if as_json:
        payload: dict[str, Any] = {
            "status": "fail",
            "reason": reason.value,
            "detail": detail,
            "decision": None,
            "reasons": [reason.value],
            "check_id": None,
            "report": None,
            "timings_ms": {"total": total},
        }
        click.echo(json.dumps(payload))
    else:
        click.echo(f"check not made: {reason.value}: {detail}", err=True)
    sys.exit(EXIT_FAULT)


_MARK = {"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skipped": "--  "}


def render(outcome: HandheldOutcome) -> str:
    """The officer's lines: decision, guidance, each step (the report holds no personal data)."""
    data = outcome.to_json()
    found = [r for r in data["reasons"] if r != Reason.OK.value]
    head = f"Decision: {data['decision']}" + (f" ({', '.join(found)})" if found else "")
    lines = [head, *(f"  - {line}" for line in data["officer"])]
    lines.append(f"Policy v{data['policy']['policy_version']}: {data['policy']['verdict']}")
    lines.append("Steps:")
    for step in data["report"]["steps"]:
        reason = "" if step["reason"] == Reason.OK.value else f" [{step['reason']}]"
        lines.append(
            f"  {_MARK.get(step['status'], step['status'])} {step['name']:<18}"
            f"{step['duration_ms']:8.1f} ms{reason} {step['detail']}"
        )
    if data["recorded"]:
        lines.append(f"Recorded in the history as record #{data['check_id']}")
    else:
        lines.append("NOT recorded in the history (HISTORY_STORAGE)")
    timings = ", ".join(f"{k} {v:.1f}" for k, v in data["timings_ms"].items())
    lines.append(f"Timings (ms): {timings}")
    return "\n".join(lines)


def _decode_seals(config: Config, images: tuple[str, ...]) -> tuple[DecodedSymbol, ...]:
    """Every barcode in the officer's seal images, by the configured decoder. An image that
    cannot be read, or in which no barcode is found, is a fault (exit 2, nothing recorded):
    the officer rescans it rather than the check going on as if no seal had been shown."""
    if not images:
        return ()
    from appliance.mrz.read_command import load_image
    from appliance.wiring import load_factory

    scanner: BarcodeScanner = load_factory(config.hardware.barcode_scanner)("zxing")
    symbols: list[DecodedSymbol] = []
    for image in images:
        found = scanner.decode(Frame(load_image(image, config.inputs), time.time()))
        if not found:
            raise ApplianceError(Reason.BARCODE_NOT_FOUND, f"no barcode found in {image}")
        symbols += found
    return tuple(symbols)


@click.command("check")
@click.option("--reader", metavar="NAME", help="PC/SC reader name, or 'virtual' (default: config).")
@click.option(
    "--mrz",
    "mrz_lines",
    multiple=True,
    metavar="LINE",
    help="The MRZ printed on the data page (repeat per line): the chip key, compared with DG1.",
)
@click.option("--mrz-info", metavar="DOC,YYMMDD,YYMMDD", help="Document number, birth, expiry.")
@click.option("--can", metavar="N", help="Card access number (PACE only).")
@click.option("--camera", is_flag=True, help="Verify the face on the configured camera.")
@click.option(
    "--mrz-camera",
    is_flag=True,
    help="Read the printed MRZ on the camera (`face.camera`), frames fused; reports `frames`.",
)
@click.option(
    "--seal",
    "seal_images",
    multiple=True,
    metavar="IMAGE",
    help="An image of a visa seal or other barcode shown with the document (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(
    reader: str | None,
    mrz_lines: tuple[str, ...],
    mrz_info: str | None,
    can: str | None,
    camera: bool,
    mrz_camera: bool,
    seal_images: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run the whole inspection of one document once (handheld mode) and record it."""
    setup_logging()
    started = time.perf_counter()
    if mrz_info is not None and can is not None:
        raise click.UsageError("give --mrz-info or --can, not both")
    key = access_key_from_options(mrz_info, can)
    if mrz_lines and parse_mrz(list(mrz_lines)).format is None:
        raise click.BadParameter("not an MRZ (give each line as one argument)", param_hint="--mrz")
    if mrz_camera and mrz_lines:
        raise click.UsageError("give --mrz LINE... or --mrz-camera, not both")
    if key is None and not mrz_lines and not mrz_camera:
        raise click.UsageError(
            "give --mrz LINE... (the printed MRZ), --mrz-camera, --mrz-info or --can"
        )
    config = load_config()
    try:
        seals = _decode_seals(config, seal_images)
        request = HandheldRequest(reader, mrz_lines, key, camera, seals, mrz_camera)
        outcome = run_handheld_check(config, data_dir(config), request)
    except ApplianceError as exc:
        _fault(exc.reason, exc.detail, as_json, started)
    except sqlite3.Error as exc:
        _fault(Reason.HISTORY_STORAGE, type(exc).__name__, as_json, started)
    except OSError as exc:
        _fault(Reason.FILE_UNREADABLE, type(exc).__name__, as_json, started)
    except Exception as exc:  # a driver's or a factory's own fault: a reason, no traceback
        log.exception("check failed before a decision")
        _fault(Reason.INTERNAL_ERROR, type(exc).__name__, as_json, started)
    click.echo(json.dumps(outcome.to_json()) if as_json else render(outcome))
    sys.exit(EXIT_OK if outcome.positive else EXIT_REFER)
