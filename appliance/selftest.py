"""`appliance selftest`: one named check per configured part, as a technician needs it.

    report = run_selftest(config, data_dir(config))     # SelftestReport; .to_json(), .exit_code

Each check is a function of the config, the data directory and the time, returning
`PartCheck(name, status, reason, detail)`; none raises (a fault is a `fail` with its reason),
so the command line and the service's `GET /api/v1/selftest` can both call `run_selftest`.
The service passes the ports it already holds (`SelftestPorts`), so a self-test never opens a
serial port or a reader a running lane owns; the command line opens them itself.

Statuses: `pass`; `warn` (works, needs attention soon: a CRL past its nextUpdate, free space
under twice the minimum); `fail` (a part the lane needs is broken: travellers would be
referred or the lane cannot run); `skipped` (not configured here). The run fails when one check
fails (exit 1); warnings are shown and exit 0, because the lane still decides correctly then
(revocation of an issuer whose CRL is stale is judged by the inspection itself, fail closed).

The clock must not be earlier than the newest history record (a clock that went back) nor
than `appliance.VERSION_DATE`, the date this version was released (a clock that lost its
time): a constant kept with `__version__`, set when the version is cut. File times are no
evidence (an archive keeps them, a copy resets them), the model manifest carries no date, and
the product wheel has no build step that could stamp one. A constant can only err old, which
weakens the check, never new, which would fail a good clock.

The history check is the full `Ledger.verify()`: the history offers no incremental verify
since a verified checkpoint yet, so its cost grows with the log (see `benchmarks.history`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from appliance import VERSION_DATE
from appliance.config import Config
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger
from appliance.inspection.lane import load_installed_watchlist
from appliance.inspection.policy import PolicyConfig, load_policy
from appliance.inspection.report import StepName
from appliance.models import file_sha256, load_session, manifest_entry, model_names, models_dir
from appliance.ports import Camera, CardTransport, GateController, GateState
from appliance.signed.watchlist import CLOCK_SKEW
from appliance.wiring import VIRTUAL_READER, load_factory, open_card_transport

log = logging.getLogger("appliance.selftest")

#: seconds a camera may take to deliver its test frames
CAMERA_TIMEOUT_S = 5.0
CAMERA_FRAMES = 3
#: where `Ledger.open_default` keeps the history (its database appears on the first append)
HISTORY_DIR, HISTORY_DB = "history", "ledger.sqlite"


@dataclass(frozen=True)
class PartCheck:
    """One part's state; `detail` is for the technician and holds no personal data."""

    name: str
    status: CheckStatus
    reason: Reason = Reason.OK
    detail: str = ""
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
        }


def _pass(name: str, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.PASS, Reason.OK, detail)


def _fail(name: str, reason: Reason, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.FAIL, reason, detail)


def _warn(name: str, reason: Reason, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.WARN, reason, detail)


def _skip(name: str, detail: str) -> PartCheck:
    return PartCheck(name, CheckStatus.SKIPPED, Reason.OK, detail)


@dataclass(frozen=True)
class SelftestReport:
    checks: tuple[PartCheck, ...]
    total_ms: float

    @property
    def status(self) -> CheckStatus:
        statuses = {c.status for c in self.checks}
        for status in (CheckStatus.FAIL, CheckStatus.WARN):
            if status in statuses:
                return status
        return CheckStatus.PASS

    @property
    def reason(self) -> Reason:
        return next((c.reason for c in self.checks if c.status is self.status), Reason.OK)

    @property
    def exit_code(self) -> int:
        return 1 if self.status is CheckStatus.FAIL else 0

    def check(self, name: str) -> PartCheck | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason.value,
            "checks": [c.to_json() for c in self.checks],
            "timings_ms": {"total": self.total_ms, **{c.name: c.duration_ms for c in self.checks}},
        }


@dataclass
class SelftestPorts:
    """Ports a running service already holds (None: the self-test opens the configured one)."""

    card: CardTransport | None = None
    gate: GateController | None = None
    camera: Callable[[], Camera] | None = None


