"""The technician's API: device health, the gate test, models, trust material, logs, imports
and the diagnostics bundle — and never a traveller's data.

    GET  /api/v1/maintenance/overview     lane, uptime, CPU temperature, disk, versions
    POST /api/v1/maintenance/gate-test    lane out of service, gate opened and closed, back
    GET  /api/v1/maintenance/models       each ONNX model: file, version, sha256
    GET  /api/v1/maintenance/trust        CSCAs per country, CRLs (nextUpdate, overdue),
                                          master lists, watchlist and policy versions and age
    GET  /api/v1/maintenance/logs         the service's recent log lines (level, text filter)
    POST /api/v1/maintenance/import       a master list, CSCA, CRL, signed watchlist or policy
    GET  /api/v1/maintenance/bundle       tar.gz: self-test, config without secrets, logs,
                                          versions, lane state

Why nothing here can leak a traveller: every answer is built from the device's own state
(devices, files, signed artefacts) and from log lines that `appliance/logs.py` already keeps
free of personal data; no route reads the history's checks. The self-test itself is
`GET /api/v1/selftest`. Imports go through the same functions as the CLI (trust import, signed
artefact verification with the anti-rollback guard) and are events in the history.
"""

from __future__ import annotations

import base64
import collections
import io
import json
import logging
import os
import shutil
import tarfile
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.access import AccessControl, principal_of
from appliance.api.lane_service import LaneService
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.inspection.lane import load_installed_watchlist
from appliance.inspection.policy import POLICY_FILE, load_policy, parse_policy
from appliance.logs import JsonLineFormatter
from appliance.models import model_location, model_names, models_dir
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import import_watchlist

#: log lines the service keeps in memory for the maintenance page and the bundle
LOG_LINES = 2000
#: largest upload (a full ICAO master list is about 1 MB)
MAX_IMPORT = 8 * 1024 * 1024
_VERSIONS = ("border-appliance", "fastapi", "uvicorn", "onnxruntime", "cryptography", "pyscard")
_SECRET_WORDS = ("key", "secret", "token", "password", "pin")


