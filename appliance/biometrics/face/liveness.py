"""Challenge-response liveness (presentation attack detection) from face keypoints; sans-I/O.

No registry package ships a passive anti-spoofing model that works, so the kiosk asks for a
randomised sequence of head turns, each within a time limit, returning to face the camera in
between. The turn is measured as the nose tip's sideways offset over the eye distance (see
`quality.estimate_pose`): a real head rotates in depth and that ratio grows (~0.5 tan(yaw));
a flat print or a screen turned in front of the camera is foreshortened as a whole, so the
ratio barely moves, and a pre-recorded replay does not follow a random sequence in time.

Feed it what the camera sees (`observe(timestamp, face_or_None)`), show `instruction()` on the
kiosk, and read `result()` when `done`. It never touches the camera itself.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from enum import StrEnum

from appliance.biometrics.face.detect import DetectedFace
from appliance.biometrics.face.quality import estimate_pose


class Challenge(StrEnum):
    #: the traveller's own left/right (their nose moves towards the image's right/left)
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"


INSTRUCTIONS = {
    Challenge.TURN_LEFT: "slowly turn your head to your left",
    Challenge.TURN_RIGHT: "slowly turn your head to your right",
}


@dataclass(frozen=True)
class LivenessResult:
    live: bool
    #: "ok", "timeout", "no_face", "multiple_faces" or "not_started"
    outcome: str
    challenges: tuple[str, ...]
    completed: int
    max_abs_yaw_deg: float

    def as_dict(self) -> dict[str, object]:
        return {
            "live": self.live,
            "outcome": self.outcome,
            "challenges": list(self.challenges),
            "completed": self.completed,
            "max_abs_yaw_deg": round(self.max_abs_yaw_deg, 1),
        }


class ChallengeSession:
    """One randomised head-turn challenge run.

    turn_deg: yaw that counts as a turn; frontal_deg: yaw that counts as facing the camera;
    step_timeout_s: time allowed per step (a turn, or the return to frontal).
    """

    def __init__(
        self,
        steps: int = 2,
        turn_deg: float = 18.0,
        frontal_deg: float = 8.0,
        step_timeout_s: float = 4.0,
        rng: random.Random | None = None,
    ) -> None:
        chooser = rng or secrets.SystemRandom()
        self.challenges = tuple(chooser.choice(list(Challenge)) for _ in range(steps))
        self.turn_deg = turn_deg
        self.frontal_deg = frontal_deg
        self.step_timeout_s = step_timeout_s
        self._completed = 0
        self._awaiting_frontal = True  # start by facing the camera
        self._step_started: float | None = None
        self._failed: str | None = None
        self._max_yaw = 0.0

    @property
    def done(self) -> bool:
        return self._failed is not None or self._completed == len(self.challenges)

    def instruction(self) -> str:
        if self.done:
            return ""
        if self._awaiting_frontal:
            return "look at the camera"
        return INSTRUCTIONS[self.challenges[self._completed]]

    def observe(self, timestamp_s: float, faces: list[DetectedFace]) -> None:
        """One camera frame's detections (most confident first)."""
        if self.done:
            return
        if self._step_started is None:
            self._step_started = timestamp_s
        if timestamp_s - self._step_started > self.step_timeout_s:
            self._failed = "timeout"
            return
        if len(faces) > 1:
            self._failed = "multiple_faces"
            return
        if not faces:
            return  # a dropped frame; the step timeout bounds how long the face may be away
        yaw = estimate_pose(faces[0]).yaw_deg
        self._max_yaw = max(self._max_yaw, abs(yaw))
        if self._awaiting_frontal:
            if abs(yaw) <= self.frontal_deg:
                self._awaiting_frontal = False
                self._step_started = timestamp_s
            return
        wanted = self.challenges[self._completed]
        turned = yaw >= self.turn_deg if wanted is Challenge.TURN_LEFT else yaw <= -self.turn_deg
        if turned:
            self._completed += 1
            self._awaiting_frontal = True
            self._step_started = timestamp_s

    def expire(self, timestamp_s: float) -> None:
        """Call when no frame arrives, so a missing face still times out."""
        started = self._step_started
        if not self.done and started is not None and timestamp_s - started > self.step_timeout_s:
            self._failed = "timeout"

    def result(self) -> LivenessResult:
        live = self._failed is None and self._completed == len(self.challenges)
        if live:
            outcome = "ok"
        elif self._failed:
            outcome = self._failed
        else:
            outcome = "not_started" if self._step_started is None else "timeout"
        return LivenessResult(
            live=live,
            outcome=outcome,
            challenges=tuple(c.value for c in self.challenges),
            completed=self._completed,
            max_abs_yaw_deg=self._max_yaw,
        )