@dataclass
class _Context:
    config: Config
    directory: Path
    now: datetime
    models: Path
    ports: SelftestPorts = field(default_factory=SelftestPorts)
    #: the time of the newest history record (set by the history check, read by the clock's)
    newest_record: datetime | None = None


# ------------------------------------------------------------------------------- hardware


def card_reader(ctx: _Context) -> PartCheck:
    """pcscd reachable and the reader listed (the driver lists readers to open one), and it
    answers a presence query. A configured virtual reader is the simulated chip."""
    name = ctx.config.chip.reader
    if name == VIRTUAL_READER and ctx.ports.card is None:
        load_factory(ctx.config.hardware.virtual_card)  # importable: the simulation is there
        return _pass("card_reader", "simulated: the in-process virtual chip (chip.reader)")
    transport = ctx.ports.card
    try:
        if transport is None:
            transport = open_card_transport(ctx.config)
    except ApplianceError as exc:
        return _fail("card_reader", exc.reason, exc.detail)
    except Exception as exc:  # the driver's own error: pcscd down, reader not listed
        detail = str(exc) if type(exc).__name__ == "ReaderNotFound" else type(exc).__name__
        return _fail("card_reader", Reason.READER_NOT_FOUND, detail)
    try:
        present = transport.card_present()
    except Exception as exc:
        return _fail("card_reader", Reason.CHIP_COMMUNICATION, f"no answer: {type(exc).__name__}")
    card = "a document is on it" if present else "no document on it"
    return _pass("card_reader", f"reader {name!r} answers; {card}")