class LogBuffer(logging.Handler):
    """The newest log lines, formatted as journald gets them (no personal data)."""

    def __init__(self, size: int = LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.setFormatter(JsonLineFormatter())
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            return
        with self._guard:
            self.lines.append(line)

    def snapshot(self) -> list[str]:
        with self._guard:
            return list(self.lines)


class Import(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["trust", "watchlist", "policy"]
    #: the file, base64 (a master list, CSCA or link certificate, or CRL for `trust`)
    content_b64: str = Field(min_length=4, max_length=MAX_IMPORT * 4 // 3 + 8)
    #: the detached signature of a watchlist or policy, base64
    signature_b64: str | None = Field(default=None, max_length=4096)
    filename: str = Field(default="upload", max_length=100, pattern=r"^[A-Za-z0-9._-]+$")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ApplianceError(Reason.USAGE, f"{what} is not base64") from exc


def _cpu_temperature() -> float | None:
    for zone in sorted(Path("/sys/class/thermal").glob("thermal_zone*/temp")):
        try:
            return round(int(zone.read_text().strip()) / 1000, 1)
        except (OSError, ValueError):
            continue
    return None


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in _VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _age_h(when: datetime | None, now: datetime) -> float | None:
    return None if when is None else round((now - when).total_seconds() / 3600, 1)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _redact(value: Any) -> Any:
    """The config without secrets: any key naming a key, secret, token, password or PIN."""
    if isinstance(value, dict):
        return {
            k: "<redacted>" if any(w in k.lower() for w in _SECRET_WORDS) else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def trust_summary(directory: Path, now: datetime) -> dict[str, Any]:
    """CSCAs per country, CRLs with nextUpdate (overdue flagged), sources, signed artefacts."""
    path = directory / TRUST_FILE
    countries: dict[str, int] = {}
    crls: list[dict[str, Any]] = []
    sources: set[str] = set()
    master_lists: list[dict[str, object]] = []
    if path.is_file():
        with TrustStore(path) as store:
            for cert in store.certificates():
                if cert.is_ca and cert.parse_error is None:
                    country = cert.country or "?"
                    countries[country] = countries.get(country, 0) + 1
                    sources.add(cert.source)
            master_lists = store.master_lists()
            for row in store.crl_rows():
                next_update = _parse(row.get("next_update"))
                crls.append(
                    {
                        "issuer": row.get("issuer"),
                        "this_update": row.get("this_update"),
                        "next_update": row.get("next_update"),
                        "revoked": row.get("revoked_count"),
                        "overdue": next_update is not None and next_update < now,
                    }
                )
    watchlist, watch_error = load_installed_watchlist(directory)
    try:
        policy = load_policy(directory)
        policy_info: dict[str, Any] = {"version": policy.version, "name": policy.name}
    except ApplianceError as exc:
        policy_info = {"version": None, "reason": exc.reason.value}
    policy_file = directory / POLICY_FILE
    if policy_file.is_file():
        changed = datetime.fromtimestamp(policy_file.stat().st_mtime, UTC)
        policy_info["age_h"] = _age_h(changed, now)
    return {
        "csca_per_country": dict(sorted(countries.items())),
        "crls": crls,
        "crl_overdue": any(c["overdue"] for c in crls),
        "sources": sorted(sources),
        "master_lists": master_lists,
        "watchlist": (
            {
                "version": watchlist.version,
                "entries": len(watchlist),
                "age_h": round(watchlist.age(now).total_seconds() / 3600, 1),
            }
            if watchlist is not None
            else {"version": None, "reason": watch_error.reason.value if watch_error else None}
        ),
        "policy": policy_info,
    }


def _install_policy(directory: Path, content: bytes, signature: bytes | None) -> int:
    """The CLI's checks for a signed policy: signature, parse, no rollback; then installed."""
    trusted = sc.TrustedKeys.load(directory / sc.KEYS_DIR)
    trusted.verify(sc.ArtefactKind.POLICY, content, signature)
    policy = parse_policy(content)
    guard = sc.VersionGuard(directory)
    guard.check(sc.ArtefactKind.POLICY, policy.version)
    path = directory / POLICY_FILE
    sc.write_private(sc.signature_path(path), signature or b"")
    sc.write_private(path, content)
    guard.accept(sc.ArtefactKind.POLICY, policy.version)
    return policy.version


def _import(
    directory: Path, body: Import, content: bytes, signature: bytes | None
) -> dict[str, Any]:
    if body.kind == "trust":
        with TrustStore(directory / TRUST_FILE) as store:
            report = import_file(content, store, f"upload:{body.filename}")
        return {
            "kind": report.kind.value,
            "status": report.status.value,
            "reason": report.reason.value,
            "detail": report.detail,
            "added": report.added,
            "total": report.total,
        }
    if body.kind == "watchlist":
        watchlist = import_watchlist(directory, content, signature)
        return {"kind": "watchlist", "status": "pass", "reason": "OK",
                "version": watchlist.version}  # fmt: skip
    version = _install_policy(directory, content, signature)
    return {"kind": "policy", "status": "pass", "reason": "OK", "version": version,
            "detail": "the lane takes it before its next check"}  # fmt: skip


def maintenance_router(
    service: LaneService, control: AccessControl, logs: LogBuffer, prefix: str
) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/maintenance")

    def overview_body() -> dict[str, Any]:
        loop = service.loop
        usage = shutil.disk_usage(service.directory)
        return {
            "lane": loop.status() if loop is not None else None,
            "uptime_s": round(time.monotonic() - service.started_at, 1),
            "cpu_temperature_c": _cpu_temperature(),
            "load_1m": round(os.getloadavg()[0], 2),
            "disk": {"free_bytes": usage.free, "total_bytes": usage.total},
            "device_id": service.config.device.device_id,
            "mode": service.config.device.mode,
            "simulated": service.simulation is not None,
            "versions": _versions(),
        }

    @router.get("/overview")
    def overview() -> dict[str, Any]:
        """Health at a glance, apart from the self-test (`GET /api/v1/selftest`)."""
        return overview_body()

    @router.post("/gate-test")
    def gate_test(request: Request) -> dict[str, Any]:
        """The gate opened and closed once, the lane out of service meanwhile."""
        loop = service.loop
        if loop is None:
            raise ApplianceError(Reason.LANE_OUT_OF_SERVICE, "the lane is not ready")
        result = loop.gate_test()
        session = principal_of(request.state)
        control.audit("gate_test", session.account if session else None, result=result["status"])
        return result

    @router.get("/models")
    def models() -> dict[str, Any]:
        """Every model in force: shipped, or sent by the authority through sync (`origin`)."""
        shipped = models_dir()
        found: list[dict[str, Any]] = []
        for name in model_names(shipped):
            try:
                directory, entry = model_location(name)
            except ApplianceError as exc:
                found.append({"name": name, "origin": "sync", "reason": exc.reason.value})
                continue
            found.append(
                {
                    "name": name,
                    "origin": "shipped" if directory == shipped else "sync",
                    "file": entry.get("file"),
                    "version": entry.get("version"),
                    "sha256": entry.get("sha256"),
                    "present": (directory / str(entry.get("file"))).is_file(),
                }
            )
        return {"models": found}

    @router.get("/trust")
    def trust() -> dict[str, Any]:
        return trust_summary(service.directory, datetime.now(UTC))

    @router.get("/logs")
    def log_lines(
        level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO",
        contains: str = Query("", max_length=100),
        limit: int = Query(200, ge=1, le=LOG_LINES),
    ) -> dict[str, Any]:
        wanted = logging.getLevelName(level)
        lines = []
        for line in logs.snapshot():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if logging.getLevelName(str(record.get("level", "INFO")).upper()) < wanted:
                continue
            if contains and contains.lower() not in line.lower():
                continue
            lines.append(record)
        return {"lines": lines[-limit:]}

    @router.post("/import")
    def import_material(body: Import, request: Request) -> dict[str, Any]:
        """A master list, certificate or CRL, or a signed watchlist or policy, checked as the
        CLI checks it (refused when unsigned, older or invalid: nothing changes)."""
        content = _b64(body.content_b64, "content_b64")
        if len(content) > MAX_IMPORT:
            raise ApplianceError(Reason.FILE_TOO_LARGE, f"over {MAX_IMPORT} bytes")
        signature = _b64(body.signature_b64, "signature_b64") if body.signature_b64 else None
        session = principal_of(request.state)
        account = session.account if session else None
        directory = service.directory
        try:
            answer = _import(directory, body, content, signature)
        except ApplianceError as exc:
            answer = {"kind": body.kind, "status": "fail", "reason": exc.reason.value,
                      "detail": exc.detail}  # fmt: skip
        control.audit(
            "config_change",
            account,
            Reason(answer["reason"]),
            change=f"import:{answer['kind']}",
            status=str(answer["status"]),
        )
        if answer["status"] != "pass":
            raise ApplianceError(Reason(answer["reason"]), str(answer.get("detail", "")))
        return answer

    @router.get("/bundle")
    def bundle() -> Response:
        """Self-test, config without secrets, logs, versions, lane state and trust summary."""
        now = datetime.now(UTC)
        files: dict[str, bytes] = {
            "selftest.json": json.dumps(service.selftest(), indent=1).encode(),
            "config.json": json.dumps(
                _redact(service.config.model_dump(mode="json")), indent=1
            ).encode(),
            "logs.jsonl": ("\n".join(logs.snapshot()) + "\n").encode(),
            "overview.json": json.dumps(overview_body(), indent=1).encode(),
            "trust.json": json.dumps(trust_summary(service.directory, now), indent=1).encode(),
        }
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(f"diagnostics/{name}")
                info.size = len(data)
                info.mtime = int(now.timestamp())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        name = f"diagnostics-{service.config.device.device_id}-{stamp}.tar.gz"
        return Response(
            buffer.getvalue(),
            media_type="application/gzip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
