"""`appliance chip read` and `appliance chip verify`: the chip report for people and scripts."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from appliance.cli_output import EXIT_FAILED, EXIT_FAULT, EXIT_OK
from appliance.config import data_dir, load_config
from appliance.emrtd.document import (
    ChipDocument,
    document_report,
    failure_report,
    load_dump,
    read_chip,
    save_dump,
    verify_document,
)
from appliance.emrtd.officer_input import access_key_from_options, wait_for_document
from appliance.emrtd.pki.deviations import DEFAULT_FILE as DEVIATIONS_FILE
from appliance.emrtd.pki.deviations import DeviationList
from appliance.emrtd.session import AccessKey, MrzKey
from appliance.errors import ApplianceError, Reason
from appliance.mrz import MrzResult, parse_mrz
from appliance.wiring import open_card_transport, open_trust_store, reader_options

#: reasons that are faults of the set-up (exit 2), not verdicts on the document (exit 1)
_FAULTS = {
    Reason.CHIP_NOT_PRESENT,
    Reason.READER_NOT_FOUND,
    Reason.FILE_UNREADABLE,
    Reason.USAGE,
    Reason.INTERNAL_ERROR,
    Reason.CONFIG_INVALID,  # e.g. [chip] terminal_certificates that do not load
}


def _access_key(mrz_info: str | None, can: str | None, printed: MrzResult | None) -> AccessKey:
    key = access_key_from_options(mrz_info, can)
    if key is not None:
        return key
    if printed is not None and printed.valid and printed.fields is not None:
        f = printed.fields
        return MrzKey(f.document_number, f.date_of_birth, f.date_of_expiry)
    raise click.UsageError("give --mrz-info DOC,YYMMDD,YYMMDD, --can N, or a valid --mrz")


def _printed_mrz(lines: tuple[str, ...]) -> MrzResult | None:
    if not lines:
        return None
    result = parse_mrz(list(lines))
    if result.format is None:
        raise click.BadParameter("not an MRZ (give each line as one argument)", param_hint="--mrz")
    return result


def _verify(document: ChipDocument, printed: MrzResult | None) -> dict[str, Any]:
    directory = data_dir(load_config())
    deviations = DeviationList.load(directory / DEVIATIONS_FILE)
    with open_trust_store() as store:
        checks = verify_document(document, store, printed_mrz=printed, deviations=deviations)
    return document_report(document, checks)


def _emit(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, sort_keys=False))
    else:
        click.echo(render_report(report))


def _exit_code(report: dict[str, Any]) -> int:
    """0 only when every check the document needs passed; a warning or a check that could
    not be made is not a pass (exit 1), a fault of the set-up is exit 2."""
    if report["status"] == "pass":
        return EXIT_OK
    return EXIT_FAULT if Reason(report["reason"]) in _FAULTS else EXIT_FAILED


@click.group()
def chip() -> None:
    """Read and verify eMRTD chips (ICAO 9303)."""


_mrz_option = click.option(
    "--mrz",
    "mrz_lines",
    multiple=True,
    metavar="LINE",
    help="The MRZ printed on the data page (repeat per line): checked against DG1.",
)


@chip.command("read")
@click.option("--mrz-info", metavar="DOC,YYMMDD,YYMMDD", help="Document number, birth, expiry.")
@click.option("--can", metavar="N", help="Card access number (PACE only).")
@click.option("--reader", metavar="NAME", help="PC/SC reader name, or 'virtual'.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long to wait for a document on the reader (default: config presence_timeout_s).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON report.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save the raw files read (EF_COM.bin, EF_SOD.bin, DG1.bin...).",
)
@_mrz_option
def read_command(
    mrz_info: str | None,
    can: str | None,
    reader: str | None,
    wait: float | None,
    as_json: bool,
    out: Path | None,
    mrz_lines: tuple[str, ...],
) -> None:
    """Open a chip (PACE, BAC fallback), read every readable file and verify it."""
    printed = _printed_mrz(mrz_lines)
    key = _access_key(mrz_info, can, printed)
    config = load_config()
    start = time.perf_counter()
    try:
        transport = open_card_transport(config, reader)
        timeout = config.chip.presence_timeout_s if wait is None else wait
        wait_for_document(transport, timeout)
        document = read_chip(transport, key, reader_options(config.chip))
    except ApplianceError as exc:
        report = failure_report(exc, {"total": (time.perf_counter() - start) * 1000})
        _emit(report, as_json)
        sys.exit(_exit_code(report))
    except Exception as exc:  # a driver fault: never a traceback for the user
        if type(exc).__name__ == "ReaderNotFound":
            error = ApplianceError(Reason.READER_NOT_FOUND, str(exc))
        else:
            error = ApplianceError(Reason.INTERNAL_ERROR, type(exc).__name__)
        report = failure_report(error, {})
        _emit(report, as_json)
        sys.exit(EXIT_FAULT)
    if out is not None:
        save_dump(document, out)
    verify_start = time.perf_counter()
    report = _verify(document, printed)
    report["timings_ms"]["verify"] = round((time.perf_counter() - verify_start) * 1000, 3)
    report["timings_ms"]["total"] = round((time.perf_counter() - start) * 1000, 3)
    _emit(report, as_json)
    sys.exit(_exit_code(report))


@chip.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON report.")
@_mrz_option
def verify_command(directory: Path, as_json: bool, mrz_lines: tuple[str, ...]) -> None:
    """Verify a saved chip dump offline (the --out of `chip read`)."""
    printed = _printed_mrz(mrz_lines)
    start = time.perf_counter()
    try:
        document = load_dump(directory)
    except ApplianceError as exc:
        report = failure_report(exc, {})
        _emit(report, as_json)
        sys.exit(EXIT_FAULT)
    report = _verify(document, printed)
    report["timings_ms"]["total"] = round((time.perf_counter() - start) * 1000, 3)
    _emit(report, as_json)
    sys.exit(_exit_code(report))


_STATUS_MARK = {"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skipped": "--  "}


def render_report(report: dict[str, Any]) -> str:
    """The human-readable chip report."""
    lines = [f"Result: {report['status'].upper()} ({report['reason']})"]
    if report.get("detail"):
        lines.append(f"  {report['detail']}")
    access = report.get("access")
    if access:
        mapping = f", {access['mapping']} mapping" if access.get("mapping") else ""
        param = (
            f", parameter id {access['parameter_id']}"
            if access.get("parameter_id") is not None
            else ""
        )
        lines.append(f"Access: {access['protocol']} ({access['cipher']}{mapping}{param})")
        if access.get("pace_failure"):
            lines.append(f"  PACE failed first: {access['pace_failure']}; fell back to BAC")
    if report.get("reader"):
        lines.append(f"Reader: {report['reader']}")
    if report.get("files"):
        lines.append("Files read:")
        lines += [f"  {name:<20} {size:>7} bytes" for name, size in report["files"].items()]
    for name, why in (report.get("unavailable") or {}).items():
        lines.append(f"  {name:<20} not read: {why}")
    dg1 = report.get("dg1")
    if dg1:
        lines.append(f"Document (DG1, {dg1.get('format')}):")
        for key in (
            "document_type",
            "issuing_state",
            "document_number",
            "surname",
            "given_names",
            "nationality",
            "date_of_birth",
            "sex",
            "date_of_expiry",
        ):
            lines.append(f"  {key.replace('_', ' '):<16} {dg1.get(key) or ''}")
    face = report.get("face_image")
    if face:
        if face.get("format"):
            lines.append(
                f"Face image (DG2): {face['format']}, {face['width']}x{face['height']}, "
                f"{face['bytes']} bytes"
            )
            for warning in face.get("warnings") or []:
                lines.append(f"  warn [{warning['reason']}] {warning['detail']}")
        else:
            lines.append(f"Face image (DG2): unreadable ({face.get('error')})")
    if report.get("authenticity"):
        lines.append("Authenticity:")
        for check in report["authenticity"]:
            mark = _STATUS_MARK.get(check["status"], check["status"])
            reason = "" if check["reason"] == "OK" else f" [{check['reason']}]"
            lines.append(f"  {mark} {check['name']:<22}{reason} {check['detail']}")
    if report.get("apdus"):
        lines.append(f"APDUs: {report['apdus']}, bytes read: {report.get('bytes_read', 0)}")
    timings = report.get("timings_ms") or {}
    if timings:
        lines.append("Timings (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return "\n".join(lines)
