"""The kiosk face step over the camera port: liveness, best frame, camera failures."""

from __future__ import annotations

import random

import numpy as np

from appliance.biometrics.face.capture import capture_and_verify
from appliance.biometrics.face.icao_token import token_image
from appliance.biometrics.face.liveness import ChallengeSession
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.errors import Reason
from hardware_mocks.presentation_attacks import AttackType, attack_sequence
from hardware_mocks.virtual_camera import VirtualCamera
from tests.support.face_support import chip_reference, photo, verifier

__all__ = ["verifier"]


def test_attended_capture_matches_the_chip_photo(verifier: FaceVerifier) -> None:
    live = photo("person04/img53.jpg")
    camera = VirtualCamera([live] * 8, fps=15.0)
    result = capture_and_verify(camera, verifier, chip_reference(verifier, "person04/img3.jpg"))
    assert result.reason is Reason.OK, result.as_dict()


def test_printed_photo_of_the_holder_is_refused_as_not_live(verifier: FaceVerifier) -> None:
    image = photo("person04/img53.jpg")
    challenge = ChallengeSession(steps=2, rng=random.Random(11))
    frames = attack_sequence(
        token_image(image, verifier.detector.detect(image)[0]),
        AttackType.PRINT,
        challenge.challenges,
        np.random.default_rng(11),
    )
    shown: list[str] = []
    result = capture_and_verify(
        VirtualCamera(frames, fps=15.0),
        verifier,
        chip_reference(verifier, "person04/img3.jpg"),
        challenge,
        show=shown.append,
    )
    assert result.reason is Reason.FACE_NOT_LIVE
    assert shown[0] == "look at the camera" and "turn your head" in shown[1]
    assert result.liveness is not None and result.liveness["live"] is False


def test_camera_unplugged_during_capture(verifier: FaceVerifier) -> None:
    camera = VirtualCamera([photo("person04/img53.jpg")], loop=True, disconnect_after=2)
    result = capture_and_verify(
        camera, verifier, chip_reference(verifier, "person04/img3.jpg"), ChallengeSession()
    )
    assert result.reason is Reason.CAMERA_UNAVAILABLE
    assert result.status == "fail"