def _fault_text(exc: BaseException) -> str:
    """A device driver's error for the technician (names a device or port, never a person)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _frames(camera: Camera, count: int) -> list[object]:
    images: list[object] = []
    for frame in camera.frames():
        images.append(frame.image)
        if len(images) >= count:
            break
    return images


def camera(ctx: _Context) -> PartCheck:
    """Opens and delivers frames of at least the configured size (skipped without a face
    step). The frames are read in a worker thread: a camera that hangs is a failure."""
    cfg = ctx.config
    if not cfg.inspection.face_verifier and ctx.ports.camera is None:
        return _skip("camera", "no face step configured (inspection.face_verifier)")
    opener = ctx.ports.camera
    if opener is None:
        if cfg.face.camera == "virtual":
            return _fail(
                "camera", Reason.CAMERA_UNAVAILABLE, 'face.camera is "virtual": no frame source'
            )
        factory = load_factory(cfg.hardware.camera)

        def opener() -> Camera:
            return cast(Camera, factory(cfg.face.camera))

    box: list[list[object] | BaseException] = []

    def grab() -> None:
        try:
            cam = opener()
            try:
                box.append(_frames(cam, CAMERA_FRAMES))
            finally:
                cam.close()
        except Exception as exc:
            box.append(exc)

    worker = threading.Thread(target=grab, name="selftest-camera", daemon=True)
    worker.start()
    worker.join(CAMERA_TIMEOUT_S)
    if not box:
        return _fail("camera", Reason.CAMERA_UNAVAILABLE, f"no frame in {CAMERA_TIMEOUT_S:g} s")
    got = box[0]
    if isinstance(got, BaseException):
        return _fail("camera", Reason.CAMERA_UNAVAILABLE, _fault_text(got))
    if not got:
        return _fail("camera", Reason.CAMERA_UNAVAILABLE, "no frames")
    shape = getattr(got[0], "shape", None)
    if not shape or len(shape) < 2:
        return _fail("camera", Reason.CAMERA_UNAVAILABLE, "frames are not images")
    height, width = int(shape[0]), int(shape[1])
    want_w, want_h = cfg.selftest.camera_min_width, cfg.selftest.camera_min_height
    if width < want_w or height < want_h:
        detail = f"frames {width}x{height}, smaller than {want_w}x{want_h} (selftest config)"
        return _fail("camera", Reason.CAMERA_UNAVAILABLE, detail)
    return _pass("camera", f"{len(got)} frames of {width}x{height}")


def gate_controller(ctx: _Context) -> PartCheck:
    """Answers a status query with a known state (skipped in handheld mode). Opening the
    controller closes the gate (the driver's fail-safe): run it with the lane stopped, or
    through the service, which passes its own controller."""
    cfg = ctx.config
    if cfg.device.mode == "handheld":
        return _skip("gate_controller", "handheld mode: no gate")
    with contextlib.ExitStack() as stack:
        gate = ctx.ports.gate
        port = cfg.inspection.gate_port
        if gate is None:
            try:
                if port == "simulated":
                    simulator = load_factory(cfg.hardware.gate_simulator)()
                    stack.callback(simulator.close)
                    port = simulator.port
                gate = cast(GateController, load_factory(cfg.hardware.gate)(port))
            except Exception as exc:  # serial port missing, busy or not a gate
                return _fail("gate_controller", Reason.GATE_FAULT, _fault_text(exc))
            shutdown = getattr(gate, "shutdown", None)
            if callable(shutdown):
                stack.callback(shutdown)
        state = gate.state()
    where = "simulated controller" if cfg.inspection.gate_port == "simulated" else "controller"
    if state in (GateState.FAULT, GateState.UNKNOWN):
        return _fail("gate_controller", Reason.GATE_FAULT, f"{where} answers {state.value}")
    return _pass("gate_controller", f"{where} answers: {state.value}")


def mrz_scanner(ctx: _Context) -> PartCheck:
    """No MRZ scanner is configurable yet: the lane takes the MRZ from its own source and a
    handheld check from the officer (`check --mrz`); the OCR model is checked with the models."""
    return _skip("mrz_scanner", "no MRZ scanner configured")


# ------------------------------------------------------------------------------- software


def model_checks(ctx: _Context) -> list[PartCheck]:
    """Each manifest model: present, SHA-256 as in the manifest (re-read now), loads."""
    try:
        names = model_names(ctx.models)
    except ApplianceError as exc:
        return [_fail("models", exc.reason, exc.detail)]
    out: list[PartCheck] = []
    for name in names:
        label = f"model:{name}"
        started = time.perf_counter()
        try:
            entry = manifest_entry(name, ctx.models)
            path = ctx.models / entry["file"]
            if not path.is_file():
                check = _fail(label, Reason.MODEL_UNAVAILABLE, f"file missing: {entry['file']}")
            elif file_sha256(path) != entry["sha256"]:
                check = _fail(label, Reason.MODEL_UNAVAILABLE, f"sha256 differs: {entry['file']}")
            else:
                load_session(name, ctx.models)
                check = _pass(label, f"{entry['file']}: sha256 as in the manifest, loads")
        except ApplianceError as exc:
            check = _fail(label, exc.reason, exc.detail)
        out.append(_timed(check, started))
    return out


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def trust_checks(ctx: _Context) -> list[PartCheck]:
    """CSCA count > 0; per issuer, its newest CRL within its nextUpdate (else warn)."""
    path = ctx.directory / TRUST_FILE
    if not path.is_file():
        return [_fail("trust_store", Reason.TRUST_STORE_EMPTY, "no trust store in the data dir")]
    with TrustStore(path) as store:
        certificates = list(store.certificates())
        crls = store.crl_rows()
    cas = [c for c in certificates if c.is_ca and c.parse_error is None]
    if not cas:
        return [_fail("trust_store", Reason.TRUST_STORE_EMPTY, "no CSCA: nothing can be proven")]
    issuers = sorted({c.subject for c in cas if c.subject})
    valid = [c for c in cas if (end := _parse_time(c.not_after)) is None or end >= ctx.now]
    detail = f"{len(cas)} CSCA certificate(s) ({len(valid)} valid now), {len(crls)} CRL(s)"
    out = [_pass("trust_store", detail)]
    for issuer in issuers:
        own = [row for row in crls if row.get("issuer") == issuer]
        label = f"crl:{issuer}"
        if not own:
            out.append(_warn(label, Reason.CRL_MISSING, "no CRL: revocation cannot be checked"))
            continue
        newest = max(own, key=lambda row: str(row.get("this_update") or ""))
        next_update = _parse_time(newest.get("next_update"))
        if next_update is not None and next_update < ctx.now:
            detail = f"newest CRL's nextUpdate {next_update.date().isoformat()} has passed"
            out.append(_warn(label, Reason.CRL_STALE, detail))
        else:
            until = next_update.date().isoformat() if next_update else "no nextUpdate"
            out.append(_pass(label, f"newest CRL current (next update {until})"))
    return out


def _policy(ctx: _Context) -> tuple[PartCheck, PolicyConfig | None]:
    try:
        policy = load_policy(ctx.directory)
    except ApplianceError as exc:
        return _fail("policy", exc.reason, exc.detail), None
    mode = policy.mode(ctx.config.device.mode)
    detail = (
        f"'{policy.name}' v{policy.version}, signature valid; {ctx.config.device.mode} mode "
        f"requires {len(mode.required_steps)} steps"
    )
    return _pass("policy", detail), policy


def watchlist_check(ctx: _Context, policy: PolicyConfig | None) -> PartCheck:
    """Signed, not rolled back, not dated in the future, within the policy's maximum age."""
    rules = policy or PolicyConfig(version=1)
    required = StepName.WATCHLIST in rules.mode(ctx.config.device.mode).required_steps
    watchlist, error = load_installed_watchlist(ctx.directory)
    if error is not None:
        return _fail("watchlist", error.reason, error.detail)
    if watchlist is None:
        if required:
            return _fail("watchlist", Reason.WATCHLIST_MISSING, "none installed; policy needs one")
        return _skip("watchlist", "none installed (the policy does not require one)")
    if watchlist.issued_in_future(ctx.now):
        return _fail("watchlist", Reason.WATCHLIST_INVALID, "issued in the future (clock?)")
    age_h = watchlist.age(ctx.now).total_seconds() / 3600
    limit = rules.watchlist_max_age_h
    detail = f"v{watchlist.version}, {len(watchlist)} entries, {age_h:.1f} h old (max {limit:g} h)"
    if age_h > limit:
        return _fail("watchlist", Reason.WATCHLIST_STALE, detail)
    return _pass("watchlist", detail)


def clock(ctx: _Context) -> PartCheck:
    """Not before the date this version was released (`appliance.VERSION_DATE`), nor before
    the newest record of this device's history (less the watchlist's clock skew): a clock
    that went back would misdate records, the watchlist's age and the repeated-use window."""
    released = date.fromisoformat(VERSION_DATE)
    now = ctx.now.astimezone(UTC)
    if now.date() < released:
        detail = f"clock says {now.date().isoformat()}, before the release date {VERSION_DATE}"
        return _fail("clock", Reason.CLOCK_BEFORE_BUILD, detail)
    newest = ctx.newest_record
    if newest is not None and now < newest - CLOCK_SKEW:
        detail = (
            f"clock says {now:%Y-%m-%dT%H:%M:%SZ}, the newest record {newest:%Y-%m-%dT%H:%M:%SZ}"
        )
        return _fail("clock", Reason.CLOCK_BEHIND_HISTORY, detail)
    return _pass("clock", f"{now.isoformat(timespec='seconds')}, after the release and history")


def _tree_bytes(path: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for item in path.rglob("*"):
            with contextlib.suppress(OSError):
                if item.is_file():
                    total += item.stat().st_size
    return total


def disk(ctx: _Context) -> PartCheck:
    """Free space where the data directory lives against `[selftest] min_free_mb`."""
    minimum = ctx.config.selftest.min_free_mb * 1024 * 1024
    free = shutil.disk_usage(ctx.directory).free
    history = _tree_bytes(ctx.directory / HISTORY_DIR)
    detail = (
        f"{free / 2**20:.0f} MiB free (minimum {minimum / 2**20:.0f} MiB); "
        f"history {history / 2**20:.1f} MiB"
    )
    if free < minimum:
        return _fail("disk", Reason.DISK_LOW, detail)
    if free < 2 * minimum:
        return _warn("disk", Reason.DISK_LOW, detail)
    return _pass("disk", detail)


def history(ctx: _Context) -> PartCheck:
    """The full verify (Merkle tree, checkpoint signatures, record keys)."""
    if not (ctx.directory / HISTORY_DIR / HISTORY_DB).exists():
        return _skip("history", "no history yet (created by the first check)")
    try:
        with Ledger.open_default(ctx.directory, ctx.config) as ledger:
            result = ledger.verify()
            newest = ledger.recent(1) if result.ok else []
    except ApplianceError as exc:
        return _fail("history", exc.reason, exc.detail)
    except (sqlite3.Error, OSError) as exc:
        return _fail("history", Reason.HISTORY_STORAGE, type(exc).__name__)
    if newest:
        ctx.newest_record = _parse_time(newest[0].leaf.time.replace("Z", "+00:00"))
    if not result.ok:
        kinds = ", ".join(sorted({p.kind for p in result.problems}))
        detail = f"{result.problems_total} problem(s): {kinds}; verified to {result.verified_size}"
        return _fail("history", Reason.HISTORY_TAMPERED, detail)
    return _pass(
        "history",
        f"{result.size} records, {result.checkpoints} signed checkpoints verified (full verify)",
    )


#: the sync part lives with the device side of sync, loaded by name (as the CLI loads groups)
SYNC_CHECK = "sync.device.service:selftest_check"


def sync_check(ctx: _Context) -> PartCheck:
    """Sync with central: backlog alarm, revocation, fork, refused artefacts (sync/device)."""
    module_name, attr = SYNC_CHECK.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return _skip("sync", "not in this build")
    status, reason, detail = getattr(module, attr)(ctx.config, ctx.directory)
    return PartCheck("sync", CheckStatus(status), reason, detail)


# ------------------------------------------------------------------------------- the run


def _timed(check: PartCheck, started: float) -> PartCheck:
    ms = round((time.perf_counter() - started) * 1000, 3)
    return PartCheck(check.name, check.status, check.reason, check.detail, ms)


def _guarded(name: str, run: Callable[[], PartCheck | list[PartCheck]]) -> Iterator[PartCheck]:
    """Run one check; an unexpected error is that part's failure, never the run's."""
    started = time.perf_counter()
    try:
        got = run()
    except ApplianceError as exc:
        got = _fail(name, exc.reason, exc.detail)
    except Exception as exc:
        log.exception("selftest check raised", extra={"part": name})
        got = _fail(name, Reason.INTERNAL_ERROR, type(exc).__name__)
    if isinstance(got, list):
        if got and all(c.duration_ms == 0 for c in got):  # one timing for the group
            got[0] = _timed(got[0], started)
        yield from got
    else:
        yield _timed(got, started)


def run_selftest(
    config: Config,
    directory: Path,
    *,
    now: datetime | None = None,
    models: Path | None = None,
    ports: SelftestPorts | None = None,
) -> SelftestReport:
    """Every check, in a fixed order; never raises."""
    started = time.perf_counter()
    ctx = _Context(
        config,
        directory,
        now or datetime.now(UTC),
        models or models_dir(),
        ports or SelftestPorts(),
    )
    checks: list[PartCheck] = []
    policy_box: list[PolicyConfig | None] = [None]

    def policy() -> PartCheck:
        check, policy_box[0] = _policy(ctx)
        return check

    plan: list[tuple[str, Callable[[], PartCheck | list[PartCheck]]]] = [
        ("card_reader", lambda: card_reader(ctx)),
        ("camera", lambda: camera(ctx)),
        ("gate_controller", lambda: gate_controller(ctx)),
        ("mrz_scanner", lambda: mrz_scanner(ctx)),
        ("models", lambda: model_checks(ctx)),
        ("trust_store", lambda: trust_checks(ctx)),
        ("policy", policy),
        ("watchlist", lambda: watchlist_check(ctx, policy_box[0])),
        ("disk", lambda: disk(ctx)),
        ("history", lambda: history(ctx)),
        ("clock", lambda: clock(ctx)),
        ("sync", lambda: sync_check(ctx)),
    ]
    for name, run in plan:
        for check in _guarded(name, run):
            checks.append(check)
            level = logging.WARNING if check.status is CheckStatus.FAIL else logging.INFO
            log.log(
                level,
                "selftest check",
                extra={"part": check.name, "status": check.status, "reason": check.reason,
                       "duration_ms": check.duration_ms},
            )  # fmt: skip
    total = round((time.perf_counter() - started) * 1000, 3)
    return SelftestReport(tuple(checks), total)
