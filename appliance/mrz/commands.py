"""`appliance mrz`: validate MRZ text (`check`) and, when the OCR is installed, read images.

Exit codes: 0 valid MRZ, 1 invalid (format or check digit), 2 usage errors.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

import click

from appliance.mrz.parse import MrzResult, parse_mrz


@click.group()
def mrz() -> None:
    """Machine-readable zones (ICAO 9303): validate text, read images."""


@mrz.command()
@click.argument("lines", nargs=-1, required=True, metavar="LINE...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Reference date for the century rules (default: today, UTC).",
)
def check(lines: tuple[str, ...], as_json: bool, today: datetime | None) -> None:
    """Parse and validate an MRZ given as its lines.

    Pass '-' to read the lines from standard input, which keeps the MRZ out of the shell
    history and the process list.
    """
    if lines == ("-",):
        lines = tuple(sys.stdin.read().splitlines())
    started = time.perf_counter()
    result = parse_mrz(lines, today=today.date() if today else None)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if as_json:
        click.echo(json.dumps(_report(result, elapsed_ms), sort_keys=False))
    else:
        click.echo(_human(result))
    sys.exit(0 if result.valid else 1)


def _report(result: MrzResult, elapsed_ms: float) -> dict[str, object]:
    full = result.to_dict()
    report: dict[str, object] = {
        key: full[key] for key in ("status", "reason", "format", "fields", "errors", "warnings")
    }
    report["timings_ms"] = {"parse": round(elapsed_ms, 3)}
    return report


def _human(result: MrzResult) -> str:
    fmt = result.format.value if result.format else "unknown format"
    out = [f"{fmt}: {result.status} ({result.reason.value})"]
    if result.fields is not None:
        fields = result.fields.to_dict()
        width = max(len(name) for name in fields)
        for name, value in fields.items():
            if value is None:
                continue
            shown = ("yes" if value else "no") if isinstance(value, bool) else value
            out.append(f"  {name.ljust(width)}  {shown}")
    for label, issues in (("error", result.errors), ("warning", result.warnings)):
        for issue in issues:
            where = f" [{issue.field}]" if issue.field else ""
            out.append(f"{label}: {issue.reason.value}{where} {issue.detail}")
    return "\n".join(out)


try:  # the OCR (another package part) adds `mrz read` when it is installed
    from appliance.mrz.read_command import read
except ImportError:
    pass
else:
    mrz.add_command(read)
