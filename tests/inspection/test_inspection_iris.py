"""The iris step in the workflow: the live NIR eye (simulated camera) against DG4 read after
Terminal Authentication; required by the policy it fails closed, not required it is skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.biometrics.iris.verifier import IrisVerifier
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.emrtd.session import ReaderOptions
from appliance.errors import Reason
from appliance.inspection.policy import PolicyConfig, Verdict
from appliance.inspection.report import StepName
from appliance.inspection.workflow import CheckResult, CheckSession, DeviceInfo
from appliance.ports import Camera, CameraError
from appliance.signed.watchlist import build_watchlist, parse_watchlist
from hardware_mocks.eac_pki import build_eac_pki
from hardware_mocks.iris_synth import virtual_iris_camera
from hardware_mocks.virtual_chip import make_profile
from tests.support.inspection_support import lane, transaction

HOLDER = make_profile(41, iris=True)
_BASE = PolicyConfig(version=1).egate
_STEPS = tuple(
    n for n in _BASE.required_steps if n not in (StepName.GATE_SENSORS, StepName.BIOMETRICS)
)
IRIS_REQUIRED = PolicyConfig(
    version=1, egate=_BASE.model_copy(update={"required_steps": (*_STEPS, StepName.IRIS)})
)
IRIS_OPTIONAL = PolicyConfig(version=1, egate=_BASE.model_copy(update={"required_steps": _STEPS}))


def _check(
    tmp_path: Path,
    policy: PolicyConfig,
    *,
    eye: int | None = HOLDER.seed,
    credentials: TerminalCredentials | None = None,
    **capture: Any,
) -> tuple[CheckResult, list[Camera]]:
    opened: list[Camera] = []

    def open_camera() -> Camera:
        if eye is None:
            raise CameraError("unplugged")
        opened.append(virtual_iris_camera(eye, **capture))
        return opened[-1]

    options = ReaderOptions(terminal=credentials or HOLDER.eac_pki().credentials())
    watchlist = parse_watchlist(build_watchlist([], 1, datetime.now(UTC)))
    with lane(
        tmp_path,
        policy,
        watchlist=watchlist,
        reader_options=options,
        iris=IrisVerifier(open_camera),
    ) as ln:
        result = CheckSession(ln, DeviceInfo("gate-t", "TEST")).run(transaction(HOLDER))
    return result, opened


def test_the_holders_eye_opens_the_gate(tmp_path: Path) -> None:
    result, cameras = _check(tmp_path, IRIS_REQUIRED)
    assert (result.decision.verdict, result.decision.reasons) == (Verdict.OPEN, (Reason.OK,))
    step = result.report.step(StepName.IRIS)
    assert step is not None and step.status.value == "pass"
    assert isinstance(step.facts["score"], float) and step.facts["score"] < 0.32
    assert step.facts["terminal_authentication"] == "pass"
    assert len(cameras) == 1 and cameras[0]._closed  # type: ignore[attr-defined]


def test_another_eye_is_referred(tmp_path: Path) -> None:
    result, _ = _check(tmp_path, IRIS_REQUIRED, eye=HOLDER.seed + 1)
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons == (Reason.IRIS_NO_MATCH,)


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (build_eac_pki("XY").credentials(), Reason.TA_CHAIN_UNTRUSTED),
        (build_eac_pki("DE", terminal_valid=(-9, -1)).credentials(), Reason.TA_CERT_EXPIRED),
        (build_eac_pki("DE", rights=1).credentials(), Reason.IRIS_REFERENCE_MISSING),
    ],
    ids=["foreign-chain", "expired-terminal", "no-dg4-right"],
)
def test_no_dg4_refers_with_the_reason(
    tmp_path: Path, credentials: TerminalCredentials, reason: Reason
) -> None:
    result, cameras = _check(tmp_path, IRIS_REQUIRED, credentials=credentials)
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons == (reason,)
    assert cameras == []  # nothing to compare with: the traveller is not asked to look


def test_no_iris_camera_refers(tmp_path: Path) -> None:
    result, _ = _check(tmp_path, IRIS_REQUIRED, eye=None)
    assert result.decision.reasons == (Reason.CAMERA_UNAVAILABLE,)


def test_a_closed_eye_refers(tmp_path: Path) -> None:
    result, _ = _check(tmp_path, IRIS_REQUIRED, upper_lid=0.05, lower_lid=0.05)
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons[0] in (Reason.IRIS_QUALITY, Reason.IRIS_NOT_FOUND)


def test_not_required_the_step_is_skipped_and_no_camera_opens(tmp_path: Path) -> None:
    result, cameras = _check(tmp_path, IRIS_OPTIONAL, eye=HOLDER.seed + 1)
    assert result.decision.verdict is Verdict.OPEN
    step = result.report.step(StepName.IRIS)
    assert step is not None and step.status.value == "skipped"
    assert cameras == []
