"""Head-turn challenge-response: real (3D) turns pass, flat artefacts and wrong moves do not."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from appliance.biometrics.face.detect import BlazeFaceDetector, DetectedFace
from appliance.biometrics.face.icao_token import token_image
from appliance.biometrics.face.liveness import Challenge, ChallengeSession
from hardware_mocks.presentation_attacks import AttackType, attack_sequence
from hardware_mocks.virtual_camera import VirtualCamera
from tests.support.face_support import photo

# a head in millimetres: x to the image's right, y down, z away from the camera
HEAD = np.array(
    [
        [-32.0, 0.0, 0.0],  # right eye (the subject's), on the image's left
        [32.0, 0.0, 0.0],  # left eye
        [0.0, 38.0, -32.0],  # nose tip, in front of the eyes
        [0.0, 72.0, -12.0],  # mouth centre
        [-72.0, 20.0, 85.0],  # right ear tragion
        [72.0, 20.0, 85.0],  # left ear tragion
    ]
)


def head_face(yaw_deg: float, distance: float = 600.0) -> DetectedFace:
    """Keypoints of a real head turned by yaw (positive: to the subject's left)."""
    t = math.radians(yaw_deg)
    x = HEAD[:, 0] * math.cos(t) - HEAD[:, 2] * math.sin(t)
    z = HEAD[:, 0] * math.sin(t) + HEAD[:, 2] * math.cos(t) + distance
    kp = np.stack([320 + 800 * x / z, 240 + 800 * HEAD[:, 1] / z], axis=1)
    return DetectedFace((kp[:, 0].min() - 20, 150.0, kp[:, 0].max() + 20, 360.0), kp, 0.95)


def perform(session: ChallengeSession, amplitude: float = 30.0, fps: float = 15.0) -> float:
    """A cooperative traveller: faces the camera, then does each asked turn and comes back to
    face it for a moment ("look at the camera") before the next."""
    t = 0.0
    yaws = [0.0] * 4
    for challenge in session.challenges:
        sign = 1.0 if challenge is Challenge.TURN_LEFT else -1.0
        ramp = np.concatenate([np.linspace(0, 1, 10), np.linspace(1, 0, 10), np.zeros(3)])
        yaws.extend(sign * amplitude * ramp)
    for yaw in yaws:
        session.observe(t, [head_face(float(yaw))])
        t += 1 / fps
    return t


@pytest.mark.parametrize("seed", range(6))
def test_cooperative_traveller_passes(seed: int) -> None:
    session = ChallengeSession(steps=2, rng=random.Random(seed))
    assert session.instruction() == "look at the camera"
    perform(session)
    result = session.result()
    assert result.live, result
    assert result.outcome == "ok" and result.completed == 2


def test_challenges_are_randomised() -> None:
    sequences = {ChallengeSession(steps=3, rng=random.Random(s)).challenges for s in range(20)}
    assert len(sequences) > 3


def test_turning_the_wrong_way_times_out() -> None:
    session = ChallengeSession(steps=1, rng=random.Random(1))
    wanted = session.challenges[0]
    wrong = -30.0 if wanted is Challenge.TURN_LEFT else 30.0
    t = 0.0
    for yaw in [0.0] * 3 + [wrong] * 80:
        session.observe(t, [head_face(yaw)])
        t += 1 / 15
    assert not session.result().live
    assert session.result().outcome == "timeout"


def test_standing_still_times_out_and_missing_face_expires() -> None:
    still = ChallengeSession(steps=1, step_timeout_s=2.0, rng=random.Random(2))
    for i in range(60):
        still.observe(i / 15, [head_face(0.0)])
    assert still.result().outcome == "timeout"

    gone = ChallengeSession(steps=1, step_timeout_s=2.0, rng=random.Random(2))
    gone.observe(0.0, [head_face(0.0)])
    gone.expire(10.0)
    assert gone.done and not gone.result().live


def test_a_second_face_fails_the_check() -> None:
    session = ChallengeSession(steps=1, rng=random.Random(3))
    session.observe(0.0, [head_face(0.0), head_face(5.0)])
    assert session.result().outcome == "multiple_faces"


@pytest.mark.parametrize("depth_cues", [True, False])
def test_photo_already_looking_sideways_gains_nothing(depth_cues: bool) -> None:
    """A photo of someone looking 18 degrees to their left, held flat: perspective wobble takes
    its reading from 7 to 19.5 degrees. Only the absolute-yaw rule is fooled."""
    session = ChallengeSession(steps=1, rng=random.Random(4), depth_cues=depth_cues)
    session.challenges = (Challenge.TURN_LEFT,)
    t = 0.0
    for yaw in [7.0, 6.8, 7.2] + [17.0, 19.0, 18.5, 19.5] * 15:
        session.observe(t, [head_face(yaw)])
        t += 1 / 15
    assert session.result().live is (not depth_cues)


@pytest.mark.parametrize("attack", list(AttackType))
def test_flat_artefacts_turned_by_the_attacker_are_refused(attack: AttackType) -> None:
    detector = BlazeFaceDetector.from_models_dir()
    image = photo("person01/img1.jpg")
    token = token_image(image, detector.detect(image)[0])
    session = ChallengeSession(steps=2, rng=random.Random(7))
    frames = attack_sequence(token, attack, session.challenges, np.random.default_rng(7))
    seen = 0
    for frame in VirtualCamera(frames, fps=15.0).frames():
        faces = detector.detect(np.asarray(frame.image, np.uint8))
        seen += bool(faces)
        session.observe(frame.timestamp_s, faces)
    session.expire(frame.timestamp_s + 60)
    assert seen >= len(frames) * 0.9  # the artefact is seen as a face: refused for its geometry
    assert not session.result().live


def run_yaws(challenges: tuple[Challenge, ...], yaws: list[float]) -> ChallengeSession:
    session = ChallengeSession(steps=len(challenges))
    session.challenges = challenges
    for i, yaw in enumerate(yaws):
        session.observe(i / 15, [head_face(yaw)])
    return session


@pytest.mark.parametrize(("true_yaw", "live"), [(14.5, True), (11.5, False)])
def test_default_threshold_takes_the_smallest_real_turns_recorded(
    true_yaw: float, live: bool
) -> None:
    """The bona fide recordings' smallest turns read 16.4 and 16.7 degrees from the settled
    frontal pose (benchmarks/face_bona_fide.py): the default must accept turns of that size
    (a 14.5 degree head turn reads about 16) and still refuse ones reading under 13, the most
    the simulated print/screen attacks reached (benchmarks/face.py)."""
    ramp = [float(y) for y in true_yaw * np.sin(np.linspace(0, math.pi, 20))]
    session = run_yaws((Challenge.TURN_RIGHT,), [0.0] * 4 + [-y for y in ramp] + [0.0] * 60)
    assert session.result().live is live


def test_reference_is_not_taken_while_sweeping_back_through_frontal() -> None:
    """Coming back from a right turn and sweeping on to the left, the head passes -7 degrees:
    a reference taken there would credit a mere 10 degree left turn with 17."""
    back_and_on = [-25.0, -20.0, -12.0, -7.0, -3.5, 0.0, 3.5, 7.0] + [10.0] * 60
    swept = run_yaws((Challenge.TURN_RIGHT, Challenge.TURN_LEFT), [0.0] * 4 + back_and_on)
    assert swept.result().completed == 1 and not swept.result().live

    settled = run_yaws(
        (Challenge.TURN_RIGHT, Challenge.TURN_LEFT),
        [0.0] * 4 + back_and_on[:4] + [-6.5, -7.0, -6.0] + [10.0, 21.0] + [0.0] * 10,
    )
    assert settled.result().live  # held still at -6.5: that is the traveller's frontal pose


def test_reference_is_the_median_of_the_settled_frames() -> None:
    """Estimator jitter within the settle band is fine, and the median settled frame, not the
    first, is the reference: a turn to 15.5 degrees (reading 17.0) is 15.4 from the first
    frame's reading but 14.8 from the median's, so it does not count; to 16 it does."""
    settle = [1.5, 3.0, 2.0]
    assert run_yaws((Challenge.TURN_LEFT,), [*settle, 2.5, 15.5, 15.5, 2.0]).result().completed == 0
    assert run_yaws((Challenge.TURN_LEFT,), [*settle, 2.5, 16.0]).result().live
