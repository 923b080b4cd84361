"""Enrol, one sync round (uplink then downlink), and the local status: what the CLI, the
systemd service, the tests and the benchmark call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance import model_overlay
from appliance.config import Config, ConfigError
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.history import DocumentRef, Ledger
from appliance.inputs import read_input_file
from appliance.signed import remote_config
from sync import protocol
from sync.device.client import CentralClient, Unreachable, refusal
from sync.device.downlink import Downlink, Outcome
from sync.device.state import Cursor, Enrolment, SyncState, now_iso
from sync.device.uplink import Backoff, Refused, Transient, Uplink, with_backoff


def national_key(config: Config) -> bytes | None:
    """The authority's national pseudonymisation key from `[sync] national_key_file`."""
    path = config.sync.national_key_file
    if path is None:
        return None
    try:
        key = read_input_file(path, 4096)
    except ApplianceError as exc:
        raise ConfigError(Reason.CONFIG_INVALID, f"[sync] national_key_file: {exc.detail}") from exc
    if len(key) < 32:
        raise ConfigError(Reason.CONFIG_INVALID, "[sync] national_key_file: under 32 bytes")
    return key


def enrol(
    config: Config, data_dir: Path, url: str, token: str, tls_pin: str | None = None
) -> dict[str, Any]:
    """Spend the enrolment token: register this device's request key and history key."""
    state = SyncState(data_dir)
    if state.enrolment() is not None:
        raise ApplianceError(Reason.USAGE, "this device is already enrolled")
    device_id = config.device.device_id
    key = state.create_key()
    client = CentralClient(
        url, device_id, key, tls_pin=tls_pin.lower() if tls_pin else None, timeout=30.0
    )
    with Ledger.open_default(data_dir, config) as ledger:
        request = {
            "token": token,
            "auth_key": protocol.b64e(protocol.raw_public_key(key.public_key())),
            "history_key": protocol.b64e(protocol.raw_public_key(ledger.public_key)),
            "origin": ledger.origin,
        }
    try:
        status, body = client.request(
            "POST", f"{protocol.API_PREFIX}/devices/enrol", request, signed=False
        )
    except Unreachable as exc:
        raise ApplianceError(Reason.SYNC_UNREACHABLE, f"central unreachable ({exc})") from exc
    finally:
        client.close()
    if status != 201:
        raise ApplianceError(*refusal(status, body))
    enrolment = Enrolment(url, device_id, client.peer_pin if client.https else None, now_iso())
    state.save_enrolment(enrolment)
    state.save_cursor(
        Cursor(int(body["next_index"]), int(body["checkpoint_size"]), str(body["checkpoint_root"]))
    )
    return {"device_id": device_id, "central": url, "tls_pin": enrolment.tls_pin}


@dataclass
class RoundResult:
    acknowledged: int = 0
    artefacts: list[Outcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.acknowledged,
            "downlink": [o.to_json() for o in self.artefacts],
        }


def client_for(config: Config, state: SyncState) -> CentralClient:
    enrolment, key = state.require_enrolment()
    return CentralClient(
        enrolment.url,
        enrolment.device_id,
        key,
        tls_pin=enrolment.tls_pin,
        timeout=config.sync.timeout_s,
    )


def run_round(
    config: Config,
    data_dir: Path,
    *,
    attempts: int = 5,
    sleep: Callable[[float], None] | None = None,
) -> RoundResult:
    """Upload the backlog, then fetch and apply new artefacts. Transient failures are retried
    with backoff up to `attempts` times; what finally fails is recorded in `sync status` and
    raised (`Transient`, `Refused`, `ApplianceError`)."""
    state = SyncState(data_dir)
    client = client_for(config, state)
    backoff = Backoff(config.sync.backoff_min_s, config.sync.backoff_max_s)
    kwargs: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    result = RoundResult()

    def note(exc: Transient) -> None:
        state.record_error(exc.reason, exc.detail)

    try:
        with Ledger.open_default(data_dir, config) as ledger:
            uplink = Uplink(
                ledger,
                client,
                state,
                national_key=national_key(config),
                batch_size=config.sync.batch_size,
            )
            result.acknowledged = with_backoff(
                uplink.drain, backoff, attempts, on_retry=note, **kwargs
            )
        downlink = Downlink(data_dir, client, state)

        def fetch() -> int:
            result.artefacts = downlink.run()
            return len(result.artefacts)

        with_backoff(fetch, backoff, attempts, on_retry=note, **kwargs)
    except Transient as exc:
        state.record_failed_round(exc.reason, exc.detail)
        raise
    except ApplianceError as exc:
        state.record_failed_round(exc.reason, exc.detail)
        raise
    finally:
        client.close()
    state.record_success()
    return result


def _history_size(config: Config, data_dir: Path) -> int:
    if not (data_dir / "history" / "ledger.sqlite").exists():
        return 0
    with Ledger.open_default(data_dir, config) as ledger:
        checkpoint, _ = ledger.latest_checkpoint()
        return checkpoint.size


def overdue_crls(data_dir: Path, now: datetime | None = None) -> dict[str, str]:
    """Issuers whose newest CRL is past its nextUpdate (central did not bring a newer one in
    time), with that nextUpdate; the signed policy decides what it means (`CRL_STALE`)."""
    path = data_dir / TRUST_FILE
    if not path.is_file():
        return {}
    when = now or datetime.now(UTC)
    with TrustStore(path) as store:
        newest = store.newest_crls()
    return {
        issuer: crl.next_update.isoformat()
        for issuer, crl in sorted(newest.items())
        if crl.overdue(when) and crl.next_update is not None
    }


