"""`appliance barcode read IMAGE...` and `appliance barcode decode`: the CLI edge.

JSON Lines, one object per image (`image`, `status`, `reason`, `symbols`, `timings_ms`).
Exit codes (DESIGN.md): 0 every image held symbols that were read and whose signatures are
valid; 1 nothing found, a payload unreadable or a signature not `valid`; 2 usage errors and
faults (an image or trust file refused, no trust store, no decoder).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from appliance.barcodes.reader import outcome, read_symbols
from appliance.barcodes.verify import TrustContext
from appliance.cli_output import refuse
from appliance.emrtd.pki.certificates import Certificate, load_certificates
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.mrz.parse import MrzFields, parse_mrz
from appliance.ports import BarcodeScanner, DecodedSymbol, Frame


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _fault(reason: Reason, detail: str, as_json: bool) -> NoReturn:
    refuse(reason, detail, as_json, who="appliance barcode")


def _at(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("an ISO 8601 date or time, e.g. 2026-06-01T12:00:00Z") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _extra_certificates(files: tuple[Path, ...], as_json: bool) -> list[Certificate]:
    from appliance.config import load_config
    from appliance.inputs import read_input_file

    limit = load_config().inputs.max_trust_file_bytes
    certificates: list[Certificate] = []
    for file in files:
        try:
            certificates += load_certificates(read_input_file(file, limit))
        except ApplianceError as exc:
            _fault(exc.reason, f"--trust file refused: {exc.detail}", as_json)
    return certificates


def _refused(image: str, reason: Reason, detail: str, started: float) -> dict[str, Any]:
    return {
        "image": image,
        "status": "fail",
        "reason": reason.value,
        "detail": detail,
        "symbols": [],
        "timings_ms": {"total": _ms(started)},
    }


def _symbols_record(
    started: float,
    decoded: list[DecodedSymbol],
    context: TrustContext,
    timings: dict[str, float],
    passport: MrzFields | None = None,
) -> dict[str, Any]:
    verify_started = time.perf_counter()
    symbols = read_symbols(decoded, context, passport)
    timings["parse_verify"] = _ms(verify_started)
    result = outcome(decoded, symbols)
    timings["total"] = _ms(started)
    return {
        "status": result.status,
        "reason": result.reason.value,
        "symbols": [s.to_dict() for s in result.symbols],
        "timings_ms": timings,
    }


def _human(record: dict[str, Any]) -> str:
    head = f"{record.get('image', 'payload')}: {record['status']} {record['reason']}"
    if record.get("detail"):
        head += f": {record['detail']}"
    lines = [head]
    for s in record.get("symbols", []):
        signature = s["signature"]
        what = s["fields"].get("document_type") or ""
        lines.append(
            f"  {s['symbology'] or '-'} {s['kind']} {what}: signature {signature['status']} "
            f"{signature['reason']}" + (f" ({signature['signer']})" if signature["signer"] else "")
        )
    return "\n".join(lines)


def _context(trust: tuple[Path, ...], at: datetime | None, as_json: bool) -> TrustContext:
    from appliance.config import load_config
    from appliance.wiring import open_trust_store

    extra = _extra_certificates(trust, as_json)
    try:
        store = open_trust_store(load_config())
    except (OSError, ValueError) as exc:
        _fault(Reason.FILE_UNREADABLE, f"cannot open the trust store ({exc})", as_json)
    return TrustContext(store, tuple(extra), at)


_trust_option = click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Extra signer certificate(s) (DER or PEM) for this call; they must still chain to a "
    "CSCA in the trust store. Repeatable.",
)
_at_option = click.option(
    "--at",
    "at",
    callback=_at,
    default=None,
    metavar="ISO-TIME",
    help="Verify as of this time (archived documents); default: now.",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="JSON Lines output.")


def _passport(_ctx: click.Context, _param: click.Parameter, lines: tuple[str, ...]) -> Any:
    if not lines:
        return None
    result = parse_mrz(list(lines))
    if not result.valid or result.fields is None:
        raise click.BadParameter(f"not a valid MRZ ({result.reason.value})")
    return result.fields


_passport_option = click.option(
    "--passport-mrz",
    "passport",
    multiple=True,
    callback=_passport,
    metavar="LINE",
    help="The MRZ of the passport presented with a visa or permit seal (each line once); the "
    "seal must name it (SEAL_MRZ_MISMATCH otherwise).",
)


@click.group()
def barcode() -> None:
    """Seals (ICAO VDS, VDS-NC), boarding passes (IATA BCBP) and EU DCCs: read and verify."""


def _scanner(decoder: str, as_json: bool) -> BarcodeScanner:
    from appliance.config import load_config
    from appliance.wiring import load_factory

    try:
        scanner: BarcodeScanner = load_factory(load_config().hardware.barcode_scanner)(decoder)
    except (ImportError, OSError, ValueError, AttributeError) as exc:
        _fault(Reason.INTERNAL_ERROR, f"barcode decoder {decoder!r} unavailable ({exc})", as_json)
    return scanner


@barcode.command("read")
@click.argument("images", nargs=-1, required=True)
@_json_option
@_trust_option
@_at_option
@_passport_option
@click.option(
    "--decoder",
    type=click.Choice(["zxing", "zbar"]),
    default="zxing",
    show_default=True,
    help="Barcode decoder (zbar reads no DataMatrix: no ICAO VDS).",
)
def read(
    images: tuple[str, ...],
    as_json: bool,
    trust: tuple[Path, ...],
    at: datetime | None,
    passport: MrzFields | None,
    decoder: str,
) -> None:
    """Decode, parse and verify every barcode in each image."""
    from appliance.config import load_config
    from appliance.mrz.read_command import load_image

    limits = load_config().inputs
    scanner = _scanner(decoder, as_json)
    context = _context(trust, at, as_json)
    worst = 0
    for image in images:
        started = time.perf_counter()
        try:
            pixels = load_image(image, limits)
            timings = {"load": _ms(started)}
            decode_started = time.perf_counter()
            decoded = scanner.decode(Frame(pixels, time.time()))
            timings["decode"] = _ms(decode_started)
            outcome_record = _symbols_record(started, decoded, context, timings, passport)
            record = {"image": image, **outcome_record}
            code = 0 if record["status"] == "pass" else 1
        except ApplianceError as exc:  # the image refused: a fault of the input
            record, code = _refused(image, exc.reason, exc.detail, started), 2
        except Exception:  # fail closed on anything unexpected, without a traceback or PII
            record, code = _refused(image, Reason.INTERNAL_ERROR, "", started), 2
        worst = max(worst, code)
        click.echo(json.dumps(record) if as_json else _human(record))
    sys.exit(worst)


@barcode.command("decode")
@click.option("--text", "text", default=None, help="The payload as text ('-': read stdin).")
@click.option("--hex", "hex_", default=None, help="The payload as hexadecimal bytes.")
@click.option("--symbology", default="", help="Symbology it was read from (for the report).")
@_json_option
@_trust_option
@_at_option
@_passport_option
def decode(
    text: str | None,
    hex_: str | None,
    symbology: str,
    as_json: bool,
    trust: tuple[Path, ...],
    at: datetime | None,
    passport: MrzFields | None,
) -> None:
    """Parse and verify an already decoded payload (from a hand scanner, say)."""
    if (text is None) == (hex_ is None):
        raise click.UsageError("give exactly one of --text and --hex")
    if text is not None:
        payload = (sys.stdin.read().rstrip("\r\n") if text == "-" else text).encode("utf-8")
    else:
        try:
            payload = bytes.fromhex("".join((hex_ or "").split()))
        except ValueError as exc:
            raise click.BadParameter("not hexadecimal", param_hint="--hex") from exc
    if not payload:
        raise click.UsageError("the payload is empty")
    context = _context(trust, at, as_json)
    started = time.perf_counter()
    try:
        item = DecodedSymbol(symbology, payload)
        record = _symbols_record(started, [item], context, {}, passport)
    except LdsError as exc:  # the trust store itself unreadable
        _fault(exc.reason, exc.detail, as_json)
    click.echo(json.dumps(record) if as_json else _human(record))
    sys.exit(0 if record["status"] == "pass" else 1)
