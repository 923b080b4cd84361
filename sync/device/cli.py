"""`appliance sync enrol / run / status`: the device's side of sync with central.

Exit codes: 0 done (every event acknowledged, nothing refused); 1 central refused something
(a token, a revoked device, a fork, an artefact: the reason says which); 2 usage errors and
faults (not enrolled, central unreachable after the retries, a broken config).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from types import FrameType
from typing import Any, NoReturn

import click

from appliance.cli_output import EXIT_FAILED, EXIT_FAULT, refuse
from appliance.config import data_dir, load_config
from appliance.errors import ApplianceError, Reason

#: refusals by central (exit 1); everything else that fails is a fault (exit 2)
_REFUSALS = {
    Reason.SYNC_TOKEN_INVALID,
    Reason.SYNC_DEVICE_REVOKED,
    Reason.SYNC_FORK_DETECTED,
    Reason.SYNC_AUTH_FAILED,
    Reason.SYNC_PROOF_INVALID,
    Reason.SYNC_CHECKPOINT_INVALID,
    Reason.SYNC_BATCH_INVALID,
    Reason.SYNC_CURSOR_STALE,
    Reason.SYNC_TLS_PIN_MISMATCH,
}


def _fail(reason: Reason, detail: str, as_json: bool) -> NoReturn:
    refuse(reason, detail, as_json, who="appliance sync",
           exit_code=EXIT_FAILED if reason in _REFUSALS else EXIT_FAULT)  # fmt: skip


@click.group()
def sync() -> None:
    """Sync with central: enrol once, then upload the history and fetch signed artefacts."""


@sync.command()
@click.argument("url")
@click.option("--token", required=True, help="From `appliance central token --device NAME`.")
@click.option(
    "--tls-pin",
    default=None,
    help="SHA-256 (hex) of central's TLS public key, to check at enrolment (https).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def enrol(url: str, token: str, tls_pin: str | None, as_json: bool) -> None:
    """Enrol this device at central URL (once), pinning central's TLS key when https."""
    from sync.device import service

    config = load_config()
    try:
        result = service.enrol(config, data_dir(config), url, token, tls_pin)
    except ApplianceError as exc:
        _fail(exc.reason, exc.detail, as_json)
    if as_json:
        click.echo(json.dumps({"status": "pass", **result}, sort_keys=True))
    else:
        pin = f", TLS key pinned {result['tls_pin']}" if result["tls_pin"] else ""
        click.echo(f"enrolled {result['device_id']} at {result['central']}{pin}")


def _round(attempts: int, as_json: bool) -> tuple[dict[str, Any], int]:
    from sync.device import service

    config = load_config()
    directory = data_dir(config)
    result = service.run_round(config, directory, attempts=attempts)
    refused = [o for o in result.artefacts if not o.applied and o.reason is not Reason.OK]
    body = {**result.to_json(), **service.status(config, directory)}
    return body, 1 if refused else 0


@sync.command()
@click.option("--once", is_flag=True, help="One round (upload, then artefacts), then exit.")
@click.option("--attempts", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per round.")
def run(once: bool, attempts: int, as_json: bool) -> None:
    """Upload every unacknowledged check and apply new signed artefacts; with --once a single
    round, otherwise forever (every [sync] interval_s, backing off while central fails)."""
    from sync.device.service import Transient
    from sync.device.uplink import Backoff

    if once:
        try:
            body, code = _round(attempts, as_json)
        except Transient as exc:
            _fail(exc.reason, exc.detail, as_json)
        except ApplianceError as exc:
            _fail(exc.reason, exc.detail, as_json)
        _print_round(body, as_json)
        sys.exit(code)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    config = load_config()
    backoff = Backoff(config.sync.backoff_min_s, config.sync.backoff_max_s)
    failures = 0
    while not stop.is_set():
        try:
            body, _ = _round(attempts, as_json)
            _print_round(body, as_json)
            failures = 0
            config = load_config()  # a remote config applied this round sets the pace
            backoff = Backoff(config.sync.backoff_min_s, config.sync.backoff_max_s)
            wait = config.sync.interval_s
        except (Transient, ApplianceError) as exc:
            reason = exc.reason
            detail = exc.detail
            if as_json:
                click.echo(json.dumps({"status": "fail", "reason": reason.value, "detail": detail}))
            else:
                click.echo(f"appliance sync: {reason.value}: {detail}", err=True)
            if reason is Reason.SYNC_NOT_ENROLLED:
                sys.exit(2)
            wait = max(config.sync.interval_s, backoff.delay(failures))
            failures += 1
        stop.wait(wait)


def _print_round(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(body, sort_keys=True))
        return
    click.echo(
        f"sent {body['sent']}, backlog {body['backlog']}, acknowledged {body['acknowledged']}"
    )
    for outcome in body["downlink"]:
        if outcome["applied"]:
            state = outcome["detail"]
        elif outcome["reason"] == Reason.OK.value:
            state = outcome["detail"]  # already in force; a delta for another base
        else:
            state = f"refused, {outcome['reason']}: {outcome['detail']}"
        click.echo(f"  {outcome['kind']} v{outcome['version']}: {state}")


@sync.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """This device's sync state (no network): backlog, acknowledged, artefact versions,
    last error, alarms."""
    from sync.device import service

    config = load_config()
    try:
        body = service.status(config, data_dir(config))
    except ApplianceError as exc:
        _fail(exc.reason, exc.detail, as_json)
    if as_json:
        click.echo(json.dumps(body, sort_keys=True))
        return
    click.echo(f"device {body['device_id']}: enrolled={body['enrolled']} central={body['central']}")
    click.echo(f"backlog {body['backlog']}, acknowledged {body['acknowledged']}")
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(body["artefacts"].items())) or "none"
    click.echo(f"artefacts: {versions}")
    if body["models"]:
        models = ", ".join(f"{k} v{v}" for k, v in sorted(body["models"].items()))
        click.echo(f"models from central: {models}")
    if body["remote_config"]:
        remote = body["remote_config"]
        click.echo(f"remote config v{remote['version']}: {', '.join(remote['keys'])}")
    if body["last_error"]:
        click.echo(f"last error: {body['last_error']['reason']}: {body['last_error']['detail']}")
    for alarm in body["alarms"]:
        click.echo(f"ALARM {alarm['reason']}: {alarm['detail']}")