def status(config: Config, data_dir: Path) -> dict[str, Any]:
    """The device's own view (no network): enrolment, backlog, acknowledged, artefact
    versions, overdue CRLs, last error, alarms."""
    state = SyncState(data_dir)
    enrolment = state.enrolment()
    cursor = state.cursor()
    current = state.status()
    size = _history_size(config, data_dir)
    backlog = max(0, size - cursor.next_index)
    alarms: list[dict[str, str]] = []
    if backlog > config.sync.backlog_alarm:
        alarms.append(
            {
                "reason": Reason.SYNC_BACKLOG_ALARM.value,
                "detail": f"{backlog} checks not yet acknowledged by central "
                f"(alarm above {config.sync.backlog_alarm}; none is dropped)",
            }
        )
    if current.revoked:
        alarms.append(
            {"reason": Reason.SYNC_DEVICE_REVOKED.value, "detail": "central revoked this device"}
        )
    if current.fork:
        alarms.append(
            {
                "reason": Reason.SYNC_FORK_DETECTED.value,
                "detail": "central saw a history that does not extend the one it witnessed",
            }
        )
    overdue = overdue_crls(data_dir)
    if overdue:
        alarms.append(
            {
                "reason": Reason.CRL_STALE.value,
                "detail": f"{len(overdue)} issuer(s) with a CRL past its nextUpdate",
            }
        )
    remote = remote_config.installed_problem(data_dir)
    if remote is not None:
        alarms.append({"reason": remote.reason.value, "detail": f"left out: {remote.detail}"})
    for kind, refused in sorted(current.refused.items()):
        alarms.append(
            {
                "reason": str(refused["reason"]),
                "detail": f"{kind} version {refused['version']} refused: {refused['detail']}",
            }
        )
    return {
        "enrolled": enrolment is not None,
        "device_id": enrolment.device_id if enrolment else config.device.device_id,
        "central": enrolment.url if enrolment else None,
        "tls_pin": enrolment.tls_pin if enrolment else None,
        "history_size": size,
        "backlog": backlog,
        "acknowledged": cursor.next_index - 1 if cursor.next_index > 0 else None,
        "witnessed_checkpoint_size": cursor.checkpoint_size,
        "artefacts": state.artefacts(),
        "models": model_overlay.installed_versions(data_dir),
        "remote_config": _remote_config(data_dir),
        "refused_artefacts": current.refused,
        "overdue_crls": overdue,
        "last_success": current.last_success,
        "last_error": current.last_error,
        "consecutive_failures": current.consecutive_failures,
        "revoked": current.revoked,
        "alarms": alarms,
    }


def _remote_config(data_dir: Path) -> dict[str, Any] | None:
    """The config overlay in force: its version and the keys it sets (None: none, or it is
    left out because it no longer verifies: see the alarms)."""
    try:
        installed = remote_config.read_installed(data_dir)
    except ApplianceError:
        return None
    if installed is None:
        return None
    version, sections = installed
    keys = sorted(f"{section}.{key}" for section, values in sections.items() for key in values)
    return {"version": version, "keys": keys}


def central_checks(
    config: Config, data_dir: Path, document: DocumentRef, timeout_s: float = 3.0
) -> dict[str, Any]:
    """Where and how often central saw this document (the officer's timeline, D4FLY's
    question): `{"central": "ok", "checks": [...]}`, or `"not_enrolled"`, `"no_national_key"`,
    `"offline"` (central did not answer within `timeout_s`: the screen shows local checks
    only) or `"refused"`. Asked by the national pseudonym only; nothing else leaves."""
    state = SyncState(data_dir)
    if state.enrolment() is None:
        return {"central": "not_enrolled", "checks": []}
    key = national_key(config)
    if key is None:
        return {"central": "no_national_key", "checks": []}
    pseudonym = protocol.national_pseudonym(key, document)
    quick = config.model_copy(
        update={"sync": config.sync.model_copy(update={"timeout_s": timeout_s})}
    )
    client = client_for(quick, state)
    try:
        status_code, body = client.request(
            "GET", f"{protocol.API_PREFIX}/documents/{pseudonym}/checks"
        )
    except Unreachable:
        return {"central": "offline", "checks": []}
    finally:
        client.close()
    if status_code != 200:
        reason, _ = refusal(status_code, body)
        return {"central": "refused", "reason": reason.value, "checks": []}
    checks = body.get("checks", [])
    return {"central": "ok", "checks": checks if isinstance(checks, list) else []}


def _reason(text: str) -> Reason:
    try:
        return Reason(text)
    except ValueError:
        return Reason.SYNC_ARTEFACT_INVALID


def selftest_check(config: Config, data_dir: Path) -> tuple[str, Reason, str]:
    """The `sync` part of `appliance selftest` (status, reason, detail): skipped before
    enrolment; fail when central revoked the device or saw a fork; warn on the backlog alarm
    or a refused artefact; else pass with the backlog and the versions in force."""
    if SyncState(data_dir).enrolment() is None:
        return "skipped", Reason.OK, "not enrolled (appliance sync enrol)"
    body = status(config, data_dir)
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(body["artefacts"].items())) or "none"
    if body["models"]:
        versions += "; models " + ", ".join(f"{k} v{v}" for k, v in sorted(body["models"].items()))
    detail = f"backlog {body['backlog']}, acknowledged {body['acknowledged']}; {versions}"
    alarms = [_reason(alarm["reason"]) for alarm in body["alarms"]]
    for fatal in (Reason.SYNC_DEVICE_REVOKED, Reason.SYNC_FORK_DETECTED):
        if fatal in alarms:
            return "fail", fatal, detail
    if alarms:
        return "warn", alarms[0], detail
    return "pass", Reason.OK, detail


__all__ = ["Refused", "Transient", "enrol", "national_key", "run_round", "status"]
