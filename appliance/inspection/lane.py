"""Assembling a lane from the data directory: signed policy, watchlist, trust snapshot, history.

`open_lane` refuses to build a lane without a valid signed policy (`POLICY_UNSIGNED`,
`POLICY_INVALID`): a gate that cannot say which rules it applies must not run. A missing
watchlist leaves the step skipped (the policy decides whether that refers); a watchlist that is
present but fails its signature or goes back in version is a failure of the step for every
traveller until a good one is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from appliance.barcodes.verify import TrustContext
from appliance.config import Config
from appliance.emrtd.pki.deviations import DEFAULT_FILE as DEVIATIONS_FILE
from appliance.emrtd.pki.deviations import DeviationList
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError
from appliance.history import Ledger
from appliance.inspection.gate_events import GateEventSource
from appliance.inspection.policy import load_policy
from appliance.inspection.report import StepName
from appliance.inspection.steps import FaceCheck, Lane, MorphCheck
from appliance.inspection.trust import TrustSnapshot
from appliance.signed.watchlist import WATCHLIST_FILE, Watchlist, load_watchlist
from appliance.wiring import load_factory, reader_options


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


def open_lane(
    config: Config,
    directory: Path,
    *,
    gate_events: GateEventSource | None = None,
    face: FaceCheck | None = None,
    morph: MorphCheck | None = None,
) -> Lane:
    """A ready lane; raises `ApplianceError` when the policy is refused."""
    policy = load_policy(directory)
    watchlist, watchlist_error = load_installed_watchlist(directory)
    with TrustStore(directory / TRUST_FILE) as store:
        trust = TrustSnapshot.of(store)
    mode = policy.mode(config.device.mode)
    return Lane(
        policy=policy,
        mode=mode,
        trust=trust,
        # visa seals chain to the same CSCAs as passports, verified as of each check
        seal_trust=TrustContext(trust),
        history=Ledger.open_default(directory, config),
        watchlist=watchlist,
        watchlist_error=watchlist_error,
        deviations=DeviationList.load(directory / DEVIATIONS_FILE),
        reader_options=reader_options(config.chip),
        face=face,
        morph=morph,
        gate_events=gate_events,
        # the steps give up (CHIP_NOT_PRESENT, MRZ_UNREADABLE) before their hard time limit
        presence_timeout_s=min(
            config.chip.presence_timeout_s, 0.9 * mode.timeout_s(StepName.DOCUMENT_PRESENCE)
        ),
        mrz_timeout_s=0.9 * mode.timeout_s(StepName.MRZ),
    )
