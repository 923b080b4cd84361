"""Simulated travellers carrying iris data: a share of the chips hold DG4 behind EAC, each
traveller faces the virtual NIR camera with their own eye (an iris impostor with someone
else's), and the lane's verifier tells them apart (in-process, without the lane)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from appliance.biometrics.iris.verifier import IrisVerifier
from appliance.emrtd.document import read_chip
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.session import MrzKey, ReaderOptions
from appliance.errors import ApplianceError, Reason
from appliance.ports import CameraError
from hardware_mocks.traveller_sim import DEFAULT_MIX, Kind, SimulatedTraveller, TravellerSimulator
from hardware_mocks.virtual_chip import make_profile
from hardware_mocks.virtual_iris_camera import VirtualIrisCamera

TERMINAL = make_profile().eac_pki().credentials()


def _references(traveller: SimulatedTraveller) -> list[np.ndarray]:  # type: ignore[type-arg]
    profile = traveller.profile
    key = MrzKey(profile.document_number, profile.date_of_birth, profile.date_of_expiry)
    document = read_chip(traveller.transport(), key, ReaderOptions(terminal=TERMINAL))
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    return [eye.pixels() for eye in dg4.parse(document.files["DG4.bin"]).eyes]


def test_without_iris_no_chip_carries_dg4_and_no_iris_impostor_comes() -> None:
    simulator = TravellerSimulator(seed=1)
    assert Kind.IRIS_IMPOSTOR not in simulator.kinds() and Kind.IRIS_IMPOSTOR not in simulator.mix
    travellers = list(simulator.travellers(10))
    assert not any(t.carries_iris for t in travellers)
    with pytest.raises(CameraError):
        travellers[0].iris_camera()
    with pytest.raises(ValueError, match="iris"):
        simulator.traveller(Kind.IRIS_IMPOSTOR)


def test_a_configured_share_of_travellers_carries_iris() -> None:
    simulator = TravellerSimulator(seed=1, iris_share=0.5, iris_required=True)
    assert Kind.IRIS_IMPOSTOR in simulator.kinds()
    travellers = [simulator._make(n, Kind.GENUINE, random.Random(n)) for n in range(40)]
    carrying = sum(t.carries_iris for t in travellers)
    assert 12 <= carrying <= 28
    for traveller in travellers:
        expected = Reason.OK if traveller.carries_iris else Reason.IRIS_REFERENCE_MISSING
        assert traveller.expected_reason is expected
    # the same crowd and documents with or without iris: the share is drawn apart
    mix = {k: w for k, w in DEFAULT_MIX.items() if k is not Kind.IRIS_IMPOSTOR}
    plain = list(TravellerSimulator(seed=4, mix=mix).travellers(10))
    with_iris = list(TravellerSimulator(seed=4, mix=mix, iris_share=1.0).travellers(10))
    assert [(t.kind, t.profile.document_number) for t in plain] == [
        (t.kind, t.profile.document_number) for t in with_iris
    ]
    assert all(t.carries_iris for t in with_iris) and not any(t.carries_iris for t in plain)
    # not required by the policy: nobody is expected to be referred for iris
    optional = TravellerSimulator(seed=1, iris_share=0.5).traveller(Kind.IRIS_IMPOSTOR)
    assert optional.expected_reason is Reason.OK


def test_the_holder_matches_the_chip_and_an_iris_impostor_does_not() -> None:
    simulator = TravellerSimulator(seed=2, iris_share=1.0, iris_required=True)
    holder = simulator.traveller(Kind.GENUINE)
    impostor = simulator.traveller(Kind.IRIS_IMPOSTOR)
    assert impostor.carries_iris and impostor.expected_reason is Reason.IRIS_NO_MATCH
    assert holder.iris_identity == holder.profile.seed != impostor.iris_identity
    for traveller, reason in ((holder, Reason.OK), (impostor, Reason.IRIS_NO_MATCH)):
        result = IrisVerifier(traveller.iris_camera)(_references(traveller))
        assert result.reason is reason, result
        assert result.score is not None
        assert (result.score <= result.threshold) is (reason is Reason.OK)


def test_the_virtual_iris_camera_behaves_like_the_driver() -> None:
    """BGR frames of grey (as V4L2 delivers an NIR sensor's), a blink skipped, a capture that
    is never the chip's enrolment image, and closed means closed."""
    camera = VirtualIrisCamera(9, blinks=1)
    frames = list(camera.frames())
    assert len(frames) == 3
    first = np.asarray(frames[1].image)
    assert first.ndim == 3 and (first[:, :, 0] == first[:, :, 2]).all()
    reference = _references_of(9)
    result = IrisVerifier(lambda: VirtualIrisCamera(9, blinks=1))(reference)
    assert result.reason is Reason.OK, result
    only_blinks = IrisVerifier(lambda: VirtualIrisCamera(9, blinks=3))(reference)
    assert only_blinks.reason in (Reason.IRIS_QUALITY, Reason.IRIS_NOT_FOUND)
    camera.close()
    with pytest.raises(CameraError):
        next(iter(camera.frames()))


def _references_of(identity: int) -> list[np.ndarray]:  # type: ignore[type-arg]
    from hardware_mocks.iris_synth import IrisSynth

    image, _ = IrisSynth(identity).capture(0)
    return [image]


def test_the_simulated_service_takes_its_iris_share_from_the_environment(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`APPLIANCE_SIM_IRIS=1 appliance serve`: the station brings the iris step and the EAC
    terminal, and iris impostors can be sent (`appliance sim traveller --kind iris_impostor`)."""
    from appliance.config import load_config
    from hardware_mocks.sim_lane import IRIS_ENV, open_station

    config = load_config(None)
    monkeypatch.setenv(IRIS_ENV, "1")
    station = open_station(config)
    assert "iris_impostor" in station.traveller_kinds()
    assert station.iris_check() is not None and station.terminal_credentials() is not None
    monkeypatch.setenv(IRIS_ENV, "lots")
    with pytest.raises(ApplianceError) as caught:
        open_station(config)
    assert caught.value.reason is Reason.USAGE
    monkeypatch.delenv(IRIS_ENV)
    plain = open_station(config)
    assert plain.iris_check() is None and plain.terminal_credentials() is None
    assert "iris_impostor" not in plain.traveller_kinds()


def test_the_iris_camera_factory_for_the_config_and_its_captures() -> None:
    """`[iris] camera = "hardware_mocks.virtual_iris_camera:open_virtual_iris_camera"` gives a
    camera; a passage's camera never shows the chip's enrolment capture, nor another's."""
    from appliance.wiring import load_factory

    camera = load_factory("hardware_mocks.virtual_iris_camera:open_virtual_iris_camera")()
    assert isinstance(camera, VirtualIrisCamera)
    first, second = VirtualIrisCamera.for_session(5, 1), VirtualIrisCamera.for_session(5, 2)
    assert not set(first.captures) & set(second.captures) and 0 not in first.captures
    with pytest.raises(ValueError, match="enrolment"):
        VirtualIrisCamera(5, captures=(0, 1))


def test_a_colour_camera_frame_is_refused_not_matched() -> None:
    from hardware_mocks.virtual_camera import VirtualCamera

    eye = _references_of(9)[0]
    colour = np.stack([eye, eye // 2, np.full_like(eye, 40)], axis=2)
    result = IrisVerifier(lambda: VirtualCamera([colour]))(_references_of(9))
    assert (result.status, result.reason) == ("fail", Reason.IRIS_NOT_NIR)
