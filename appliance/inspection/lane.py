"""Assembling a lane from the data directory: signed policy, watchlist, trust snapshot, history.

`open_lane` refuses to build a lane without a valid signed policy (`POLICY_UNSIGNED`,
`POLICY_INVALID`): a gate that cannot say which rules it applies must not run. A missing
watchlist leaves the step skipped (the policy decides whether that refers); a watchlist that is
present but fails its signature or goes back in version is a failure of the step for every
traveller until a good one is imported.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from appliance.barcodes.verify import TrustContext
from appliance.config import Config
from appliance.emrtd.pki.deviations import DEFAULT_FILE as DEVIATIONS_FILE
from appliance.emrtd.pki.deviations import DeviationList
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.history import Ledger
from appliance.inspection.gate_events import GateEventSource
from appliance.inspection.iris_step import IrisCheck
from appliance.inspection.iris_step import from_config as iris_from_config
from appliance.inspection.morph_step import MorphCheck
from appliance.inspection.policy import POLICY_FILE, load_policy
from appliance.inspection.report import StepName
from appliance.inspection.steps import FaceCheck, Lane
from appliance.inspection.trust import TrustSnapshot
from appliance.signed.artefacts import SIGNATURE_SUFFIX
from appliance.signed.watchlist import WATCHLIST_FILE, Watchlist, load_watchlist
from appliance.wiring import load_factory, reader_options

log = logging.getLogger(__name__)


def load_installed_watchlist(directory: Path) -> tuple[Watchlist | None, ApplianceError | None]:
    if not (directory / WATCHLIST_FILE).exists():
        return None, None
    try:
        return load_watchlist(directory), None
    except ApplianceError as exc:
        return None, exc


def face_check(config: Config) -> FaceCheck | None:
    """The configured face step (`inspection.face_verifier`), or None."""
    spec = config.inspection.face_verifier
    return cast(FaceCheck, load_factory(spec)(config)) if spec else None


def morph_check(config: Config) -> MorphCheck | None:
    """The configured morph detector (`inspection.morph_detector`), or None."""
    spec = config.inspection.morph_detector
    return cast(MorphCheck, load_factory(spec)(config)) if spec else None


def _policy_fields(config: Config, directory: Path) -> dict[str, Any]:
    policy = load_policy(directory)
    mode = policy.mode(config.device.mode)
    return {
        "policy": policy,
        "mode": mode,
        # the steps give up (CHIP_NOT_PRESENT, MRZ_UNREADABLE) before their hard time limit
        "presence_timeout_s": min(
            config.chip.presence_timeout_s, 0.9 * mode.timeout_s(StepName.DOCUMENT_PRESENCE)
        ),
        "mrz_timeout_s": 0.9 * mode.timeout_s(StepName.MRZ),
    }


def _trust_fields(_config: Config, directory: Path) -> dict[str, Any]:
    with TrustStore(directory / TRUST_FILE) as store:
        trust = TrustSnapshot.of(store)
    # visa seals chain to the same CSCAs as passports, verified as of each check
    return {"trust": trust, "seal_trust": TrustContext(trust)}


def _watchlist_fields(_config: Config, directory: Path) -> dict[str, Any]:
    watchlist, watchlist_error = load_installed_watchlist(directory)
    return {"watchlist": watchlist, "watchlist_error": watchlist_error}


def _deviation_fields(_config: Config, directory: Path) -> dict[str, Any]:
    return {"deviations": DeviationList.load(directory / DEVIATIONS_FILE)}


#: the lane's signed material, part by part: how each is read (as `Lane` fields), and its files
#: in the data directory
_MATERIAL: tuple[tuple[Callable[[Config, Path], dict[str, Any]], tuple[str, ...]], ...] = (
    (_policy_fields, (POLICY_FILE, POLICY_FILE + SIGNATURE_SUFFIX)),
    (_trust_fields, (TRUST_FILE,)),
    (_watchlist_fields, (WATCHLIST_FILE, WATCHLIST_FILE + SIGNATURE_SUFFIX)),
    (_deviation_fields, (DEVIATIONS_FILE,)),
)


def open_lane(
    config: Config,
    directory: Path,
    *,
    gate_events: GateEventSource | None = None,
    face: FaceCheck | None = None,
    morph: MorphCheck | None = None,
    iris: IrisCheck | None = None,
) -> Lane:
    """A ready lane; raises `ApplianceError` when the policy is refused."""
    material: dict[str, Any] = {}
    for read, _files in _MATERIAL:
        material.update(read(config, directory))
    return Lane(
        **material,
        history=Ledger.open_default(directory, config),
        reader_options=reader_options(config.chip),
        face=face,
        morph=morph,
        iris=iris or (iris_from_config(config) if config.iris.camera else None),
        gate_events=gate_events,
    )


class MaterialWatch:
    """Brings what sync (or a technician) installed into a running lane, between travellers.

    A service runs for months; the watchlist it loaded at start goes stale in hours (and then
    refers everyone), CRLs and policies change. Before each check the watch compares the
    material files' size and modification time with what the lane was built from and reloads
    the parts whose files changed (policy, trust, watchlist, deviations) with the same
    verification as at start. A watchlist refused is the watchlist step's failure, as at start;
    a policy (or deviation list) refused leaves the one in force, which was verified, and is kept
    in `error` and the log.
    """

    def __init__(self, config: Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self._stamps = [self._stamp(files) for _read, files in _MATERIAL]
        self._errors: list[ApplianceError | None] = [None] * len(_MATERIAL)

    @property
    def error(self) -> ApplianceError | None:
        """A part's refused reload (None: the material in force is the newest on disk)."""
        return next((e for e in self._errors if e is not None), None)

    def _stamp(self, files: tuple[str, ...]) -> tuple[tuple[int, int] | None, ...]:
        out: list[tuple[int, int] | None] = []
        for name in files:
            try:
                st = (self.directory / name).stat()
            except OSError:
                out.append(None)
                continue
            out.append((st.st_mtime_ns, st.st_size))
        return tuple(out)

    def refresh(self, lane: Lane) -> bool:
        """Reload the parts of the lane's material whose files changed; True when it took some."""
        took = False
        for index, (read, files) in enumerate(_MATERIAL):
            stamp = self._stamp(files)
            if stamp == self._stamps[index]:
                continue
            self._stamps[index] = stamp
            try:
                fields = read(self.config, self.directory)
            except ApplianceError as exc:
                self._errors[index] = exc
                log.warning("new lane material refused, the verified one stays",
                            extra={"reason": exc.reason})  # fmt: skip
                continue
            except (OSError, sqlite3.Error) as exc:  # a file half-replaced: try next time
                self._stamps[index] = ()
                self._errors[index] = ApplianceError(
                    Reason.DATA_DIR_UNAVAILABLE, type(exc).__name__
                )
                continue
            self._errors[index] = None
            for name, value in fields.items():
                setattr(lane, name, value)
            took = True
        if took:
            log.info("lane material reloaded", extra={"policy_version": lane.policy.version})
        return took
