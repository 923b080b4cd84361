"""`appliance history`: where and how often a document was checked; verify; erase; retention;
recover (after damage, keep what verifies and resume).

Every subcommand takes `--json` (one object on stdout with `status`, `reason`, `timings_ms`).
Exit codes: 0 passed, 1 the history failed verification (or a shown record could not be proven
in the signed tree), 2 usage errors and storage faults.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from appliance.cli_output import EXIT_FAILED, EXIT_FAULT, refuse
from appliance.config import data_dir, load_config
from appliance.errors import ApplianceError, Reason
from appliance.history.events import DocumentRef
from appliance.history.ledger import Ledger
from appliance.history.queries import RecordView
from appliance.history.recover import recover as recover_history
from appliance.history.retention import run_retention
from appliance.history.stats import ATTRIBUTES, face_checks_since, group_stats, window_start
from appliance.history.verify import verify as verify_history

MAX_RECENT = 100_000
_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(payload, sort_keys=True) if as_json else text)


def _fail(as_json: bool, error: ApplianceError) -> NoReturn:
    tampered = error.reason is Reason.HISTORY_TAMPERED
    refuse(error.reason, error.detail, as_json, exit_code=EXIT_FAILED if tampered else EXIT_FAULT)


@contextmanager
def _opened(as_json: bool) -> Iterator[Ledger]:
    """Open the configured history; any fault becomes a reason code, never a traceback."""
    try:
        config = load_config()
        ledger = Ledger.open_default(data_dir(config), config)
    except ApplianceError as exc:
        _fail(as_json, exc)
    except (OSError, ValueError) as exc:
        _fail(as_json, ApplianceError(Reason.FILE_UNREADABLE, type(exc).__name__))
    except sqlite3.Error as exc:
        _fail(as_json, ApplianceError(Reason.HISTORY_STORAGE, type(exc).__name__))
    try:
        yield ledger
    except ApplianceError as exc:
        _fail(as_json, exc)
    except (OSError, sqlite3.Error) as exc:
        _fail(as_json, ApplianceError(Reason.HISTORY_STORAGE, type(exc).__name__))
    finally:
        ledger.close()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@click.group()
def history() -> None:
    """The tamper-evident local history of document checks."""


def _record_json(view: RecordView) -> dict[str, Any]:
    leaf = view.leaf
    body: dict[str, Any] = {
        "index": view.index,
        "event_id": leaf.event_id,
        "type": leaf.type,
        "time": leaf.time,
        "device_id": leaf.device_id,
        "location": leaf.location,
        "outcome": leaf.outcome,
        "reasons": list(leaf.reasons),
        "public": dict(leaf.public),
        "personal_status": view.personal_status,
        "leaf_hash": view.leaf_hash.hex(),
        "proven": view.proven,
    }
    if view.personal is not None:
        person = view.personal
        body["personal"] = {
            "surname": person.surname,
            "given_names": person.given_names,
            "date_of_birth": person.date_of_birth,
            "document_number": person.document_number,
            "nationality": person.nationality,
            "face_image_bytes": len(person.face_image or b""),
        }
    return body


def _record_line(view: RecordView) -> str:
    leaf = view.leaf
    reasons = ",".join(leaf.reasons) or "-"
    proof = "proven" if view.proven else "NOT PROVEN"
    line = (
        f"#{view.index:<6} {leaf.time}  {leaf.device_id} @ {leaf.location}  {leaf.type}  "
        f"{leaf.outcome}  {reasons}  personal: {view.personal_status}  {proof}"
    )
    if view.personal is not None:
        p = view.personal
        line += f"\n         {p.surname}, {p.given_names}  born {p.date_of_birth}"
    return line


@history.command()
@click.option("--document", "number", help="Document number, as printed in the MRZ.")
@click.option("--issuer", help="Issuing state (ICAO 9303 three-letter code).")
@click.option("--type", "doc_type", default="P", show_default=True, help="Document type.")
@click.option(
    "--recent",
    type=click.IntRange(min=1, max=MAX_RECENT),
    is_flag=False,
    flag_value=20,
    default=None,
    help=f"Show the newest N records (default 20, at most {MAX_RECENT}).",
)
@click.option("--personal", is_flag=True, help="Also decrypt names and dates of birth.")
@_json_option
def show(
    number: str | None,
    issuer: str | None,
    doc_type: str,
    recent: int | None,
    personal: bool,
    as_json: bool,
) -> None:
    """Every check of one document (when, where, outcome), or the most recent records."""
    if (number is None) == (recent is None) or (number is not None) != (issuer is not None):
        raise click.UsageError("give either --document NUM --issuer XXX, or --recent [N]")
    started = time.perf_counter()
    with _opened(as_json) as ledger:
        if number is not None and issuer is not None:
            views = ledger.checks_of(DocumentRef(issuer, number, doc_type), reveal=personal)
            title = f"{len(views)} check(s) of this document within retention"
        else:
            views = ledger.recent(recent or 20, reveal=personal)
            title = f"{len(views)} most recent record(s), newest first"
    proven = all(v.proven for v in views)
    payload = {
        "status": "pass" if proven else "fail",
        "reason": Reason.OK.value if proven else Reason.HISTORY_TAMPERED.value,
        "count": len(views),
        "records": [_record_json(v) for v in views],
        "timings_ms": {"show": _ms(started)},
    }
    _emit(as_json, payload, "\n".join([title, *(_record_line(v) for v in views)]))
    sys.exit(0 if proven else 1)


@history.command(name="verify")
@_json_option
def verify_command(as_json: bool) -> None:
    """Recompute the Merkle tree and every checkpoint signature; exit 1 on any tampering."""
    with _opened(as_json) as ledger:
        result = verify_history(ledger)
    payload: dict[str, Any] = {
        "status": "pass" if result.ok else "fail",
        "reason": Reason.OK.value if result.ok else Reason.HISTORY_TAMPERED.value,
        **result.to_json(),
        "timings_ms": {"verify": round(result.elapsed_s * 1000, 3)},
    }
    if result.ok:
        text = (
            f"history verified: {result.size} records, {result.checkpoints} signed checkpoints, "
            f"root {result.root.hex()}"
        )
    else:
        lines = [f"HISTORY_TAMPERED: {result.problems_total} problem(s)"]
        for problem in result.problems:
            where = f"record {problem.index}" if problem.index is not None else "log"
            size = (
                f" (checkpoint size {problem.checkpoint_size})"
                if problem.checkpoint_size is not None
                else ""
            )
            lines.append(f"  {problem.kind}: {where}{size}: {problem.detail}")
        text = "\n".join(lines)
    _emit(as_json, payload, text)
    sys.exit(0 if result.ok else 1)


@history.command()
@click.option("--document", "number", required=True, help="Document number.")
@click.option("--issuer", required=True, help="Issuing state.")
@click.option("--type", "doc_type", default="P", show_default=True, help="Document type.")
@_json_option
def erase(number: str, issuer: str, doc_type: str, as_json: bool) -> None:
    """Destroy the personal data of every record of one document (the log still verifies)."""
    started = time.perf_counter()
    with _opened(as_json) as ledger:
        result = ledger.erase(DocumentRef(issuer, number, doc_type))
    payload = {
        "status": "pass" if result.records else "warn",
        "reason": Reason.OK.value,
        "erased_records": result.records,
        "audit_event_index": result.receipt.index,
        "timings_ms": {"erase": _ms(started)},
    }
    _emit(as_json, payload, f"erased the personal data of {result.records} record(s)")


@history.command()
@_json_option
def retention(as_json: bool) -> None:
    """Destroy the keys of every retention period that has expired (run periodically)."""
    started = time.perf_counter()
    with _opened(as_json) as ledger:
        report = run_retention(ledger)
    payload = {
        "status": "pass",
        "reason": Reason.OK.value,
        "destroyed_periods": list(report.destroyed_periods),
        "records": report.records,
        "kept_periods": report.kept_periods,
        "timings_ms": {"retention": _ms(started)},
    }
    text = (
        f"destroyed {len(report.destroyed_periods)} period key(s) "
        f"({report.records} record key(s)); {report.kept_periods} period(s) kept"
    )
    _emit(as_json, payload, text)


@history.command()
@_json_option
def recover(as_json: bool) -> None:
    """After damage (a cut WAL, a lost tail): keep what verifies, log an incident, resume.

    Stop the lane first. The damaged database is kept in history/damaged/ (without record keys).
    """
    started = time.perf_counter()
    with _opened(as_json) as ledger:
        report = recover_history(ledger)
    ok = report.after.ok
    payload = {
        "status": "pass" if ok else "fail",
        "reason": Reason.OK.value if ok else Reason.HISTORY_TAMPERED.value,
        **report.to_json(),
        "timings_ms": {"recover": _ms(started)},
    }
    if not report.recovered:
        text = "history verified: nothing to recover"
    else:
        text = (
            f"history recovered: kept {report.kept} record(s), dropped {report.dropped}, "
            f"incident recorded as record {report.to_json()['incident_index']}"
        )
    if not ok:
        kinds = ", ".join(sorted({p.kind for p in report.after.problems}))
        text += f"\nHISTORY_TAMPERED: still fails verification ({kinds})"
    _emit(as_json, payload, text)
    sys.exit(0 if ok else 1)


def _attributes(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ATTRIBUTES]
    if not names or unknown:
        raise click.BadParameter(f"choose from {','.join(ATTRIBUTES)}")
    return names


@history.command()
@click.option(
    "--by",
    "by_text",
    default=",".join(ATTRIBUTES),
    show_default=True,
    help="Comma-separated group attributes: sex, age_band, nationality.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=36_500),
    default=None,
    help="Sliding window in days (default: [monitoring] window_days).",
)
@_json_option
def stats(by_text: str, days: int | None, as_json: bool) -> None:
    """Face-check failure rates (no match, quality, liveness) per traveller group.

    Only coarse attributes from the checks' public part are used; groups with fewer checks
    than [monitoring] min_group_size are not shown. Exit 1 when a group's rate exceeds the
    other checks' by [monitoring] alarm_factor.
    """
    by = _attributes(by_text)
    started = time.perf_counter()
    try:
        monitoring = load_config().monitoring
    except ApplianceError as exc:
        _fail(as_json, exc)
    window = days or monitoring.window_days
    since = window_start(datetime.now(UTC), window)
    with _opened(as_json) as ledger:
        checks = face_checks_since(ledger, since)
    result = group_stats(checks, by, monitoring.min_group_size, monitoring.alarm_factor)
    alarmed = bool(result["alarms"])
    payload = {
        "status": "fail" if alarmed else "pass",
        "reason": (Reason.FACE_GROUP_RATE_ALARM if alarmed else Reason.OK).value,
        "window_days": window,
        "since": since.isoformat(),
        "min_group_size": monitoring.min_group_size,
        "alarm_factor": monitoring.alarm_factor,
        **result,
        "timings_ms": {"stats": _ms(started)},
    }
    _emit(as_json, payload, _stats_text(payload))
    sys.exit(1 if alarmed else 0)


def _percent(rate: object) -> str:
    return "-" if rate is None else f"{float(rate):.2%}"  # type: ignore[arg-type]


def _stats_text(payload: dict[str, Any]) -> str:
    lines = [
        f"{payload['checks']} check(s) with a face step in the last {payload['window_days']} "
        f"day(s); groups under {payload['min_group_size']} checks are not shown"
    ]
    for attribute, table in payload["by"].items():
        lines.append(f"{attribute}:")
        for value, group in table["groups"].items():
            rates = {k: _percent(v) for k, v in group["rates"].items()}
            lines.append(
                f"  {value:<12} {group['checks']:>7} checks  no match {rates['face_no_match']}"
                f"  quality {rates['face_quality']}  liveness {rates['liveness']}"
            )
        if table["hidden_groups"]:
            lines.append(
                f"  ({table['hidden_groups']} smaller group(s), {table['hidden_checks']} checks)"
            )
    for alarm in payload["alarms"]:
        lines.append(
            f"ALARM {alarm['attribute']}={alarm['group']}: {alarm['failure']} "
            f"{_percent(alarm['rate'])} against {_percent(alarm['others_rate'])} for the others "
            f"(factor {alarm['factor']:g})"
        )
    return "\n".join(lines)
