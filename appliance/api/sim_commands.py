"""`appliance sim traveller`: one simulated traveller at the lane of a running simulated service.

The service (`appliance serve --config config/simulated.toml`) places the traveller's chip on
its simulated reader, the traveller's gate events on the simulated gate, and answers with the
lane's decision once the lane loop has checked the document. Talks HTTP to loopback with the
standard library (the CLI needs no HTTP client package).

Exit codes: 0 the lane opened the gate for the traveller, 1 the traveller was referred, 2 the
service is not there, not simulated, or refused the request (unknown kind, lane not ready).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:8600"


class _ServiceError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _call(url: str, path: str, body: dict[str, Any] | None, timeout_s: float) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            refusal = json.loads(exc.read())
        except ValueError:
            refusal = {}
        if exc.code == 404 and refusal.get("detail") == "not a simulated service":
            raise _ServiceError("USAGE", f"{url} is not a simulated service") from exc
        if exc.code == 404:
            raise _ServiceError("USAGE", f"{url} is not an appliance service") from exc
        raise _ServiceError(
            str(refusal.get("reason", f"HTTP_{exc.code}")), str(refusal.get("detail", ""))
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _ServiceError("USAGE", f"no appliance service at {url} ({reason})") from exc


@click.group("sim")
def sim() -> None:
    """Drive a running service's simulated hardware."""


@sim.command("traveller")
@click.option("--kind", required=True, help="Traveller kind (genuine, forged_dg...); 'list'.")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The running service.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 300), default=60.0,
              show_default=True, help="Seconds to wait for the decision.")  # fmt: skip
@click.option("--nationality", default=None, metavar="CODE",
              help="ICAO nationality in DG1 (e.g. FRA: the kiosk's language).")  # fmt: skip
@click.option("--leaves", is_flag=True, help="Walks away instead of through the open gate.")
def traveller(
    kind: str, url: str, as_json: bool, timeout_s: float, nationality: str | None, leaves: bool
) -> None:
    """Put one simulated traveller at the lane and print the lane's decision."""
    try:
        if kind == "list":
            kinds = _call(url, "/api/v1/sim/kinds", None, 10)["kinds"]
            click.echo(json.dumps({"kinds": kinds}) if as_json else "\n".join(kinds))
            return
        body: dict[str, Any] = {"kind": kind, "timeout_s": timeout_s, "leaves": leaves}
        if nationality:
            body["nationality"] = nationality.upper()
        answer = _call(url, "/api/v1/sim/travellers", body, timeout_s + 10)
    except _ServiceError as exc:
        if as_json:
            click.echo(json.dumps({"status": "fail", "reason": exc.reason, "detail": exc.detail}))
        else:
            click.echo(f"appliance sim traveller: {exc.reason}: {exc.detail}", err=True)
        sys.exit(2)
    out = {k: answer.get(k) for k in ("decision", "reasons", "check_id", "timings_ms")}
    out.update({k: answer.get(k) for k in ("kind", "gate", "transaction_ms", "durable")})
    if as_json:
        click.echo(json.dumps(out))
    else:
        reasons = ",".join(r for r in out["reasons"] or [] if r != "OK") or "-"
        click.echo(
            f"{out['decision']} {reasons} gate {out['gate']} {out['transaction_ms']} ms "
            f"(check {out['check_id']})"
        )
    sys.exit(0 if out["decision"] == "OPEN" else 1)
